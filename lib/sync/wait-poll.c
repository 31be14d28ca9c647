/* SPDX-License-Identifier: MIT */
/* Waiting on a 32-bit word without a system call to sleep on it (configure
 * --disable-futex, or no futex): poll with a bounded backoff. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdatomic.h>
#include <time.h>

#include "internal.h"

#define POLL_FIRST_US 50L
#define POLL_MAX_US 1000L

/* Nap, 50 us at first and doubling up to 1 ms, never past the deadline. */
void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                        const struct timespec *deadline, long *backoff_us)
{
    (void)word;
    (void)seen;
    if (*backoff_us == 0)
        *backoff_us = POLL_FIRST_US;
    ushm__nap(*backoff_us, deadline);
    if (*backoff_us < POLL_MAX_US)
        *backoff_us = *backoff_us * 2 < POLL_MAX_US ? *backoff_us * 2 : POLL_MAX_US;
}

void ushm__wake_word(atomic_uint *word)
{
    (void)word; /* the waiters see the change at their next look */
}
