/* SPDX-License-Identifier: MIT */
/*
 * The anonymous segment, the pinned CPUs and the peer processes that the
 * synchronisation benchmarks share (see sync-common.h).  The peers die with this
 * process.
 */
#ifndef _GNU_SOURCE /* apr-1.pc's cflags may define it already */
#define _GNU_SOURCE 1 /* sched_setaffinity, CPU_SET */
#endif

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#if HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif

#include <ushm.h>

#include "harness.h"
#include "sync-common.h"

struct sync_area *bench_area;
static ushm_t *sync_shm;

/* The two processes of roundtrip and ring run on two CPUs of their own,
 * this one on pin_cpu[0], its peer on pin_cpu[1]: left to the scheduler,
 * they share one CPU in some runs and not in others, and the figures jump
 * between the two cases. */
static int pin_cpu[2] = { -1, -1 };
#if HAVE_SCHED_SETAFFINITY
static cpu_set_t saved_cpus;
#endif

static void pin_to(int cpu)
{
#if HAVE_SCHED_SETAFFINITY
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
#else
    (void)cpu;
#endif
}

/* Chooses the first two CPUs this process may use and moves onto the
 * first; without two, nothing is pinned.  Once, before the first peer. */
static void pin_setup(void)
{
#if HAVE_SCHED_SETAFFINITY
    static int done;

    if (done)
        return;
    done = 1;
    if (sched_getaffinity(0, sizeof saved_cpus, &saved_cpus) != 0)
        return;
    for (int cpu = 0, n = 0; cpu < CPU_SETSIZE && n < 2; cpu++)
        if (CPU_ISSET(cpu, &saved_cpus))
            pin_cpu[n++] = cpu;
    if (pin_cpu[1] < 0)
        pin_cpu[0] = -1;
    else
        pin_to(pin_cpu[0]);
#endif
}

static void pin_restore(void)
{
#if HAVE_SCHED_SETAFFINITY
    if (pin_cpu[0] >= 0)
        sched_setaffinity(0, sizeof saved_cpus, &saved_cpus);
#endif
}

int bench_sync_setup(void)
{
    int err;

    if (bench_area != NULL)
        return 0;
    pin_setup();
    err = ushm_open(&sync_shm, NULL, sizeof *bench_area, USHM_CREATE, 0600);
    if (err < 0)
        return bench_fail_ushm("ushm_open", "(anonymous)", err);
    bench_area = ushm_addr(sync_shm);
    return 0;
}

void bench_sync_teardown(void)
{
    if (sync_shm != NULL)
        ushm_close(sync_shm);
    sync_shm = NULL;
    bench_area = NULL;
    pin_restore();
}

void bench_sync_describe(void)
{
    printf("  %-28s one anonymous %s segment; mutex %zu B, event %zu B; "
           "ring of %d records of %zu B, %ld records per run, up to %d per "
           "turn\n", "mutex, roundtrip, ring", bench_backend,
           sizeof(ushm_mutex_t), sizeof(ushm_event_t), RING_SLOTS,
           sizeof(struct record), bench_opt.records, RING_BATCH);
#if HAVE_SCHED_SETAFFINITY
    printf("  %-28s this process on the first CPU it may use, its peer on "
           "the second (roundtrip, ring)\n", "pinned");
#else
    printf("  %-28s no: no sched_setaffinity(); the scheduler places the "
           "two processes of roundtrip and ring\n", "pinned");
#endif
#if !HAVE_SYS_EVENTFD_H
    printf("  %-28s skipped: no <sys/eventfd.h>\n", "eventfd");
#endif
}

/* The descriptors the benchmarks keep for their peers (pipes, socket
 * pair, eventfds), each registered before it is opened. */
static int *peer_fds[16];
static int npeer_fds;

void bench_peer_fd(int *fd)
{
    for (int i = 0; i < npeer_fds; i++)
        if (peer_fds[i] == fd)
            return;
    if (npeer_fds == (int)(sizeof peer_fds / sizeof peer_fds[0]))
        abort();
    peer_fds[npeer_fds++] = fd;
}

/* A peer process running body(), with only the descriptors keep1 and keep2
 * of all those registered (a peer holding another's pipe would keep it
 * from seeing the end of its input).  It takes the default action of every
 * signal (the parent's handler would sweep the parent's segments), dies
 * with the parent where prctl() can ask for that, and never returns. */
pid_t bench_spawn(void (*body)(void), int keep1, int keep2)
{
    pid_t pid;

    pin_setup();
    fflush(stdout); /* the peer leaves by _exit(): it flushes nothing */
    pid = fork();
    if (pid == -1) {
        bench_fail_errno("fork", "peer", errno);
        return -1;
    }
    if (pid > 0)
        return pid;
    bench_default_signals();
    for (int i = 0; i < npeer_fds; i++) {
        int fd = *peer_fds[i];

        if (fd >= 0 && fd != keep1 && fd != keep2)
            close(fd);
    }
#if HAVE_SYS_PRCTL_H && defined(PR_SET_PDEATHSIG)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    if (getppid() != bench_pid)
        _exit(1);
    if (pin_cpu[1] >= 0)
        pin_to(pin_cpu[1]);
    body();
    _exit(0);
}

/* Waits for a peer; its status is only reported, the figures are kept. */
void bench_reap(pid_t *pid, const char *who)
{
    int st;

    if (*pid <= 0)
        return;
    while (waitpid(*pid, &st, 0) == -1)
        if (errno != EINTR) {
            fprintf(stderr, "ushm-bench: waitpid(%s peer): %s\n", who,
                    strerror(errno));
            *pid = -1;
            return;
        }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "ushm-bench: the %s peer %s %d\n", who,
                WIFEXITED(st) ? "exited with status" : "was killed by signal",
                WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    *pid = -1;
}

void bench_close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* A peer waiting without a limit checks now and then that its parent is
 * still there, for systems without PR_SET_PDEATHSIG. */
void bench_orphan_check(void)
{
    if (getppid() != bench_pid)
        _exit(1);
}

int bench_send(int fd, const void *buf, size_t len, const char *what)
{
    for (;;) {
        ssize_t w = write(fd, buf, len);

        if (w == (ssize_t)len)
            return 0;
        if (w == -1 && errno == EINTR)
            continue;
        return bench_fail_errno("write", what, w == -1 ? errno : EIO);
    }
}

int bench_recv(int fd, void *buf, size_t len, const char *what)
{
    for (;;) {
        ssize_t r = read(fd, buf, len);

        if (r == (ssize_t)len)
            return 0;
        if (r == -1 && errno == EINTR)
            continue;
        if (r == 0)
            return bench_fail("read(%s): end of file: the peer is gone",
                              what);
        return bench_fail_errno("read", what, r == -1 ? errno : EIO);
    }
}
