/* SPDX-License-Identifier: MIT */
/*
 * ushm_mutex_t over a robust, process-shared, error-checking pthread mutex,
 * behind mutex.c's state word.  The calls are written out here rather than
 * over an interface in another file, so that the uncontended lock and
 * unlock call nothing but pthread_mutex_lock() and pthread_mutex_unlock():
 * the held list and the state check they share are inline (internal.h).
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "sync.h"
/* pm_fast_lock() and pm_fast_unlock(): pm-fast-glibc.h or pm-fast-none.h,
 * as configure chose (--with-mutex-fast-path). */
#include USHM_PM_FAST_H

/*
 * The 64 bytes: mutex.c's head (the state word and the PID namespace of
 * the set-up), the pthread mutex, and at the end the address through which
 * the holder locked it, so that an unlock through another mapping of the
 * same segment finds the holder's entry in its list.
 */
#define LOCKED_AT_OFFSET 56
struct pthread_mutex_box {
    struct ushm__mutex_head head;
    pthread_mutex_t pm;
};

_Static_assert(sizeof(struct pthread_mutex_box) <= LOCKED_AT_OFFSET,
               "pthread_mutex_t does not fit in ushm_mutex_t");

static atomic_uintptr_t *locked_at(ushm_mutex_t *m)
{
    return (atomic_uintptr_t *)(void *)(m->opaque_ + LOCKED_AT_OFFSET);
}

/*
 * What a pthread mutex of libushm's kind looks like unlocked: the bytes
 * that pthread_mutex_init() makes non-zero (its type), learnt once from a
 * mutex made here.  A correct tag over bytes that lost them (zeroed, or
 * overwritten) would be a private, non-robust mutex to the C library: two
 * holders.  So every lock checks them, which costs a compare.
 */
static struct {
    atomic_int ready;
    size_t word;                   /* the 32-bit word that holds them, */
    uint32_t value;                /* its value */
    int one_word;                  /* 0: they span more (then memcmp) */
    size_t off, len;               /* the span of non-zero bytes */
    unsigned char bytes[sizeof(pthread_mutex_t)];
    /* After one lock and unlock: what a mutex that was used keeps while
     * unlocked (glibc leaves its count at 1). */
    unsigned char used[sizeof(pthread_mutex_t)];
} pm_type;

static int pm_init(void *lock);

static void pm_type_learn(void)
{
    pthread_mutex_t t;
    const unsigned char *p = (const unsigned char *)&t;
    size_t lo = sizeof t, hi = 0;

    memset(&t, 0, sizeof t);
    if (pm_init(&t) != 0)
        return;
    for (size_t i = 0; i < sizeof t; i++)
        if (p[i] != 0) {
            lo = i < lo ? i : lo;
            hi = i + 1;
        }
    memcpy(pm_type.bytes, p, sizeof t); /* before destroy, which marks it */
    memcpy(pm_type.used, p, sizeof t);
    if (pthread_mutex_lock(&t) == 0 && pthread_mutex_unlock(&t) == 0)
        memcpy(pm_type.used, p, sizeof t);
    pthread_mutex_destroy(&t);
    pm_type.off = lo < hi ? lo : 0;
    pm_type.len = lo < hi ? hi - lo : 0;
    pm_type.word = pm_type.off / 4;
    pm_type.one_word = pm_type.off + pm_type.len <= (pm_type.word + 1) * 4;
    memcpy(&pm_type.value, pm_type.bytes + pm_type.word * 4, 4);
    /* 2: the fast check of pm_usable() applies. */
    atomic_store_explicit(&pm_type.ready, pm_type.one_word ? 2 : 1,
                          memory_order_release);
}

static int pm_type_ok(const pthread_mutex_t *pm)
{
    uint32_t w;

    if (!atomic_load_explicit(&pm_type.ready, memory_order_acquire))
        pm_type_learn();
    if (pm_type.one_word) { /* glibc and musl: one int says the type */
        memcpy(&w, (const unsigned char *)pm + pm_type.word * 4, 4);
        return w == pm_type.value;
    }
    return memcmp((const unsigned char *)pm + pm_type.off,
                  pm_type.bytes + pm_type.off, pm_type.len) == 0;
}

