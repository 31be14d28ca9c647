/* SPDX-License-Identifier: MIT */
/*
 * The rows of API.md's "A message queue inside a segment", one case each:
 * bad arguments, regions and flags (-EINVAL), another size (-EINVAL naming
 * the queue's), bytes that are not a queue (-EPROTO), a USHM_RDONLY
 * mapping (-EACCES), the wrong role (-EBADF), messages too long
 * (-EMSGSIZE, kept on receive), timeouts (never early, 0 at once), order,
 * wrap-around, empty messages, msg_max, ushm_queue_stat(), ushm_close()
 * -EBUSY, a handle inherited across fork(), a consumer that starts first,
 * a named segment mapped again by another process.
 */
#include "queue-common.h"

#include <pthread.h>
#include <sys/mman.h>

#define SEG (64 * 1024)

static void bad_arguments(void)
{
    ushm_t *s = q_anon(SEG);
    unsigned char *mem = ushm_addr(s);
    ushm_queue_t *q = (ushm_queue_t *)(void *)&q;
    int ok = 1;

    ok &= q_expect(ushm_queue_attach(NULL, mem, SEG, USHM_QUEUE_SEND), -EINVAL, "attach q NULL", "NULL");
    ok &= q_expect(ushm_queue_attach(&q, NULL, SEG, USHM_QUEUE_SEND), -EINVAL, "attach mem NULL", "NULL");
    ok &= q == NULL;
    ok &= q_expect(ushm_queue_attach(&q, mem + 8, SEG - 64, USHM_QUEUE_SEND), -EINVAL, "misaligned", "aligned");
    ok &= q_expect(ushm_queue_attach(&q, mem, 1023, USHM_QUEUE_SEND), -EINVAL, "too small", "1024");
    ok &= q_expect(ushm_queue_attach(&q, mem, USHM_QUEUE_BYTES_MAX + 1, USHM_QUEUE_SEND), -EINVAL, "too large", "bytes");
    ok &= q_expect(ushm_queue_attach(&q, mem, SEG, 0), -EINVAL, "flags 0", "flags");
    ok &= q_expect(ushm_queue_attach(&q, mem, SEG, 0x4), -EINVAL, "unknown flag", "flags");
    ok &= q_expect(ushm_queue_attach(&q, mem, SEG, USHM_QUEUE_SEND | 0x100), -EINVAL, "unknown flag with send", "flags");
    ok &= q_expect(ushm_queue_detach(NULL), 0, "detach NULL", NULL);
    ok &= ushm_queue_msg_max(NULL) == 0;
    ok &= q_expect(ushm_queue_send(NULL, "x", 1, 0), -EINVAL, "send NULL", NULL);
    ok &= q_expect(ushm_queue_recv(NULL, mem, 1, (size_t *)(void *)mem, 0), -EINVAL, "recv NULL", NULL);
    /* nothing was written by a refused attach */
    for (size_t i = 0; i < SEG && ok; i++)
        ok &= mem[i] == 0;
    q_result(ok, "bad_arguments", "-EINVAL for each, nothing written");
    ushm_close(s);
}

