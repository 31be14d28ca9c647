/* SPDX-License-Identifier: MIT */
/*
 * A kill storm: 4 producers and 4 consumers on one queue for 3 seconds,
 * while the parent SIGKILLs one of them at a random moment every few
 * milliseconds and starts a replacement at once (a producer that has sent
 * MAXSEQ messages also leaves, normally, and is replaced).  Messages are
 * checksummed and numbered per producer instance; a producer records each
 * send that returned 0, a consumer each message it received, in a table in
 * the segment.  At the end the producers detach, the consumers drain the
 * queue until -EPIPE, and the table is counted:
 *   torn        a message whose checksum or length is wrong       must be 0
 *   twice       a message received a second time                  must be 0
 *   lost        a send that returned 0, never received            at most one
 *                                                                 per consumer killed,
 *                                                                 BATCH per one killed
 *                                                                 in ushm_queue_recvv
 * Half the producers (odd instances) send in batches of 1 to BATCH with
 * ushm_queue_sendv(), half the consumers receive so with ushm_queue_recvv().
 *   blocked     a call of a survivor that timed out (2 s) while   must be 0
 *               peers were there, or a process that hung
 * USHM_QUEUE_STORM_MS overrides the 3000 ms.
 */
#include "queue-common.h"

#include <sched.h>
#include <sys/uio.h>

#define NPROD 4
#define NCONS 4
#define QBYTES (128 * 1024)
#define MAXMSG 600
#define MAXINST 8192
#define MAXSEQ 4096
#define CALL_MS 2000
#define BATCH 8

struct instance {
    atomic_uint acked;                      /* sends that returned 0 */
    atomic_uchar got[MAXSEQ];               /* times received */
};

struct shared {
    unsigned char queue[QBYTES];
    atomic_uint torn, blocked, stop, other;
    atomic_ulong received;
    char why[256];
    struct instance inst[MAXINST];
};

static void note(struct shared *sh, atomic_uint *counter, const char *what)
{
    if (atomic_fetch_add(counter, 1) == 0)
        snprintf(sh->why, sizeof sh->why, "pid %ld: %s: %s", (long)getpid(),
                 what, ushm_last_error());
}

static int producer(struct shared *sh, uint32_t who)
{
    unsigned char buf[MAXMSG];
    ushm_queue_t *q;
    int rc;

    q_deadline(30, "kill storm producer");
    while ((rc = ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_SEND)) == -EAGAIN)
        sched_yield(); /* every place taken by the dying: a scan frees them */
    if (rc < 0) {
        note(sh, &sh->other, "attach");
        return 1;
    }
    for (uint32_t seq = 0; seq < MAXSEQ && !atomic_load(&sh->stop);) {
        size_t len = q_msg_make(buf, who, seq, MAXMSG);

        if (who % 2) { /* a batch: rc is how many were sent */
            static unsigned char m[BATCH][MAXMSG];
            struct iovec v[BATCH];
            uint32_t k = 1 + (seq * 7 + who) % BATCH;
            ssize_t r;

            if (k > MAXSEQ - seq)
                k = MAXSEQ - seq;
            for (uint32_t j = 0; j < k; j++) {
                v[j].iov_base = m[j];
                v[j].iov_len = q_msg_make(m[j], who, seq + j, MAXMSG);
            }
            r = ushm_queue_sendv(q, v, k, CALL_MS);
            if (r > 0) {
                seq += (uint32_t)r;
                atomic_store(&sh->inst[who].acked, seq);
                continue;
            }
            rc = (int)r;
        } else {
            rc = ushm_queue_send(q, buf, len, CALL_MS);
        }
        if (rc == 0) {
            atomic_store(&sh->inst[who].acked, ++seq);
        } else if (rc == -EPIPE) {
            sched_yield(); /* every consumer was just killed */
        } else if (rc == -ETIMEDOUT) {
            note(sh, &sh->blocked, "send");
        } else {
            note(sh, &sh->other, "send");
            return 2;
        }
    }
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static void took(struct shared *sh, const unsigned char *buf, size_t len)
{
    const struct q_msg *m = (const void *)buf;

    if (q_msg_check(buf, len) != NULL || m->who >= MAXINST || m->seq >= MAXSEQ)
        note(sh, &sh->torn, q_msg_check(buf, len));
    else
        atomic_fetch_add(&sh->inst[m->who].got[m->seq], 1);
    atomic_fetch_add(&sh->received, 1);
}

