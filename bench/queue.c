/* SPDX-License-Identifier: MIT */
/*
 * queue: ushm_queue_t against the other ways to pass messages between
 * processes, interleaved run by run (each run measures every contender
 * once, in turn):
 *   pipe          write(2)/read(2) of whole messages
 *   seqpacket     an AF_UNIX SOCK_SEQPACKET socketpair
 *   posix-mq      mq_send/mq_receive (10 messages deep, the default limit)
 *   eventfd-ring  a ring in shared memory, an eventfd written per message
 *                 (the pattern most hand-written queues use)
 *   bare-ring     one producer, one consumer, spinning, no guarantees at
 *                 all: the floor
 *   bare-ring-b32 the same, publishing every 32 messages
 *   futex-ring    the bare ring whose consumer, finding it empty after a
 *                 short spin, sleeps on a Linux futex, which the producer
 *                 wakes only then: no guarantees either, but a waiter that
 *                 sleeps, the floor of the lat-sleep figure
 *   libushm       ushm_queue_send/recv, one message per call
 *   libushm-b32   ushm_queue_sendv/recvv, 32 messages per call: the sender
 *                 passes its messages where they are, the receiver copies
 *                 each out of its batch once more
 * Boost's message_queue is bench/boost-queue.cpp, which bench/run.sh builds.
 *
 * Figures (ns per message, the median of the runs and their range):
 *   tput-64, tput-4096  one producer process and one consumer process,
 *                       pinned to two CPUs, 200000 (64 B) or 50000 (4 KiB)
 *                       messages, from the first send to the last receive;
 *   lat-spin            one-way latency of a 64-byte message while the
 *                       consumer waits in its receive call and the next is
 *                       sent as soon as it arrived (the consumer spins, if
 *                       the contender spins), from a timestamp in the
 *                       message;
 *   lat-sleep           the same with 2 ms between messages, so a waiter
 *                       that sleeps is asleep;
 *   mpmc-4x4            4 producer and 4 consumer processes, 64 B, unpinned.
 */
#define _GNU_SOURCE 1 /* sched_setaffinity, CPU_SET */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if HAVE_SYS_EVENTFD_H
#include <sys/eventfd.h>
#endif
#if HAVE_SYS_PRCTL_H
#include <sys/prctl.h>
#endif
#if HAVE_LINUX_FUTEX_H && HAVE_DECL_SYS_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#define FUTEX_RING 1
#endif

#include <ushm.h>

#include "harness.h"
#include "list.h"

#define SHM_RING (1u << 20)     /* the rings' bytes, and the queue's */
#define MAXMSG 4096
#define NLAT 2000               /* messages per latency run */
#define NLAT_SLEEP 200

/* ---- the contenders' channels ---- */

struct ring_hdr {
    _Alignas(64) _Atomic uint64_t head;
    _Alignas(64) _Atomic uint64_t tail;
    _Alignas(64) unsigned char slot[];
};

struct shared {
    _Alignas(64) atomic_ulong acked;     /* latency: messages received */
    _Alignas(64) _Atomic uint64_t lat_sum;
    _Alignas(64) atomic_int quit;
    _Alignas(64) atomic_int go;          /* 4x4: every process attached */
    _Alignas(64) _Atomic uint32_t asleep; /* futex-ring: the consumer sleeps */
    _Alignas(64) unsigned char qmem[SHM_RING + 64 * 1024];
    _Alignas(64) unsigned char rmem[sizeof(struct ring_hdr) + SHM_RING];
};

static struct shared *sh;
static ushm_t *sh_seg;
static size_t msg;              /* this measurement's message size */
static int fd[2] = { -1, -1 }, efd = -1;
static mqd_t mq = (mqd_t)-1;
static char mq_name[64];
static ushm_queue_t *uq;
static int batch32;

static uint64_t ring_slots(void) { return SHM_RING / msg; }

static int fail_errno(const char *what) { return bench_fail_errno(what, "queue", errno); }

static int write_all(int f, const void *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(f, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p = (const char *)p + w;
        n -= (size_t)w;
    }
    return 0;
}