static void sizes_and_roles(void)
{
    ushm_t *s = q_anon(SEG);
    void *mem = ushm_addr(s);
    ushm_queue_t *p, *c, *x;
    char buf[1024];
    size_t n = 0;
    int ok = 1;

    ok &= q_expect(ushm_queue_attach(&p, mem, SEG, USHM_QUEUE_SEND), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_attach(&x, mem, SEG - 64, USHM_QUEUE_RECV), -EINVAL, "another size", "65536");
    ok &= q_expect(ushm_queue_attach(&c, mem, SEG, USHM_QUEUE_RECV), 0, "attach recv", NULL);
    ok &= ushm_queue_msg_max(p) >= SEG / 4 - 64 && ushm_queue_msg_max(p) == ushm_queue_msg_max(c);
    ok &= q_expect(ushm_queue_recv(p, buf, sizeof buf, &n, 0), -EBADF, "recv on a producer", "USHM_QUEUE_RECV");
    ok &= q_expect(ushm_queue_send(c, "x", 1, 0), -EBADF, "send on a consumer", "USHM_QUEUE_SEND");
    ok &= q_expect(ushm_queue_send(p, buf, ushm_queue_msg_max(p) + 1, 0), -EMSGSIZE, "send too long", "msg_max");
    ok &= q_expect(ushm_queue_send(p, "hello world", 11, 0), 0, "send", NULL);
    n = 0;
    ok &= q_expect(ushm_queue_recv(c, buf, 5, &n, 0), -EMSGSIZE, "recv too small", "11 bytes");
    ok &= n == 11;
    n = 0;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv after EMSGSIZE", NULL);
    ok &= n == 11 && memcmp(buf, "hello world", 11) == 0;
    ok &= q_expect(ushm_queue_send(p, NULL, 0, 0), 0, "send empty", NULL);
    n = 99;
    ok &= q_expect(ushm_queue_recv(c, NULL, 0, &n, 0), 0, "recv empty", NULL);
    ok &= n == 0;
    ok &= q_expect(ushm_close(s), -EBUSY, "close while attached", "ushm_queue_t");
    ok &= q_expect(ushm_queue_detach(p), 0, "detach", NULL);
    ok &= q_expect(ushm_queue_detach(c), 0, "detach", NULL);
    ok &= q_expect(ushm_close(s), 0, "close after detach", NULL);
    s = q_anon(SEG);
    mem = ushm_addr(s);
    /* the smallest queue, at an offset */
    ok &= q_expect(ushm_queue_attach(&x, (char *)mem + 4096, 1024, USHM_QUEUE_SEND | USHM_QUEUE_RECV), 0, "1024 bytes", NULL);
    ok &= ushm_queue_msg_max(x) >= 1024 / 4 - 64;
    ok &= q_expect(ushm_queue_send(x, buf, ushm_queue_msg_max(x), 0), 0, "send msg_max", NULL);
    ok &= q_expect(ushm_queue_recv(x, buf, 64, &n, 0), -EMSGSIZE, "recv msg_max into 64", NULL);
    ok &= n == ushm_queue_msg_max(x);
    ushm_queue_detach(x);
    ok &= q_expect(ushm_close(s), 0, "close after detach", NULL);
    q_result(ok, "sizes_and_roles", "-EINVAL naming the size, -EBADF, -EMSGSIZE (kept, len set), -EBUSY");
}

/* Records of every length wrap around the ring's end, in order. */
static void order_and_wrap(void)
{
    ushm_t *s = q_anon(SEG);
    ushm_queue_t *q;
    unsigned char out[4096], in[4096];
    int ok = 1;
    unsigned bad = 0, sent = 0;

    ok &= q_expect(ushm_queue_attach(&q, (char *)ushm_addr(s) + 1024, 2048 + 1024,
                                   USHM_QUEUE_SEND | USHM_QUEUE_RECV), 0, "attach", NULL);
    {
        unsigned pending[4096], head = 0, tail = 0;

        for (unsigned round = 0; round < 4000 && ok; round++) {
            size_t len = (round * 37) % (ushm_queue_msg_max(q) + 1), n;
            int rc;

            for (size_t i = 0; i < len; i++)
                out[i] = (unsigned char)(round + i);
            while ((rc = ushm_queue_send(q, out, len, 0)) == -ETIMEDOUT || round % 5 == 4) {
                /* full (or now and then anyway): take everything out */
                while (tail != head && ushm_queue_recv(q, in, sizeof in, &n, 0) == 0) {
                    unsigned r = pending[tail++ % 4096];
                    size_t want = (r * 37) % (ushm_queue_msg_max(q) + 1);

                    bad += n != want;
                    for (size_t i = 0; i < n && i < want; i++)
                        bad += in[i] != (unsigned char)(r + i);
                }
                bad += tail != head;
                if (rc != -ETIMEDOUT)
                    break;
            }
            if (rc != 0) {
                bad++;
                break;
            }
            pending[head++ % 4096] = round;
            sent++;
        }
    }
    ushm_queue_detach(q);
    ushm_close(s);
    /* strictly: one producer, one consumer, FIFO */
    s = q_anon(SEG);
    ushm_queue_attach(&q, ushm_addr(s), 3000, USHM_QUEUE_SEND | USHM_QUEUE_RECV);
    for (unsigned i = 0, next = 0; i < 20000 && ok; i++) {
        uint32_t v = i, w;
        size_t n;

        if (ushm_queue_send(q, &v, sizeof v, 0) != 0) {
            while (ushm_queue_recv(q, &w, sizeof w, &n, 0) == 0)
                bad += w != next++;
            if (ushm_queue_send(q, &v, sizeof v, 0) != 0)
                bad++;
        }
        if (i == 19999)
            while (ushm_queue_recv(q, &w, sizeof w, &n, 0) == 0)
                bad += w != next++;
    }
    ushm_queue_detach(q);
    ushm_close(s);
    q_result(ok && bad == 0, "order_and_wrap", "%u sends of 0..msg_max bytes, %u out of order", sent, bad);
}

