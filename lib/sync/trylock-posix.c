/* SPDX-License-Identifier: MIT */
/* The trylock of mutex-pthread.c where the C library's needs no repair. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>

#include "internal.h"

int ushm__pthread_trylock(pthread_mutex_t *pm)
{
    return pthread_mutex_trylock(pm);
}