static int read_all(int f, void *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(f, p, n);

        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p = (char *)p + r;
        n -= (size_t)r;
    }
    return 0;
}

/* pipe */
static int pipe_setup(void) { return pipe(fd) == 0 ? 0 : fail_errno("pipe"); }
static int pipe_send(const void *p) { return write_all(fd[1], p, msg); }
static int pipe_recv(void *p) { return read_all(fd[0], p, msg); }
static void fd_teardown(void)
{
    for (int i = 0; i < 2; i++)
        if (fd[i] >= 0) {
            close(fd[i]);
            fd[i] = -1;
        }
}

/* seqpacket */
static int sp_setup(void)
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, fd) == 0 ? 0 : fail_errno("socketpair");
}
static int sp_send(const void *p) { return send(fd[0], p, msg, 0) == (ssize_t)msg ? 0 : -1; }
static int sp_recv(void *p) { return recv(fd[1], p, msg, 0) == (ssize_t)msg ? 0 : -1; }

/* POSIX mq */
static int mq_setup(void)
{
    struct mq_attr a;

    memset(&a, 0, sizeof a);
    a.mq_maxmsg = 10;
    a.mq_msgsize = (long)msg;
    snprintf(mq_name, sizeof mq_name, "/ushm-bench-mq-%ld", (long)getpid());
    mq = mq_open(mq_name, O_RDWR | O_CREAT | O_EXCL, 0600, &a);
    if (mq == (mqd_t)-1) {
        bench_fail_errno("mq_open", mq_name, errno);
        return 1;
    }
    mq_unlink(mq_name); /* nothing left behind, whatever happens */
    return 0;
}
static int mq_send_(const void *p) { return mq_send(mq, p, msg, 0); }
static int mq_recv_(void *p) { return mq_receive(mq, p, msg, NULL) == (ssize_t)msg ? 0 : -1; }
static void mq_teardown(void)
{
    if (mq != (mqd_t)-1)
        mq_close(mq);
    mq = (mqd_t)-1;
}

/* the rings */
static struct ring_hdr *ring(void) { return (struct ring_hdr *)(void *)sh->rmem; }

static void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#else
    sched_yield();
#endif
}

static int ring_setup(void)
{
    atomic_store(&ring()->head, 0);
    atomic_store(&ring()->tail, 0);
    return 0;
}

static uint64_t r_head_local, r_tail_cache, r_published;

static int ring_send(const void *p)
{
    struct ring_hdr *r = ring();
    uint64_t n = ring_slots();

    while (r_head_local - r_tail_cache >= n) {
        r_tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (r_head_local - r_tail_cache >= n) {
            if (r_published != r_head_local) {
                atomic_store_explicit(&r->head, r_head_local, memory_order_release);
                r_published = r_head_local;
            }
            cpu_relax();
        }
    }
    memcpy(r->slot + (r_head_local % n) * msg, p, msg);
    r_head_local++;
    if (!batch32 || r_head_local % 32 == 0) {
        atomic_store_explicit(&r->head, r_head_local, memory_order_release);
        r_published = r_head_local;
    }
    return 0;
}

/* The batched ring publishes what is left before the consumer must see it. */
static void ring_flush(void)
{
    if (r_published != r_head_local) {
        atomic_store_explicit(&ring()->head, r_head_local, memory_order_release);
        r_published = r_head_local;
    }
}

static uint64_t c_tail_local, c_head_cache;

static int ring_recv(void *p)
{
    struct ring_hdr *r = ring();
    uint64_t n = ring_slots();

    while (c_tail_local == c_head_cache) {
        c_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (c_tail_local == c_head_cache)
            cpu_relax();
    }
    memcpy(p, r->slot + (c_tail_local % n) * msg, msg);
    c_tail_local++;
    atomic_store_explicit(&r->tail, c_tail_local, memory_order_release);
    return 0;
}

/* eventfd: the ring, and a write(2) per message to wake the consumer */
#if HAVE_SYS_EVENTFD_H
static uint64_t ef_credit;