static void not_a_queue(void)
{
    ushm_t *s = q_anon(SEG);
    unsigned char *mem = ushm_addr(s);
    ushm_queue_t *q;
    uint64_t seed = 42;
    int ok = 1, protos = 0, others = 0;

    for (int i = 0; i < 2000; i++) {
        size_t n = 1 + q_rand(&seed) % 2048, at = q_rand(&seed) % 64;

        memset(mem, 0, 4096);
        for (size_t k = 0; k < n; k++)
            mem[(at + k) % 4096] = (unsigned char)q_rand(&seed);
        if (i % 4 == 0) { /* a tag that looks right, and the rest random */
            memcpy(mem, "\x00\x10\x51\x55", 4);
            mem[1] = (unsigned char)q_rand(&seed);
        }
        int rc = ushm_queue_attach(&q, mem, 4096, USHM_QUEUE_RECV);

        if (rc == 0) {
            size_t len;
            char buf[4096];

            rc = ushm_queue_recv(q, buf, sizeof buf, &len, 0);
            if (rc != -EPROTO && rc != -ETIMEDOUT && rc != 0 && rc != -EMSGSIZE)
                others++;
            ushm_queue_detach(q);
        } else if (rc == -EPROTO) {
            protos++;
        } else if (rc != -EINVAL) {
            others++;
            fprintf(stderr, "not_a_queue: %d %s\n", rc, ushm_last_error());
        }
    }
    /* another ABI */
    memset(mem, 0, 4096);
    ok &= q_expect(ushm_queue_attach(&q, mem, 4096, USHM_QUEUE_RECV), 0, "attach", NULL);
    ushm_queue_detach(q);
    mem[0] ^= 0x40; /* the pointer size nibble: 8 -> 12 or 4 -> ... */
    ok &= q_expect(ushm_queue_attach(&q, mem, 4096, USHM_QUEUE_RECV), -EPROTO, "another ABI", "-bit");
    q_result(ok && others == 0 && protos > 1000, "not_a_queue",
             "%d of 2000 random headers -EPROTO at attach, the rest -EPROTO/-EINVAL or harmless; other results %d",
             protos, others);
    ushm_close(s);
}

static void read_only(void)
{
    char name[64];
    ushm_t *w, *r;
    ushm_queue_t *q;
    int ok = 1;

    q_name(name, sizeof name);
    if (ushm_open(&w, name, SEG, USHM_CREATE | USHM_EXCL, 0600) < 0) {
        q_result(0, "read_only", "ushm_open: %s", ushm_last_error());
        return;
    }
    ok &= q_expect(ushm_open(&r, name, 0, USHM_RDONLY, 0), 0, "open rdonly", NULL);
    ok &= q_expect(ushm_queue_attach(&q, ushm_addr(r), SEG, USHM_QUEUE_RECV), -EACCES, "attach rdonly (zero)", "read-only");
    ok &= q_expect(ushm_queue_attach(&q, ushm_addr(w), SEG, USHM_QUEUE_SEND), 0, "attach rw", NULL);
    {
        ushm_queue_t *q2;

        ok &= q_expect(ushm_queue_attach(&q2, ushm_addr(r), SEG, USHM_QUEUE_RECV), -EACCES, "attach rdonly (set up)", "read-only");
    }
    ok &= q_expect(ushm_queue_send(q, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_detach(q), 0, "detach", NULL);
    ok &= q_expect(ushm_close(r), 0, "close rdonly", NULL);
    ok &= q_expect(ushm_close(w), 0, "close", NULL);
    ushm_unlink(name);
    q_result(ok, "read_only", "-EACCES in a USHM_RDONLY mapping, no SIGSEGV");
}

static void timeouts(void)
{
    ushm_t *s = q_anon(SEG);
    ushm_queue_t *p, *c;
    char buf[8192];
    size_t n;
    uint64_t t0;
    double ms;
    int ok = 1;

    ushm_queue_attach(&p, ushm_addr(s), 4096, USHM_QUEUE_SEND);
    ushm_queue_attach(&c, ushm_addr(s), 4096, USHM_QUEUE_RECV);
    t0 = q_now_ns();
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -ETIMEDOUT, "recv 0 ms", "empty");
    ok &= q_ms_since(t0) < 50;
    for (long want = 1; want <= 300; want *= 7) {
        t0 = q_now_ns();
        ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, want), -ETIMEDOUT, "recv timed", "empty");
        ms = q_ms_since(t0);
        if (ms < (double)want || ms > want + 200.0) {
            q_result(0, "timeouts", "recv of %ld ms took %.2f ms", want, ms);
            ok = 0;
        }
    }
    while (ushm_queue_send(p, buf, 1000, 0) == 0)
        ;
    t0 = q_now_ns();
    ok &= q_expect(ushm_queue_send(p, buf, 1000, 0), -ETIMEDOUT, "send 0 ms", "full");
    ok &= q_ms_since(t0) < 50;
    for (long want = 1; want <= 300; want *= 7) {
        t0 = q_now_ns();
        ok &= q_expect(ushm_queue_send(p, buf, 1000, want), -ETIMEDOUT, "send timed", "full");
        ms = q_ms_since(t0);
        if (ms < (double)want || ms > want + 200.0) {
            q_result(0, "timeouts", "send of %ld ms took %.2f ms", want, ms);
            ok = 0;
        }
    }
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    ushm_close(s);
    q_result(ok, "timeouts", "-ETIMEDOUT never early, 0 ms at once, on CLOCK_MONOTONIC");
}