static int consumer(struct shared *sh, int batch)
{
    unsigned char buf[MAXMSG];
    ushm_queue_t *q;
    int rc;

    q_deadline(30, "kill storm consumer");
    while ((rc = ushm_queue_attach(&q, sh->queue, QBYTES, USHM_QUEUE_RECV)) == -EAGAIN)
        sched_yield();
    if (rc < 0) {
        note(sh, &sh->other, "attach");
        return 1;
    }
    for (unsigned calls = 0;; calls++) {
        size_t len;

        if (batch) { /* up to BATCH, each checked */
            static unsigned char m[BATCH][MAXMSG];
            struct iovec v[BATCH];
            size_t lens[BATCH], n = 1 + calls % BATCH;
            ssize_t r;

            for (size_t j = 0; j < n; j++) {
                v[j].iov_base = m[j];
                v[j].iov_len = MAXMSG;
            }
            r = ushm_queue_recvv(q, v, lens, n, CALL_MS);
            for (ssize_t j = 0; j < r; j++)
                took(sh, m[j], lens[j]);
            rc = r > 0 ? 0 : (int)r;
        } else {
            rc = ushm_queue_recv(q, buf, sizeof buf, &len, CALL_MS);
            if (rc == 0)
                took(sh, buf, len);
        }
        if (rc == 0) {
            continue;
        } else if (rc == -EPIPE) {
            if (atomic_load(&sh->stop))
                break;
            sched_yield(); /* every producer was just killed */
        } else if (rc == -ETIMEDOUT) {
            note(sh, &sh->blocked, "recv");
        } else {
            note(sh, &sh->other, "recv");
            return 2;
        }
    }
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

int main(void)
{
    ushm_t *s;
    struct shared *sh;
    pid_t prod[NPROD], cons[NCONS];
    uint32_t prod_inst[NPROD], next_inst = 0;
    unsigned killed_p = 0, killed_c = 0, hung = 0, bad_exit = 0, replaced = 0;
    unsigned allowed = 0; /* messages lost with the consumers killed */
    uint64_t seed = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull + 1, t0;
    long storm_ms = 3000;
    const char *env = getenv("USHM_QUEUE_STORM_MS");

    q_main_pid = getpid();
    if (env != NULL && atol(env) > 0)
        storm_ms = atol(env);
    q_deadline((unsigned)(storm_ms / 1000) + 60, "queue-kill");
    s = q_anon(sizeof *sh);
    sh = ushm_addr(s);
    for (int i = 0; i < NCONS; i++)
        if ((cons[i] = q_fork()) == 0)
            _exit(consumer(sh, i % 2));
    for (int i = 0; i < NPROD; i++) {
        prod_inst[i] = next_inst++;
        if ((prod[i] = q_fork()) == 0)
            _exit(producer(sh, prod_inst[i]));
    }
    t0 = q_now_ns();
    while (q_ms_since(t0) < (double)storm_ms && next_inst < MAXINST - NPROD) {
        struct timespec pause = { 0, (long)(q_rand(&seed) % 3000000) };
        unsigned victim = (unsigned)(q_rand(&seed) % (NPROD + NCONS));
        int st;

        nanosleep(&pause, NULL); /* the storm's pace, not a wait for anyone */
        /* producers that finished their numbers leave: replace them */
        for (int i = 0; i < NPROD; i++)
            if (waitpid(prod[i], &st, WNOHANG) == prod[i]) {
                bad_exit += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
                hung += WIFEXITED(st) && WEXITSTATUS(st) == Q_HUNG;
                prod_inst[i] = next_inst++;
                if ((prod[i] = q_fork()) == 0)
                    _exit(producer(sh, prod_inst[i]));
                replaced++;
            }
        if (victim < NPROD) {
            kill(prod[victim], SIGKILL);
            st = q_wait(prod[victim]);
            if (st != 256 + SIGKILL) { /* it had ended by itself */
                bad_exit += st != 0;
                hung += st == Q_HUNG;
            } else {
                killed_p++;
            }
            prod_inst[victim] = next_inst++;
            if ((prod[victim] = q_fork()) == 0)
                _exit(producer(sh, prod_inst[victim]));
        } else {
            victim -= NPROD;
            kill(cons[victim], SIGKILL);
            st = q_wait(cons[victim]);
            if (st != 256 + SIGKILL) {
                bad_exit += st != 0;
                hung += st == Q_HUNG;
            } else {
                killed_c++;
                allowed += victim % 2 ? BATCH : 1;
            }
            if ((cons[victim] = q_fork()) == 0)
                _exit(consumer(sh, (int)(victim % 2)));
        }
    }
    /* the end: producers detach, consumers drain until -EPIPE */
    atomic_store(&sh->stop, 1);
    for (int i = 0; i < NPROD; i++) {
        int st = q_wait(prod[i]);

        bad_exit += st != 0;
        hung += st == Q_HUNG;
    }
    for (int i = 0; i < NCONS; i++) {
        int st = q_wait(cons[i]);

        bad_exit += st != 0;
        hung += st == Q_HUNG;
    }
    {
        unsigned long lost = 0, twice = 0, acked = 0;
        struct ushm_queue_stat qs;

        for (uint32_t w = 0; w < next_inst; w++) {
            unsigned a = atomic_load(&sh->inst[w].acked);

            acked += a;
            for (unsigned k = 0; k < MAXSEQ; k++) {
                unsigned g = atomic_load(&sh->inst[w].got[k]);

                twice += g > 1;
                lost += k < a && g == 0;
            }
        }
        ushm_queue_stat(sh->queue, QBYTES, &qs);
        q_result(sh->torn == 0 && twice == 0 && lost <= allowed && sh->blocked == 0 &&
                 hung == 0 && bad_exit == 0 && sh->other == 0 && qs.depth == 0 &&
                 qs.producers == 0 && qs.consumers == 0 && killed_p > 10 && killed_c > 10,
                 "kill_storm",
                 "%ld ms: %u producers and %u consumers killed, %u replaced after finishing; "
                 "%lu sends returned 0, %lu received; torn %u, twice %lu, lost %lu (allowed %u), "
                 "blocked %u, hung %u, bad exits %u, other errors %u, left in queue %llu%s%s",
                 storm_ms, killed_p, killed_c, replaced, acked,
                 (unsigned long)sh->received, (unsigned)sh->torn, twice, lost, allowed,
                 (unsigned)sh->blocked, hung, bad_exit, (unsigned)sh->other,
                 (unsigned long long)qs.depth, sh->why[0] ? "; first: " : "", sh->why);
    }
    ushm_close(s);
    return q_finish();
}
