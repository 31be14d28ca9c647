/* SPDX-License-Identifier: MIT */
/*
 * Whether another process is alive, where configure knows no way to ask
 * when it started (README: a pid reused by a newer process is then taken
 * for the holder until that process ends too).
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>

#include "internal.h"

const char ushm__process_identity[] = "its pid alone";

int ushm__process_gone(pid_t pid, uint64_t *start)
{
    if (start != NULL)
        *start = 0;
    return kill(pid, 0) == -1 && errno == ESRCH;
}
