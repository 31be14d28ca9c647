/* SPDX-License-Identifier: MIT */
/*
 * A lone producer that keeps the producers' lock between its sends
 * (lib/queue-io.c, "Solo"): it goes solo where the build and the system
 * have the barrier (and never elsewhere); a second producer takes the lock
 * over while the solo one keeps sending, and every message of both arrives
 * once, whole and in each one's order; a solo producer SIGKILLed at random
 * moments of its sends leaves a lock the next producer takes, and nothing
 * torn; a consumer asleep under a solo producer is woken by its next send.
 *
 * The producers' lock word is at offset 64 of the queue (lib/queue.c,
 * "Layout"); LOCK_SOLO is its top bit.
 */
#include "queue-common.h"

#include <pthread.h>
#ifdef HAVE_LINUX_MEMBARRIER_H
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

#define QBYTES (1024 * 1024)
#define OFF_PLOCK 64
#define SOLO 0x80000000u

struct msg {
    uint32_t who, seq, sum, pad;
    unsigned char body[16];
};

static unsigned char *qmem;

static uint32_t plock(void)
{
    return atomic_load((atomic_uint *)(void *)(qmem + OFF_PLOCK));
}

/* Whether producers here can go solo: the build chose the barrier, and
 * the system gives it (qemu-user and some seccomp filters do not). */
static int solo_expected(void)
{
#if defined(USHM_QUEUE_SOLO_MEMBARRIER) && defined(HAVE_LINUX_MEMBARRIER_H)
    long cmds = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0u, 0);

    return cmds >= 0 && (cmds & MEMBARRIER_CMD_GLOBAL_EXPEDITED) &&
           (cmds & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED);
#else
    return 0;
#endif
}

static void fill(struct msg *m, uint32_t who, uint32_t seq)
{
    memset(m, 0, sizeof *m);
    m->who = who;
    m->seq = seq;
    for (size_t i = 0; i < sizeof m->body; i++)
        m->body[i] = (unsigned char)(who * 31 + seq * 7 + i);
    m->sum = who ^ (seq * 2654435761u);
}

static int intact(const struct msg *m)
{
    if (m->sum != (m->who ^ (m->seq * 2654435761u)))
        return 0;
    for (size_t i = 0; i < sizeof m->body; i++)
        if (m->body[i] != (unsigned char)(m->who * 31 + m->seq * 7 + i))
            return 0;
    return 1;
}

static void goes_solo(void)
{
    ushm_queue_t *p, *c;
    struct msg m;
    size_t n;
    int ok = 1, want = solo_expected();
    uint32_t w = 0;

    memset(qmem, 0, QBYTES);
    ok &= q_expect(ushm_queue_attach(&c, qmem, QBYTES, USHM_QUEUE_RECV), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_attach(&p, qmem, QBYTES, USHM_QUEUE_SEND), 0, "attach", NULL);
    for (uint32_t i = 0; ok && i < 100; i++) {
        fill(&m, 1, i);
        ok &= ushm_queue_send(p, &m, sizeof m, 0) == 0;
        ok &= ushm_queue_recv(c, &m, sizeof m, &n, 0) == 0 && n == sizeof m &&
              m.seq == i && intact(&m);
    }
    w = plock();
    ok &= !!(w & SOLO) == want;
    ushm_queue_detach(p);
    ok &= plock() == 0;
    ushm_queue_detach(c);
    q_result(ok, "goes_solo", "a lone producer's lock after 100 sends: 0x%08x (solo %s here), "
             "0 after its detach", w, want ? "expected" : "not expected");
}

/* Flags between the processes of taken_over, beside the queue. */
struct flags {
    atomic_int second_done, stop;
    atomic_uint p1_sent;
};
static struct flags *fl;

/* The second producer: again and again attaches, sends one message (which
 * takes the lock over from the first, solo again by then) and detaches. */
