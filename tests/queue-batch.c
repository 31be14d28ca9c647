/* SPDX-License-Identifier: MIT */
/*
 * Batches: ushm_queue_sendv() and ushm_queue_recvv(), one case each for
 * bad arguments (-EINVAL, -EMSGSIZE and -EBADF with nothing sent), "as many
 * as fit" and "as many as there are" in order across the ring's end, a
 * buffer too small in the middle of a batch and at its start (-EMSGSIZE,
 * the message kept), timeouts and -EPIPE, and 2 producer and 2 consumer
 * processes mixing batches of every size with single calls, every message
 * received once, whole and in its producer's order.  (A consumer killed
 * inside a batch is tests/queue-kill's.)
 */
#include "queue-common.h"

#include <sys/uio.h>

#define SEG (64 * 1024)

static struct iovec iov(const void *p, size_t n)
{
    struct iovec v;

    v.iov_base = (void *)(uintptr_t)p;
    v.iov_len = n;
    return v;
}

/* A count from sendv/recvv: 1 when it is want, else a FAIL line. */
static int q_count(ssize_t r, ssize_t want, const char *what)
{
    if (r == want)
        return 1;
    q_result(0, what, "returned %zd, want %zd; last error: %s", r, want,
             ushm_last_error());
    return 0;
}

static uint64_t depth_of(void *mem, size_t bytes)
{
    struct ushm_queue_stat st;

    if (ushm_queue_stat(mem, bytes, &st) != 0)
        return UINT64_MAX;
    return st.depth;
}

static void bad_arguments(void)
{
    ushm_t *s = q_anon(SEG);
    void *mem = ushm_addr(s);
    ushm_queue_t *p, *c;
    char big[1], buf[64];
    struct iovec v[4], b[3];
    size_t lens[3] = { 7, 7, 7 };
    int ok = 1;

    ok &= q_expect(ushm_queue_attach(&p, mem, SEG, USHM_QUEUE_SEND), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_attach(&c, mem, SEG, USHM_QUEUE_RECV), 0, "attach", NULL);
    v[0] = iov("a", 1);
    v[1] = iov("bb", 2);
    v[2] = iov("ccc", 3);
    v[3] = iov(NULL, 0);
    b[0] = iov(buf, sizeof buf);
    b[1] = iov(buf, sizeof buf);
    b[2] = iov(buf, sizeof buf);
    ok &= q_expect((int)ushm_queue_sendv(NULL, v, 1, 0), -EINVAL, "sendv q NULL", "q is NULL");
    ok &= q_expect((int)ushm_queue_sendv(p, NULL, 1, 0), -EINVAL, "sendv msgs NULL", "msgs is NULL");
    ok &= q_expect((int)ushm_queue_sendv(p, v, 0, 0), -EINVAL, "sendv n 0", "n is 0");
    ok &= q_expect((int)ushm_queue_sendv(c, v, 1, 0), -EBADF, "sendv on a consumer", "USHM_QUEUE_SEND");
    v[1] = iov(NULL, 2);
    ok &= q_expect((int)ushm_queue_sendv(p, v, 4, 0), -EINVAL, "sendv msgs[1] NULL", "msgs[1].iov_base is NULL");
    v[1] = iov("bb", 2);
    v[2] = iov(big, ushm_queue_msg_max(p) + 1);
    ok &= q_expect((int)ushm_queue_sendv(p, v, 4, 0), -EMSGSIZE, "sendv msgs[2] too long", "msgs[2] has");
    ok &= depth_of(mem, SEG) == 0; /* nothing sent, not even msgs[0] */
    ok &= q_expect((int)ushm_queue_recvv(NULL, b, lens, 1, 0), -EINVAL, "recvv q NULL", "q is NULL");
    ok &= q_expect((int)ushm_queue_recvv(c, NULL, lens, 1, 0), -EINVAL, "recvv bufs NULL", "bufs is NULL");
    ok &= q_expect((int)ushm_queue_recvv(c, b, NULL, 1, 0), -EINVAL, "recvv lens NULL", "lens is NULL");
    ok &= q_expect((int)ushm_queue_recvv(c, b, lens, 0, 0), -EINVAL, "recvv n 0", "n is 0");
    ok &= q_expect((int)ushm_queue_recvv(p, b, lens, 1, 0), -EBADF, "recvv on a producer", "USHM_QUEUE_RECV");
    b[2] = iov(NULL, 5);
    ok &= q_expect((int)ushm_queue_recvv(c, b, lens, 3, 0), -EINVAL, "recvv bufs[2] NULL", "bufs[2].iov_base is NULL");
    ok &= lens[0] == 7 && lens[1] == 7 && lens[2] == 7;
    /* an array far longer than the ring holds: only as many entries as the
     * ring has cells are looked at (those after them are bad here), so a
     * loop over a long array is not quadratic */
    {
        enum { LONG = 100000 };
        static struct iovec many[LONG], bmany[LONG];
        static size_t lmany[LONG];
        struct ushm_queue_stat st;
        ssize_t r;

        ok &= ushm_queue_stat(mem, SEG, &st) == 0;
        for (size_t i = 0; i < LONG; i++) {
            many[i] = iov(i < st.capacity / 64 ? "m" : NULL, 1);
            bmany[i] = iov(i < st.capacity / 64 ? buf : NULL, sizeof buf);
        }
        r = ushm_queue_sendv(p, many, LONG, 0);
        ok &= q_count(r, (ssize_t)(st.capacity / 64), "sendv of a long array: as many as there are cells");
        r = ushm_queue_recvv(c, bmany, lmany, LONG, 0);
        ok &= q_count(r, (ssize_t)(st.capacity / 64), "recvv into a long array");
        ok &= depth_of(mem, SEG) == 0;
    }
    /* empty messages, into empty buffers */
    v[0] = iov(NULL, 0);
    v[1] = iov(NULL, 0);
    ok &= q_count(ushm_queue_sendv(p, v, 2, 0), 2, "sendv of two empty messages");
    b[0] = iov(NULL, 0);
    b[1] = iov(NULL, 0);
    ok &= q_count(ushm_queue_recvv(c, b, lens, 2, 0), 2, "recvv of two empty messages");
    ok &= lens[0] == 0 && lens[1] == 0 && depth_of(mem, SEG) == 0;
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    ushm_close(s);
    q_result(ok, "bad_arguments", "-EINVAL naming the argument, -EMSGSIZE naming the message, "
             "-EBADF; nothing sent, lens untouched; of a long array only as many as the "
             "ring has cells looked at; empty messages in a batch");
}

