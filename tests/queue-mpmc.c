/* SPDX-License-Identifier: MIT */
/*
 * 4 producer processes and 4 consumer processes on one queue: every
 * message (checksummed, 16 to 200 bytes) is received exactly once, each
 * consumer sees each producer's messages in the order they were sent, and
 * every consumer ends with -EPIPE once the last producer has detached.
 * Then the same with one process that both sends and receives through one
 * handle used by 4 threads.
 *
 * USHM_QUEUE_MSGS overrides the messages per producer (50000).
 */
#include "queue-common.h"

#include <pthread.h>
#include <sched.h>

#define NPROD 4
#define NCONS 4
#define QBYTES (256 * 1024)
#define MAXMSG 200
#define MAXN 200000

struct shared {
    unsigned char queue[QBYTES];
    atomic_uchar seen[NPROD][MAXN];
    atomic_uint torn, order, epipe, other;
    atomic_uint go;
};

static long nmsgs = 50000;

static int producer(struct shared *sh, uint32_t who)
{
    unsigned char buf[MAXMSG];
    ushm_queue_t *q;

    q_deadline(60, "mpmc producer");
    if (ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_SEND) < 0)
        return 1;
    while (atomic_load(&sh->go) == 0)
        sched_yield();
    for (uint32_t seq = 0; seq < (uint32_t)nmsgs; seq++) {
        size_t len = q_msg_make(buf, who, seq, MAXMSG);
        int rc = ushm_queue_send(q, buf, len, 20000);

        if (rc < 0) {
            fprintf(stderr, "producer %u: %s\n", who, ushm_last_error());
            return 2;
        }
    }
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static int consumer(struct shared *sh)
{
    unsigned char buf[MAXMSG];
    long last[NPROD];
    ushm_queue_t *q;
    int rc;

    q_deadline(60, "mpmc consumer");
    for (int i = 0; i < NPROD; i++)
        last[i] = -1;
    if (ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_RECV) < 0)
        return 1;
    for (;;) {
        size_t len;
        const struct q_msg *m = (const void *)buf;

        rc = ushm_queue_recv(q, buf, sizeof buf, &len, 20000);
        if (rc < 0)
            break;
        if (q_msg_check(buf, len) != NULL || m->who >= NPROD || m->seq >= MAXN) {
            atomic_fetch_add(&sh->torn, 1);
            continue;
        }
        if ((long)m->seq <= last[m->who])
            atomic_fetch_add(&sh->order, 1);
        last[m->who] = m->seq;
        atomic_fetch_add(&sh->seen[m->who][m->seq], 1);
    }
    if (rc == -EPIPE)
        atomic_fetch_add(&sh->epipe, 1);
    else
        fprintf(stderr, "consumer: %s\n", ushm_last_error());
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static void check(struct shared *sh, const char *name, int nprod, double ms,
                  int children_ok, unsigned want_epipe)
{
    unsigned lost = 0, dup = 0;

    for (int w = 0; w < nprod; w++)
        for (long s = 0; s < nmsgs; s++) {
            unsigned n = atomic_load(&sh->seen[w][s]);

            lost += n == 0;
            dup += n > 1;
        }
    q_result(children_ok && lost == 0 && dup == 0 && sh->torn == 0 && sh->order == 0 &&
             sh->epipe == want_epipe && sh->other == 0, name,
             "%ld messages in %.0f ms: lost %u, twice %u, torn %u, out of order %u, "
             "-EPIPE at the end %u of %u", nprod * nmsgs, ms, lost, dup,
             (unsigned)sh->torn, (unsigned)sh->order, (unsigned)sh->epipe, want_epipe);
}

