/* SPDX-License-Identifier: MIT */
#ifndef USHM_PREFAULT_H
#define USHM_PREFAULT_H

#include <stddef.h>

#include "backend.h"

/* Fault in every page of [addr, addr + len) of the segment called label,
 * whose memory comes from the file system at space_dir (or NULL: from
 * memory); 0, or a negative errno with last_error written. */
USHM__HIDDEN int ushm__prefault(void *addr, size_t len, int writable,
                                const char *label, const char *space_dir);

#endif
