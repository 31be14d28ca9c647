/* SPDX-License-Identifier: MIT */
/*
 * ushm_mutex_t where configure found no robust process-shared mutex: every
 * call checks its argument and then fails with -ENOTSUP (API.md).  No mutex
 * is ever held, so held.c's list stays empty.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>

#include "internal.h"

static int no_mutex(const char *func, ushm_mutex_t *m)
{
    int err = ushm__sync_check(func, m, "mutex");

    if (err < 0)
        return err;
    return ushm__fail(ENOTSUP, "%s(%p): this system has no robust "
                      "process-shared mutex (configure found no "
                      "pthread_mutexattr_setrobust, "
                      "pthread_mutexattr_setpshared or "
                      "pthread_mutex_consistent)", func, (void *)m);
}

int ushm_mutex_lock(ushm_mutex_t *m)
{
    return no_mutex("ushm_mutex_lock", m);
}

int ushm_mutex_trylock(ushm_mutex_t *m)
{
    return no_mutex("ushm_mutex_trylock", m);
}

int ushm_mutex_timedlock(ushm_mutex_t *m, long timeout_ms)
{
    (void)timeout_ms;
    return no_mutex("ushm_mutex_timedlock", m);
}

int ushm_mutex_unlock(ushm_mutex_t *m)
{
    return no_mutex("ushm_mutex_unlock", m);
}

/* No mutex is ever held here. */
void ushm__mutex_thread_ended(void *m)
{
    (void)m;
}

const atomic_uint *ushm__mutex_end_word(const ushm_mutex_t *m)
{
    (void)m;
    return NULL;
}
