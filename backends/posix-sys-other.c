/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend where nothing more is known of the system (illumos and
 * the others): shm_open() takes the flags POSIX gives it and no more, and
 * objects are not assumed to be files anywhere a path reaches.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stddef.h>

#include "posix.h"

const struct posix_sys ushm__posix_sys = {
    .name = "this system",
    .dir = NULL,
    .objects = "the system's shared memory objects",
    .oflags = 0,
    .size_first = 1,
    .reserve = 1,
    .types_known = 1,
    .exact_size = 1,
    .links_known = 1,
    .identity = 1,
    .chmod_works = 1,
};