static int second(unsigned rounds)
{
    ushm_queue_t *p;
    struct msg m;

    q_deadline(60, "solo second producer");
    for (uint32_t i = 0; i < rounds; i++) {
        if (ushm_queue_attach(&p, qmem, QBYTES, USHM_QUEUE_SEND) != 0)
            return 1;
        fill(&m, 2, i);
        if (ushm_queue_send(p, &m, sizeof m, 5000) != 0)
            return 2;
        ushm_queue_detach(p);
        /* let the first one send 16 times in a row and go solo again */
        for (unsigned k = atomic_load(&fl->p1_sent) + 64;
             atomic_load(&fl->p1_sent) < k && !atomic_load(&fl->stop);)
            sched_yield();
    }
    atomic_store(&fl->second_done, 1);
    return 0;
}

struct taker {
    ushm_queue_t *c;
    uint32_t next[3];
    unsigned torn, order, got[3];
};

static void *take_all(void *arg)
{
    struct taker *t = arg;
    struct msg m;
    size_t n;

    while (ushm_queue_recv(t->c, &m, sizeof m, &n, 2000) == 0) {
        if (n != sizeof m || !intact(&m) || m.who < 1 || m.who > 2) {
            t->torn++;
            continue;
        }
        t->got[m.who]++;
        t->order += m.seq != t->next[m.who];
        t->next[m.who] = m.seq + 1;
    }
    return NULL;
}

static void taken_over(void)
{
    const unsigned rounds = 1000;
    ushm_t *fs = q_anon(sizeof *fl);
    struct taker tk;
    ushm_queue_t *p;
    struct msg m;
    uint32_t w_before, sent1 = 0;
    pthread_t t;
    int ok = 1, st;
    pid_t pid;

    fl = ushm_addr(fs);
    memset(qmem, 0, QBYTES);
    memset(&tk, 0, sizeof tk);
    ok &= q_expect(ushm_queue_attach(&tk.c, qmem, QBYTES, USHM_QUEUE_RECV), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_attach(&p, qmem, QBYTES, USHM_QUEUE_SEND), 0, "attach", NULL);
    for (; ok && sent1 < 100; sent1++) {
        fill(&m, 1, sent1);
        ok &= ushm_queue_send(p, &m, sizeof m, 0) == 0;
    }
    w_before = plock();
    ok &= !!(w_before & SOLO) == solo_expected();
    if (pthread_create(&t, NULL, take_all, &tk) != 0)
        abort();
    if ((pid = q_fork()) == 0)
        _exit(second(rounds));
    /* this one sends all along, solo whenever it can be */
    for (uint64_t t0 = q_now_ns(); ok && !atomic_load(&fl->second_done) && q_ms_since(t0) < 60000.0;) {
        fill(&m, 1, sent1);
        ok &= q_expect(ushm_queue_send(p, &m, sizeof m, 5000), 0, "send while taken over", NULL);
        sent1++;
        atomic_store(&fl->p1_sent, sent1);
    }
    atomic_store(&fl->stop, 1);
    st = q_wait(pid);
    ok &= st == 0;
    ushm_queue_detach(p); /* the taker's receive ends with -EPIPE */
    pthread_join(t, NULL);
    ushm_queue_detach(tk.c);
    ushm_close(fs);
    q_result(ok && tk.torn == 0 && tk.order == 0 && tk.got[1] == sent1 && tk.got[2] == rounds,
             "taken_over", "a solo producer (lock 0x%08x) sent %u messages while a second "
             "one took the lock over %u times: received %u and %u, %u torn, %u out of "
             "order, second producer status %d", w_before, sent1, rounds, tk.got[1],
             tk.got[2], tk.torn, tk.order, st);
}

/* A solo producer, killed anywhere in its sends, many times over. */
static int victim(void)
{
    ushm_queue_t *p;
    struct msg m;

    q_deadline(30, "solo victim"); /* killed long before, unless its parent died */
    if (ushm_queue_attach(&p, qmem, QBYTES, USHM_QUEUE_SEND) != 0)
        return 1;
    for (uint32_t i = 0;; i++) {
        fill(&m, 1, i);
        if (ushm_queue_send(p, &m, sizeof m, -1) != 0)
            return 2;
    }
}

