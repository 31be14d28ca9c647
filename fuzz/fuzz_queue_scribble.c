/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: a live queue whose bytes a participant scribbles on
 * while it is used (API.md 0.3: the survivors get -EPROTO or correct
 * messages, never a crash or a hang).
 *
 * Each input runs a fresh 4096-byte queue with one producer and one
 * consumer handle.  The input is a list of 4-byte steps: an operation
 * (send a message, receive one, scribble a byte, stat, send a batch of 1
 * to 6 messages, receive up to 6, the last buffer sometimes too small), two bytes of
 * argument (the offset of the scribble) and a value.  Sends and receives
 * never wait (0 ms), so nothing can hang.
 *
 * What is scribbled: the queue's own words, that is its header, its two
 * locks, the lines of head and tail, the words waiters sleep on and the
 * places' role words, and the ring.  Not the bytes of the ushm_mutex_t
 * that make the places: a mutex whose bytes are overwritten while it is
 * held is the mutex's own contract (ushm_mutex_lock(3): it fails safe in
 * lock, trylock and timedlock; the C library's unlock of a robust mutex
 * follows pointers kept inside it).
 *
 * Every message is 8 * k bytes of the pair (n, n), n its number: two equal
 * 32-bit halves never pass for a record's header here (a length and its
 * complement XORed with the record's position / 64, which would have to be
 * 2^32 - 1: 256 GiB into the queue), so a receive that returns 0 must
 * return exactly a message that was sent (possibly again, or one whose
 * records were scribbled: the ring, the header array after it or the
 * producers' last word, which describes the newest record; those are told
 * apart by the scribble log and not counted), or fail.
 */
#define _GNU_SOURCE

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <ushm.h>

#define INVARIANT(cond, ...) do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_queue_scribble: " __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)

#define BYTES 4096
/* The layout of a 4096-byte queue (lib/queue.c): 16 places. */
#define PLACES 448
#define RING 1472               /* then the header array, to the end */
#define LAST 200                /* the producers' last (8 bytes) */

static unsigned char *region;

static int mutex_byte(size_t off)
{
    return off >= PLACES && off < RING;
}

/* -EXDEV: a scribbled place's mutex can name another PID namespace, which
 * is what a queue of another container's looks like (see fuzz_queue_bytes). */
static int known(int rc)
{
    return rc == 0 || rc == -EPROTO || rc == -ETIMEDOUT || rc == -EMSGSIZE ||
           rc == -EPIPE || rc == -EXDEV;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ushm_queue_t *p, *c;
    uint32_t buf[1024];
    unsigned sent = 0, ring_scribbled = 0;
    int rc;

    if (region == NULL) {
        region = mmap(NULL, BYTES, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        INVARIANT(region != MAP_FAILED, "mmap");
    }
    memset(region, 0, BYTES);
    INVARIANT(ushm_queue_attach(&p, region, BYTES, USHM_QUEUE_SEND) == 0, "attach");
    INVARIANT(ushm_queue_attach(&c, region, BYTES, USHM_QUEUE_RECV) == 0, "attach");
    for (size_t i = 0; i + 4 <= size; i += 4) {
        unsigned op = data[i] % 6;
        size_t off = ((size_t)data[i + 1] | (size_t)data[i + 2] << 8) % BYTES;
        unsigned char v = data[i + 3];

        if (op == 0) {
            size_t words = 1 + v % 40;

            for (size_t w = 0; w < 2 * words; w++)
                buf[w] = sent;
            rc = ushm_queue_send(p, buf, words * 8, 0);
            INVARIANT(known(rc), "send: %d %s", rc, ushm_last_error());
            sent += rc == 0;
        } else if (op == 1) {
            size_t len = 0;

            rc = ushm_queue_recv(c, buf, sizeof buf, &len, 0);
            INVARIANT(known(rc), "recv: %d %s", rc, ushm_last_error());
            if (rc == 0 && !ring_scribbled) {
                INVARIANT(len % 8 == 0 && len >= 8, "recv: a message of %zu bytes", len);
                for (size_t w = 0; w < len / 4; w++)
                    INVARIANT(buf[w] == buf[0] && buf[0] < sent,
                              "recv: word %zu of a %zu-byte message is %u (first %u, sent %u)",
                              w, len, buf[w], buf[0], sent);
            }
        } else if (op == 4) {
            static uint32_t m[6][2 * 8];
            struct iovec v6[6];
            size_t k = 1 + v % 6;
            ssize_t r;

            for (size_t j = 0; j < k; j++) {
                size_t words = 1 + (v / 6 + j) % 8;

                for (size_t w = 0; w < 2 * words; w++)
                    m[j][w] = sent + (unsigned)j;
                v6[j].iov_base = m[j];
                v6[j].iov_len = words * 8;
            }
            r = ushm_queue_sendv(p, v6, k, 0);
            INVARIANT(r > 0 ? (size_t)r <= k : known((int)r), "sendv: %zd %s", r,
                      ushm_last_error());
            sent += r > 0 ? (unsigned)r : 0;
        } else if (op == 5) {
            static uint32_t m[6][256];
            struct iovec v6[6];
            size_t k = 1 + v % 6, lens[6];
            ssize_t r;

            for (size_t j = 0; j < k; j++) {
                v6[j].iov_base = m[j];
                v6[j].iov_len = j == k - 1 && (v & 0x80) ? 16 : sizeof m[j];
            }
            r = ushm_queue_recvv(c, v6, lens, k, 0);
            INVARIANT(r > 0 ? (size_t)r <= k : known((int)r), "recvv: %zd %s", r,
                      ushm_last_error());
            for (ssize_t j = 0; j < r && !ring_scribbled; j++) {
                INVARIANT(lens[j] % 8 == 0 && lens[j] >= 8 && lens[j] <= v6[j].iov_len,
                          "recvv: message %zd of %zu bytes", j, lens[j]);
                for (size_t w = 0; w < lens[j] / 4; w++)
                    INVARIANT(m[j][w] == m[j][0] && m[j][0] < sent,
                              "recvv: word %zu of a %zu-byte message is %u (first %u, sent %u)",
                              w, lens[j], m[j][w], m[j][0], sent);
            }
        } else if (op == 2) {
            if (mutex_byte(off))
                continue;
            region[off] = v;
            ring_scribbled |= off >= RING || (off >= LAST && off < LAST + 8);
        } else if (op == 3) {
            struct ushm_queue_stat st;

            /* its size word overwritten: -EINVAL naming that size */
            rc = ushm_queue_stat(region, BYTES, &st);
            INVARIANT(known(rc) || rc == -EINVAL, "stat: %d %s", rc, ushm_last_error());
        }
    }
    INVARIANT(ushm_queue_detach(p) == 0 && ushm_queue_detach(c) == 0, "detach");
    return 0;
}
