/* SPDX-License-Identifier: MIT */
/* The timed wait of mutex-pthread.c where pthread_mutex_clocklock() exists. */
#define _GNU_SOURCE /* glibc declares pthread_mutex_clocklock() only so */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <time.h>

#include "internal.h"

int ushm__pthread_timedlock(pthread_mutex_t *pm, const struct timespec *deadline)
{
    return pthread_mutex_clocklock(pm, CLOCK_MONOTONIC, deadline);
}
