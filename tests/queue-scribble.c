/* SPDX-License-Identifier: MIT */
/*
 * A queue whose bytes a buggy peer overwrote, one word at a time: each row
 * writes one word of a live queue as lib/queue.c lays it out and asserts
 * the answer the contract gives (-EPROTO naming what is wrong, never a
 * crash, a hang or a message made up), or that the queue goes on where
 * the word only names a holder that is gone.  Also the regions that are
 * not a queue's (not all mapped, read-only, past the end of the address
 * space), every place taken (-EAGAIN), and a place whose holder died,
 * freed by ushm_queue_stat().  fuzz/fuzz_queue_scribble.c does the same at
 * random; these rows are the ones each answer is known for.
 *
 * The layout of a 1024-byte queue (lib/queue.c, "Layout"): tag at 0, the
 * size word at 8, the producers' lock at 64, the consumers' at 128, head
 * at 192 and last at 200, tail at 256, gen at 328, four role words at 384,
 * four places (a ushm_mutex_t each) at 448, the ring at 704 (four cells of
 * 64 bytes), the header array at 960 (a 64-bit word per cell).
 */
#include "queue-common.h"

#include <sys/mman.h>

#define SEG 1024
#define OFF_SIZE 8
#define OFF_PLOCK 64
#define OFF_HEAD 192
#define OFF_TAIL 256
#define OFF_ROLE 384
#define OFF_LAST 200
#define OFF_RING 704
#define OFF_DESC 960
#define CELL 64
#define PLACES 4

static unsigned char *mem;

static uint32_t *word32(size_t off) { return (uint32_t *)(void *)(mem + off); }
static uint64_t *word64(size_t off) { return (uint64_t *)(void *)(mem + off); }

/* A fresh queue with a producer and a consumer. */
static int fresh(ushm_queue_t **p, ushm_queue_t **c)
{
    memset(mem, 0, SEG);
    return ushm_queue_attach(p, mem, SEG, USHM_QUEUE_SEND) == 0 &&
           ushm_queue_attach(c, mem, SEG, USHM_QUEUE_RECV) == 0;
}

/* The role word of the handle with these role bits. */
static int slot_of(unsigned role)
{
    for (int i = 0; i < PLACES; i++)
        if ((*word32(OFF_ROLE + 4 * (size_t)i) & 3u) == role)
            return i;
    return -1;
}

static void done(ushm_queue_t *p, ushm_queue_t *c)
{
    ushm_queue_detach(p);
    ushm_queue_detach(c);
}

static void lock_words(void)
{
    ushm_queue_t *p, *c;
    char buf[64];
    size_t n = 0;
    uint64_t t0;
    int ok = fresh(&p, &c), s;

    /* a place number past the places */
    *word32(OFF_PLOCK) = 0x99;
    ok &= q_expect(ushm_queue_send(p, "x", 1, 0), -EPROTO, "lock naming no place", "lock holds 0x00000099");
    /* a holder whose ticket is not its place's any more: gone, taken over */
    *word32(OFF_PLOCK) = 1u | (0xabcdeu << 8);
    ok &= q_expect(ushm_queue_send(p, "y", 1, 0), 0, "lock of a detached handle: taken over", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL) && n == 1 && buf[0] == 'y';
    /* the live consumer's place and ticket: held, so a send times out */
    s = slot_of(USHM_QUEUE_RECV);
    ok &= s >= 0;
    if (s >= 0) {
        *word32(OFF_PLOCK) = ((unsigned)s + 1) | (*word32(OFF_ROLE + 4 * (size_t)s) >> 8 << 8);
        ok &= q_expect(ushm_queue_send(p, "z", 1, 0), -ETIMEDOUT, "lock of a live handle, 0 ms", "stayed held");
        t0 = q_now_ns();
        ok &= q_expect(ushm_queue_send(p, "z", 1, 40), -ETIMEDOUT, "lock of a live handle, 40 ms", "stayed held");
        ok &= q_ms_since(t0) >= 40.0;
        *word32(OFF_PLOCK) = 0;
        ok &= q_expect(ushm_queue_send(p, "z", 1, 0), 0, "the lock given back", NULL);
    }
    done(p, c);
    q_result(ok, "lock_words", "a lock word naming no place: -EPROTO; a gone holder's: taken over; a live one's: -ETIMEDOUT, never early");
}

