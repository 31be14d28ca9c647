/* SPDX-License-Identifier: MIT */
#ifndef USHM_PREFAULT_H
#define USHM_PREFAULT_H

#include <stddef.h>

#include "backend.h"

/* Fault in every page of [addr, addr + len) of the segment called label:
 * 0; -EFAULT, with last_error left to the caller, when a page could not be
 * had; or another negative errno with last_error written. */
USHM__HIDDEN int ushm__prefault(void *addr, size_t len, int writable,
                                const char *label);

/* The system's one-call prefault (prefault-madvise.c, or prefault-touch.c
 * where there is none): 0, 1 when the pages must be touched instead, or a
 * negative errno as for ushm__prefault(). */
USHM__HIDDEN int ushm__prefault_advise(void *addr, size_t len, int writable,
                                       const char *label);

#endif
