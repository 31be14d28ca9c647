/* SPDX-License-Identifier: MIT */
/* The queue's waiting without a futex: naps of 50 us, doubling up to 1 ms,
 * never past the deadline; a wake is then nothing to do. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <time.h>

#include "queue.h"

#define POLL_FIRST_US 50L
#define POLL_MAX_US 1000L

void ushm__queue_wait(atomic_uint *word, unsigned seen,
                      const struct timespec *until, long *backoff_us)
{
    struct timespec now, nap;
    long left_ns;

    if (atomic_load_explicit(word, memory_order_acquire) != seen)
        return;
    if (*backoff_us == 0)
        *backoff_us = POLL_FIRST_US;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (until->tv_sec - now.tv_sec > 1)
        left_ns = 1000000000L;
    else
        left_ns = (long)(until->tv_sec - now.tv_sec) * 1000000000L +
                  (until->tv_nsec - now.tv_nsec);
    if (left_ns <= 0)
        return;
    nap.tv_sec = 0;
    nap.tv_nsec = *backoff_us * 1000L < left_ns ? *backoff_us * 1000L : left_ns;
    nanosleep(&nap, NULL); /* EINTR: the caller looks again */
    if (*backoff_us < POLL_MAX_US)
        *backoff_us = *backoff_us * 2 < POLL_MAX_US ? *backoff_us * 2 : POLL_MAX_US;
}

void ushm__queue_wake(atomic_uint *word)
{
    (void)word;
}

int ushm__queue_wait_sleeps(void)
{
    return 0;
}
