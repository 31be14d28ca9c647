/* SPDX-License-Identifier: MIT */
/*
 * The end of a stream: -EPIPE to a consumer that waits on an empty queue
 * when the last producer detaches or is SIGKILLed, and to a producer that
 * waits on a full queue when the last consumer does, within 200 ms; and at
 * once to a call made after the other side has gone; and to a producer
 * that never waits, within 200 ms of its consumer's SIGKILL.  Each of the four
 * cases runs in three processes: the waiter, its peer, and this one, which
 * ends the peer (by a word in the segment that makes it detach, or by
 * SIGKILL) and takes the time.  And never -EPIPE while the other side is
 * still attaching: a producer sends while its first consumer attaches, in
 * many rounds.
 */
#include "queue-common.h"

#include <pthread.h>
#include <sched.h>

#define QBYTES 8192
#define LIMIT_MS 200.0

struct shared {
    unsigned char queue[QBYTES];
    atomic_int detach_now;
    _Atomic uint64_t ended_ns, woke_ns;
    atomic_int result; /* the waiter's return value */
};

/* The peer: attached with role, and (as a producer) one message sent so the
 * consumer has seen it alive; then it waits for its end. */
static int peer(struct shared *sh, int role, int ready_fd)
{
    ushm_queue_t *q;
    char c = 'r';

    q_deadline(20, "epipe peer");
    if (ushm_queue_attach(&q, sh->queue, QBYTES, role) < 0)
        return 1;
    if (write(ready_fd, &c, 1) != 1)
        return 2;
    while (!atomic_load(&sh->detach_now))
        sched_yield();
    atomic_store(&sh->ended_ns, q_now_ns());
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static int waiter(struct shared *sh, int role, int ready_fd)
{
    ushm_queue_t *q;
    char buf[QBYTES], c = 'w';
    size_t len;
    int rc;

    q_deadline(20, "epipe waiter");
    if (ushm_queue_attach(&q, sh->queue, QBYTES, role) < 0)
        return 1;
    if (role == USHM_QUEUE_SEND) /* fill it: the next send waits */
        while (ushm_queue_send(q, buf, 1000, 0) == 0)
            ;
    if (write(ready_fd, &c, 1) != 1)
        return 2;
    rc = role == USHM_QUEUE_SEND ? ushm_queue_send(q, buf, 1000, -1)
                                 : ushm_queue_recv(q, buf, sizeof buf, &len, -1);
    atomic_store(&sh->woke_ns, q_now_ns());
    atomic_store(&sh->result, rc);
    /* and at once, now */
    rc = role == USHM_QUEUE_SEND ? ushm_queue_send(q, buf, 1, 0)
                                 : ushm_queue_recv(q, buf, sizeof buf, &len, 0);
    ushm_queue_detach(q);
    return rc == -EPIPE ? 0 : 4;
}

static void one_case(int waiter_role, int by_kill)
{
    char name[96];
    ushm_t *s = q_anon(sizeof(struct shared));
    struct shared *sh = ushm_addr(s);
    int peer_role = waiter_role == USHM_QUEUE_SEND ? USHM_QUEUE_RECV : USHM_QUEUE_SEND;
    int fd[2], wst, pst;
    pid_t w, p;
    char c;
    double ms;

    snprintf(name, sizeof name, "epipe_%s_waits_%s_%s",
             waiter_role == USHM_QUEUE_SEND ? "producer" : "consumer",
             waiter_role == USHM_QUEUE_SEND ? "consumer" : "producer",
             by_kill ? "killed" : "detaches");
    if (pipe(fd) != 0)
        abort();
    if ((p = q_fork()) == 0)
        _exit(peer(sh, peer_role, fd[1]));
    if (read(fd[0], &c, 1) != 1)
        abort();
    if ((w = q_fork()) == 0)
        _exit(waiter(sh, waiter_role, fd[1]));
    if (read(fd[0], &c, 1) != 1)
        abort();
    /* Let the waiter get past its spin and fall asleep: the case under
     * test.  A pace, not a synchronisation: awake it must pass too. */
    nanosleep(&(struct timespec){ 0, 30000000L }, NULL);
    if (by_kill) {
        atomic_store(&sh->ended_ns, q_now_ns());
        kill(p, SIGKILL);
    } else {
        atomic_store(&sh->detach_now, 1);
    }
    wst = q_wait(w);
    pst = q_wait(p);
    ms = (double)(atomic_load(&sh->woke_ns) - atomic_load(&sh->ended_ns)) / 1e6;
    q_result(wst == 0 && pst == (by_kill ? 256 + SIGKILL : 0) &&
             atomic_load(&sh->result) == -EPIPE && ms < LIMIT_MS, name,
             "-EPIPE %.1f ms after the end (limit %.0f), then at once; waiter "
             "status %d (result %d), peer %d", ms, LIMIT_MS, wst,
             atomic_load(&sh->result), pst);
    close(fd[0]);
    close(fd[1]);
    ushm_close(s);
}

/* ---- no -EPIPE while a peer attaches ---- */

#define ROUNDS 3000
#define SMALL 1024 /* 4 places: the scan is short, so often mid-attach */

struct attaching {
    unsigned char *mem;
    atomic_int attached, done;
    int rc;
};

static void *attach_consumer(void *arg)
{
    struct attaching *a = arg;
    ushm_queue_t *c = NULL;

    a->rc = ushm_queue_attach(&c, a->mem, SMALL, USHM_QUEUE_RECV);
    atomic_store(&a->attached, 1);
    while (!atomic_load(&a->done))
        sched_yield();
    ushm_queue_detach(c);
    return NULL;
}

/* A producer's scan that finds no consumer yet, and a consumer whose "ever
 * attached" bit appears before the scan ends, must not make -EPIPE: no
 * consumer has gone.  (Read after the scan, that bit did: 1 round in
 * several hundred of tests/queue-mpmc.) */
static void no_epipe_while_attaching(void)
{
    ushm_t *s = q_anon(SMALL);
    unsigned char *mem = ushm_addr(s);
    unsigned epipe = 0, other = 0, failed = 0;
    char why[256] = "";

    for (int r = 0; r < ROUNDS && failed == 0; r++) {
        struct attaching a = { .mem = mem };
        ushm_queue_t *p;
        pthread_t t;
        int after = 0;

        memset(mem, 0, SMALL);
        if (ushm_queue_attach(&p, mem, SMALL, USHM_QUEUE_SEND) != 0 ||
            pthread_create(&t, NULL, attach_consumer, &a) != 0) {
            failed = 1;
            snprintf(why, sizeof why, "round %d: %s", r, ushm_last_error());
            break;
        }
        /* send (never waiting) until a little after the consumer is in */
        while (after < 20) {
            int rc = ushm_queue_send(p, "x", 1, 0);

            if (rc == -EPIPE) {
                epipe++;
                snprintf(why, sizeof why, "round %d: %s", r, ushm_last_error());
                break;
            }
            if (rc != 0 && rc != -ETIMEDOUT)
                other++;
            after += atomic_load(&a.attached);
        }
        atomic_store(&a.done, 1);
        pthread_join(t, NULL);
        failed |= a.rc != 0;
        ushm_queue_detach(p);
        if (epipe != 0)
            break;
    }
    ushm_close(s);
    q_result(epipe == 0 && other == 0 && failed == 0, "no_epipe_while_attaching",
             "%d rounds of a send loop while the first consumer attaches: -EPIPE %u, "
             "other errors %u, failed set-ups %u%s%s", ROUNDS, epipe, other, failed,
             why[0] ? ": " : "", why);
}

/* ---- a producer that never waits ---- */

/* The consumer: takes what comes until it is killed. */
static int taker(struct shared *sh, int ready_fd)
{
    ushm_queue_t *q;
    char buf[QBYTES], c = 't';
    size_t len;

    q_deadline(20, "epipe taker");
    if (ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_RECV) < 0)
        return 1;
    if (write(ready_fd, &c, 1) != 1)
        return 2;
    for (;;) /* until killed */
        (void)ushm_queue_recv(q, buf, sizeof buf, &len, 10);
}

