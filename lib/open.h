/* SPDX-License-Identifier: MIT */
/* What lib/open.c decides for the public calls of lib/core.c. */
#ifndef USHM_OPEN_H
#define USHM_OPEN_H

#include "backend.h"

/* Create or join h->id (flags and mode already valid, mode never 0) and
 * map it whole: 0, or a negative errno with nothing left behind. */
USHM__HIDDEN int ushm__open(struct ushm *h, size_t size, int flags,
                            mode_t mode);
USHM__HIDDEN int ushm__stat(const struct ushm__id *id, struct ushm_stat *st);
USHM__HIDDEN int ushm__unlink(const struct ushm__id *id);

#endif /* USHM_OPEN_H */