/* The bytes of message i: its length, then bytes derived from i. */
static size_t make(unsigned char *m, unsigned i, size_t max)
{
    size_t len = (i * 37u) % (max + 1);

    for (size_t k = 0; k < len; k++)
        m[k] = (unsigned char)(i * 13u + k);
    return len;
}

static int is(const unsigned char *m, size_t len, unsigned i, size_t max)
{
    if (len != (i * 37u) % (max + 1))
        return 0;
    for (size_t k = 0; k < len; k++)
        if (m[k] != (unsigned char)(i * 13u + k))
            return 0;
    return 1;
}

/* sendv sends as many as fit (the next one then does not), recvv takes as
 * many as there are up to n; in order, around the ring's end. */
static void as_many_as_fit(void)
{
    enum { N = 3000, MAX = 300 };
    ushm_t *s = q_anon(SEG);
    void *mem = ushm_addr(s);
    ushm_queue_t *q;
    static unsigned char out[N][MAX], in[8][MAX];
    static struct iovec v[N];
    unsigned sent = 0, got = 0, partial = 0, bad = 0, calls = 0;
    uint64_t seed = 7;
    int ok = 1;

    ok &= q_expect(ushm_queue_attach(&q, mem, 4096, USHM_QUEUE_SEND | USHM_QUEUE_RECV), 0, "attach", NULL);
    for (unsigned i = 0; i < N; i++)
        v[i] = iov(out[i], make(out[i], i, MAX));
    while (ok && got < N && calls++ < 100000) {
        size_t k = 1 + (size_t)(q_rand(&seed) % 40);
        uint64_t before = depth_of(mem, 4096);

        if (k > N - sent)
            k = N - sent;
        if (k > 0) {
            ssize_t r = ushm_queue_sendv(q, v + sent, k, 0);

            if (r == -ETIMEDOUT) {
                /* not even the first fits: nothing was sent */
                bad += depth_of(mem, 4096) != before || before == 0;
            } else if (r < 1 || (size_t)r > k) {
                q_result(0, "as_many_as_fit", "sendv of %zu: %zd (%s)", k, r, ushm_last_error());
                ok = 0;
                break;
            } else {
                sent += (unsigned)r;
                bad += depth_of(mem, 4096) != before + (uint64_t)r;
                if ((size_t)r < k) {
                    /* as many as fit: the next one alone does not */
                    partial++;
                    bad += ushm_queue_send(q, v[sent].iov_base, v[sent].iov_len, 0) != -ETIMEDOUT;
                }
            }
        }
        if (q_rand(&seed) % 3 != 0 || sent == N) {
            size_t n = 1 + (size_t)(q_rand(&seed) % 8), lens[8];
            struct iovec b[8];
            uint64_t there = depth_of(mem, 4096);
            ssize_t r;

            for (size_t j = 0; j < n; j++)
                b[j] = iov(in[j], MAX);
            r = ushm_queue_recvv(q, b, lens, n, 0);
            if (r == -ETIMEDOUT) {
                bad += there != 0;
                continue;
            }
            if (r < 1 || (size_t)r > n) {
                q_result(0, "as_many_as_fit", "recvv of %zu: %zd (%s)", n, r, ushm_last_error());
                ok = 0;
                break;
            }
            /* as many as there are, up to n */
            bad += (uint64_t)r != (there < n ? there : n);
            for (ssize_t j = 0; j < r; j++)
                bad += !is(in[j], lens[j], got++, MAX);
        }
    }
    ok &= got == N;
    ushm_queue_detach(q);
    ushm_close(s);
    q_result(ok && bad == 0 && partial > 0, "as_many_as_fit",
             "%u messages of 0-%d bytes through a 4096-byte queue in batches of 1-40 "
             "and 1-8, %u sends cut short by a full queue; %u wrong", got, MAX, partial, bad);
}

