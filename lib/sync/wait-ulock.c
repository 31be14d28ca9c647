/* SPDX-License-Identifier: MIT */
/*
 * Waiting on a 32-bit word on macOS: __ulock_wait() and __ulock_wake() with
 * the shared compare-and-wait operation (UL_COMPARE_AND_WAIT_SHARED, macOS
 * 10.15 and later), the word lying in memory of several processes.  They are
 * libSystem's exports under os_unfair_lock and libc++'s atomic wait, and
 * the calls os_sync_wait_on_address() (macOS 14.4) wraps; no SDK header
 * declares them, so the declarations and the operation's numbers (XNU's
 * bsd/sys/ulock.h) are written here.  configure picks this file where both
 * link (--disable-futex polls instead).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

#define UL_COMPARE_AND_WAIT_SHARED 3u
#define ULF_WAKE_ALL 0x00000100u
#define ULF_NO_ERRNO 0x01000000u /* the error as the result, errno untouched */

extern int __ulock_wait(uint32_t operation, void *addr, uint64_t value,
                        uint32_t timeout_us);
extern int __ulock_wake(uint32_t operation, void *addr, uint64_t wake_value);

void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                        const struct timespec *deadline, long *backoff_us)
{
    struct timespec left;
    uint64_t us;

    (void)backoff_us;
    if (deadline == NULL) {
        __ulock_wait(UL_COMPARE_AND_WAIT_SHARED | ULF_NO_ERRNO, word, seen, 0);
        return;
    }
    if (!ushm__time_left(deadline, &left))
        return;
    /* Microseconds, rounded up; 0 would mean no limit, and past 32 bits
     * (71 minutes) the caller looks at its deadline and waits again. */
    us = (uint64_t)left.tv_sec * 1000000u + ((uint64_t)left.tv_nsec + 999u) / 1000u;
    if (us == 0)
        us = 1;
    if (us > UINT32_MAX)
        us = UINT32_MAX;
    __ulock_wait(UL_COMPARE_AND_WAIT_SHARED | ULF_NO_ERRNO, word, seen,
                 (uint32_t)us);
}

void ushm__wake_word(atomic_uint *word)
{
    __ulock_wake(UL_COMPARE_AND_WAIT_SHARED | ULF_WAKE_ALL | ULF_NO_ERRNO, word, 0);
}
