/* SPDX-License-Identifier: MIT */
/* ushm_queue_t: the places the handles hold, and finding the dead (see queue.c). */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queue-internal.h"

/* ---- presence -------------------------------------------------------------- */

/* A mutex call on a place failed: its sentence, in ours.  What the mutex
 * says of the system (no robust mutex, another PID namespace, read-only
 * memory) is passed on; anything else means the bytes are not right. */
int ushm__queue_mutex_failed(int e, const char *func, const void *mem,
                             const char *what)
{
    char why[400];

    snprintf(why, sizeof why, "%s", ushm_last_error());
    return ushm__fail(e == -ENOTSUP || e == -EXDEV || e == -EACCES ? -e : EPROTO,
                      "%s(%p): %s: %s", func, mem, what, why);
}

int ushm__queue_role_bad(unsigned r)
{
    return (r & ~(ALL_ROLES | ROLE_GONE | 0xffffff00u)) != 0 ||
           ((r & ALL_ROLES) == 0 && r != 0);
}

/* Note the place of a live peer in the handle's watch list: its end word
 * and the value it had before the scan found the holder alive (so that an
 * end after the load changes it). */
static void watch_add(struct ushm_queue *q, unsigned *n, const atomic_uint *w,
                      unsigned v)
{
    if (*n < WATCH_MAX && w != NULL) {
        atomic_store_explicit(&q->watch[*n], (uintptr_t)w, memory_order_relaxed);
        atomic_store_explicit(&q->watch_v[*n], v, memory_order_relaxed);
        ++*n;
    } else {
        *n = WATCH_MAX + 1;
    }
}

/* Count the live handles (ALL_ROLES bits in *live); a place whose holder
 * died is freed on the way.  The live places of this handle's peers (the
 * other role) make its watch list.  0, or -EPROTO (the bytes were
 * overwritten). */
int ushm__queue_scan(struct ushm_queue *q, const char *func, unsigned *live)
{
    unsigned peers = ((q->my_role & USHM_QUEUE_SEND) ? USHM_QUEUE_RECV : 0) |
                     ((q->my_role & USHM_QUEUE_RECV) ? USHM_QUEUE_SEND : 0);
    unsigned watched = 0, producers = 0;
    int freed = 0, err = 0;

    *live = 0;
    for (unsigned i = 0; i < q->places; i++) {
        unsigned r = atomic_load_explicit(&q->role[i], memory_order_acquire), v = 0;
        const atomic_uint *w;
        int e;

        if (r == 0 || (r & ROLE_GONE))
            continue;
        if (ushm__queue_role_bad(r)) {
            err = ushm__fail(EPROTO, "%s(%p): place %u of the queue holds "
                             "0x%08x: the queue's bytes were overwritten",
                             func, (void *)q->f, i, r);
            break;
        }
        w = ushm__mutex_end_word(&q->place[i]);
        if (w != NULL)
            v = atomic_load_explicit(w, memory_order_acquire);
        e = ushm_mutex_trylock(&q->place[i]);
        if (e == -EBUSY || e == -EDEADLK) {
            *live |= r & ALL_ROLES;
            producers += (r & USHM_QUEUE_SEND) != 0;
            if ((r & peers) && i != q->slot)
                watch_add(q, &watched, w, v);
            continue;
        }
        if (e < 0) {
            err = ushm__queue_mutex_failed(e, func, q->f, "a place of the queue");
            break;
        }
        /* Its holder died (or detached just now): the place is free. */
        if (atomic_load_explicit(&q->role[i], memory_order_relaxed) != 0) {
            atomic_store_explicit(&q->role[i], 0, memory_order_release);
            freed = 1;
        }
        ushm_mutex_unlock(&q->place[i]);
    }
    atomic_store_explicit(&q->watch_n, err < 0 ? WATCH_MAX + 1 : watched,
                          memory_order_relaxed);
    atomic_store_explicit(&q->producers_seen, err < 0 ? 0 : producers,
                          memory_order_relaxed);
    if (freed)
        wake_all(q->f);
    return err;
}

/* Take a free place (or one whose holder died) and hold it. */
int ushm__queue_take_place(struct ushm_queue *q, int flags)
{
    struct q_fixed *f = q->f;

    for (unsigned i = 0; i < q->places; i++) {
        int e = ushm_mutex_trylock(&q->place[i]);
        unsigned r, ticket;

        if (e == -EBUSY || e == -EDEADLK)
            continue;
        if (e < 0)
            return ushm__queue_mutex_failed(e, "ushm_queue_attach", f, "a place of the queue");
        r = atomic_load_explicit(&q->role[i], memory_order_relaxed);
        if (r != 0 && ushm__queue_role_bad(r)) {
            ushm_mutex_unlock(&q->place[i]);
            return ushm__fail(EPROTO, "ushm_queue_attach(%p): place %u holds "
                              "0x%08x: the queue's bytes were overwritten",
                              (void *)f, i, r);
        }
        ticket = atomic_fetch_add_explicit(&f->gen, 1, memory_order_relaxed) + 1;
        q->slot = i;
        q->my_role = (ticket << 8) | (unsigned)flags;
        q->lock_word = (i + 1) | ((ticket & 0x7fffffu) << 8);
        atomic_store_explicit(&q->role[i], q->my_role, memory_order_release);
        atomic_fetch_or_explicit(&f->ever, (unsigned)flags, memory_order_release);
        q->owner = pthread_self();
        wake_all(f);
        return 0;
    }
    return ushm__fail(EAGAIN, "ushm_queue_attach(%p): all %u places of the "
                      "queue are taken (a %zu-byte queue has %u; detach a "
                      "handle, or make the queue larger)", (void *)f,
                      q->places, q->bytes, q->places);
}

