/* SPDX-License-Identifier: MIT */
/*
 * What the files of lib/sync/ share: ushm_mutex_t and ushm_event_t live in
 * memory, not in a segment, so they are the same for every backend.  Each
 * alternative is a file that configure picks (Makefile.am): waiting on a
 * 32-bit word is wait-futex.c or wait-poll.c.  deadline.c and event.c are
 * the same everywhere.
 */
#ifndef USHM_SYNC_INTERNAL_H
#define USHM_SYNC_INTERNAL_H

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "backend.h"

#if ATOMIC_INT_LOCK_FREE != 2
#error "ushm_mutex_t and ushm_event_t need a lock-free 32-bit atomic"
#endif

_Static_assert(sizeof(ushm_mutex_t) == 64, "ushm_mutex_t is 64 bytes (ABI)");
_Static_assert(sizeof(ushm_event_t) == 16, "ushm_event_t is 16 bytes (ABI)");
#ifdef __GNUC__
_Static_assert(_Alignof(ushm_mutex_t) == 8 && _Alignof(ushm_event_t) == 8,
               "the header aligns both to 8, in structs too (i386)");
#endif

#define USHM__SYNC_ALIGN 8 /* both objects: documented in API.md and the man pages */

/* 0, or -EINVAL for a NULL or misaligned object ("mutex", "event"). */
static inline int ushm__sync_check(const char *func, const void *p,
                                   const char *what)
{
    if (p == NULL)
        return ushm__fail(EINVAL, "%s: the %s is NULL", func, what);
    if (((uintptr_t)p & (USHM__SYNC_ALIGN - 1)) != 0)
        return ushm__fail(EINVAL, "%s(%p): the %s is not %d-byte aligned",
                          func, p, what, USHM__SYNC_ALIGN);
    return 0;
}

/* ---- deadlines on CLOCK_MONOTONIC (deadline.c) ------------------------- */

USHM__HIDDEN struct timespec ushm__mono_now(void);
USHM__HIDDEN struct timespec ushm__deadline_after(long ms);
/* The time left until deadline in *left; 0 once it has passed. */
USHM__HIDDEN int ushm__time_left(const struct timespec *deadline,
                                 struct timespec *left);
USHM__HIDDEN int ushm__deadline_passed(const struct timespec *deadline);
/* A short nap, never past deadline (NULL: none), for the rare waits that
 * have no primitive to sleep on.  A signal ends it early. */
USHM__HIDDEN void ushm__nap(long us, const struct timespec *deadline);
/* Spinning only pays when another CPU can change the word meanwhile. */
USHM__HIDDEN int ushm__spin_worthwhile(void);

/* One turn of a spin loop.  Inline, so that a call does not change the
 * loop's pace; the #if only names each architecture's pause instruction. */
static inline void ushm__cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#else
    sched_yield();
#endif
}

/* ---- waiting on a 32-bit word (wait-futex.c or wait-poll.c) ------------ */

/* Sleep while *word == seen, until woken, a signal or the deadline (NULL:
 * none).  *backoff_us, 0 at first, paces a waiter that has to nap. */
USHM__HIDDEN void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                                     const struct timespec *deadline,
                                     long *backoff_us);
/* Wake every waiter on word (nothing to do where waiters poll). */
USHM__HIDDEN void ushm__wake_word(atomic_uint *word);

#endif /* USHM_SYNC_INTERNAL_H */