static void processes(void)
{
    ushm_t *s = q_anon(sizeof(struct shared));
    struct shared *sh = ushm_addr(s);
    pid_t pid[NPROD + NCONS];
    int ok = 1;
    uint64_t t0;

    for (int i = 0; i < NPROD + NCONS; i++) {
        pid[i] = q_fork();
        if (pid[i] == 0)
            _exit(i < NPROD ? producer(sh, (uint32_t)i) : consumer(sh));
    }
    t0 = q_now_ns();
    atomic_store(&sh->go, 1);
    for (int i = 0; i < NPROD + NCONS; i++) {
        int st = q_wait(pid[i]);

        if (st != 0) {
            fprintf(stderr, "%s %d: status %d\n", i < NPROD ? "producer" : "consumer", i, st);
            ok = 0;
        }
    }
    check(sh, "mpmc_4x4_processes", NPROD, q_ms_since(t0), ok, NCONS);
    ushm_close(s);
}

/* One handle, several threads: two send, two receive. */
struct thread_arg {
    struct shared *sh;
    ushm_queue_t *q;
    uint32_t who;
    atomic_int *producers_left;
};

static void *thread_send(void *p)
{
    struct thread_arg *a = p;
    unsigned char buf[MAXMSG];

    for (uint32_t seq = 0; seq < (uint32_t)nmsgs; seq++) {
        size_t len = q_msg_make(buf, a->who, seq, MAXMSG);

        if (ushm_queue_send(a->q, buf, len, 20000) < 0) {
            atomic_fetch_add(&a->sh->other, 1);
            break;
        }
    }
    atomic_fetch_sub(a->producers_left, 1);
    return NULL;
}

static void *thread_recv(void *p)
{
    struct thread_arg *a = p;
    unsigned char buf[MAXMSG];
    long last[NPROD] = { -1, -1, -1, -1 };

    for (;;) {
        size_t len;
        const struct q_msg *m = (const void *)buf;
        int rc = ushm_queue_recv(a->q, buf, sizeof buf, &len, 20);

        if (rc == -ETIMEDOUT) {
            if (atomic_load(a->producers_left) == 0)
                break;
            continue;
        }
        if (rc < 0) {
            atomic_fetch_add(&a->sh->other, 1);
            break;
        }
        if (q_msg_check(buf, len) != NULL || m->who >= NPROD || m->seq >= MAXN) {
            atomic_fetch_add(&a->sh->torn, 1);
            continue;
        }
        if ((long)m->seq <= last[m->who])
            atomic_fetch_add(&a->sh->order, 1);
        last[m->who] = m->seq;
        atomic_fetch_add(&a->sh->seen[m->who][m->seq], 1);
    }
    return NULL;
}

static void threads(void)
{
    ushm_t *s = q_anon(sizeof(struct shared));
    struct shared *sh = ushm_addr(s);
    ushm_queue_t *q;
    pthread_t t[4];
    struct thread_arg a[4];
    atomic_int left = 2;
    uint64_t t0 = q_now_ns();

    if (ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_SEND | USHM_QUEUE_RECV) < 0) {
        q_result(0, "mpmc_one_handle_4_threads", "%s", ushm_last_error());
        return;
    }
    for (int i = 0; i < 4; i++) {
        a[i].sh = sh;
        a[i].q = q;
        a[i].who = (uint32_t)i;
        a[i].producers_left = &left;
        pthread_create(&t[i], NULL, i < 2 ? thread_send : thread_recv, &a[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    /* the last messages may still be in the queue */
    {
        struct thread_arg drain = { sh, q, 0, &left };

        thread_recv(&drain);
    }
    ushm_queue_detach(q);
    check(sh, "mpmc_one_handle_4_threads", 2, q_ms_since(t0), 1, 0);
    ushm_close(s);
}

int main(void)
{
    const char *env = getenv("USHM_QUEUE_MSGS");

    q_main_pid = getpid();
    if (env != NULL && atol(env) > 0 && atol(env) <= MAXN)
        nmsgs = atol(env);
    q_deadline(120, "queue-mpmc");
    processes();
    threads();
    return q_finish();
}
