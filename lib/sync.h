/* SPDX-License-Identifier: MIT */
/* What the core needs from lib/sync/ (held.c). */
#ifndef USHM_SYNC_H
#define USHM_SYNC_H

#include <stddef.h>

#include "backend.h"

/*
 * 1 when the calling thread holds a ushm_mutex_t that lies in
 * [addr, addr + len), and then *held is its address; 0 otherwise.
 */
USHM__HIDDEN int ushm__sync_held_in(const void *addr, size_t len,
                                    const void **held);

#endif /* USHM_SYNC_H */