/* A buffer too small: the batch ends before that message; at the start of a
 * batch it is -EMSGSIZE with its length, and the message stays. */
static void buffer_too_small(void)
{
    ushm_t *s = q_anon(SEG);
    void *mem = ushm_addr(s);
    ushm_queue_t *p, *c;
    static const char *const m[5] = { "one", "twotwo", "three three", "fourfourfour", "5" };
    char bufs[4][32];
    struct iovec v[5], b[4];
    size_t lens[4] = { 0, 0, 0, 0 };
    struct ushm_queue_stat st;
    int ok = 1;

    ushm_queue_attach(&p, mem, SEG, USHM_QUEUE_SEND);
    ushm_queue_attach(&c, mem, SEG, USHM_QUEUE_RECV);
    for (int i = 0; i < 5; i++)
        v[i] = iov(m[i], strlen(m[i]));
    ok &= q_count(ushm_queue_sendv(p, v, 5, 0), 5, "sendv of 5");
    b[0] = iov(bufs[0], 32);
    b[1] = iov(bufs[1], 32);
    b[2] = iov(bufs[2], 4); /* "three three" is 11 bytes */
    b[3] = iov(bufs[3], 32);
    ok &= q_count(ushm_queue_recvv(c, b, lens, 4, 0), 2, "recvv ending before a message too long");
    ok &= lens[0] == 3 && memcmp(bufs[0], "one", 3) == 0 && lens[1] == 6 &&
          memcmp(bufs[1], "twotwo", 6) == 0;
    ok &= q_expect((int)ushm_queue_recvv(c, b + 2, lens, 2, 0), -EMSGSIZE, "recvv, first too long", "11 bytes");
    ok &= lens[0] == 11 && depth_of(mem, SEG) == 3;
    ok &= q_count(ushm_queue_recvv(c, b, lens, 4, 0), 3, "recvv of what is left");
    ok &= lens[0] == 11 && memcmp(bufs[0], "three three", 11) == 0 && lens[1] == 12 &&
          memcmp(bufs[1], "fourfourfour", 12) == 0 && lens[2] == 1 && bufs[2][0] == '5';
    ok &= ushm_queue_stat(mem, SEG, &st) == 0 && st.sent == 5 && st.received == 5 &&
          st.depth == 0 && st.used == 0;
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    ushm_close(s);
    q_result(ok, "buffer_too_small", "a batch ends before a message longer than its buffer; "
             "first in a batch: -EMSGSIZE, its length in lens[0], kept; stat's counts");
}

