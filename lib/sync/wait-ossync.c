/* SPDX-License-Identifier: MIT */
/*
 * Waiting on a 32-bit word on macOS: os_sync_wait_on_address() with
 * OS_SYNC_WAIT_ON_ADDRESS_SHARED (the word is in memory of several
 * processes), from macOS 14.4; before it, the event polls (the same
 * bounded backoff as wait-poll.c) rather than use __ulock_wait, which is
 * not a public interface.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <os/os_sync_wait_on_address.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

#define POLL_FIRST_US 50L
#define POLL_MAX_US 1000L

static void poll_nap(const struct timespec *deadline, long *backoff_us)
{
    if (*backoff_us == 0)
        *backoff_us = POLL_FIRST_US;
    ushm__nap(*backoff_us, deadline);
    if (*backoff_us < POLL_MAX_US)
        *backoff_us = *backoff_us * 2 < POLL_MAX_US ? *backoff_us * 2 : POLL_MAX_US;
}

void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                        const struct timespec *deadline, long *backoff_us)
{
    struct timespec left;

    if (__builtin_available(macOS 14.4, *)) {
        if (deadline == NULL) {
            os_sync_wait_on_address(word, seen, sizeof *word,
                                    OS_SYNC_WAIT_ON_ADDRESS_SHARED);
            return;
        }
        if (!ushm__time_left(deadline, &left))
            return;
        os_sync_wait_on_address_with_timeout(
            word, seen, sizeof *word, OS_SYNC_WAIT_ON_ADDRESS_SHARED,
            OS_CLOCK_MACH_ABSOLUTE_TIME,
            (uint64_t)left.tv_sec * 1000000000u + (uint64_t)left.tv_nsec);
        return;
    }
    poll_nap(deadline, backoff_us);
}

void ushm__wake_word(atomic_uint *word)
{
    if (__builtin_available(macOS 14.4, *))
        os_sync_wake_by_address_all(word, sizeof *word,
                                    OS_SYNC_WAKE_BY_ADDRESS_SHARED);
}