/* A producer killed while it held the producers' lock: its place's mutex
 * is left to the next one, who takes the lock over. */
static void lock_holder_died(void)
{
    ushm_queue_t *p, *c;
    char buf[64];
    size_t n = 0;
    int ok = fresh(&p, &c), st;
    pid_t pid;

    ushm_queue_detach(p);
    pid = q_fork();
    if (pid == 0) {
        ushm_queue_t *mine;
        int s;

        q_deadline(10, "lock_holder_died child");
        if (ushm_queue_attach(&mine, mem, SEG, USHM_QUEUE_SEND) != 0)
            _exit(1);
        s = slot_of(USHM_QUEUE_SEND);
        if (s < 0)
            _exit(2);
        /* as if killed inside a send, after its lock and before its unlock */
        *word32(OFF_PLOCK) = ((unsigned)s + 1) | (*word32(OFF_ROLE + 4 * (size_t)s) >> 8 << 8);
        _exit(0);
    }
    st = q_wait(pid);
    ok &= st == 0;
    ok &= q_expect(ushm_queue_attach(&p, mem, SEG, USHM_QUEUE_SEND), 0, "attach again", NULL);
    ok &= q_expect(ushm_queue_send(p, "after", 5, 1000), 0, "send: the dead holder's lock taken over", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL) && n == 5;
    done(p, c);
    q_result(ok, "lock_holder_died", "the lock of a producer that died holding it is taken over (child %d)", st);
}