static void stat_and_fork(void)
{
    ushm_t *s = q_anon(SEG);
    void *mem = ushm_addr(s);
    struct ushm_queue_stat st;
    ushm_queue_t *p, *c;
    int ok = 1, fd[2];
    pid_t pid;

    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), 0, "stat zero", NULL);
    ok &= st.bytes == 0 && st.depth == 0 && st.producers == 0 && st.capacity > SEG / 2;
    ushm_queue_attach(&p, mem, SEG, USHM_QUEUE_SEND);
    ushm_queue_attach(&c, mem, SEG, USHM_QUEUE_RECV);
    ushm_queue_send(p, "a", 1, 0);
    ushm_queue_send(p, "bcdefghij", 9, 0);
    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), 0, "stat", NULL);
    ok &= st.bytes == SEG && st.depth == 2 && st.used == 2 * 64 /* a cell each */ && st.producers == 1 &&
          st.consumers == 1 && st.sent == 2 && st.received == 0 && st.places >= 4;
    ok &= q_expect(ushm_queue_stat(mem, SEG - 64, &st), -EINVAL, "stat another size", "65536");
    /* a child's inherited handle is not attached; its own is */
    if (pipe(fd) != 0)
        abort();
    pid = q_fork();
    if (pid == 0) {
        ushm_queue_t *mine = NULL;
        char b[16];
        size_t n;
        int rc = 0;

        q_deadline(10, "stat_and_fork child");
        if (ushm_queue_recv(c, b, sizeof b, &n, 0) != -EBADF || ushm_queue_send(p, "x", 1, 0) != -EBADF)
            rc = 1;
        else if (ushm_queue_attach(&mine, mem, SEG, USHM_QUEUE_RECV) != 0) {
            fprintf(stderr, "child: %s\n", ushm_last_error());
            rc = 3;
        }
        else if (ushm_queue_recv(mine, b, sizeof b, &n, 0) != 0 || n != 1 || b[0] != 'a')
            rc = 4;
        ushm_queue_detach(c);
        ushm_queue_detach(p);
        if (rc == 0 && ushm_close(s) != -EBUSY) /* mine is attached */
            rc = 5;
        ushm_queue_detach(mine);
        if (rc == 0 && ushm_close(s) != 0)
            rc = 6;
        _exit(rc);
    }
    close(fd[0]);
    close(fd[1]);
    int st_child = q_wait(pid);
    ok &= st_child == 0;
    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), 0, "stat after child", NULL);
    ok &= st.depth == 1 && st.consumers == 1 && st.received == 1;
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), 0, "stat after detach", NULL);
    ok &= st.producers == 0 && st.consumers == 0;
    ushm_close(s);
    q_result(ok, "stat_and_fork", "depth, used, attached; a forked child's inherited handle -EBADF (child status %d)", st_child);
}

/* A consumer that starts first waits for the first producer; a named
 * segment, mapped again by the producer at an address of its own. */
