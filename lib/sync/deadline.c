/* SPDX-License-Identifier: MIT */
/* Deadlines on CLOCK_MONOTONIC, naps, and whether spinning pays. */
/* Not _POSIX_C_SOURCE: sysconf(_SC_NPROCESSORS_ONLN) is not POSIX.1-2008,
 * and FreeBSD and macOS hide it then.  glibc and musl take _DEFAULT_SOURCE
 * (POSIX.1-2008 and BSD), which the BSDs ignore, showing everything. */
#define _DEFAULT_SOURCE

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct timespec ushm__mono_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts;
}

struct timespec ushm__deadline_after(long ms)
{
    struct timespec d = ushm__mono_now();

    d.tv_sec += (time_t)(ms / 1000);
    d.tv_nsec += (ms % 1000) * 1000000L;
    if (d.tv_nsec >= 1000000000L) {
        d.tv_sec++;
        d.tv_nsec -= 1000000000L;
    }
    return d;
}

int ushm__time_left(const struct timespec *deadline, struct timespec *left)
{
    struct timespec now = ushm__mono_now();

    left->tv_sec = deadline->tv_sec - now.tv_sec;
    left->tv_nsec = deadline->tv_nsec - now.tv_nsec;
    if (left->tv_nsec < 0) {
        left->tv_sec--;
        left->tv_nsec += 1000000000L;
    }
    return left->tv_sec > 0 || (left->tv_sec == 0 && left->tv_nsec > 0);
}

int ushm__deadline_passed(const struct timespec *deadline)
{
    struct timespec left;

    return !ushm__time_left(deadline, &left);
}

void ushm__nap(long us, const struct timespec *deadline)
{
    struct timespec ts = { 0, us * 1000L }, left;

    if (deadline != NULL && ushm__time_left(deadline, &left) &&
        (left.tv_sec == 0 && left.tv_nsec < ts.tv_nsec))
        ts = left;
    nanosleep(&ts, NULL); /* EINTR: the caller checks and comes back */
}

int ushm__spin_worthwhile(void)
{
    static atomic_int cpus; /* 0: not asked yet */
    int n = atomic_load_explicit(&cpus, memory_order_relaxed);

    if (n == 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);

        n = c > 1 ? 2 : 1;
        atomic_store_explicit(&cpus, n, memory_order_relaxed);
    }
    return n > 1;
}
