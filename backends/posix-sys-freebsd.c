/* SPDX-License-Identifier: MIT */
/*
 * The POSIX backend on FreeBSD: objects live in the kernel, not in a
 * directory (posixshmcontrol(1) lists them), and shm_open() refuses every
 * flag but O_ACCMODE, O_CREAT, O_EXCL, O_TRUNC and O_CLOEXEC (EINVAL).
 * posix_fallocate() reserves their memory.  fstat()'s st_nlink is the
 * reference count of the object's VM pages (one more per mapping), not a
 * count of names.  No huge pages for named
 * objects here (shm_create_largepage() is another call and another name
 * space).
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stddef.h>

#include "posix.h"

const struct posix_sys ushm__posix_sys = {
    .name = "FreeBSD",
    .dir = NULL,
    .objects = "the kernel (posixshmcontrol ls lists them)",
    .oflags = 0,
    .size_first = 0,
    .reserve = 1,
    .types_known = 1,
    .exact_size = 1,
    .links_known = 0,
    .identity = 1,
    .chmod_works = 1,
};
