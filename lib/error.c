/* SPDX-License-Identifier: MIT */
/* Error text: ushm_strerror() and the thread-local ushm_last_error(). */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "backend.h"

#define USHM__ERROR_LEN 512

static _Thread_local char last_error[USHM__ERROR_LEN];
static _Thread_local char errno_text[128];
static _Thread_local char rlimit_text[96];

const char *ushm_last_error(void)
{
    return last_error[0] != '\0' ? last_error : "no error";
}

const char *ushm_strerror(int err)
{
    if (err < 0)
        err = err == INT_MIN ? INT_MAX : -err; /* no errno is near either */
    /* POSIX strerror_r: thread-safe, unlike strerror(). */
    if (strerror_r(err, errno_text, sizeof errno_text) != 0)
        snprintf(errno_text, sizeof errno_text, "Unknown error %d", err);
    return errno_text;
}

int ushm__fail(int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return -err;
}

const char *ushm__rlimit_hint(int err)
{
    struct rlimit rl;
    int which;
    const char *what, *unit;

    switch (err) {
    case ENOMEM: which = RLIMIT_AS; what = "RLIMIT_AS"; unit = " bytes"; break;
    case EMFILE: which = RLIMIT_NOFILE; what = "RLIMIT_NOFILE"; unit = " descriptors"; break;
    default: return "";
    }
    if (getrlimit(which, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return "";
    snprintf(rlimit_text, sizeof rlimit_text, ": %s is %llu%s", what,
             (unsigned long long)rl.rlim_cur, unit);
    return rlimit_text;
}

int ushm__read_sysctl(const char *path, unsigned long long *value)
{
    FILE *f = fopen(path, "re");
    int ok;

    if (f == NULL)
        return -1;
    ok = fscanf(f, "%llu", value) == 1;
    fclose(f);
    return ok ? 0 : -1;
}

/* The first number after "key:" in /proc/meminfo, or 0. */
static unsigned long long meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[128];
    size_t len = strlen(key);
    unsigned long long value = 0;

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, len) == 0 && line[len] == ':') {
            value = strtoull(line + len + 1, NULL, 10);
            break;
        }
    fclose(f);
    return value;
}

size_t ushm__hugepage_size(void)
{
    return (size_t)meminfo("Hugepagesize") * 1024;
}

const char *ushm__hugepage_hint(void)
{
    static _Thread_local char hint[200];
    unsigned long long total = meminfo("HugePages_Total");

    snprintf(hint, sizeof hint, "%llu of vm.nr_hugepages (%llu) huge pages of "
             "%llu kB are free; reserve more with sysctl vm.nr_hugepages=N",
             meminfo("HugePages_Free"), total, meminfo("Hugepagesize"));
    return hint;
}
