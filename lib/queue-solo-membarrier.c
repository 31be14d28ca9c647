/* SPDX-License-Identifier: MIT */
/*
 * The barrier behind a queue's solo producer (lib/queue-io.c): Linux's
 * membarrier(2).  A process registers once for MEMBARRIER_CMD_GLOBAL_EXPEDITED;
 * after that, a MEMBARRIER_CMD_GLOBAL_EXPEDITED call by any process returns
 * only once every CPU running a thread of a registered process has passed a
 * full memory barrier (those not running pass one when they are scheduled).
 * The solo producer makes no fence of its own; whoever needs its stores and
 * loads ordered against theirs calls the barrier instead.
 */
#define _GNU_SOURCE 1 /* syscall() */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <linux/membarrier.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "queue-internal.h"

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0u, 0);
}

/* 1: registered; -1: the system refused (an old kernel, a seccomp filter);
 * 0: not asked yet. */
static atomic_int registered;

int ushm__solo_ready(void)
{
    int r = atomic_load_explicit(&registered, memory_order_acquire);

    if (r == 0) {
        long cmds = membarrier(MEMBARRIER_CMD_QUERY);

        r = cmds >= 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
            (cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) &&
            membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) == 0 ? 1 : -1;
        atomic_store_explicit(&registered, r, memory_order_release);
    }
    return r > 0;
}

/* The child of fork(): registers again before it goes solo (whether the
 * kernel carries a registration across fork() is its business). */
void ushm__solo_forget(void)
{
    atomic_store_explicit(&registered, 0, memory_order_relaxed);
}

int ushm__solo_barrier(void)
{
    int saved = errno, r = membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) == 0 ? 0 : -1;

    errno = saved;
    return r;
}