/* Held, or set up as no pthread mutex of libushm's: a byte that an
 * unlocked mutex of its kind, fresh or used, has 0 is not (a state word
 * zeroed by a program resetting the mutex, killed half-way, leaves fewer
 * bytes, never other ones: CI's kill storm killed walkers inside memset
 * over mutexes they had used, whose count glibc leaves at 1). */
static int pm_looks_held(const void *lock)
{
    const unsigned char *p = lock;

    if (!atomic_load_explicit(&pm_type.ready, memory_order_acquire))
        pm_type_learn();
    for (size_t i = 0; i < sizeof(pthread_mutex_t); i++)
        if (p[i] != 0 && p[i] != pm_type.bytes[i] && p[i] != pm_type.used[i])
            return 1;
    return 0;
}

static int pm_overwritten(const char *func, const void *m)
{
    return ushm__fail(EPROTO, "%s(%p): the mutex's bytes were overwritten: "
                      "its pthread mutex is no longer of the robust, "
                      "process-shared kind libushm made it", func, m);
}
_Static_assert(_Alignof(struct pthread_mutex_box) <= USHM__SYNC_ALIGN,
               "pthread_mutex_t needs more than 8-byte alignment");

static int pm_init(void *lock)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);

    if (err != 0)
        return err;
    if ((err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
        (err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0 &&
        (err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK)) == 0)
        err = pthread_mutex_init(lock, &attr);
    pthread_mutexattr_destroy(&attr);
    return err;
}

static const struct ushm__mutex_kind pm_kind = {
    .tag = USHM__MUTEX_TAG(sizeof(pthread_mutex_t)),
    .lock_type = "pthread_mutex_t",
    .holder_id = "thread id",
    .init_call = "pthread_mutex_init",
    .init = pm_init,
    .looks_held = pm_looks_held,
};

/* 0, EOWNERDEAD, EBUSY, ETIMEDOUT or another errno; never EINTR. */
static int pm_lock(pthread_mutex_t *pm, long ms, const struct timespec *deadline)
{
    int err;

    if (ms < 0) {
        do
            err = pthread_mutex_lock(pm);
        while (err == EINTR);
        return err;
    }
    if (ms == 0)
        return ushm__pthread_trylock(pm);
    do
        err = ushm__pthread_timedlock(pm, deadline);
    while (err == EINTR || (err == ETIMEDOUT && !ushm__deadline_passed(deadline)));
    return err;
}

static int pm_rdonly(const char *func, const void *m)
{
    return ushm__fail(EACCES, "%s(%p): the mutex is in a USHM_RDONLY "
                      "mapping: locking and unlocking write it", func, m);
}

/* What a lock checks before it touches the lock, in full: 0 or -errno. */
static int pm_usable_slow(ushm_mutex_t *m, const char *func)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    unsigned ns = atomic_load_explicit(&mx->head.pidns, memory_order_relaxed);

    if (ns != 0 && ns != ushm__pidns() && ushm__pidns() != USHM__PIDNS_UNKNOWN)
        return ushm__mutex_other_pidns(func, m, ns, &pm_kind);
    if (!pm_type_ok(&mx->pm))
        return pm_overwritten(func, m);
    return 0;
}

/* The usual case in a few instructions: set up in this process's PID
 * namespace, and the type word as libushm made it. */
static USHM__ALWAYS_INLINE int pm_usable_fast(const struct pthread_mutex_box *mx)
{
    uint32_t w;

    if (atomic_load_explicit(&mx->head.pidns, memory_order_relaxed) !=
            atomic_load_explicit(&ushm__pidns_cache, memory_order_relaxed) ||
        atomic_load_explicit(&pm_type.ready, memory_order_acquire) != 2)
        return 0;
    memcpy(&w, (const unsigned char *)&mx->pm + pm_type.word * 4, 4);
    return w == pm_type.value;
}

