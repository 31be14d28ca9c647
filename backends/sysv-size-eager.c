/* SPDX-License-Identifier: MIT */
/*
 * A plain SysV join reads the segment's size before it attaches, where a
 * later read could fail for good (FreeBSD and macOS cannot stat a segment
 * removed meanwhile): no way to read it again is offered, so the backend
 * measures every join.  Linux takes sysv-size-lazy.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sysv.h"

int (*const ushm__sysv_size_again)(int shmid, size_t *size) = NULL;
