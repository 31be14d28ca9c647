/* SPDX-License-Identifier: MIT */
/*
 * The trylock of mutex-pthread.c with glibc, whose pthread_mutex_trylock()
 * of a robust mutex left not recoverable (its holder died and the next
 * holder unlocked it without pthread_mutex_consistent()) takes the lock
 * word and returns ENOTRECOVERABLE without giving the word back: it
 * releases it only "if (oldval == id)", where oldval is the 0 its
 * compare-and-swap found.  The word then names this thread, in no robust
 * list: every later lock in any process would wait for ever, and nothing
 * would free it when this thread ends.  pthread_mutex_lock() and
 * timedlock() give it back.  So here the word is given back when glibc
 * left this thread's id in it: the thread cannot hold the mutex otherwise
 * (an error-checking trylock of a mutex it holds is EDEADLK).
 * (gettid is a Linux call: hence _GNU_SOURCE.)
 */
#define _GNU_SOURCE

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

int ushm__pthread_trylock(pthread_mutex_t *pm)
{
    int err = pthread_mutex_trylock(pm), word, tid;

    if (err != ENOTRECOVERABLE)
        return err;
    tid = (int)syscall(SYS_gettid);
    word = __atomic_load_n(&pm->__data.__lock, __ATOMIC_RELAXED);
    if ((word & FUTEX_TID_MASK) == tid &&
        __atomic_compare_exchange_n(&pm->__data.__lock, &word, 0, 0,
                                    __ATOMIC_RELEASE, __ATOMIC_RELAXED) &&
        (word & FUTEX_WAITERS))
        syscall(SYS_futex, &pm->__data.__lock, FUTEX_WAKE, 1, NULL, NULL, 0);
    return err;
}