static void timeouts_and_epipe(void)
{
    ushm_t *s = q_anon(SEG);
    void *mem = ushm_addr(s);
    ushm_queue_t *p, *c;
    static char big[1000];
    char buf[64];
    struct iovec v[2], b[2];
    size_t lens[2];
    uint64_t t0;
    double ms;
    int ok = 1;

    ushm_queue_attach(&p, mem, 4096, USHM_QUEUE_SEND);
    ushm_queue_attach(&c, mem, 4096, USHM_QUEUE_RECV);
    b[0] = iov(buf, sizeof buf);
    b[1] = iov(buf, sizeof buf);
    t0 = q_now_ns();
    ok &= q_expect((int)ushm_queue_recvv(c, b, lens, 2, 0), -ETIMEDOUT, "recvv 0 ms", "empty");
    ok &= q_ms_since(t0) < 50;
    t0 = q_now_ns();
    ok &= q_expect((int)ushm_queue_recvv(c, b, lens, 2, 60), -ETIMEDOUT, "recvv 60 ms", "empty");
    ms = q_ms_since(t0);
    ok &= ms >= 60 && ms < 60 + 200;
    v[0] = iov(big, sizeof big);
    v[1] = iov(big, sizeof big);
    while (ushm_queue_sendv(p, v, 2, 0) > 0)
        ;
    t0 = q_now_ns();
    ok &= q_expect((int)ushm_queue_sendv(p, v, 2, 0), -ETIMEDOUT, "sendv 0 ms", "full");
    ok &= q_ms_since(t0) < 50;
    t0 = q_now_ns();
    ok &= q_expect((int)ushm_queue_sendv(p, v, 2, 60), -ETIMEDOUT, "sendv 60 ms", "full");
    ms = q_ms_since(t0);
    ok &= ms >= 60 && ms < 60 + 200;
    /* the consumer goes: -EPIPE at once, full or not */
    ushm_queue_detach(c);
    ok &= q_expect((int)ushm_queue_sendv(p, v, 1, -1), -EPIPE, "sendv, no consumer", "no consumer");
    ushm_queue_detach(p);
    ushm_close(s);
    /* the producer goes: what it sent is received, then -EPIPE */
    s = q_anon(SEG);
    mem = ushm_addr(s);
    ushm_queue_attach(&p, mem, 4096, USHM_QUEUE_SEND);
    ushm_queue_attach(&c, mem, 4096, USHM_QUEUE_RECV);
    v[0] = iov("x", 1);
    v[1] = iov("yz", 2);
    ok &= q_count(ushm_queue_sendv(p, v, 2, 0), 2, "sendv");
    ushm_queue_detach(p);
    ok &= q_count(ushm_queue_recvv(c, b, lens, 2, -1), 2, "recvv after the producer detached");
    ok &= lens[0] == 1 && lens[1] == 2;
    ok &= q_expect((int)ushm_queue_recvv(c, b, lens, 2, -1), -EPIPE, "recvv, drained", "no producer");
    ushm_queue_detach(c);
    ushm_close(s);
    q_result(ok, "timeouts_and_epipe", "-ETIMEDOUT never early and 0 ms at once, both ways; "
             "-EPIPE to sendv without consumers and to recvv once drained");
}

/* 2 producers and 2 consumers, processes, batches of 1-16 and single calls. */
enum { NP = 2, NC = 2, PER = 50000, MAXLEN = 200 };

struct table {
    atomic_uchar got[NP][PER];
    atomic_uint torn, order, other;
    char why[200];
};

static void note(struct table *t, atomic_uint *counter, const char *what)
{
    if (atomic_fetch_add(counter, 1) == 0)
        snprintf(t->why, sizeof t->why, "pid %ld: %s: %s", (long)getpid(), what,
                 ushm_last_error());
}

