/* SPDX-License-Identifier: MIT */
/*
 * The uncontended lock and unlock of mutex-pthread.c's robust pthread
 * mutex, done here in a few instructions instead of in glibc's generic
 * __pthread_mutex_lock_full (configure --with-mutex-fast-path=glibc, on
 * 64-bit glibc).  They change the mutex's bytes and the thread's robust
 * list exactly as glibc does for a robust, error-checking, process-shared
 * mutex (its nptl/descr.h and pthread_mutex_lock.c are the facts; the
 * layout of pthread_mutex_t is glibc's ABI, so processes with any glibc
 * share these mutexes): so a mutex this code locked can be unlocked, made
 * consistent or waited for by glibc, and the kernel, walking the thread's
 * robust list when it dies, marks it as it would one of glibc's.
 *
 * Anything but the plain case goes to glibc: a lock word that is not 0
 * (held, a holder dead, waiters), an owner field that is not what a plain
 * unlock leaves, a thread whose robust list the kernel did not give us
 * (qemu-user has none) or whose list head has another layout.  Lock:
 *     list_op_pending = &list.next; CAS lock 0 -> tid; count = 1;
 *     enqueue at the head; list_op_pending = NULL; owner = tid; nusers++
 * Unlock (the caller holds it, owner == tid):
 *     list_op_pending = &list.next; dequeue; owner = 0; nusers--;
 *     exchange lock -> 0 (a FUTEX_WAKE if it had FUTEX_WAITERS);
 *     list_op_pending = NULL
 * A thread killed at any point leaves what glibc's would: the kernel sees
 * the mutex either in the list or as list_op_pending.
 */
#ifndef USHM_SYNC_PM_FAST_GLIBC_H
#define USHM_SYNC_PM_FAST_GLIBC_H

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal.h"

/* What this thread needs: its id as glibc and the kernel know it, and the
 * head of the robust list glibc gave the kernel.  tid 0: not looked up
 * yet (a new thread, or the child of fork()); -1: use glibc for all. */
struct ushm__pm_thread {
    struct robust_list_head *head;
    pid_t tid;
};
USHM__HIDDEN extern _Thread_local struct ushm__pm_thread ushm__pm_self
    USHM__HELD_TLS_MODEL;
/* Looks them up for the calling thread, once (mutex-pthread.c's full path
 * calls it: the fast one never waits for it). */
USHM__HIDDEN void ushm__pm_fast_setup(struct ushm__pm_thread *t);
static inline void pm_fast_prepare(void)
{
    if (ushm__pm_self.tid == 0)
        ushm__pm_fast_setup(&ushm__pm_self);
}
/* FUTEX_WAKE of one waiter on a process-shared mutex's lock word. */
USHM__HIDDEN void ushm__pm_fast_wake(int *lock);
/* A lock word taken over an owner field that a plain unlock does not leave
 * (not recoverable, or overwritten): given back untouched, for glibc to
 * say what it is.  Returns 0. */
USHM__HIDDEN int ushm__pm_fast_undo(pthread_mutex_t *pm,
                                    struct robust_list_head *h);

/* Where glibc's list entries point: the __next member of the mutex's list,
 * the lock word futex_offset bytes from it (what the kernel is told). */
#define USHM__PM_NEXT(pm) ((void *)&(pm)->__data.__list.__next)
#define USHM__PM_ADJUST offsetof(__pthread_list_t, __next)

static inline __pthread_list_t *ushm__pm_entry(void *next_field)
{
    uintptr_t at = (uintptr_t)next_field & ~(uintptr_t)1;

    return (__pthread_list_t *)(void *)((char *)at - USHM__PM_ADJUST);
}

/* The end of an unlock, as glibc's: the lock word back to 0 (a FUTEX_WAKE
 * for a waiter it had), then no operation pending on the thread's list. */
static USHM__ALWAYS_INLINE void pm_fast_give_back(pthread_mutex_t *pm,
                                                  struct robust_list_head *h)
{
    if (__atomic_exchange_n(&pm->__data.__lock, 0, __ATOMIC_RELEASE) &
        FUTEX_WAITERS)
        ushm__pm_fast_wake(&pm->__data.__lock);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    h->list_op_pending = NULL;
}

/* 1: locked (the caller records it); 0: call pthread_mutex_lock and the
 * others, which decide. */
static USHM__ALWAYS_INLINE int pm_fast_lock(pthread_mutex_t *pm)
{
    struct ushm__pm_thread *t = &ushm__pm_self;
    struct robust_list_head *h;
    __pthread_list_t *first;
    int zero = 0;

    if (t->tid <= 0) /* pm_fast_prepare() not called yet, or no list */
        return 0;
    h = t->head;
    h->list_op_pending = (struct robust_list *)USHM__PM_NEXT(pm);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    if (!__atomic_compare_exchange_n(&pm->__data.__lock, &zero, (int)t->tid, 0,
                                      __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
        h->list_op_pending = NULL;
        return 0;
    }
    if (pm->__data.__owner != 0)
        return ushm__pm_fast_undo(pm, h);
    pm->__data.__count = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    first = ushm__pm_entry(h->list.next);
    first->__prev = (__pthread_list_t *)USHM__PM_NEXT(pm);
    pm->__data.__list.__next = (__pthread_list_t *)(void *)h->list.next;
    pm->__data.__list.__prev = (__pthread_list_t *)(void *)h;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    h->list.next = (struct robust_list *)USHM__PM_NEXT(pm);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    h->list_op_pending = NULL;
    pm->__data.__owner = t->tid;
    pm->__data.__nusers++;
    return 1;
}

/* 1: unlocked; 0: call pthread_mutex_unlock, which decides. */
static USHM__ALWAYS_INLINE int pm_fast_unlock(pthread_mutex_t *pm)
{
    struct ushm__pm_thread *t = &ushm__pm_self;
    struct robust_list_head *h;
    __pthread_list_t *next, *prev;

    if (t->tid <= 0 || pm->__data.__owner != t->tid ||
        (__atomic_load_n(&pm->__data.__lock, __ATOMIC_RELAXED) &
         FUTEX_TID_MASK) != (int)t->tid)
        return 0;
    h = t->head;
    h->list_op_pending = (struct robust_list *)USHM__PM_NEXT(pm);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    next = ushm__pm_entry(pm->__data.__list.__next);
    next->__prev = pm->__data.__list.__prev;
    prev = ushm__pm_entry(pm->__data.__list.__prev);
    prev->__next = pm->__data.__list.__next;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    pm->__data.__list.__prev = NULL;
    pm->__data.__list.__next = NULL;
    pm->__data.__owner = 0;
    pm->__data.__nusers--;
    pm_fast_give_back(pm, h);
    return 1;
}

/* The word the kernel marks FUTEX_OWNER_DIED when the holder's thread ends:
 * glibc's lock word (see ushm__mutex_end_word). */
static inline const atomic_uint *pm_fast_end_word(const pthread_mutex_t *pm)
{
    return (const atomic_uint *)(const void *)&pm->__data.__lock;
}

#endif /* USHM_SYNC_PM_FAST_GLIBC_H */
