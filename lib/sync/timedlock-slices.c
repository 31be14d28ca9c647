/* SPDX-License-Identifier: MIT */
/*
 * The timed wait of mutex-pthread.c where only CLOCK_REALTIME is on offer
 * (musl): wait in slices of at most 50 ms of it, so that a step of the wall
 * clock can neither end the wait early (the caller checks the monotonic
 * deadline) nor stretch it much.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "internal.h"

#define SLICE_NS 50000000L

int ushm__pthread_timedlock(pthread_mutex_t *pm, const struct timespec *deadline)
{
    struct timespec left, rt;
    int err;

    if (!ushm__time_left(deadline, &left)) {
        err = pthread_mutex_trylock(pm);
        return err == EBUSY ? ETIMEDOUT : err;
    }
    if (left.tv_sec > 0 || left.tv_nsec > SLICE_NS) {
        left.tv_sec = 0;
        left.tv_nsec = SLICE_NS;
    }
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_sec += left.tv_sec;
    rt.tv_nsec += left.tv_nsec;
    if (rt.tv_nsec >= 1000000000L) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(pm, &rt);
}
