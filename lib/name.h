/* SPDX-License-Identifier: MIT */
/* Segment names: the grammar of API.md and the SysV key derived from a name. */
#ifndef USHM_NAME_H
#define USHM_NAME_H

#include <stdint.h>

#include "backend.h"

/*
 * Copy the canonical form of name ("/" + body) into out.  Returns 0,
 * -EINVAL when name is not a name (a body beginning with "sem." included),
 * or -ENAMETOOLONG when a well-formed name is longer than USHM_NAME_MAX.
 * Does not write last_error.
 */
USHM__HIDDEN int ushm__name_canon(const char *name, char out[USHM_NAME_MAX + 1]);

/* Whether a name's body (the part after the slash) is a POSIX semaphore's:
 * glibc keeps sem_open("/x") as the shared memory object "/sem.x". */
USHM__HIDDEN int ushm__name_is_semaphore(const char *body);

/*
 * The SysV key of a canonical name: 32-bit FNV-1a over its bytes (leading
 * slash included, no NUL), with 0 (IPC_PRIVATE) replaced by 1.  Part of the
 * on-disk contract: never change it.
 */
USHM__HIDDEN uint32_t ushm__name_key(const char *canonical);

#endif /* USHM_NAME_H */
