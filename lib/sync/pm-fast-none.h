/* SPDX-License-Identifier: MIT */
/*
 * No fast path of our own (configure --with-mutex-fast-path=none, and
 * every system but 64-bit glibc): every lock and unlock of mutex-pthread.c
 * calls the C library's.
 */
#ifndef USHM_SYNC_PM_FAST_NONE_H
#define USHM_SYNC_PM_FAST_NONE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

static inline void pm_fast_prepare(void)
{
}

static inline int pm_fast_lock(pthread_mutex_t *pm)
{
    (void)pm;
    return 0;
}

static inline int pm_fast_unlock(pthread_mutex_t *pm)
{
    (void)pm;
    return 0;
}

/* Which word the system marks when a holder ends is the C library's
 * business: not known here (see ushm__mutex_end_word). */
static inline const atomic_uint *pm_fast_end_word(const pthread_mutex_t *pm)
{
    (void)pm;
    return NULL;
}

#endif /* USHM_SYNC_PM_FAST_NONE_H */
