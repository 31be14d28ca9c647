/* SPDX-License-Identifier: MIT */
/*
 * roundtrip: one process wakes another and waits for its answer, through
 * two ushm_event_t, against a pipe, a Unix socket pair, two eventfds and a
 * SysV semaphore set.
 */
#define _XOPEN_SOURCE 700 /* SysV semaphores */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/socket.h>
#include <unistd.h>
#if HAVE_SYS_EVENTFD_H
#include <sys/eventfd.h>
#endif

#include <ushm.h>

#include "harness.h"
#include "list.h"
#include "sync-common.h"

/* ---- libushm: the peer waits on ping and notifies pong ---- */

static pid_t ev_pid = -1;
static unsigned ev_seen; /* ping's count when the peer started */

static void ev_echo(void)
{
    unsigned seen = ev_seen;

    for (;;) {
        int err = ushm_event_wait(&bench_area->ping, seen, 1000);

        if (err == -ETIMEDOUT) {
            bench_orphan_check();
            continue;
        }
        if (err < 0)
            _exit(3);
        /* One ping at a time: the parent waits for pong before the next. */
        seen = ushm_event_read(&bench_area->ping);
        if (atomic_load(&bench_area->quit))
            _exit(0);
        ushm_event_notify(&bench_area->pong);
    }
}

static int ev_prepare(void)
{
    if (bench_sync_setup() < 0)
        return -1;
    atomic_store(&bench_area->quit, 0);
    ev_seen = ushm_event_read(&bench_area->ping);
    ev_pid = bench_spawn(ev_echo, -1, -1);
    return ev_pid < 0 ? -1 : 0;
}

static int ev_roundtrip(long n)
{
    for (long i = 0; i < n; i++) {
        unsigned seen = ushm_event_read(&bench_area->pong);
        int err;

        ushm_event_notify(&bench_area->ping);
        err = ushm_event_wait(&bench_area->pong, seen, PEER_TIMEOUT_MS);
        if (err == -ETIMEDOUT)
            return bench_fail("ushm_event_wait: no answer from the peer in "
                              "%d ms", PEER_TIMEOUT_MS);
        if (err < 0)
            return bench_fail_ushm("ushm_event_wait", "(anonymous)", err);
    }
    return 0;
}

static void ev_finish(void)
{
    if (ev_pid > 0) {
        atomic_store(&bench_area->quit, 1);
        ushm_event_notify(&bench_area->ping);
    }
    bench_reap(&ev_pid, "event");
}

/* ---- bytes: one byte there and back (pipe, socketpair) ---- */

static int byte_roundtrips(int out, int in, long n, const char *what)
{
    char b = 1;

    for (long i = 0; i < n; i++)
        if (bench_send(out, &b, 1, what) < 0 ||
            bench_recv(in, &b, 1, what) < 0)
            return -1;
    return 0;
}

/* Answers each byte until end of file. */
static void byte_echo(int in, int out)
{
    char b;

    for (;;) {
        ssize_t r = read(in, &b, 1);

        if (r == 0)
            _exit(0);
        if (r == -1) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        if (write(out, &b, 1) != 1)
            _exit(3);
    }
}

static int pp_down[2] = { -1, -1 }, pp_up[2] = { -1, -1 };
static pid_t pp_pid = -1;

static void pipe_echo(void)
{
    byte_echo(pp_down[0], pp_up[1]);
}

static int pipe_rt_prepare(void)
{
    for (int i = 0; i < 2; i++) {
        bench_peer_fd(&pp_down[i]);
        bench_peer_fd(&pp_up[i]);
    }
    if (pipe(pp_down) == -1 || pipe(pp_up) == -1)
        return bench_fail_errno("pipe", "roundtrip", errno);
    pp_pid = bench_spawn(pipe_echo, pp_down[0], pp_up[1]);
    if (pp_pid < 0)
        return -1;
    bench_close_fd(&pp_down[0]);
    bench_close_fd(&pp_up[1]);
    return 0;
}

static int pipe_rt(long n)
{
    return byte_roundtrips(pp_down[1], pp_up[0], n, "pipe");
}

static void pipe_rt_finish(void)
{
    bench_close_fd(&pp_down[1]);
    bench_reap(&pp_pid, "pipe");
    bench_close_fd(&pp_down[0]);
    bench_close_fd(&pp_up[0]);
    bench_close_fd(&pp_up[1]);
}

static int sp_fd[2] = { -1, -1 };
static pid_t sp_pid = -1;

static void sock_echo(void)
{
    byte_echo(sp_fd[1], sp_fd[1]);
}

static int sock_rt_prepare(void)
{
    bench_peer_fd(&sp_fd[0]);
    bench_peer_fd(&sp_fd[1]);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp_fd) == -1)
        return bench_fail_errno("socketpair", "AF_UNIX, SOCK_STREAM", errno);
    sp_pid = bench_spawn(sock_echo, sp_fd[1], -1);
    if (sp_pid < 0)
        return -1;
    bench_close_fd(&sp_fd[1]);
    return 0;
}

static int sock_rt(long n)
{
    return byte_roundtrips(sp_fd[0], sp_fd[0], n, "socketpair");
}

static void sock_rt_finish(void)
{
    bench_close_fd(&sp_fd[0]);
    bench_reap(&sp_pid, "socketpair");
    bench_close_fd(&sp_fd[1]);
}

