/* SPDX-License-Identifier: MIT */
/* What lib/queue.c shares with the core. */
#ifndef USHM_QUEUE_H
#define USHM_QUEUE_H

#include <stddef.h>

#include "backend.h"

/* 1 while this process has a ushm_queue_t attached whose bytes overlap
 * [addr, addr + len): ushm_close() of that mapping is -EBUSY. */
USHM__HIDDEN int ushm__queue_attached_in(const void *addr, size_t len);

#endif /* USHM_QUEUE_H */
