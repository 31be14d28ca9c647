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
#include <time.h>

#include "internal.h"

struct pthread_mutex_box {
    atomic_uint state; /* mutex.c's */
    uint32_t unused_;
    pthread_mutex_t pm;
};

_Static_assert(sizeof(struct pthread_mutex_box) <= sizeof(ushm_mutex_t),
               "pthread_mutex_t does not fit in ushm_mutex_t");
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
    .init_call = "pthread_mutex_init",
    .init = pm_init,
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
        return pthread_mutex_trylock(pm);
    do
        err = ushm__pthread_timedlock(pm, deadline);
    while (err == EINTR || (err == ETIMEDOUT && !ushm__deadline_passed(deadline)));
    return err;
}

/* busy: what a mutex held elsewhere gives when ms == 0. */
static int mutex_acquire(ushm_mutex_t *m, const char *func, long ms, int busy)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    struct timespec deadline = { 0, 0 };
    int err;

    if ((err = ushm__sync_check(func, m, "mutex")) < 0)
        return err;
    if (ushm__held_index(hl, m) >= 0)
        return ushm__mutex_held_already(func, m);
    if (ms > 0)
        deadline = ushm__deadline_after(ms);
    if ((err = ushm__held_reserve(hl, func, m)) < 0 ||
        (err = ushm__mutex_ready(&mx->state, &mx->pm, &pm_kind, func, ms,
                                 &deadline, busy)) < 0)
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
        ushm__held_push(hl, m);
        return USHM_OWNERDEAD;
    }
    if (err != 0)
        return ushm__mutex_lock_failed(func, m, ms, busy, err);
    ushm__held_push(hl, m);
    return 0;
}

int ushm_mutex_lock(ushm_mutex_t *m)
{
    return mutex_acquire(m, "ushm_mutex_lock", -1, EBUSY);
}

int ushm_mutex_trylock(ushm_mutex_t *m)
{
    return mutex_acquire(m, "ushm_mutex_trylock", 0, EBUSY);
}

int ushm_mutex_timedlock(ushm_mutex_t *m, long timeout_ms)
{
    return mutex_acquire(m, "ushm_mutex_timedlock", timeout_ms, ETIMEDOUT);
}

int ushm_mutex_unlock(ushm_mutex_t *m)
{
    struct pthread_mutex_box *mx = (struct pthread_mutex_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    long i;
    int err;

    if ((err = ushm__sync_check("ushm_mutex_unlock", m, "mutex")) < 0)
        return err;
    if ((i = ushm__held_index(hl, m)) < 0)
        return ushm__mutex_not_held(m);
    if ((err = pthread_mutex_unlock(&mx->pm)) != 0)
        return ushm__fail(err, "ushm_mutex_unlock(%p): pthread_mutex_unlock: "
                          "%s", (void *)m, ushm_strerror(-err));
    ushm__held_remove(hl, (size_t)i);
    return 0;
}
