/* SPDX-License-Identifier: MIT */
/* Whether another process is alive, and since when: FreeBSD's sysctl
 * KERN_PROC_PID (struct kinfo_proc, ki_start). */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/sysctl.h>
#include <sys/user.h>

#include "internal.h"

const char ushm__process_identity[] = "its pid and its start time from sysctl KERN_PROC_PID";

int ushm__process_gone(pid_t pid, uint64_t *start)
{
    int mib[4] = { CTL_KERN, KERN_PROC, KERN_PROC_PID, (int)pid };
    struct kinfo_proc kp;
    size_t len = sizeof kp;

    if (start != NULL)
        *start = 0;
    if (kill(pid, 0) == -1 && errno == ESRCH)
        return 1;
    if (sysctl(mib, 4, &kp, &len, NULL, 0) == -1)
        return errno == ESRCH;
    if (len == 0)
        return 1;
    if (kp.ki_stat == SZOMB)
        return 1;
    if (start != NULL)
        *start = (uint64_t)kp.ki_start.tv_sec * 1000000u +
                 (uint64_t)kp.ki_start.tv_usec;
    return 0;
}
