/* SPDX-License-Identifier: MIT */
/*
 * The USHM_RDONLY mappings of this process, so that a mutex or event inside
 * one is -EACCES from the calls that would write it, never SIGSEGV.  The
 * count is read first: a process without read-only mappings (most) pays
 * one load per call.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "sync.h"

struct rdonly_map {
    uintptr_t lo, hi;
    struct rdonly_map *next;
};

atomic_int ushm__rdonly_count;
static struct rdonly_map *maps;
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;

int ushm__rdonly_add(const void *addr, size_t len)
{
    struct rdonly_map *m = malloc(sizeof *m);

    if (m == NULL)
        return -ENOMEM;
    m->lo = (uintptr_t)addr;
    m->hi = (uintptr_t)addr + len;
    pthread_mutex_lock(&maps_lock);
    m->next = maps;
    maps = m;
    atomic_fetch_add_explicit(&ushm__rdonly_count, 1, memory_order_release);
    pthread_mutex_unlock(&maps_lock);
    return 0;
}

void ushm__rdonly_remove(const void *addr)
{
    struct rdonly_map **p, *m;

    pthread_mutex_lock(&maps_lock);
    for (p = &maps; (m = *p) != NULL; p = &m->next)
        if (m->lo == (uintptr_t)addr) {
            *p = m->next;
            free(m);
            atomic_fetch_sub_explicit(&ushm__rdonly_count, 1,
                                      memory_order_release);
            break;
        }
    pthread_mutex_unlock(&maps_lock);
}

int ushm__rdonly_has_slow(const void *p, size_t len)
{
    uintptr_t lo = (uintptr_t)p, hi = lo + len;
    int found = 0;

    pthread_mutex_lock(&maps_lock);
    for (struct rdonly_map *m = maps; m != NULL && !found; m = m->next)
        found = lo < m->hi && hi > m->lo;
    pthread_mutex_unlock(&maps_lock);
    return found;
}
