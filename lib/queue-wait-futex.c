/* SPDX-License-Identifier: MIT */
/* The queue's waiting on the Linux futex: a sleeping waiter costs no CPU. */
#define _GNU_SOURCE /* syscall() */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if HAVE_LINUX_FUTEX_H
#include <linux/futex.h>
#else
#define FUTEX_WAIT 0 /* the kernel's ABI (musl-gcc has no kernel headers) */
#define FUTEX_WAKE 1
#endif

#include "queue.h"

/* Not FUTEX_PRIVATE: the word is shared between processes. */
static long futex(atomic_uint *word, int op, unsigned val,
                  const struct timespec *rel)
{
#ifdef SYS_futex_time64
    if (sizeof(time_t) > sizeof(long)) /* 32-bit with a 64-bit time_t */
        return syscall(SYS_futex_time64, (void *)word, op, val, rel, NULL, 0);
#endif
    return syscall(SYS_futex, (void *)word, op, val, rel, NULL, 0);
}

void ushm__queue_wait(atomic_uint *word, unsigned seen,
                      const struct timespec *until, long *backoff_us)
{
    struct timespec now, rel;

    clock_gettime(CLOCK_MONOTONIC, &now);
    rel.tv_sec = until->tv_sec - now.tv_sec;
    rel.tv_nsec = until->tv_nsec - now.tv_nsec;
    if (rel.tv_nsec < 0) {
        rel.tv_sec--;
        rel.tv_nsec += 1000000000L;
    }
    if (rel.tv_sec < 0)
        return;
    if (futex(word, FUTEX_WAIT, seen, &rel) == -1 &&
        (errno == ENOSYS || errno == EPERM)) {
        /* A sandbox that forbids the call (seccomp): nap, never spin. */
        struct timespec nap = { 0, 0 };

        *backoff_us = *backoff_us == 0 ? 50 : *backoff_us < 500 ? *backoff_us * 2 : 1000;
        nap.tv_nsec = *backoff_us * 1000L;
        if (rel.tv_sec == 0 && rel.tv_nsec < nap.tv_nsec)
            nap = rel;
        nanosleep(&nap, NULL);
    }
}

void ushm__queue_wake(atomic_uint *word)
{
    futex(word, FUTEX_WAKE, INT_MAX, NULL);
}

int ushm__queue_wait_sleeps(void)
{
    return 1;
}
