/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend on macOS: an object can be given its size once, and
 * must have it before it is mapped; read, write, pwrite and posix_fallocate
 * do not work on it, so its memory cannot be reserved (it comes from the
 * VM system as it is touched); fstat() says no S_IFREG, rounds the size
 * up to pages and zeroes st_nlink, st_dev and st_ino; fchmod() of an
 * object is EINVAL, and shm_open() keeps the mode it is given (no umask);
 * objects cannot be listed.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stddef.h>

#include "posix.h"

const struct posix_sys ushm__posix_sys = {
    .name = "macOS",
    .dir = NULL,
    .objects = "the kernel (macOS cannot list them)",
    .oflags = 0,
    .size_first = 1,
    .reserve = 0,
    .types_known = 0,
    .exact_size = 0,
    .links_known = 0,
    .identity = 0,
    .chmod_works = 0,
};
