/* SPDX-License-Identifier: MIT */
/*
 * The mutexes each thread holds, in lock order: the answer to -EDEADLK and
 * -EPERM, and to ushm_close() (lib/sync.h), which must refuse while any
 * thread of the process holds a mutex inside the mapping.  A thread's list
 * is its own to change (lookups, pushes and removals are inline in
 * internal.h); it joins the process's list of lists at its first lock and
 * leaves it when the thread ends.  Heap storage is used only past
 * USHM__HELD_INLINE mutexes held at once, and given back as soon as the
 * count falls to USHM__HELD_INLINE again; it is swapped under the lock of
 * the list of lists, so a reader in ushm_close() never meets freed memory.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sync.h"

_Thread_local struct ushm__held_list ushm__held USHM__HELD_TLS_MODEL;

static pthread_mutex_t lists_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ushm__held_list *lists;
/* Whether any thread ever locked a mutex: ushm_close() of a process that
 * never did need not take the lock. */
static atomic_int any_lists;
static pthread_once_t held_once = PTHREAD_ONCE_INIT;
static pthread_key_t held_key;

static void list_unlink(struct ushm__held_list *hl)
{
    if (hl->next != NULL)
        hl->next->prevp = hl->prevp;
    *hl->prevp = hl->next;
    hl->registered = 0;
}

/* A thread that ends holds nothing any more: each mutex it still holds is
 * marked for its next locker (by the kernel, or ushm__mutex_thread_ended),
 * and its list leaves the process's. */
static void held_thread_end(void *arg)
{
    struct ushm__held_list *hl = arg;
    atomic_uintptr_t *v;

    pthread_mutex_lock(&lists_lock);
    v = ushm__held_items(hl);
    for (size_t i = ushm__held_count(hl); i-- > 0;)
        ushm__mutex_thread_ended((void *)atomic_load_explicit(
            &v[i], memory_order_relaxed));
    if (hl->registered)
        list_unlink(hl);
    atomic_store_explicit(&hl->n, 0, memory_order_relaxed);
    free(hl->v);
    hl->v = NULL;
    hl->cap = 0;
    pthread_mutex_unlock(&lists_lock);
}

/* fork() copies only the calling thread, which holds none of its parent's
 * mutexes in the child: the child starts with no list but its own, empty. */
static void held_prepare(void)
{
    pthread_mutex_lock(&lists_lock);
}

static void held_parent(void)
{
    pthread_mutex_unlock(&lists_lock);
}

static void held_child(void)
{
    struct ushm__held_list *hl = &ushm__held;

    pthread_mutex_init(&lists_lock, NULL);
    lists = NULL;
    atomic_store_explicit(&hl->n, 0, memory_order_relaxed);
    if (hl->registered) {
        hl->next = NULL;
        hl->prevp = &lists;
        lists = hl;
    }
}

static void held_setup(void)
{
    pthread_key_create(&held_key, held_thread_end);
    pthread_atfork(held_prepare, held_parent, held_child);
}

int ushm__held_grow(struct ushm__held_list *hl, const char *func, const void *m)
{
    size_t cap = hl->v != NULL ? hl->cap : USHM__HELD_INLINE;
    size_t n = ushm__held_count(hl);
    atomic_uintptr_t *v, *old;

    pthread_once(&held_once, held_setup);
    if (!hl->registered) {
        if (pthread_setspecific(held_key, hl) != 0)
            return ushm__fail(ENOMEM, "%s(%p): out of memory to record the "
                              "mutexes this thread holds", func, m);
        pthread_mutex_lock(&lists_lock);
        hl->next = lists;
        hl->prevp = &lists;
        if (lists != NULL)
            lists->prevp = &hl->next;
        lists = hl;
        hl->registered = 1;
        atomic_store_explicit(&any_lists, 1, memory_order_release);
        pthread_mutex_unlock(&lists_lock);
    }
    if (n < cap)
        return 0;
    v = malloc(2 * cap * sizeof *v);
    if (v == NULL)
        return ushm__fail(ENOMEM, "%s(%p): out of memory to record the %zu "
                          "mutexes this thread holds", func, m, n + 1);
    old = ushm__held_items(hl);
    for (size_t i = 0; i < 2 * cap; i++)
        atomic_init(&v[i], i < n ? atomic_load_explicit(&old[i],
                                                        memory_order_relaxed)
                                 : 0);
    pthread_mutex_lock(&lists_lock);
    old = hl->v;
    hl->v = v;
    hl->cap = 2 * cap;
    pthread_mutex_unlock(&lists_lock);
    free(old);
    return 0;
}

void ushm__held_shrink(struct ushm__held_list *hl)
{
    size_t n = ushm__held_count(hl);
    atomic_uintptr_t *old = hl->v;

    for (size_t i = 0; i < USHM__HELD_INLINE; i++)
        atomic_store_explicit(&hl->inline_[i],
                              i < n ? atomic_load_explicit(&old[i],
                                                           memory_order_relaxed)
                                    : 0,
                              memory_order_relaxed);
    pthread_mutex_lock(&lists_lock);
    hl->v = NULL;
    hl->cap = 0;
    pthread_mutex_unlock(&lists_lock);
    free(old);
}

int ushm__sync_held_in(const void *addr, size_t len, const void **found)
{
    uintptr_t lo = (uintptr_t)addr;
    int held = 0;

    if (!atomic_load_explicit(&any_lists, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&lists_lock);
    for (struct ushm__held_list *hl = lists; hl != NULL && !held;
         hl = hl->next) {
        size_t n = atomic_load_explicit(&hl->n, memory_order_acquire);
        atomic_uintptr_t *v = ushm__held_items(hl);

        for (size_t i = 0; i < n && !held; i++) {
            uintptr_t p = atomic_load_explicit(&v[i], memory_order_relaxed);

            if (p >= lo && p - lo < len) {
                if (found != NULL)
                    *found = (const void *)p;
                held = 1;
            }
        }
    }
    pthread_mutex_unlock(&lists_lock);
    return held;
}

int ushm__mutex_held_here(const ushm_mutex_t *m)
{
    return ushm__held_index(&ushm__held, m) >= 0;
}