static void positions(void)
{
    ushm_queue_t *p, *c;
    char buf[512];
    size_t n = 0;
    int ok = 1;

    /* head not on a record's boundary */
    ok &= fresh(&p, &c);
    *word64(OFF_HEAD) = 3;
    ok &= q_expect(ushm_queue_send(p, "x", 1, 0), -EPROTO, "head 3: send", "head, tail");
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "head 3: recv", "overwritten");
    done(p, c);
    /* head moved back under the producer that stored it last: that
     * producer goes on from the head it stored (it reads no head while
     * no other producer stored one), and puts the word right */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send", NULL);
    *word64(OFF_HEAD) = 16;
    ok &= q_expect(ushm_queue_send(p, "x", 1, 0), 0, "head moved back: send from the head stored", NULL);
    ok &= *word64(OFF_HEAD) == 3 * CELL;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL) && n == 3 && memcmp(buf, "abc", 3) == 0;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL) && n == 3 && memcmp(buf, "def", 3) == 0;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL) && n == 1 && buf[0] == 'x';
    done(p, c);
    /* head moved back, found by a producer that did not store it last */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    {
        ushm_queue_t *p2;

        ok &= q_expect(ushm_queue_attach(&p2, mem, SEG, USHM_QUEUE_SEND), 0, "attach a second producer", NULL);
        ok &= q_expect(ushm_queue_send(p2, "def", 3, 0), 0, "send", NULL);
        ok &= q_expect(ushm_queue_send(p2, "ghi", 3, 0), 0, "send", NULL);
        *word64(OFF_HEAD) = 16;
        ok &= q_expect(ushm_queue_send(p, "x", 1, 0), -EPROTO, "head moved back: the other producer's send", "head, tail");
        ushm_queue_detach(p2);
    }
    done(p, c);
    /* head further from tail than the ring is long */
    ok &= fresh(&p, &c);
    *word64(OFF_HEAD) = 100000;
    ok &= q_expect(ushm_queue_send(p, "x", 1, 0), -EPROTO, "head past the ring: send", "head, tail");
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "head past the ring: recv", "head, tail");
    done(p, c);
    /* tail not on a record's boundary, a message in the queue */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    *word64(OFF_TAIL) = 4;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "tail 4: recv", "head, tail");
    done(p, c);
    /* tail moved back, under the consumer that stored it last: the
     * records behind were received, and may be partly new ones by now */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "ghi", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL);
    *word64(OFF_TAIL) = 0;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "tail moved back: recv", "the tail stored");
    done(p, c);
    /* tail moved forward over a record not received, under the consumer
     * that stored it last: a producer that read it took the cells it
     * seemed to free (fuzz_queue_scribble found a torn message when the
     * consumer went on from its own tail) */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "ghi", 3, 0), 0, "send", NULL);
    *word64(OFF_TAIL) += CELL;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "tail moved forward: recv", "the tail stored");
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, -1), -EPROTO, "and again, waiting", "the tail stored");
    done(p, c);
    /* tail overwritten while the queue is empty, under the consumer that
     * stored it: -EPROTO, at once and while waiting (fuzz_queue_scribble
     * found a receive spinning for ever when its wait looked at the word
     * and the receive at its own tail) */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "a", 1, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL);
    *word64(OFF_TAIL) = 0;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "tail overwritten, empty: recv 0 ms", "the tail stored");
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 20), -EPROTO, "tail overwritten, empty: recv 20 ms", "the tail stored");
    done(p, c);
    /* tail moved back behind what a producer saw of it: the records there
     * may have been written over since (the producer's check) */
    ok &= fresh(&p, &c);
    for (int i = 0; ok && i < 4; i++)
        ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "fill", NULL);
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send, reading tail", NULL);
    *word64(OFF_TAIL) = 0;
    ok &= q_expect(ushm_queue_send(p, "x", 1, 0), -EPROTO, "tail moved back: send", "the tail seen");
    done(p, c);
    /* head moved forward, within the ring, over records of an earlier lap
     * (whole ones here, with a length and its complement; fuzz_queue_scribble
     * found some partly overwritten since, when a byte of head was made
     * larger): the consumer must not take them for messages */
    ok &= fresh(&p, &c);
    {
        struct ushm_queue_stat st;
        char msg[32]; /* records of a cell each */
        uint64_t head;
        int rc = 0;

        ok &= q_expect(ushm_queue_stat(mem, SEG, &st), 0, "stat", NULL);
        ok &= st.capacity % CELL == 0;
        for (unsigned i = 0; ok && i < 2 * st.capacity / CELL + 3; i++) {
            memset(msg, 'a' + (int)(i % 26), sizeof msg);
            ok &= q_expect(ushm_queue_send(p, msg, sizeof msg, 0), 0, "send a lap", NULL);
            ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "recv a lap", NULL);
        }
        head = *word64(OFF_HEAD);
        *word64(OFF_HEAD) = head + 3 * CELL;
        for (int i = 0; i < 3 && rc == 0; i++) {
            rc = ushm_queue_recv(c, buf, sizeof buf, &n, 0);
            if (rc == 0) {
                ok = 0;
                printf("    head moved forward: a record of an earlier lap "
                       "was received as a message (%zu bytes, '%c')\n", n, buf[0]);
            }
        }
        ok &= q_expect(rc, -EPROTO, "head moved forward: recv", "overwritten");
    }
    done(p, c);
    q_result(ok, "positions", "head and tail off a record's boundary, moved back, head forward over an earlier lap or past the ring: -EPROTO");
}

static void records(void)
{
    ushm_queue_t *p, *c;
    char buf[512];
    size_t n = 0;
    int ok = 1;

    /* Two records in the queue, so that the first one's header is read
     * (one alone is described by last, on head's line). */
    /* a length whose complement does not match */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send", NULL);
    *word32(OFF_DESC) = 2;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "length without its complement", "a message's length");
    done(p, c);
    /* a length and complement that agree, longer than the queue takes */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send", NULL);
    *word32(OFF_DESC) = 5000;
    *word32(OFF_DESC + 4) = ~(uint32_t)5000;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "length past msg_max", "a message's length");
    done(p, c);
    /* a length that runs past head */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    ok &= q_expect(ushm_queue_send(p, "def", 3, 0), 0, "send", NULL);
    *word32(OFF_DESC) = 200;
    *word32(OFF_DESC + 4) = ~(uint32_t)200;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "length past head", "a message's length");
    done(p, c);
    /* one record: last's length changed, without its complement: the
     * header is read instead, and the message is the one sent */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    *word32(OFF_LAST + 4) = 60;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), 0, "last overwritten: the header read", NULL) &&
          n == 3 && memcmp(buf, "abc", 3) == 0;
    done(p, c);
    /* both overwritten: -EPROTO */
    ok &= fresh(&p, &c);
    ok &= q_expect(ushm_queue_send(p, "abc", 3, 0), 0, "send", NULL);
    *word32(OFF_LAST + 4) = 60;
    *word32(OFF_DESC) = 61;
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 0), -EPROTO, "last and header overwritten", "a message's length");
    done(p, c);
    q_result(ok, "records", "a header's length without its complement, past msg_max or past head: -EPROTO, nothing received; last overwritten: the header read");
}