static int ef_setup(void)
{
    ring_setup();
    efd = eventfd(0, 0);
    return efd >= 0 ? 0 : fail_errno("eventfd");
}
static int ef_send(const void *p)
{
    const uint64_t one = 1;

    ring_send(p);
    return write(efd, &one, sizeof one) == (ssize_t)sizeof one ? 0 : -1;
}
static int ef_recv(void *p)
{
    while (ef_credit == 0)
        if (read(efd, &ef_credit, sizeof ef_credit) != (ssize_t)sizeof ef_credit &&
            errno != EINTR)
            return -1;
    ef_credit--;
    return ring_recv(p);
}
static void ef_teardown(void)
{
    if (efd >= 0)
        close(efd);
    efd = -1;
}
#endif

#if FUTEX_RING
/* futex: the ring, and a sleep on a futex once a spin found it empty */
#define FR_SPINS 4096

static int fr_setup(void)
{
    atomic_store(&sh->asleep, 0);
    return ring_setup();
}
static int fr_send(const void *p)
{
    ring_send(p);
    /* head before the look at the sleeper, whose flag is before its look
     * at head (a store, then a load: the fence keeps them in order) */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&sh->asleep, memory_order_relaxed) != 0) {
        atomic_store(&sh->asleep, 0);
        syscall(SYS_futex, &sh->asleep, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    return 0;
}
static int fr_recv(void *p)
{
    struct ring_hdr *r = ring();

    for (int spin = 0; c_tail_local == c_head_cache; spin++) {
        c_head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
        if (c_tail_local != c_head_cache)
            break;
        if (spin < FR_SPINS) {
            cpu_relax();
            continue;
        }
        atomic_store(&sh->asleep, 1);
        c_head_cache = atomic_load(&r->head);
        if (c_tail_local == c_head_cache)
            syscall(SYS_futex, &sh->asleep, FUTEX_WAIT, 1, NULL, NULL, 0);
        atomic_store(&sh->asleep, 0);
    }
    return ring_recv(p);
}
#endif

/* libushm's queue: attached after the fork, by each side */
static int uq_setup(void)
{
    memset(sh->qmem, 0, sizeof sh->qmem);
    return 0;
}
static int uq_attach(int send)
{
    return ushm_queue_attach(&uq, sh->qmem, sizeof sh->qmem,
                             send ? USHM_QUEUE_SEND : USHM_QUEUE_RECV);
}
static int uq_send(const void *p) { return ushm_queue_send(uq, p, msg, -1); }
static int uq_recv(void *p)
{
    size_t len;

    return ushm_queue_recv(uq, p, msg, &len, -1);
}

/* batches of 32: sendv of the messages where the sender has them (its
 * buffer stays unchanged until the flush), recvv into a batch */
#define UB 32
static struct iovec ub_out[UB];
static size_t ub_nout, ub_nin, ub_next, ub_len[UB];
static unsigned char ub_in[UB][MAXMSG];

static void ub_flush(void)
{
    size_t off = 0;

    while (off < ub_nout) {
        ssize_t r = ushm_queue_sendv(uq, ub_out + off, ub_nout - off, -1);

        if (r < 0) {
            fprintf(stderr, "ushm-bench: libushm-b32: %s\n", ushm_last_error());
            _exit(4);
        }
        off += (size_t)r;
    }
    ub_nout = 0;
}
static int ub_send(const void *p)
{
    ub_out[ub_nout].iov_base = (void *)(uintptr_t)p;
    ub_out[ub_nout++].iov_len = msg;
    if (ub_nout == UB)
        ub_flush();
    return 0;
}
static int ub_recv(void *p)
{
    if (ub_next == ub_nin) {
        struct iovec v[UB];
        ssize_t r;

        for (int i = 0; i < UB; i++) {
            v[i].iov_base = ub_in[i];
            v[i].iov_len = msg;
        }
        if ((r = ushm_queue_recvv(uq, v, ub_len, UB, -1)) < 0)
            return (int)r;
        ub_nin = (size_t)r;
        ub_next = 0;
    }
    memcpy(p, ub_in[ub_next++], msg);
    return 0;
}

static void uq_detach(void)
{
    ushm_queue_detach(uq);
    uq = NULL;
}

struct chan {
    const char *name;
    int (*setup)(void);          /* before the fork; 1: unavailable */
    int (*attach)(int send);     /* in each process after it */
    int (*send)(const void *p);
    int (*recv)(void *p);
    void (*detach)(void);
    void (*teardown)(void);
    int spins;                   /* it spins, never sleeps */
    int spsc;                    /* one producer, one consumer only */
    int b32;
    void (*flush)(void);         /* sends what a batching send holds */
    int state;
    char why[512];
    double v[5][MAX_RUNS];       /* per figure, per run */
    int n[5];
};

enum { F_T64, F_T4K, F_LSPIN, F_LSLEEP, F_MPMC, NFIG };
static const char *fig_name[NFIG] = { "tput-64", "tput-4096", "lat-spin",
                                      "lat-sleep", "mpmc-4x4" };

static struct chan chans[] = {
    { .name = "pipe", .setup = pipe_setup, .send = pipe_send, .recv = pipe_recv,
      .teardown = fd_teardown },
    { .name = "seqpacket", .setup = sp_setup, .send = sp_send, .recv = sp_recv,
      .teardown = fd_teardown },
    { .name = "posix-mq", .setup = mq_setup, .send = mq_send_, .recv = mq_recv_,
      .teardown = mq_teardown },
#if HAVE_SYS_EVENTFD_H
    { .name = "eventfd-ring", .setup = ef_setup, .send = ef_send, .recv = ef_recv,
      .teardown = ef_teardown, .spsc = 1 },
#endif
#if FUTEX_RING
    { .name = "futex-ring", .setup = fr_setup, .send = fr_send, .recv = fr_recv,
      .spsc = 1 },
#endif
    { .name = "bare-ring", .setup = ring_setup, .send = ring_send,
      .recv = ring_recv, .spins = 1, .spsc = 1 },
    { .name = "bare-ring-b32", .setup = ring_setup, .send = ring_send,
      .recv = ring_recv, .spins = 1, .spsc = 1, .b32 = 1, .flush = ring_flush },
    { .name = "libushm", .setup = uq_setup, .attach = uq_attach, .send = uq_send,
      .recv = uq_recv, .detach = uq_detach },
    /* not in the 4x4 figure: each consumer there takes a fixed count, and a
     * batching one would hold messages that another is waiting for */
    { .name = "libushm-b32", .setup = uq_setup, .attach = uq_attach, .send = ub_send,
      .recv = ub_recv, .detach = uq_detach, .flush = ub_flush, .spsc = 1 },
};
#define NCHANS (int)(sizeof chans / sizeof chans[0])

/* ---- processes ---- */

static void pin(int cpu)
{
#if HAVE_SCHED_SETAFFINITY
    cpu_set_t set;

    if (cpu < 0) {
        CPU_ZERO(&set);
        for (int i = 0; i < CPU_SETSIZE && i < 1024; i++)
            CPU_SET(i, &set);
    } else {
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
    }
    sched_setaffinity(0, sizeof set, &set);
#else
    (void)cpu;
#endif
}

static pid_t spawn(const struct chan *c, int cpu, int send, void (*body)(const struct chan *, long),
                   long arg, int ready_fd)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid != 0)
        return pid;
    bench_default_signals();
