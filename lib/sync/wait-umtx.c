/* SPDX-License-Identifier: MIT */
/* Waiting on a 32-bit word on FreeBSD: _umtx_op(2), the shared (not
 * _PRIVATE) operations, since the word lies in memory of several
 * processes. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <sys/types.h>
#include <sys/umtx.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "internal.h"

void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                        const struct timespec *deadline, long *backoff_us)
{
    struct _umtx_time t;
    struct timespec left;

    (void)backoff_us;
    if (deadline == NULL) {
        _umtx_op(word, UMTX_OP_WAIT_UINT, seen, NULL, NULL);
        return;
    }
    if (!ushm__time_left(deadline, &left))
        return;
    t._timeout = left;
    t._flags = 0; /* relative */
    t._clockid = CLOCK_MONOTONIC;
    _umtx_op(word, UMTX_OP_WAIT_UINT, seen, (void *)(uintptr_t)sizeof t, &t);
}

void ushm__wake_word(atomic_uint *word)
{
    _umtx_op(word, UMTX_OP_WAKE, INT_MAX, NULL, NULL);
}