/*
 * Inputs that fuzz_queue_scribble found, replayed with its rules: a
 * 4096-byte queue, 4-byte steps (send 8 * (1 + v % 40) bytes of the pair
 * (n, n), receive, scribble a byte, stat), nothing waits.  A message
 * received whole must be one that was sent, unless the records were
 * scribbled (the ring and header array from 1472, last at 200..207).
 *   torn_a, torn_b: a tail moved forward (its second byte) before any
 *     receive: a producer took cells of records not yet received, and a
 *     receive handed out a message partly rewritten (the cells after a
 *     record's first had no header of their own to show it).
 *   spin: a tail overwritten while the queue was empty: a receive of
 *     0 ms spun for ever (its wait looked at the word).
 *   spin2: p_last overwritten under a solo producer whose queue was full:
 *     a send of 0 ms spun for ever (its wait looked at head, its send at
 *     the head it stored).
 */
static const unsigned char replay_torn_a[] = {
    0x08, 0x08, 0x00, 0xb3, 0x84, 0x84, 0x84, 0x84, 0x84, 0x23, 0x00, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x29, 0x29, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84, 0x84,
    0x84, 0x84, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x01, 0x10, 0x0a,
    0x01, 0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x71, 0x71,
    0x71, 0x71, 0x71, 0x71, 0x0a, 0x01, 0x01, 0x01, 0x0a, 0x01, 0x01, 0x01,
    0x41, 0x00, 0x01, 0x10, 0x0a, 0x01, 0x01, 0x0a, 0x41, 0x00, 0x01, 0x10,
    0x0a, 0x01, 0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x71, 0x71, 0x71, 0x71, 0x74, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71, 0x71,
    0x71, 0x71, 0x71, 0xa5, 0xa5, 0x4c, 0xac, 0x4c, 0xff, 0xff, 0x77, 0xff,
    0x71, 0x71, 0x71, 0x84, 0x84, 0x84, 0x84, 0x84, 0x00, 0x04, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x6d, 0x08,
};
static const unsigned char replay_torn_b[] = {
    0x7e, 0x01, 0x11, 0x00, 0x00, 0x00, 0x0f, 0x5b, 0x7e, 0x01, 0x41, 0x01,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x5b, 0xc9, 0x00, 0x00, 0x00,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0x41, 0x00, 0x00, 0x00, 0x0f, 0x3e, 0x5b, 0x7e,
    0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x01, 0x41, 0x01,
    0x00, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0x49, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb,
    0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0x00,
    0x00, 0x00, 0xed, 0xed, 0x00, 0x00, 0x00, 0xff, 0xff, 0x41, 0x00, 0x00,
    0x00, 0x0f, 0x3e, 0x5b, 0x7e, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x01, 0x41, 0x01, 0x00, 0x00, 0x00, 0x00, 0xed, 0xed, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x1f, 0x1f, 0x00, 0x00, 0x00, 0x1f,
    0x1f, 0x1f, 0x1f, 0x25, 0x7e, 0x01, 0x41, 0x00, 0x00, 0x00, 0x0f, 0x5b,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7e, 0x01, 0x41, 0x01, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x08, 0x5b, 0xc9, 0x00, 0x00, 0x00, 0x00, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbd, 0xbd, 0xbd,
    0xbd, 0xbd, 0xbd, 0xbd, 0x10,
};
static const unsigned char replay_spin[] = {
    0x30, 0x02, 0x00, 0x00, 0x09, 0x09, 0x09, 0x00, 0x1e, 0x00, 0xf1, 0x48,
    0x3f, 0x30, 0x02, 0x48, 0x3d, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09, 0x09,
    0x09, 0x00, 0x41,
};

