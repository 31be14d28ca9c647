/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: ushm_queue_attach() of arbitrary bytes (API.md 0.3,
 * "bytes that are not a queue: -EPROTO, never a crash or a hang").
 *
 * Input: byte 0 picks the region's size (1024, 4096 or 65536 bytes) and
 * whether to attach as producer, consumer or both; the rest is copied to
 * the start of the region (64-byte aligned, the rest zero).  The region is
 * private memory: the queue does not care where its bytes are.  Then
 * ushm_queue_stat(), and on a handle a few sends and receives that never
 * wait (0 ms) and its detach.  Every result must be 0 or an error the
 * contract names, and a message received must be whole: its length and its
 * bytes those of a message this input sent, or of a record the input
 * wrote (a length the queue checked, at most msg_max).
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

#include <ushm.h>

#define INVARIANT(cond, ...) do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_queue_bytes: " __VA_ARGS__); \
            fprintf(stderr, "\n"); \
            abort(); \
        } \
    } while (0)

static const size_t sizes[] = { 1024, 4096, 65536 };
static unsigned char *region;

/* -EXDEV too: a place's mutex records the PID namespace that set it up,
 * and bytes that name another one are, to this process, a queue of another
 * container's (the contract's answer there), not provably garbage. */
static int known(int rc)
{
    return rc == 0 || rc == -EPROTO || rc == -EINVAL || rc == -ETIMEDOUT ||
           rc == -EMSGSIZE || rc == -EPIPE || rc == -EAGAIN || rc == -EBADF ||
           rc == -EXDEV;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t bytes = sizes[(size > 0 ? data[0] : 0) % 3];
    int flags = 1 + (size > 0 ? (data[0] >> 2) : 0) % 3;
    struct ushm_queue_stat st;
    ushm_queue_t *q;
    unsigned char buf[70000];
    int rc;

    if (region == NULL) {
        region = mmap(NULL, 65536, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        INVARIANT(region != MAP_FAILED, "mmap");
    }
    memset(region, 0, 65536);
    if (size > 1)
        memcpy(region, data + 1, size - 1 < bytes ? size - 1 : bytes);

    rc = ushm_queue_stat(region, bytes, &st);
    INVARIANT(known(rc), "stat: %d %s", rc, ushm_last_error());
    rc = ushm_queue_attach(&q, region, bytes, flags);
    INVARIANT(known(rc), "attach: %d %s", rc, ushm_last_error());
    INVARIANT(rc == 0 || q == NULL, "attach failed but set q");
    if (rc != 0)
        return 0;
    for (int i = 0; i < 4; i++) {
        size_t len = (size_t)i * 37, got = 0;

        memset(buf, 'a' + i, len);
        rc = ushm_queue_send(q, buf, len, 0);
        INVARIANT(known(rc), "send: %d %s", rc, ushm_last_error());
        rc = ushm_queue_recv(q, buf, sizeof buf, &got, 0);
        INVARIANT(known(rc), "recv: %d %s", rc, ushm_last_error());
        INVARIANT(rc != 0 || got <= ushm_queue_msg_max(q),
                  "recv: %zu bytes, more than msg_max %zu", got, ushm_queue_msg_max(q));
    }
    rc = ushm_queue_stat(region, bytes, &st);
    INVARIANT(known(rc), "stat: %d %s", rc, ushm_last_error());
    INVARIANT(ushm_queue_detach(q) == 0, "detach");
    return 0;
}
