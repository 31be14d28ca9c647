/* SPDX-License-Identifier: MIT */
/* Whether another process is alive, and since when: macOS's sysctl
 * KERN_PROC_PID (struct kinfo_proc, kp_proc.p_starttime). */
#define _DARWIN_C_SOURCE /* sysctl() and struct kinfo_proc */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/proc.h>
#include <sys/sysctl.h>

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
        return 0;
    if (len == 0) /* no such process any more */
        return 1;
    if (kp.kp_proc.p_stat == SZOMB)
        return 1;
    if (start != NULL)
        *start = (uint64_t)kp.kp_proc.p_starttime.tv_sec * 1000000u +
                 (uint64_t)kp.kp_proc.p_starttime.tv_usec;
    return 0;
}