#if HAVE_SYS_PRCTL_H && defined(PR_SET_PDEATHSIG)
    prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    pin(cpu);
    if (c->attach != NULL && c->attach(send) < 0)
        _exit(3);
    r_head_local = r_tail_cache = r_published = c_tail_local = c_head_cache = 0;
    ub_nout = ub_nin = ub_next = 0;
    if (write(ready_fd, "r", 1) != 1)
        _exit(3);
    body(c, arg);
    if (c->detach != NULL)
        c->detach();
    _exit(0);
}

static void consume(const struct chan *c, long n)
{
    unsigned char buf[MAXMSG];

    for (long i = 0; i < n; i++)
        if (c->recv(buf) != 0) {
            fprintf(stderr, "ushm-bench: %s: receive %ld of %ld: %s\n", c->name,
                    i, n, c->attach ? ushm_last_error() : strerror(errno));
            _exit(4);
        }
}

static void produce(const struct chan *c, long n)
{
    unsigned char buf[MAXMSG];

    /* 4x4: no producer starts before all are attached, or a consumer could
     * find every producer so far gone and the queue empty: -EPIPE, rightly */
    while (!atomic_load(&sh->go))
        sched_yield();
    memset(buf, 0x5a, sizeof buf);
    for (long i = 0; i < n; i++)
        if (c->send(buf) != 0)
            _exit(4);
    if (c->flush != NULL)
        c->flush();
}