static int producer(void *mem, size_t bytes, struct table *t, uint32_t who)
{
    static unsigned char m[16][MAXLEN];
    struct iovec v[16];
    uint64_t seed = who + 1;
    ushm_queue_t *q;

    q_deadline(60, "batch producer");
    if (ushm_queue_attach(&q, mem, bytes, USHM_QUEUE_SEND) != 0) {
        note(t, &t->other, "attach");
        return 1;
    }
    for (uint32_t seq = 0; seq < PER;) {
        size_t k = 1 + (size_t)(q_rand(&seed) % 16);
        ssize_t r;

        if (k > PER - seq)
            k = PER - seq;
        for (size_t j = 0; j < k; j++)
            v[j] = iov(m[j], q_msg_make(m[j], who, seq + (uint32_t)j, MAXLEN));
        if (k == 1 && q_rand(&seed) % 2)
            r = ushm_queue_send(q, v[0].iov_base, v[0].iov_len, -1) == 0 ? 1 : -EIO;
        else
            r = ushm_queue_sendv(q, v, k, -1);
        if (r < 1) {
            note(t, &t->other, "sendv");
            return 2;
        }
        seq += (uint32_t)r;
    }
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static int consumer(void *mem, size_t bytes, struct table *t, uint64_t seed)
{
    static unsigned char m[16][MAXLEN];
    struct iovec b[16];
    size_t lens[16];
    uint32_t next[NP] = { 0 };
    ushm_queue_t *q;

    q_deadline(60, "batch consumer");
    if (ushm_queue_attach(&q, mem, bytes, USHM_QUEUE_RECV) != 0) {
        note(t, &t->other, "attach");
        return 1;
    }
    for (int j = 0; j < 16; j++)
        b[j] = iov(m[j], MAXLEN);
    for (;;) {
        size_t n = 1 + (size_t)(q_rand(&seed) % 16);
        ssize_t r;

        if (n == 1 && q_rand(&seed) % 2) {
            int rc = ushm_queue_recv(q, m[0], MAXLEN, &lens[0], -1);

            r = rc == 0 ? 1 : rc;
        } else {
            r = ushm_queue_recvv(q, b, lens, n, -1);
        }
        if (r <= 0) {
            if (r == -EPIPE)
                break; /* the stream has ended */
            note(t, &t->other, "recvv");
            return 2;
        }
        for (ssize_t j = 0; j < r; j++) {
            const struct q_msg *x = (const void *)m[j];

            if (q_msg_check(m[j], lens[j]) != NULL || x->who >= NP || x->seq >= PER) {
                note(t, &t->torn, "a message");
                continue;
            }
            /* this consumer sees each producer's messages in order */
            if (x->seq < next[x->who])
                note(t, &t->order, "order");
            next[x->who] = x->seq + 1;
            atomic_fetch_add(&t->got[x->who][x->seq], 1);
        }
    }
    return ushm_queue_detach(q) == 0 ? 0 : 3;
}

static void processes(void)
{
    size_t bytes = 16 * 1024;
    ushm_t *s = q_anon(bytes + sizeof(struct table));
    unsigned char *mem = ushm_addr(s);
    struct table *t = (struct table *)(void *)(mem + bytes);
    pid_t pid[NP + NC];
    unsigned bad_exit = 0, lost = 0, twice = 0;
    uint64_t t0 = q_now_ns();

    for (int i = 0; i < NC; i++)
        if ((pid[NP + i] = q_fork()) == 0)
            _exit(consumer(mem, bytes, t, 1000u + (unsigned)i));
    for (int i = 0; i < NP; i++)
        if ((pid[i] = q_fork()) == 0)
            _exit(producer(mem, bytes, t, (uint32_t)i));
    for (int i = 0; i < NP + NC; i++)
        bad_exit += q_wait(pid[i]) != 0;
    for (int w = 0; w < NP; w++)
        for (int k = 0; k < PER; k++) {
            unsigned g = atomic_load(&t->got[w][k]);

            lost += g == 0;
            twice += g > 1;
        }
    q_result(bad_exit == 0 && lost == 0 && twice == 0 && t->torn == 0 && t->order == 0 &&
             t->other == 0, "processes",
             "%d producers x %d messages in batches of 1-16 and single sends, %d consumers "
             "in batches of 1-16 and single receives, %.0f ms: lost %u, twice %u, torn %u, "
             "out of order %u, other %u, bad exits %u%s%s", NP, PER, NC, q_ms_since(t0),
             lost, twice, (unsigned)t->torn, (unsigned)t->order, (unsigned)t->other,
             bad_exit, t->why[0] ? "; first: " : "", t->why);
    ushm_close(s);
}

int main(void)
{
    q_main_pid = getpid();
    q_deadline(120, "queue-batch");
    bad_arguments();
    as_many_as_fit();
    buffer_too_small();
    timeouts_and_epipe();
    processes();
    return q_finish();
}