static void killed_solo(void)
{
    ushm_queue_t *c, *p;
    struct msg m;
    unsigned torn = 0, got = 0, rounds = 40, bad = 0;
    uint64_t seed = 12345;
    int ok = 1;
    size_t n;

    memset(qmem, 0, QBYTES);
    ok &= q_expect(ushm_queue_attach(&c, qmem, QBYTES, USHM_QUEUE_RECV), 0, "attach", NULL);
    for (unsigned r = 0; ok && r < rounds; r++) {
        pid_t pid = q_fork();
        int st;

        if (pid == 0)
            _exit(victim());
        /* let it send (and go solo), taking what comes, then kill it at
         * a moment the clock chooses */
        for (unsigned k = 0; k < 50 + q_rand(&seed) % 500; k++)
            if (ushm_queue_recv(c, &m, sizeof m, &n, 1000) == 0) {
                got++;
                torn += n != sizeof m || !intact(&m);
            }
        kill(pid, SIGKILL);
        st = q_wait(pid);
        bad += st != 256 + SIGKILL;
    }
    /* the next producer takes the lock of the dead one */
    ok &= q_expect(ushm_queue_attach(&p, qmem, QBYTES, USHM_QUEUE_SEND), 0, "attach after", NULL);
    fill(&m, 7, 0);
    ok &= q_expect(ushm_queue_send(p, &m, sizeof m, 2000), 0, "send after the kills", NULL);
    for (;;) {
        int rc = ushm_queue_recv(c, &m, sizeof m, &n, 0);

        if (rc != 0)
            break;
        got++;
        torn += n != sizeof m || !intact(&m);
        if (m.who == 7)
            break;
    }
    ok &= m.who == 7;
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    q_result(ok && torn == 0 && bad == 0, "killed_solo",
             "%u solo producers SIGKILLed mid-stream: %u messages received, %u torn, "
             "%u odd statuses; the next producer's send went through", rounds, got,
             torn, bad);
}

struct sleeper {
    ushm_queue_t *c;
    atomic_int asleep;
    uint64_t woke_ns;
    int rc;
};

static void *sleep_recv(void *arg)
{
    struct sleeper *s = arg;
    struct msg m;
    size_t n;

    atomic_store(&s->asleep, 1);
    s->rc = ushm_queue_recv(s->c, &m, sizeof m, &n, 5000);
    s->woke_ns = q_now_ns();
    return NULL;
}

/* A consumer asleep under a solo producer is woken by its next send. */
static void wakes_under_solo(void)
{
    ushm_queue_t *p, *c;
    struct msg m;
    size_t n;
    double worst = 0;
    int ok = 1;

    memset(qmem, 0, QBYTES);
    ok &= q_expect(ushm_queue_attach(&c, qmem, QBYTES, USHM_QUEUE_RECV), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_attach(&p, qmem, QBYTES, USHM_QUEUE_SEND), 0, "attach", NULL);
    for (uint32_t i = 0; ok && i < 40; i++) {
        fill(&m, 1, i);
        ok &= ushm_queue_send(p, &m, sizeof m, 0) == 0 &&
              ushm_queue_recv(c, &m, sizeof m, &n, 0) == 0;
    }
    for (int r = 0; ok && r < 10; r++) {
        struct sleeper s = { .c = c };
        pthread_t t;
        uint64_t sent;
        double ms;

        if (pthread_create(&t, NULL, sleep_recv, &s) != 0)
            abort();
        while (!atomic_load(&s.asleep))
            sched_yield();
        /* past its 20 us spin: asleep (a pace; awake it passes too) */
        nanosleep(&(struct timespec){ 0, 5000000L }, NULL);
        fill(&m, 1, 1000 + (uint32_t)r);
        sent = q_now_ns();
        ok &= ushm_queue_send(p, &m, sizeof m, 0) == 0;
        pthread_join(t, NULL);
        ms = (double)(s.woke_ns - sent) / 1e6;
        if (ms > worst)
            worst = ms;
        ok &= s.rc == 0 && ms < 100.0;
    }
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    q_result(ok, "wakes_under_solo", "10 sends to a consumer asleep under a solo "
             "producer: the slowest woke it in %.2f ms (limit 100)", worst);
}

int main(void)
{
    ushm_t *s;

    q_main_pid = getpid();
    q_deadline(120, "queue-solo");
    s = q_anon(QBYTES);
    qmem = ushm_addr(s);
    goes_solo();
    taken_over();
    killed_solo();
    wakes_under_solo();
    ushm_close(s);
    return q_finish();
}