static USHM__ALWAYS_INLINE int pm_usable(ushm_mutex_t *m, const char *func)
{
    if (pm_usable_fast((const struct pthread_mutex_box *)(void *)m))
        return 0;
    return pm_usable_slow(m, func);
}

/* busy: what a mutex held elsewhere gives when ms == 0. */
static USHM__NOINLINE int mutex_acquire(ushm_mutex_t *m, const char *func,
                                       long ms, int busy)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    struct timespec deadline = { 0, 0 };
    int err;

    /* A lock of a mutex this thread holds is the error-checking pthread
     * mutex's EDEADLK (thread ids compare right within a PID namespace,
     * which pm_usable() makes sure of), through any mapping. */
    if ((err = ushm__sync_check(func, m, "mutex")) < 0)
        return err;
    if (ms > 0)
        deadline = ushm__deadline_after(ms);
    /* Before the set-up, which writes. */
    if (ushm__rdonly_has(m, sizeof *m))
        return pm_rdonly(func, m);
    pm_fast_prepare(); /* for the next lock of this thread */
    if ((err = ushm__held_reserve(hl, func, m)) < 0 ||
        (err = ushm__mutex_ready(&mx->head, &mx->pm, &pm_kind, func, ms,
                                 &deadline, busy)) < 0 ||
        (err = pm_usable(m, func)) < 0)
        return err;
    err = pm_lock(&mx->pm, ms, &deadline);
    if (err == EOWNERDEAD) {
        /* The holder died: the mutex is made usable again at once, and the
         * caller hears that what it guards may be half-updated. */
        if ((err = pthread_mutex_consistent(&mx->pm)) != 0) {
            pthread_mutex_unlock(&mx->pm);
            return ushm__fail(err, "%s(%p): pthread_mutex_consistent: %s",
                              func, (void *)m, ushm_strerror(-err));
        }
        atomic_store_explicit(locked_at(m), (uintptr_t)m, memory_order_relaxed);
        ushm__held_push(hl, m);
        return USHM_OWNERDEAD;
    }
    if (err != 0)
        return ushm__mutex_lock_failed(func, m, ms, busy, err);
    atomic_store_explicit(locked_at(m), (uintptr_t)m, memory_order_relaxed);
    ushm__held_push(hl, m);
    return 0;
}

/*
 * The uncontended lock, where configure chose a fast path of our own
 * (pm-fast-glibc.h): every check of mutex_acquire() that the usual case
 * passes, in one run of loads and compares with no call, then the lock.
 * 1: locked and recorded; 0: mutex_acquire() does it all, checks again
 * and says what is wrong.
 */
static USHM__ALWAYS_INLINE int mutex_acquire_fast(ushm_mutex_t *m)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;

    if (!ushm__sync_ok(m) || !ushm__rdonly_none() || !ushm__held_room(hl) ||
        atomic_load_explicit(&mx->head.state, memory_order_acquire) != pm_kind.tag ||
        !pm_usable_fast(mx) || !pm_fast_lock(&mx->pm))
        return 0;
    atomic_store_explicit(locked_at(m), (uintptr_t)m, memory_order_relaxed);
    ushm__held_push(hl, m);
    return 1;
}

int ushm_mutex_lock(ushm_mutex_t *m)
{
    if (mutex_acquire_fast(m))
        return 0;
    return mutex_acquire(m, "ushm_mutex_lock", -1, EBUSY);
}

int ushm_mutex_trylock(ushm_mutex_t *m)
{
    if (mutex_acquire_fast(m))
        return 0;
    return mutex_acquire(m, "ushm_mutex_trylock", 0, EBUSY);
}

int ushm_mutex_timedlock(ushm_mutex_t *m, long timeout_ms)
{
    if (mutex_acquire_fast(m))
        return 0;
    return mutex_acquire(m, "ushm_mutex_timedlock", timeout_ms, ETIMEDOUT);
}

