/* SPDX-License-Identifier: MIT */
/* ushm_event_t: a 32-bit counter that waiters sleep on (wait-*.c). */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#include "internal.h"

_Static_assert(sizeof(unsigned) == 4, "the event counter is 32 bits");

/* The counter, then how many are asleep on it (a hint for the notifier: a
 * waiter killed asleep only costs later notifies a wake-up call). */
struct sync_event {
    atomic_uint counter;
    atomic_uint sleepers;
};

_Static_assert(sizeof(struct sync_event) <= sizeof(ushm_event_t),
               "struct sync_event fits in ushm_event_t");

/*
 * How long a waiter spins before it sleeps.  A peer that is running answers
 * within a microsecond, one that sleeps takes a futex wake-up, a few
 * microseconds: 20 us of spinning covers both, so a ping-pong that slept
 * once soon spins again.  But where the peer is not running meanwhile (a
 * busy machine) spinning only takes the CPU from it: after 8 spins in a row
 * that saw nothing, this process spins 1 us, and 20 us one time in 16 to
 * notice when spinning pays again.
 */
#define SPIN_LONG_NS 20000L
#define SPIN_SHORT_NS 1000L
#define SPIN_MISSES_MAX 8u
static atomic_uint spin_misses;

static int spin_for_change(const struct sync_event *e, unsigned seen)
{
    unsigned misses = atomic_load_explicit(&spin_misses, memory_order_relaxed);
    long limit = misses < SPIN_MISSES_MAX || misses % 16 == 0 ? SPIN_LONG_NS
                                                              : SPIN_SHORT_NS;
    struct timespec start = ushm__mono_now(), now;

    for (unsigned i = 1;; i++) {
        ushm__cpu_relax();
        if (atomic_load_explicit(&e->counter, memory_order_acquire) != seen) {
            if (misses != 0)
                atomic_store_explicit(&spin_misses, 0, memory_order_relaxed);
            return 1;
        }
        if (i % 32 == 0) {
            now = ushm__mono_now();
            if ((now.tv_sec - start.tv_sec) * 1000000000L +
                (now.tv_nsec - start.tv_nsec) >= limit)
                break;
        }
    }
    atomic_store_explicit(&spin_misses, misses + 1, memory_order_relaxed);
    return 0;
}

unsigned ushm_event_read(const ushm_event_t *ev)
{
    struct sync_event *e = (struct sync_event *)(void *)ev;

    if (ushm__sync_check("ushm_event_read", ev, "event") < 0)
        return 0;
    return atomic_load_explicit(&e->counter, memory_order_acquire);
}

int ushm_event_notify(ushm_event_t *ev)
{
    struct sync_event *e = (struct sync_event *)(void *)ev;
    int err = ushm__sync_check("ushm_event_notify", ev, "event");

    if (err < 0)
        return err;
    /* Both sides are seq_cst: a waiter that counted itself before checking
     * the counter is seen here, or it sees the new count. */
    atomic_fetch_add_explicit(&e->counter, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&e->sleepers, memory_order_seq_cst) != 0)
        ushm__wake_word(&e->counter);
    return 0;
}

int ushm_event_wait(ushm_event_t *ev, unsigned seen, long timeout_ms)
{
    struct sync_event *e = (struct sync_event *)(void *)ev;
    struct timespec deadline = { 0, 0 };
    long backoff = 0;
    int err = ushm__sync_check("ushm_event_wait", ev, "event");

    if (err < 0)
        return err;
    if (atomic_load_explicit(&e->counter, memory_order_acquire) != seen)
        return 0;
    if (timeout_ms == 0)
        return ushm__fail(ETIMEDOUT, "ushm_event_wait(%p, %u, 0 ms): the "
                          "counter is still %u", (void *)ev, seen, seen);
    if (timeout_ms > 0)
        deadline = ushm__deadline_after(timeout_ms);
    /* A round trip that sleeps costs microseconds: look a little first. */
    if (ushm__spin_worthwhile() && spin_for_change(e, seen))
        return 0;
    atomic_fetch_add_explicit(&e->sleepers, 1, memory_order_seq_cst);
    for (;;) {
        if (atomic_load_explicit(&e->counter, memory_order_seq_cst) != seen) {
            err = 0;
            break;
        }
        if (timeout_ms > 0 && ushm__deadline_passed(&deadline)) {
            err = ETIMEDOUT;
            break;
        }
        ushm__wait_on_word(&e->counter, seen, timeout_ms > 0 ? &deadline : NULL,
                           &backoff);
    }
    atomic_fetch_sub_explicit(&e->sleepers, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (err != 0)
        return ushm__fail(ETIMEDOUT, "ushm_event_wait(%p, %u, %ld ms): the "
                          "counter is still %u", (void *)ev, seen, timeout_ms,
                          seen);
    return 0;
}
