/* SPDX-License-Identifier: MIT */
/*
 * A signal storm: a producer and a consumer process each take SIGUSR1
 * every 20 us or so (a handler without SA_RESTART) from a third process
 * while they pass 200000 messages, then while each waits with a timeout on
 * an empty (consumer) or full (producer) queue.  No call may return
 * -EINTR, every message arrives in order, and no timeout may end early or
 * be stretched by more than 100 ms.
 */
#include "queue-common.h"

#include <sched.h>

#define QBYTES 16384
#define NMSG 200000u

struct shared {
    unsigned char queue[QBYTES];
    atomic_int stop, ready, drained;
    atomic_uint eintr, order, early, late, other;
    atomic_ulong signals;
};

static struct shared *g_sh;

static void on_usr1(int sig)
{
    (void)sig;
    atomic_fetch_add(&g_sh->signals, 1);
}

static void take_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* sa_flags 0: no SA_RESTART */
    sigaction(SIGUSR1, &sa, NULL);
}

static void timed(struct shared *sh, int rc, uint64_t t0, long ms)
{
    double took = q_ms_since(t0);

    if (rc == -EINTR)
        atomic_fetch_add(&sh->eintr, 1);
    else if (rc != -ETIMEDOUT)
        atomic_fetch_add(&sh->other, 1);
    if (took < (double)ms)
        atomic_fetch_add(&sh->early, 1);
    if (took > (double)ms + 100.0)
        atomic_fetch_add(&sh->late, 1);
}

static int producer(struct shared *sh)
{
    ushm_queue_t *q;
    unsigned char buf[2000];

    q_deadline(60, "signal storm producer");
    take_signals();
    if (ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_SEND) < 0)
        return 1;
    atomic_fetch_add(&sh->ready, 1);
    for (uint32_t i = 0; i < NMSG; i++) {
        int rc = ushm_queue_send(q, &i, sizeof i, -1);

        if (rc == -EINTR)
            atomic_fetch_add(&sh->eintr, 1);
        if (rc < 0)
            i--;
    }
    /* full now (once the consumer has taken all), then timed waits */
    while (!atomic_load(&sh->drained))
        sched_yield();
    while (ushm_queue_send(q, buf, sizeof buf, 0) == 0)
        ;
    for (long ms = 1; ms <= 200; ms *= 3) {
        uint64_t t0 = q_now_ns();

        timed(sh, ushm_queue_send(q, buf, sizeof buf, ms), t0, ms);
    }
    atomic_store(&sh->stop, 1);
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static int consumer(struct shared *sh)
{
    ushm_queue_t *q;
    uint32_t v;
    size_t len;

    q_deadline(60, "signal storm consumer");
    take_signals();
    if (ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_RECV) < 0)
        return 1;
    atomic_fetch_add(&sh->ready, 1);
    for (uint32_t want = 0; want < NMSG;) {
        int rc = ushm_queue_recv(q, &v, sizeof v, &len, -1);

        if (rc == -EINTR)
            atomic_fetch_add(&sh->eintr, 1);
        if (rc < 0)
            continue;
        if (v != want)
            atomic_fetch_add(&sh->order, 1);
        want = v + 1;
    }
    atomic_store(&sh->drained, 1);
    /* the producer's timed sends fill its waits; ours on an empty queue
     * come after the producer is done and we drained the rest */
    while (!atomic_load(&sh->stop))
        sched_yield();
    {
        unsigned char buf[4096];

        while (ushm_queue_recv(q, buf, sizeof buf, &len, 0) == 0)
            ;
    }
    for (long ms = 1; ms <= 200; ms *= 3) {
        uint64_t t0 = q_now_ns();
        unsigned char buf[4096];
        int rc = ushm_queue_recv(q, buf, sizeof buf, &len, ms);

        /* the producer has detached: -EPIPE is the answer, at once */
        if (rc == -EINTR)
            atomic_fetch_add(&sh->eintr, 1);
        else if (rc != -EPIPE)
            atomic_fetch_add(&sh->other, 1);
        (void)t0;
    }
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

int main(void)
{
    ushm_t *s;
    struct shared *sh;
    pid_t p, c, storm;
    int pst, cst;

    q_main_pid = getpid();
    q_deadline(120, "queue-signals");
    s = q_anon(sizeof *sh);
    g_sh = sh = ushm_addr(s);
    if ((c = q_fork()) == 0)
        _exit(consumer(sh));
    if ((p = q_fork()) == 0)
        _exit(producer(sh));
    while (atomic_load(&sh->ready) < 2)
        sched_yield();
    if ((storm = q_fork()) == 0) {
        while (!atomic_load(&sh->stop)) {
            kill(p, SIGUSR1);
            kill(c, SIGUSR1);
            nanosleep(&(struct timespec){ 0, 20000L }, NULL);
        }
        _exit(0);
    }
    pst = q_wait(p);
    cst = q_wait(c);
    atomic_store(&sh->stop, 1);
    q_wait(storm);
    q_result(pst == 0 && cst == 0 && sh->eintr == 0 && sh->order == 0 && sh->early == 0 &&
             sh->late == 0 && sh->other == 0 && sh->signals > 200, "signal_storm",
             "%lu signals; %u messages: -EINTR %u, out of order %u; timed waits early %u, "
             "late %u, other results %u; status %d/%d", (unsigned long)sh->signals, NMSG,
             (unsigned)sh->eintr, (unsigned)sh->order, (unsigned)sh->early,
             (unsigned)sh->late, (unsigned)sh->other, pst, cst);
    ushm_close(s);
    return q_finish();
}
