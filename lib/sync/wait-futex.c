/* SPDX-License-Identifier: MIT */
/* Waiting on a 32-bit word with the Linux futex: no CPU while asleep. */
#define _GNU_SOURCE /* syscall() */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if HAVE_LINUX_FUTEX_H
#include <linux/futex.h>
#else
#define FUTEX_WAIT 0 /* the kernel's ABI (musl-gcc has no kernel headers) */
#define FUTEX_WAKE 1
#endif

/* A 32-bit system with a 64-bit time_t passes its struct timespec to
 * futex_time64; the condition is a constant, folded away. */
#ifdef SYS_futex_time64
#define FUTEX_SYSCALL (sizeof(time_t) > sizeof(long) ? SYS_futex_time64 : SYS_futex)
#else
#define FUTEX_SYSCALL SYS_futex
#endif

#include "internal.h"

/* Not FUTEX_PRIVATE: the word is shared between processes. */
static long futex(atomic_uint *word, int op, unsigned val,
                  const struct timespec *rel)
{
    return syscall(FUTEX_SYSCALL, (void *)word, op, val, rel, NULL, 0);
}

void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                        const struct timespec *deadline, long *backoff_us)
{
    struct timespec left;
    long rc = 0;

    if (deadline == NULL)
        rc = futex(word, FUTEX_WAIT, seen, NULL);
    else if (ushm__time_left(deadline, &left))
        rc = futex(word, FUTEX_WAIT, seen, &left);
    /* A sandbox that forbids the call (seccomp): nap instead of spinning. */
    if (rc == -1 && (errno == ENOSYS || errno == EPERM)) {
        *backoff_us = *backoff_us == 0 ? 50 : *backoff_us < 500 ? *backoff_us * 2 : 1000;
        ushm__nap(*backoff_us, deadline);
    }
}

void ushm__wake_word(atomic_uint *word)
{
    futex(word, FUTEX_WAKE, INT_MAX, NULL);
}