/*
 * Not locked at this address by this thread, but maybe through another
 * mapping of the same segment: the holder wrote the address it locked
 * through at the end of the mutex.  If that address is in this thread's
 * list and is the same memory (a probe written through one address reads
 * back through the other), the mutex is unlocked through that address:
 * the C library finds it in its robust list by address (on i386 glibc
 * walks the list looking for it, for ever, under any other).
 */
static int unlock_elsewhere(ushm_mutex_t *m)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    const char *func = "ushm_mutex_unlock";
    uintptr_t at;
    ushm_mutex_t *there;
    long i;
    int err;

    if (atomic_load_explicit(&mx->head.state, memory_order_acquire) !=
        pm_kind.tag)
        return ushm__mutex_not_held(m);
    if (ushm__rdonly_has(m, sizeof *m))
        return pm_rdonly(func, m);
    if ((err = pm_usable(m, func)) < 0)
        return err;
    at = atomic_load_explicit(locked_at(m), memory_order_relaxed);
    if ((i = ushm__held_index(hl, (const void *)at)) < 0)
        return ushm__mutex_not_held(m);
    there = (ushm_mutex_t *)at; /* a mutex this thread holds: mapped */
    atomic_store_explicit(locked_at(m), (uintptr_t)m, memory_order_relaxed);
    if (atomic_load_explicit(locked_at(there), memory_order_relaxed) !=
        (uintptr_t)m) {
        /* Another mutex of ours, named by overwritten bytes: not this. */
        atomic_store_explicit(locked_at(m), at, memory_order_relaxed);
        return ushm__mutex_not_held(m);
    }
    atomic_store_explicit(locked_at(m), at, memory_order_relaxed);
    err = pthread_mutex_unlock(&((struct pthread_mutex_box *)(void *)there)->pm);
    if (err == EPERM)
        return ushm__mutex_not_held(m);
    if (err != 0)
        return ushm__fail(err, "%s(%p): pthread_mutex_unlock: %s", func,
                          (void *)m, ushm_strerror(-err));
    ushm__held_remove(hl, (size_t)i);
    return 0;
}

/* The kernel marks a robust mutex whose holder thread ends (its robust
 * list): nothing to add. */
void ushm__mutex_thread_ended(void *m)
{
    (void)m;
}

const atomic_uint *ushm__mutex_end_word(const ushm_mutex_t *m)
{
    const struct pthread_mutex_box *mx = (const struct pthread_mutex_box *)(const void *)m;

    return pm_fast_end_word(&mx->pm);
}

static USHM__NOINLINE int mutex_release(ushm_mutex_t *m)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    long i;
    int err;

    if ((err = ushm__sync_check("ushm_mutex_unlock", m, "mutex")) < 0)
        return err;
    if ((i = ushm__held_index(hl, m)) < 0)
        return unlock_elsewhere(m);
    /* Locked here, so the namespace and the type were checked then. */
    if (ushm__rdonly_has(m, sizeof *m))
        return pm_rdonly("ushm_mutex_unlock", m);
    if ((err = pthread_mutex_unlock(&mx->pm)) != 0)
        return ushm__fail(err, "ushm_mutex_unlock(%p): pthread_mutex_unlock: "
                          "%s", (void *)m, ushm_strerror(-err));
    ushm__held_remove(hl, (size_t)i);
    return 0;
}

/* The usual unlock, where configure chose a fast path of our own: the
 * mutex this thread locked last, at this address, outside read-only
 * mappings; anything else goes to mutex_release(). */
int ushm_mutex_unlock(ushm_mutex_t *m)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    size_t n = ushm__held_count(hl);

    if (n > 0 &&
        atomic_load_explicit(&ushm__held_items(hl)[n - 1], memory_order_relaxed) ==
            (uintptr_t)m &&
        ushm__rdonly_none() && pm_fast_unlock(&mx->pm)) {
        ushm__held_remove(hl, n - 1);
        return 0;
    }
    return mutex_release(m);
}
