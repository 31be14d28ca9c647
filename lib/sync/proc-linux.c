/* SPDX-License-Identifier: MIT */
/* Whether another process is alive, and since when: Linux's /proc/PID/stat. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

const char ushm__process_identity[] = "its pid and its start time in /proc/PID/stat";

/* Whether /proc is this PID namespace's: a container may see another's
 * mounted there, whose /proc/PID is some other process. */
static int proc_is_ours(void)
{
    char link[32];
    ssize_t n = readlink("/proc/self", link, sizeof link - 1);

    if (n <= 0)
        return 0;
    link[n] = '\0';
    return strtol(link, NULL, 10) == (long)getpid();
}

int ushm__process_gone(pid_t pid, uint64_t *start)
{
    char path[48], buf[512], *p, *end;
    unsigned long long threads = 0, since = 0;
    ssize_t n;
    int fd;

    if (start != NULL)
        *start = 0;
    if (kill(pid, 0) == -1 && errno == ESRCH)
        return 1;
    if (!proc_is_ours()) /* the pid alone says it */
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    do
        n = read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold anything */
    if (p == NULL || p[1] != ' ')
        return 0;
    /* Fields 3 (state) to 22 (start time, in clock ticks since boot). */
    p += 2;
    for (int field = 3; field <= 22 && *p != '\0'; field++) {
        if (field == 20)
            threads = strtoull(p, &end, 10);
        if (field == 22)
            since = strtoull(p, &end, 10);
        p = strchr(p, ' ');
        if (p == NULL)
            break;
        p++;
    }
    /* A zombie whose threads still run is a leader that called
     * pthread_exit(): its process lives on. */
    p = strrchr(buf, ')') + 2;
    if (*p == 'X' || (*p == 'Z' && threads <= 1))
        return 1;
    if (start != NULL)
        *start = since;
    return 0;
}