static const unsigned char replay_spin2[] = {
    0x3c, 0xe8, 0x3c, 0x25, 0x25, 0x25, 0x40, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x3c, 0x25, 0x25, 0x25, 0x40, 0x20, 0x20, 0x20, 0x20, 0x20,
    0x20, 0x20, 0x20, 0x20, 0x29, 0x20, 0x20, 0x20, 0xb1, 0x20, 0xc8, 0x12,
    0x82, 0xc0, 0x00, 0x0e, 0x5b, 0xdc, 0x07, 0x89, 0x00, 0x23, 0xff, 0xff,
    0xd1, 0xde, 0xff, 0xff, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29,
    0x29, 0x29, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x00, 0x3f, 0x00,
    0x3e, 0x00, 0x20, 0x20, 0x29, 0x20, 0x20, 0x20, 0xb1, 0x20, 0x01, 0x00,
    0x00, 0x0f, 0xc8, 0x12, 0x08, 0x24, 0x26, 0x20, 0x20, 0x24, 0x24, 0x20,
    0x08, 0x27, 0xce, 0xce, 0xce, 0xce, 0x8e, 0xce, 0x80, 0x00, 0x00, 0x00,
    0x6e, 0x44, 0x80, 0xaa, 0x8a, 0x25, 0x25, 0x41, 0x20, 0x23, 0x24, 0x25,
    0x25, 0x25, 0x25, 0x25, 0x20, 0x20, 0xc5, 0x80, 0x20, 0x20, 0x00, 0x80,
    0xf5, 0xd7, 0xf2, 0x19, 0xbd, 0xfa, 0xc4, 0xa8, 0x75, 0x82, 0xc0, 0x00,
    0x20, 0x49, 0x7a, 0x67, 0x7f, 0x75, 0x08, 0x24, 0x26, 0x20, 0x20, 0x24,
    0x24, 0x24, 0x00, 0x20, 0x08, 0x27, 0xaa, 0x25, 0x25, 0x20, 0x25, 0x24,
    0x25, 0x25, 0x25, 0x25, 0x20, 0x20, 0x20, 0x20, 0x00, 0x20, 0x42, 0x0a,
    0x00, 0xce, 0x7b, 0xce, 0xce, 0x8e, 0xce, 0x80, 0x00, 0x00, 0x00, 0x6e,
    0x80, 0x80, 0x8a, 0xc5, 0x80, 0x80, 0xf5, 0xd7, 0xf2, 0x19, 0xbd, 0xfa,
    0xc4, 0xa8, 0x82, 0xc0, 0x00, 0x49, 0x49, 0x49, 0x5b, 0xdc, 0x07, 0x89,
    0x85, 0x71, 0x0a, 0x00, 0xbe, 0x01, 0xc4, 0xa8, 0x82, 0xc0, 0x00, 0x0e,
    0x5b, 0xdc, 0x07, 0x89, 0x00, 0x23, 0xff, 0xff, 0xd1, 0xde, 0xff, 0xff,
    0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x29, 0x75, 0x75,
    0x75, 0x75, 0x75, 0x75, 0x75, 0x00, 0x3f, 0x00, 0x3e, 0x00, 0x20, 0x20,
    0x29, 0x20, 0x20, 0x20, 0xb1, 0x20, 0x01, 0x00, 0x00, 0x0f, 0xc8, 0x12,
    0x08, 0x24, 0x26, 0x20, 0x20, 0x24, 0x24, 0x20, 0x08, 0x27, 0xce, 0xce,
    0xce, 0xce, 0x8e, 0xce, 0x80, 0x00, 0x00, 0x00, 0x6e, 0x44, 0x80, 0xaa,
    0x8a, 0x25, 0x25, 0x41, 0x20, 0x23, 0x24, 0x25, 0x25, 0x25, 0x25, 0x25,
    0x20, 0x20, 0xc5, 0x80, 0x20, 0x20, 0x00, 0x80, 0xf5, 0xd7, 0xf2, 0x19,
    0xbd, 0xfa, 0xc4, 0xa8, 0x75, 0x82, 0xc0, 0x00, 0x20, 0x49, 0x7a, 0x67,
    0x7f, 0x75, 0x75, 0x40,
};

