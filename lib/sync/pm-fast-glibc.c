/* SPDX-License-Identifier: MIT */
/*
 * What pm-fast-glibc.h's inline lock and unlock need once per thread: the
 * thread's id and the head of its robust list, as the kernel has them
 * (gettid and get_robust_list are Linux calls: hence _GNU_SOURCE here).
 */
#define _GNU_SOURCE

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <linux/futex.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pm-fast-glibc.h"

_Thread_local struct ushm__pm_thread ushm__pm_self USHM__HELD_TLS_MODEL;

/* How far into glibc's thread descriptor its robust list head may be
 * (about 740 bytes into a descriptor of about 2300 in glibc 2.36). */
#define USHM__PM_DESCRIPTOR_MAX 4096u

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* The child of fork() is a thread with another id (glibc moves its list
 * head with it, empty): look both up again. */
static void pm_fast_forked(void)
{
    ushm__pm_self.tid = 0;
    ushm__pm_self.head = NULL;
}

static void pm_fast_once(void)
{
    pthread_atfork(NULL, NULL, pm_fast_forked);
}

void ushm__pm_fast_setup(struct ushm__pm_thread *t)
{
    struct robust_list_head *head = NULL;
    size_t len = 0;
    long tid;

    pthread_once(&fork_once, pm_fast_once);
    /* glibc registers one list per thread, its head inside the thread's
     * descriptor (pthread_self() points to it; the word before the head
     * is the list's back link), whose entries are the __next members of
     * its mutexes with the lock word futex_offset away.  Only such a list
     * is joined: not one a program registered itself, not none (qemu-user
     * has no robust lists). */
    tid = syscall(SYS_gettid);
    if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 || head == NULL ||
        len != sizeof *head || tid <= 0 || tid > (long)FUTEX_TID_MASK ||
        (uintptr_t)head - (uintptr_t)pthread_self() < sizeof(void *) ||
        (uintptr_t)head - (uintptr_t)pthread_self() > USHM__PM_DESCRIPTOR_MAX ||
        head->futex_offset !=
            (long)offsetof(pthread_mutex_t, __data.__lock) -
                (long)offsetof(pthread_mutex_t, __data.__list.__next)) {
        t->tid = -1;
        return;
    }
    t->head = head;
    t->tid = (pid_t)tid;
}

void ushm__pm_fast_wake(int *lock)
{
    /* Not FUTEX_PRIVATE_FLAG: the mutex is process-shared. */
    syscall(SYS_futex, lock, FUTEX_WAKE, 1, NULL, NULL, 0);
}

int ushm__pm_fast_undo(pthread_mutex_t *pm, struct robust_list_head *h)
{
    pm_fast_give_back(pm, h);
    return 0;
}
