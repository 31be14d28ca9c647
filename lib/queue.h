/* SPDX-License-Identifier: MIT */
/* What lib/queue.c shares with the core and with its waiting primitive. */
#ifndef USHM_QUEUE_H
#define USHM_QUEUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "backend.h"

/* 1 while this process has a ushm_queue_t attached whose bytes overlap
 * [addr, addr + len): ushm_close() of that mapping is -EBUSY. */
USHM__HIDDEN int ushm__queue_attached_in(const void *addr, size_t len);

/*
 * Waiting on a 32-bit word of shared memory (lib/queue-wait-futex.c, or
 * lib/queue-wait-poll.c where there is no futex or configure said
 * --disable-futex).  wait sleeps while *word == seen, until a wake, a
 * signal or until (CLOCK_MONOTONIC, never NULL); it may return early for
 * no reason, and its caller looks again.  *backoff_us is the caller's,
 * 0 at first.  wake wakes every waiter on word.
 */
USHM__HIDDEN void ushm__queue_wait(atomic_uint *word, unsigned seen,
                                   const struct timespec *until,
                                   long *backoff_us);
USHM__HIDDEN void ushm__queue_wake(atomic_uint *word);
/* 1 when waiting costs no CPU (a futex), 0 when it polls. */
USHM__HIDDEN int ushm__queue_wait_sleeps(void);

#endif /* USHM_QUEUE_H */
