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
#include "sync.h"

_Static_assert(sizeof(unsigned) == 4, "the event counter is 32 bits");

/*
 * The counter, then a word that asks the next notifier for a wake-up.  A
 * waiter adds to it each time before it sleeps, and the notifier that
 * wakes takes it back to 0, so a waiter that dies asleep (or times out)
 * costs later notifies one wake-up call in all, not one each.  The waiter
 * adds before it looks at the counter and the notifier counts before it
 * takes the word, both seq_cst: either the waiter sees the new count, or
 * the notifier sees its request.
 *
 * Nothing here is trusted to stay as written: another process may zero or
 * overwrite the bytes.  So no waiter sleeps longer than EVENT_SLICE_MS at a
 * time before it looks at the counter again; and one whose event lies in a
 * read-only mapping, which cannot ask for a wake-up, looks every
 * EVENT_RDONLY_MS.
 */
#define EVENT_SLICE_MS 1000
#define EVENT_RDONLY_MS 50

struct sync_event {
    atomic_uint counter;
    atomic_uint wake_asked;
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
    if (ushm__rdonly_has(ev, sizeof *ev))
        return ushm__fail(EACCES, "ushm_event_notify(%p): the event is in a "
                          "USHM_RDONLY mapping: notifying writes it", (void *)ev);
    atomic_fetch_add_explicit(&e->counter, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&e->wake_asked, memory_order_seq_cst) != 0 &&
        atomic_exchange_explicit(&e->wake_asked, 0, memory_order_seq_cst) != 0)
        ushm__wake_word(&e->counter);
    return 0;
}

/* The earlier of deadline (NULL: none) and ms from now. */
static struct timespec slice_end(const struct timespec *deadline, long ms)
{
    struct timespec end = ushm__deadline_after(ms);

    if (deadline != NULL && (deadline->tv_sec < end.tv_sec ||
                             (deadline->tv_sec == end.tv_sec &&
                              deadline->tv_nsec < end.tv_nsec)))
        return *deadline;
    return end;
}

/* Wait for the counter to leave seen: 0, or ETIMEDOUT (not reported). */
static int event_sleep(struct sync_event *e, unsigned seen, long timeout_ms,
                       const struct timespec *deadline, int rdonly)
{
    long backoff = 0;

    for (;;) {
        struct timespec end;

        if (!rdonly)
            atomic_fetch_add_explicit(&e->wake_asked, 1, memory_order_seq_cst);
        if (atomic_load_explicit(&e->counter, memory_order_seq_cst) != seen)
            return 0;
        if (timeout_ms > 0 && ushm__deadline_passed(deadline))
            return ETIMEDOUT;
        end = slice_end(timeout_ms > 0 ? deadline : NULL,
                        rdonly ? EVENT_RDONLY_MS : EVENT_SLICE_MS);
        ushm__wait_on_word(&e->counter, seen, &end, &backoff);
    }
}

int ushm_event_wait(ushm_event_t *ev, unsigned seen, long timeout_ms)
{
    struct sync_event *e = (struct sync_event *)(void *)ev;
    struct timespec deadline = { 0, 0 };
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
    err = event_sleep(e, seen, timeout_ms, &deadline,
                      ushm__rdonly_has(ev, sizeof *ev));
    atomic_thread_fence(memory_order_acquire);
    if (err != 0)
        return ushm__fail(ETIMEDOUT, "ushm_event_wait(%p, %u, %ld ms): the "
                          "counter is still %u", (void *)ev, seen, timeout_ms,
                          seen);
    return 0;
}

int ushm_event_wait_locked(ushm_event_t *ev, ushm_mutex_t *m, long timeout_ms)
{
    unsigned seen;
    int err, rc;

    if ((err = ushm__sync_check("ushm_event_wait_locked", ev, "event")) < 0 ||
        (err = ushm__sync_check("ushm_event_wait_locked", m, "mutex")) < 0)
        return err;
    if (!ushm__mutex_held_here(m))
        return ushm__fail(EPERM, "ushm_event_wait_locked(%p, %p): the calling "
                          "thread does not hold the mutex", (void *)ev,
                          (void *)m);
    /* Read under the mutex: a notifier that changes the guarded state under
     * it and then notifies moves the counter past what was read. */
    seen = ushm_event_read(ev);
    if ((err = ushm_mutex_unlock(m)) < 0)
        return err;
    err = ushm_event_wait(ev, seen, timeout_ms);
    /* Locked again whatever happened; a holder's death is the news that
     * matters most, since the guarded state needs repair. */
    rc = ushm_mutex_lock(m);
    if (rc < 0)
        return rc;
    if (rc == USHM_OWNERDEAD)
        return rc;
    if (err < 0)
        return ushm__fail(ETIMEDOUT, "ushm_event_wait_locked(%p, %p, %ld ms): "
                          "no notify came; the mutex is held again", (void *)ev,
                          (void *)m, timeout_ms);
    return 0;
}
