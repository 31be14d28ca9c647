/* SPDX-License-Identifier: MIT */
/* What the core and lib/sync/ share: the mutexes held (held.c) and the
 * read-only mappings (rdonly.c). */
#ifndef USHM_SYNC_H
#define USHM_SYNC_H

#include <stddef.h>

#include "backend.h"

#include <stdatomic.h>

/*
 * 1 when any thread of the process holds a ushm_mutex_t that lies in
 * [addr, addr + len), and then *held is its address; 0 otherwise.
 */
USHM__HIDDEN int ushm__sync_held_in(const void *addr, size_t len,
                                    const void **held);

/* The USHM_RDONLY mappings of this process: 0 or -ENOMEM. */
USHM__HIDDEN int ushm__rdonly_add(const void *addr, size_t len);
USHM__HIDDEN void ushm__rdonly_remove(const void *addr);
USHM__HIDDEN extern atomic_int ushm__rdonly_count;
USHM__HIDDEN int ushm__rdonly_has_slow(const void *p, size_t len);

/* Whether this process has no USHM_RDONLY mapping at all (most). */
static inline int ushm__rdonly_none(void)
{
    return atomic_load_explicit(&ushm__rdonly_count, memory_order_acquire) == 0;
}

/* Whether [p, p + len) overlaps a USHM_RDONLY mapping of this process. */
static inline int ushm__rdonly_has(const void *p, size_t len)
{
    return !ushm__rdonly_none() && ushm__rdonly_has_slow(p, len);
}

#endif /* USHM_SYNC_H */
