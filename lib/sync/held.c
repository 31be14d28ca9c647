/* SPDX-License-Identifier: MIT */
/*
 * The mutexes the calling thread holds, in lock order: the answer to
 * -EDEADLK and -EPERM, and to ushm_close() (lib/sync.h).  Lookups, pushes
 * and removals are inline in internal.h; heap storage is used only past
 * USHM__HELD_INLINE mutexes held at once, and is given back as soon as the
 * count falls to USHM__HELD_INLINE again.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sync.h"

_Thread_local struct ushm__held_list ushm__held USHM__HELD_TLS_MODEL;
atomic_int ushm__held_forgets_at_fork;

static pthread_once_t held_once = PTHREAD_ONCE_INIT;

/* The child of fork() holds none of its parent's mutexes. */
static void held_forget(void)
{
    ushm__held.n = 0;
}

static void held_setup(void)
{
    pthread_atfork(NULL, NULL, held_forget);
    atomic_store_explicit(&ushm__held_forgets_at_fork, 1, memory_order_release);
}

int ushm__held_grow(struct ushm__held_list *hl, const char *func, const void *m)
{
    size_t cap = hl->v != NULL ? hl->cap : USHM__HELD_INLINE;
    const void **v;

    if (!atomic_load_explicit(&ushm__held_forgets_at_fork, memory_order_acquire))
        pthread_once(&held_once, held_setup);
    if (hl->n < cap)
        return 0;
    v = malloc(2 * cap * sizeof *v);
    if (v == NULL)
        return ushm__fail(ENOMEM, "%s(%p): out of memory to record the %zu "
                          "mutexes this thread holds", func, m, hl->n + 1);
    memcpy(v, ushm__held_items(hl), hl->n * sizeof *v);
    free(hl->v);
    hl->v = v;
    hl->cap = 2 * cap;
    return 0;
}

void ushm__held_shrink(struct ushm__held_list *hl)
{
    memcpy(hl->inline_, hl->v, hl->n * sizeof *hl->v);
    free(hl->v);
    hl->v = NULL;
    hl->cap = 0;
}

int ushm__sync_held_in(const void *addr, size_t len, const void **found)
{
    const struct ushm__held_list *hl = &ushm__held;
    const void **v = ushm__held_items(hl);
    uintptr_t lo = (uintptr_t)addr;

    for (size_t i = 0; i < hl->n; i++) {
        uintptr_t p = (uintptr_t)v[i];

        if (p >= lo && p - lo < len) {
            if (found != NULL)
                *found = v[i];
            return 1;
        }
    }
    return 0;
}