static int replay(const unsigned char *data, size_t size, char *why, size_t whylen)
{
    unsigned char *r = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ushm_queue_t *p, *c;
    uint32_t b[1024];
    unsigned sent = 0, scribbled = 0;
    int ok = 1;

    if (r == MAP_FAILED)
        return 0;
    ok &= ushm_queue_attach(&p, r, 4096, USHM_QUEUE_SEND) == 0 &&
          ushm_queue_attach(&c, r, 4096, USHM_QUEUE_RECV) == 0;
    for (size_t i = 0; ok && i + 4 <= size; i += 4) {
        unsigned op = data[i] % 4, v = data[i + 3];
        size_t off = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) % 4096;
        size_t len = 0;
        int rc;

        if (op == 0) {
            size_t words = 1 + v % 40;

            for (size_t w = 0; w < 2 * words; w++)
                b[w] = sent;
            rc = ushm_queue_send(p, b, words * 8, 0);
            sent += rc == 0;
        } else if (op == 1) {
            rc = ushm_queue_recv(c, b, sizeof b, &len, 0);
            if (rc == 0 && !scribbled)
                for (size_t w = 0; w < len / 4; w++)
                    if (b[w] != b[0] || b[0] >= sent) {
                        snprintf(why, whylen, "step %zu: word %zu of a %zu-byte "
                                 "message is %u (first %u, sent %u)", i / 4, w,
                                 len, b[w], b[0], sent);
                        ok = 0;
                        break;
                    }
        } else if (op == 2) {
            if (off >= 448 && off < 1472) /* the places' mutexes: not here */
                continue;
            r[off] = (unsigned char)v;
            scribbled |= off >= 1472 || (off >= 200 && off < 208);
            rc = 0;
        } else {
            struct ushm_queue_stat st;

            rc = ushm_queue_stat(r, 4096, &st);
            rc = rc == -EINVAL ? 0 : rc;
        }
        if (rc != 0 && rc != -EPROTO && rc != -ETIMEDOUT && rc != -EMSGSIZE &&
            rc != -EPIPE) {
            snprintf(why, whylen, "step %zu: %d %s", i / 4, rc, ushm_last_error());
            ok = 0;
        }
    }
    ushm_queue_detach(p);
    ushm_queue_detach(c);
    munmap(r, 4096);
    return ok;
}

static void fuzz_replays(void)
{
    char why[256] = "";
    int ok = replay(replay_torn_a, sizeof replay_torn_a, why, sizeof why) &&
             replay(replay_torn_b, sizeof replay_torn_b, why, sizeof why) &&
             replay(replay_spin, sizeof replay_spin, why, sizeof why) &&
             replay(replay_spin2, sizeof replay_spin2, why, sizeof why);

    q_result(ok, "fuzz_replays", "inputs fuzz_queue_scribble found (a message "
             "torn under a tail moved forward, twice; a receive and a send "
             "spinning for ever): no torn message, no hang%s%s",
             why[0] ? ": " : "", why);
}

static void roles_and_size(void)
{
    struct ushm_queue_stat st;
    ushm_queue_t *p, *c, *x = NULL;
    char buf[64];
    size_t n = 0;
    int ok = fresh(&p, &c);

    /* a role word with bits no handle has, in the first free place (the
     * producer and the consumer hold places 0 and 1) */
    *word32(OFF_ROLE + 4 * 2) = 0x10;
    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), -EPROTO, "stat", "place 2 holds 0x00000010");
    ok &= q_expect(ushm_queue_attach(&x, mem, SEG, USHM_QUEUE_SEND), -EPROTO, "attach", "place 2 holds");
    ok &= x == NULL;
    ushm_queue_detach(x);
    /* the scan of a waiting consumer */
    ok &= q_expect(ushm_queue_recv(c, buf, sizeof buf, &n, 1), -EPROTO, "recv (its scan)", "place 2");
    *word32(OFF_ROLE + 4 * 2) = 0;
    done(p, c);
    /* the size word */
    ok &= fresh(&p, &c);
    done(p, c);
    *word64(OFF_SIZE) = 5;
    ok &= q_expect(ushm_queue_attach(&x, mem, SEG, USHM_QUEUE_SEND), -EPROTO, "size word 5", "size word says 5 bytes");
    *word64(OFF_SIZE) = 2048;
    ok &= q_expect(ushm_queue_attach(&x, mem, SEG, USHM_QUEUE_SEND), -EINVAL, "size word 2048", "has 2048 bytes");
    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), -EINVAL, "stat, size word 2048", "2048");
    q_result(ok, "roles_and_size", "a bad role word: -EPROTO from stat, attach and a waiter's scan; a size word out of range -EPROTO, another size -EINVAL");
}