static void consume_timed(const struct chan *c, long n)
{
    unsigned char buf[MAXMSG];

    for (long i = 0; i < n; i++) {
        uint64_t sent;

        if (c->recv(buf) != 0)
            _exit(4);
        memcpy(&sent, buf, sizeof sent);
        atomic_fetch_add(&sh->lat_sum, bench_now_ns() - sent);
        atomic_fetch_add(&sh->acked, 1);
    }
}

static int wait_ready(int rfd, int n)
{
    char ch;

    for (int i = 0; i < n; i++)
        if (read(rfd, &ch, 1) != 1)
            return -1;
    return 0;
}

static int reap(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    fprintf(stderr, "ushm-bench: queue: process %ld: %s %d\n", (long)pid,
            WIFEXITED(st) ? "exit status" : "signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    return -1;
}

/* One figure of one contender: ns per message, or -1 (bench_why says). */
static double measure(struct chan *c, int fig)
{
    int rdy[2];
    double result = -1;
    pid_t pid[8];
    int np = 0, ok = 1;

    msg = fig == F_T4K ? 4096 : 64;
    batch32 = c->b32;
    if (pipe(rdy) != 0)
        return fail_errno("pipe");
    if (c->setup != NULL) {
        int rc = c->setup();

        if (rc != 0) {
            close(rdy[0]);
            close(rdy[1]);
            return rc > 0 ? -3 : -1;
        }
    }
    r_head_local = r_tail_cache = r_published = c_tail_local = c_head_cache = 0;
    ub_nout = ub_nin = ub_next = 0;
    atomic_store(&sh->go, fig != F_MPMC);
    if (fig == F_T64 || fig == F_T4K) {
        long n = fig == F_T64 ? 200000 : 50000;
        uint64_t t0;

        if (bench_opt.quick)
            n /= 4;
        pid[np++] = spawn(c, 1, 0, consume, n, rdy[1]);
        pin(0);
        if (c->attach != NULL && c->attach(1) < 0)
            ok = 0;
        if (ok && wait_ready(rdy[0], 1) == 0) {
            t0 = bench_now_ns();
            produce(c, n);
            ok = reap(pid[--np]) == 0;
            result = (double)(bench_now_ns() - t0) / (double)n;
        }
    } else if (fig == F_LSPIN || fig == F_LSLEEP) {
        long n = fig == F_LSPIN ? NLAT : NLAT_SLEEP;

        atomic_store(&sh->acked, 0);
        atomic_store(&sh->lat_sum, 0);
        pid[np++] = spawn(c, 1, 0, consume_timed, n, rdy[1]);
        pin(0);
        if (c->attach != NULL && c->attach(1) < 0)
            ok = 0;
        if (ok && wait_ready(rdy[0], 1) == 0) {
            unsigned char buf[MAXMSG];

            memset(buf, 0, sizeof buf);
            for (long i = 0; i < n && ok; i++) {
                uint64_t now;

                if (fig == F_LSLEEP)
                    nanosleep(&(struct timespec){ 0, 2000000L }, NULL);
                now = bench_now_ns();
                memcpy(buf, &now, sizeof now);
                ok = c->send(buf) == 0;
                if (c->flush != NULL)
                    c->flush();
                while (ok && atomic_load(&sh->acked) < (unsigned long)(i + 1))
                    cpu_relax();
            }
            ok = reap(pid[--np]) == 0 && ok;
            result = (double)atomic_load(&sh->lat_sum) / (double)n;
        }
    } else if (fig == F_MPMC) {
        long n = bench_opt.quick ? 50000 : 200000;
        uint64_t t0;

        if (c->spsc) { /* a single-producer ring takes no part */
            close(rdy[0]);
            close(rdy[1]);
            if (c->teardown)
                c->teardown();
            return -2;
        }
        pin(-1);
        for (int i = 0; i < 4; i++)
            pid[np++] = spawn(c, -1, 0, consume, n / 4, rdy[1]);
        for (int i = 0; i < 4; i++)
            pid[np++] = spawn(c, -1, 1, produce, n / 4, rdy[1]);
        if (wait_ready(rdy[0], 8) == 0) {
            t0 = bench_now_ns();
            atomic_store(&sh->go, 1);
            for (int i = 0; i < np; i++)
                ok = reap(pid[i]) == 0 && ok;
            np = 0;
            result = (double)(bench_now_ns() - t0) / (double)n;
        }
        pin(0);
    }
    for (int i = 0; i < np; i++) {
        kill(pid[i], SIGKILL);
        reap(pid[i]);
    }
    if (c->detach != NULL && uq != NULL)
        c->detach();
    if (c->teardown != NULL)
        c->teardown();
    close(rdy[0]);
    close(rdy[1]);
    if (!ok) {
        bench_fail("%s %s: a process failed", c->name, fig_name[fig]);
        return -1;
    }
    return result;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median_of(const struct chan *c, int f, double *lo, double *hi)
{
    double v[MAX_RUNS];
    int n = c->n[f];

    if (n == 0)
        return -1;
    memcpy(v, c->v[f], (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = v[0];
    *hi = v[n - 1];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const struct chan *find(const char *name)
{
    for (int i = 0; i < NCHANS; i++)
        if (strcmp(chans[i].name, name) == 0)
            return &chans[i];
    return NULL;
}

/*
 * The ratio a / b run by run (the runs interleave the contenders, so each
 * pair saw the machine in the same state): its median, and in how many of
 * the n runs a was the faster (a / b below 1).  0, or -1 without pairs.
 */
static int paired(const struct chan *ca, const struct chan *cb, int f,
                  double *median, int *faster, int *n)
{
    double r[MAX_RUNS];

    *n = ca->n[f] < cb->n[f] ? ca->n[f] : cb->n[f];
    *faster = 0;
    for (int i = 0; i < *n; i++) {
        r[i] = ca->v[f][i] / cb->v[f][i];
        *faster += r[i] < 1;
    }
    if (*n == 0)
        return -1;
    qsort(r, (size_t)*n, sizeof *r, cmp_double);
    *median = *n % 2 ? r[*n / 2] : (r[*n / 2 - 1] + r[*n / 2]) / 2;
    return 0;
}

static void ratio_line(const char *what, const char *a, const char *b, int f,
                       double goal, int higher_better)
{
    const struct chan *ca = find(a), *cb = find(b);
    double lo, hi, ma, mb, pm;
    int faster, n;

    if (ca == NULL || cb == NULL || (ma = median_of(ca, f, &lo, &hi)) <= 0 ||
        (mb = median_of(cb, f, &lo, &hi)) <= 0 ||
        paired(ca, cb, f, &pm, &faster, &n) < 0)
        return;
    if (higher_better)
        printf("  %-58s %6.2fx (goal >= %.2fx) %-7s run by run %.2fx, %s faster in %d of %d\n",
               what, mb / ma, goal, mb / ma >= goal ? "met" : "NOT met",
               1 / pm, a, faster, n);
    else
        printf("  %-58s %6.2fx (goal <= %.2fx) %-7s run by run %.2fx, %s faster in %d of %d\n",
               what, ma / mb, goal, ma / mb <= goal ? "met" : "NOT met",
               pm, a, faster, n);
}

/* A ratio to read the others by, with no goal. */
static void info_line(const char *what, const char *a, const char *b, int f)
{
    const struct chan *ca = find(a), *cb = find(b);
    double lo, hi, ma, mb, pm;
    int faster, n;

    if (ca != NULL && cb != NULL && (ma = median_of(ca, f, &lo, &hi)) > 0 &&
        (mb = median_of(cb, f, &lo, &hi)) > 0 &&
        paired(ca, cb, f, &pm, &faster, &n) == 0)
        printf("  %-58s %6.2fx (no goal)         run by run %.2fx, %s faster in %d of %d\n",
               what, ma / mb, pm, a, faster, n);
}

void bench_queue(void)
{
    int runs = bench_opt.runs;

    if (ushm_open(&sh_seg, NULL, sizeof *sh, USHM_CREATE, 0600) < 0) {
        fprintf(stderr, "ushm-bench: queue: %s\n", ushm_last_error());
        return;
    }
    sh = ushm_addr(sh_seg);
    printf("\nqueue: messages between processes, ns per message (median of %d "
           "interleaved runs, [min, max])\n", runs);
    for (int r = 0; r < runs; r++)
        for (int f = 0; f < NFIG; f++)
            for (int i = 0; i < NCHANS; i++) {
                struct chan *c = &chans[i];
                double ns;

                if (c->state != BENCH_OK || !bench_wanted(c->name))
                    continue;
                ns = measure(c, f);
                if (ns == -2)
                    continue;
                if (ns == -3) {
                    c->state = BENCH_UNAVAILABLE;
                    snprintf(c->why, sizeof c->why, "%s", bench_why);
                    continue;
                }
                if (ns < 0) {
                    c->state = BENCH_FAILED;
                    snprintf(c->why, sizeof c->why, "%s", bench_why);
                    continue;
                }
                c->v[f][c->n[f]++] = ns;
                bench_csv_row(fig_name[f], c->name, f == F_T4K ? 4096 : 64,
                              r + 1, 0, ns, -1, "ok", "queue");
            }
    printf("%-14s", "contender");
    for (int f = 0; f < NFIG; f++)
        printf(" %22s", fig_name[f]);
    printf("\n");
    for (int i = 0; i < NCHANS; i++) {
        const struct chan *c = &chans[i];

        printf("%-14s", c->name);
        for (int f = 0; f < NFIG; f++) {
            double lo, hi, m = median_of(c, f, &lo, &hi);
            char cell[48];

            if (m < 0)
                snprintf(cell, sizeof cell, "-");
            else
                snprintf(cell, sizeof cell, "%.0f [%.0f, %.0f]", m, lo, hi);
            printf(" %22s", cell);
        }
        if (c->state != BENCH_OK)
            printf("  (%s)", c->why);
        printf("\n");
    }
    printf("goals (issue 16), on the medians:\n");
    ratio_line("64 B: libushm messages/s over the pipe's", "libushm", "pipe", F_T64, 8, 1);
    ratio_line("64 B: libushm time per message over the bare ring's", "libushm", "bare-ring", F_T64, 1.3, 0);
    ratio_line("64 B, batches of 32: libushm-b32 over bare-ring-b32", "libushm-b32", "bare-ring-b32", F_T64, 1.3, 0);
    ratio_line("64 B, batches of 32: libushm-b32 messages/s over the pipe's", "libushm-b32", "pipe", F_T64, 8, 1);
    ratio_line("4 KiB: libushm messages/s over the pipe's", "libushm", "pipe", F_T4K, 3.5, 1);
    ratio_line("latency, waiter spinning: libushm over the bare ring", "libushm", "bare-ring", F_LSPIN, 1.5, 0);
    ratio_line("latency, waiter asleep: libushm over the pipe", "libushm", "pipe", F_LSLEEP, 1.0, 0);
    info_line("latency, waiter asleep: the futex ring over the pipe", "futex-ring", "pipe", F_LSLEEP);
    info_line("latency, waiter asleep: libushm over the futex ring", "libushm", "futex-ring", F_LSLEEP);
    ratio_line("4 KiB, batches of 32: libushm-b32 messages/s over the pipe's", "libushm-b32", "pipe", F_T4K, 3.5, 1);
    ratio_line("4x4: libushm messages/s over the pipe's", "libushm", "pipe", F_MPMC, 1.0, 1);
    fflush(stdout);
    ushm_close(sh_seg);
    sh_seg = NULL;
}