/* A producer sending while its consumer keeps up, never waiting (the
 * queue has room, or a timeout of 0), is told -EPIPE within 200 ms of that
 * consumer's SIGKILL: where a place's lock word shows its holder's end,
 * by the first send after it (the call watches that word instead of the
 * clock); elsewhere by the scan every SCAN_EVERY_MS. */
static void epipe_producer_sending(void)
{
    ushm_t *s = q_anon(sizeof(struct shared));
    struct shared *sh = ushm_addr(s);
    ushm_queue_t *p;
    unsigned before = 0, after = 0, other = 0;
    uint64_t t0 = 0;
    int fd[2], st = -1, rc = 0, ok;
    pid_t c;
    char ch;

    if (pipe(fd) != 0)
        abort();
    ok = ushm_queue_attach(&p, sh->queue, QBYTES, USHM_QUEUE_SEND) == 0;
    if ((c = q_fork()) == 0)
        _exit(taker(sh, fd[1]));
    ok &= read(fd[0], &ch, 1) == 1;
    /* the consumer seen alive by a thousand sends, then killed mid-stream */
    while (ok && before < 1000 && (rc = ushm_queue_send(p, "m", 1, 0)) != -EPIPE) {
        before += rc == 0;
        other += rc != 0 && rc != -ETIMEDOUT;
    }
    kill(c, SIGKILL);
    st = q_wait(c);
    t0 = q_now_ns();
    while (ok && (rc = ushm_queue_send(p, "m", 1, 0)) != -EPIPE && q_ms_since(t0) < 2000.0) {
        after += rc == 0;
        other += rc != 0 && rc != -ETIMEDOUT;
    }
    q_result(ok && rc == -EPIPE && q_ms_since(t0) < LIMIT_MS && other == 0 &&
             st == 256 + SIGKILL, "epipe_producer_sending",
             "-EPIPE %.1f ms after the consumer's SIGKILL was reaped (limit %.0f), "
             "%u sends before, %u after, %u other errors, consumer status %d",
             q_ms_since(t0), LIMIT_MS, before, after, other, st);
    ushm_queue_detach(p);
    close(fd[0]);
    close(fd[1]);
    ushm_close(s);
}

int main(void)
{
    q_main_pid = getpid();
    q_deadline(120, "queue-epipe");
    no_epipe_while_attaching();
    epipe_producer_sending();
    for (int kill_it = 0; kill_it < 2; kill_it++) {
        one_case(USHM_QUEUE_RECV, kill_it);
        one_case(USHM_QUEUE_SEND, kill_it);
    }
    return q_finish();
}