/* Regions that are not a queue's to have: nothing written, no fault. */
static void regions(void)
{
    long page = sysconf(_SC_PAGESIZE);
    struct ushm_queue_stat st;
    ushm_queue_t *q = NULL;
    unsigned char *two, *ro;
    int ok = 1;

    two = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (two == MAP_FAILED || ro == MAP_FAILED || page < SEG) {
        q_result(0, "regions", "mmap: %s", strerror(errno));
        return;
    }
    munmap(two + page, (size_t)page);
    ok &= q_expect(ushm_queue_attach(&q, two, 2 * (size_t)page, USHM_QUEUE_SEND), -EFAULT, "half mapped", "not all mapped");
    ok &= q_expect(ushm_queue_stat(two, 2 * (size_t)page, &st), -EFAULT, "stat, half mapped", "not all mapped");
    ok &= q_expect(ushm_queue_attach(&q, ro, (size_t)page, USHM_QUEUE_SEND), -EACCES, "read-only memory", "read-only");
    /* stat too: it frees the places of dead handles */
    ok &= q_expect(ushm_queue_stat(ro, (size_t)page, &st), -EACCES, "stat of read-only memory", "read-only");
    ok &= q_expect(ushm_queue_stat(two, SEG, NULL), -EINVAL, "stat NULL", "st is NULL");
    ok &= q_expect(ushm_queue_attach(&q, (void *)(~(uintptr_t)0 & ~(uintptr_t)63), SEG, USHM_QUEUE_SEND),
                 -EINVAL, "past the end of the address space", "end of the address space");
    ok &= q == NULL;
    for (long i = 0; i < page; i++)
        ok &= two[i] == 0;
    munmap(two, (size_t)page);
    munmap(ro, (size_t)page);
    q_result(ok, "regions", "not all mapped: -EFAULT; read-only: -EACCES; NULL or past the end: -EINVAL; nothing written");
}

static void places(void)
{
    struct ushm_queue_stat st;
    ushm_queue_t *h[PLACES], *x = NULL;
    int ok = 1, attached = 0, stc;
    pid_t pid;

    memset(mem, 0, SEG);
    for (int i = 0; i < PLACES; i++)
        attached += ushm_queue_attach(&h[i], mem, SEG, USHM_QUEUE_RECV) == 0;
    ok &= attached == PLACES;
    ok &= q_expect(ushm_queue_attach(&x, mem, SEG, USHM_QUEUE_SEND), -EAGAIN, "a fifth handle", "all 4 places");
    ok &= x == NULL;
    ushm_queue_detach(h[0]);
    /* a producer whose process ends without detaching: stat frees its place */
    pid = q_fork();
    if (pid == 0) {
        ushm_queue_t *mine;

        q_deadline(10, "places child");
        _exit(ushm_queue_attach(&mine, mem, SEG, USHM_QUEUE_SEND) == 0 ? 0 : 1);
    }
    stc = q_wait(pid);
    ok &= stc == 0;
    ok &= q_expect(ushm_queue_stat(mem, SEG, &st), 0, "stat", NULL);
    ok &= st.producers == 0 && st.consumers == PLACES - 1;
    ok &= slot_of(USHM_QUEUE_SEND) < 0;
    ok &= q_expect(ushm_queue_attach(&x, mem, SEG, USHM_QUEUE_SEND), 0, "attach in the freed place", NULL);
    ushm_queue_detach(x);
    for (int i = 1; i < PLACES; i++)
        ushm_queue_detach(h[i]);
    q_result(ok, "places", "every place taken: -EAGAIN; a dead process's place freed by stat (%u producers, %u consumers)",
             st.producers, st.consumers);
}

int main(void)
{
    ushm_t *s;

    q_main_pid = getpid();
    q_deadline(60, "queue-scribble");
    s = q_anon(SEG);
    mem = ushm_addr(s);
    lock_words();
    lock_holder_died();
    positions();
    records();
    fuzz_replays();
    roles_and_size();
    regions();
    places();
    if (ushm_close(s) != 0)
        q_result(0, "close", "%s", ushm_last_error());
    return q_finish();
}