/* ---- eventfd: ping and pong; 1 is a ping, anything else means stop ---- */

#if HAVE_SYS_EVENTFD_H
static int ef_ping = -1, ef_pong = -1;
static pid_t ef_pid = -1;

static void efd_echo(void)
{
    const uint64_t one = 1;
    uint64_t v;

    for (;;) {
        ssize_t r = read(ef_ping, &v, sizeof v);

        if (r == -1 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof v)
            _exit(3);
        if (v != 1)
            _exit(0);
        if (write(ef_pong, &one, sizeof one) != (ssize_t)sizeof one)
            _exit(3);
    }
}

static int efd_rt_prepare(void)
{
    bench_peer_fd(&ef_ping);
    bench_peer_fd(&ef_pong);
    ef_ping = eventfd(0, 0);
    ef_pong = eventfd(0, 0);
    if (ef_ping == -1 || ef_pong == -1)
        return bench_fail_errno("eventfd", "roundtrip", errno);
    ef_pid = bench_spawn(efd_echo, ef_ping, ef_pong);
    return ef_pid < 0 ? -1 : 0;
}

static int efd_rt(long n)
{
    const uint64_t one = 1;
    uint64_t v;

    for (long i = 0; i < n; i++)
        if (bench_send(ef_ping, &one, sizeof one, "eventfd") < 0 ||
            bench_recv(ef_pong, &v, sizeof v, "eventfd") < 0)
            return -1;
    return 0;
}

static void efd_rt_finish(void)
{
    if (ef_pid > 0) {
        const uint64_t stop = 2;

        if (write(ef_ping, &stop, sizeof stop) != (ssize_t)sizeof stop)
            kill(ef_pid, SIGKILL);
    }
    bench_reap(&ef_pid, "eventfd");
    bench_close_fd(&ef_ping);
    bench_close_fd(&ef_pong);
}
#endif /* HAVE_SYS_EVENTFD_H */

/* ---- a SysV semaphore set: 0 is ping, 1 is pong; removing it stops the
 *      peer ---- */

static int sem_id = -1;
static pid_t sem_pid = -1;

union semarg {          /* the caller defines semun, says POSIX */
    int val;
    struct semid_ds *buf;
    unsigned short *array;
};

static void sem_echo(void)
{
    struct sembuf down = { 0, -1, 0 }, up = { 1, 1, 0 };

    for (;;) {
        if (semop(sem_id, &down, 1) == -1) {
            if (errno == EINTR)
                continue;
            _exit(errno == EIDRM || errno == EINVAL ? 0 : 3);
        }
        if (semop(sem_id, &up, 1) == -1)
            _exit(errno == EIDRM || errno == EINVAL ? 0 : 3);
    }
}

static int sem_rt_prepare(void)
{
    unsigned short zero[2] = { 0, 0 };
    union semarg arg;

    sem_id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    if (sem_id == -1) {
        bench_fail_errno("semget", "IPC_PRIVATE, 2 semaphores", errno);
        return errno == ENOSYS ? 1 : -1;
    }
    bench_track_sem(sem_id);
    arg.array = zero;
    if (semctl(sem_id, 0, SETALL, arg) == -1)
        return bench_fail_errno("semctl(SETALL)", "roundtrip", errno);
    sem_pid = bench_spawn(sem_echo, -1, -1);
    return sem_pid < 0 ? -1 : 0;
}

static int sem_rt(long n)
{
    struct sembuf up = { 0, 1, 0 }, down = { 1, -1, 0 };

    for (long i = 0; i < n; i++) {
        if (semop(sem_id, &up, 1) == -1)
            return bench_fail_errno("semop(+1)", "ping", errno);
        while (semop(sem_id, &down, 1) == -1)
            if (errno != EINTR)
                return bench_fail_errno("semop(-1)", "pong", errno);
    }
    return 0;
}

static void sem_rt_finish(void)
{
    if (sem_id >= 0)
        semctl(sem_id, 0, IPC_RMID);
    sem_id = -1;
    bench_untrack_sem();
    bench_reap(&sem_pid, "semop");
}

void bench_roundtrip(void)
{
    struct contender c[] = {
        { .name = "pipe", .prepare = pipe_rt_prepare, .batch = pipe_rt,
          .finish = pipe_rt_finish },
        { .name = "libushm", .prepare = ev_prepare,
          .batch = ev_roundtrip, .finish = ev_finish },
        { .name = "socketpair", .prepare = sock_rt_prepare,
          .batch = sock_rt, .finish = sock_rt_finish },
#if HAVE_SYS_EVENTFD_H
        { .name = "eventfd", .prepare = efd_rt_prepare, .batch = efd_rt,
          .finish = efd_rt_finish },
#else
        { .name = "eventfd", .state = BENCH_UNAVAILABLE,
          .why = "no <sys/eventfd.h> on this system" },
#endif
        { .name = "semop", .prepare = sem_rt_prepare, .batch = sem_rt,
          .finish = sem_rt_finish },
    };
    int nc = (int)(sizeof c / sizeof c[0]);

    bench_run_contenders("roundtrip", c, nc, bench_opt.iterations,
                         sizeof(ushm_event_t));
    bench_report("roundtrip", c, nc, "pipe");
    bench_goal_ratio("roundtrip", c, nc, "libushm", "pipe", 1, 0.25, 0, "");
    fflush(stdout);
}