static void consumer_first(void)
{
    char name[64];
    ushm_t *s;
    ushm_queue_t *c;
    char buf[64];
    size_t n = 0;
    int ok = 1, rc;
    pid_t pid;

    q_name(name, sizeof name);
    if (ushm_open(&s, name, SEG, USHM_CREATE | USHM_EXCL, 0600) < 0) {
        q_result(0, "consumer_first", "%s", ushm_last_error());
        return;
    }
    ok &= q_expect(ushm_queue_attach(&c, ushm_addr(s), SEG, USHM_QUEUE_RECV), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -ETIMEDOUT, "no producer yet", NULL);
    pid = q_fork();
    if (pid == 0) {
        ushm_t *m;
        ushm_queue_t *p;

        q_deadline(10, "consumer_first producer");
        if (ushm_open(&m, name, 0, 0, 0) < 0 ||
            ushm_queue_attach(&p, ushm_addr(m), SEG, USHM_QUEUE_SEND) < 0 ||
            ushm_queue_send(p, "first", 5, -1) < 0)
            _exit(1);
        ushm_queue_detach(p);
        _exit(ushm_close(m) == 0 ? 0 : 2);
    }
    rc = ushm_queue_recv(c, buf, sizeof buf, &n, 10000);
    ok &= rc == 0 && n == 5 && memcmp(buf, "first", 5) == 0;
    ok &= q_wait(pid) == 0;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 5000), -EPIPE, "after the producer left", "no producer");
    ushm_queue_detach(c);
    ushm_close(s);
    ushm_unlink(name);
    q_result(ok, "consumer_first", "waited for the first producer (%d), then -EPIPE", rc);
}

static void *detach_in_thread(void *q)
{
    return (void *)(intptr_t)ushm_queue_detach(q);
}

/* A handle detached by another thread than the one that attached it: it
 * counts as detached at once, and its place is given back by the
 * attaching thread's next call (here ushm_close), which must succeed. */
static void detach_other_thread(void)
{
    ushm_t *s = q_anon(SEG);
    ushm_queue_t *p, *c;
    pthread_t t;
    void *rc;
    char buf[16];
    size_t n;
    int ok = 1;

    ok &= q_expect(ushm_queue_attach(&p, ushm_addr(s), SEG, USHM_QUEUE_SEND), 0, "attach", NULL);
    ok &= q_expect(ushm_queue_attach(&c, ushm_addr(s), SEG, USHM_QUEUE_RECV), 0, "attach", NULL);
    ok &= pthread_create(&t, NULL, detach_in_thread, p) == 0 && pthread_join(t, &rc) == 0 &&
          rc == NULL;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPIPE, "recv after the detach", "no producer");
    ok &= q_expect(ushm_queue_detach(c), 0, "detach", NULL);
    ok &= q_expect(ushm_close(s), 0, "close by the attaching thread", NULL);
    q_result(ok, "detach_other_thread", "detached at once; the place given back by the attaching thread's close");
}

static void *attach_in_thread(void *mem)
{
    ushm_queue_t *q = NULL;

    ushm_queue_attach(&q, mem, SEG, USHM_QUEUE_SEND);
    return q; /* and the thread ends: the handle with it */
}

/* The thread that attached a handle ends: the handle is detached, and a
 * call from another thread says so. */
static void attaching_thread_ended(void)
{
    ushm_t *s = q_anon(SEG);
    ushm_queue_t *p, *c;
    pthread_t t;
    void *r = NULL;
    char buf[16];
    size_t n;
    int ok = 1;

    ok &= q_expect(ushm_queue_attach(&c, ushm_addr(s), SEG, USHM_QUEUE_RECV), 0, "attach", NULL);
    ok &= pthread_create(&t, NULL, attach_in_thread, ushm_addr(s)) == 0 &&
          pthread_join(t, &r) == 0 && r != NULL;
    p = r;
    ok &= q_expect(ushm_queue_send(p, "x", 1, 0), -EBADF, "send after its thread ended", "has ended");
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 1000), -EPIPE, "recv", "no producer");
    ok &= q_expect(ushm_queue_detach(p), 0, "detach", NULL);
    ok &= q_expect(ushm_queue_detach(c), 0, "detach", NULL);
    ok &= q_expect(ushm_close(s), 0, "close", NULL);
    q_result(ok, "attaching_thread_ended", "-EBADF from another thread, -EPIPE to the consumer");
}

int main(void)
{
    q_main_pid = getpid();
    q_deadline(120, "queue-contract");
    bad_arguments();
    sizes_and_roles();
    order_and_wrap();
    not_a_queue();
    read_only();
    timeouts();
    stat_and_fork();
    consumer_first();
    detach_other_thread();
    attaching_thread_ended();
    if (q_leftovers() != 0)
        q_result(0, "leftovers", "names of this run were left");
    return q_finish();
}
