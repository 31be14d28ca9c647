/* SPDX-License-Identifier: MIT */
/*
 * ring: a producer passes 64-byte records to a consumer process through a
 * ring in a segment (a ushm_mutex_t and two ushm_event_t), against the same
 * records through a pipe.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ushm.h>

#include "harness.h"
#include "list.h"
#include "sync-common.h"

#define SEQ_MIX UINT64_C(0x9e3779b97f4a7c15)

static void fill_record(struct record *rec, uint64_t seq)
{
    rec->seq = seq;
    for (int j = 0; j < 7; j++)
        rec->word[j] = seq * SEQ_MIX + (uint64_t)j;
}

static int record_ok(const struct record *rec, uint64_t seq)
{
    return rec->seq == seq && rec->word[0] == seq * SEQ_MIX &&
           rec->word[6] == seq * SEQ_MIX + 6;
}

/* ---- libushm: the ring in the shared segment ---- */

/* Locks the ring; a peer that died holding it is a failure here. */
static int ring_lock(struct ring *r)
{
    int err = ushm_mutex_lock(&r->lock);

    return err == 0 ? 0 : err > 0 ? -EOWNERDEAD : err;
}

static pid_t rg_pid = -1;

/* Takes what is there (up to RING_BATCH), checks it outside the lock, and
 * wakes the producer only if it said it waits for room. */
static void ring_consumer(void)
{
    struct ring *r = &bench_area->ring;

    for (;;) {
        uint64_t t, avail;
        unsigned bad = 0;
        int wake, reached;

        if (ring_lock(r) < 0)
            _exit(3);
        avail = r->head - r->tail;
        if (avail == 0) {
            unsigned seen;

            if (r->quit) {
                ushm_mutex_unlock(&r->lock);
                _exit(0);
            }
            r->consumer_waiting = 1;
            seen = ushm_event_read(&r->not_empty);
            ushm_mutex_unlock(&r->lock);
            if (ushm_event_wait(&r->not_empty, seen, 1000) == -ETIMEDOUT)
                bench_orphan_check();
            continue;
        }
        t = r->tail;
        ushm_mutex_unlock(&r->lock);
        if (avail > RING_BATCH)
            avail = RING_BATCH;
        for (uint64_t j = 0; j < avail; j++) {
            struct record rec;

            memcpy(&rec, &r->slot[(t + j) % RING_SLOTS], sizeof rec);
            if (!record_ok(&rec, t + j))
                bad++;
        }
        if (ring_lock(r) < 0)
            _exit(3);
        r->tail = t + avail;
        r->errors += bad;
        wake = r->producer_waiting;
        r->producer_waiting = 0;
        reached = t < r->target && t + avail >= r->target;
        ushm_mutex_unlock(&r->lock);
        if (wake)
            ushm_event_notify(&r->not_full);
        if (reached)
            ushm_event_notify(&r->done);
    }
}

static int ring_prepare(void)
{
    if (bench_sync_setup() < 0)
        return -1;
    rg_pid = bench_spawn(ring_consumer, -1, -1);
    return rg_pid < 0 ? -1 : 0;
}

/* Writes as much as there is room for (up to RING_BATCH) outside the lock,
 * publishes it, and wakes the consumer only if it said it waits. */
static int ring_produce(long n)
{
    struct ring *r = &bench_area->ring;
    unsigned done_seen = ushm_event_read(&r->done);
    uint64_t left = (uint64_t)n;
    uint32_t errors0;
    int err;

    if ((err = ring_lock(r)) < 0)
        return bench_fail_ushm("ushm_mutex_lock", "ring", err);
    r->target = r->head + left;
    errors0 = r->errors;
    ushm_mutex_unlock(&r->lock);
    while (left > 0) {
        uint64_t h, k;
        int wake;

        if ((err = ring_lock(r)) < 0)
            return bench_fail_ushm("ushm_mutex_lock", "ring", err);
        h = r->head;
        k = RING_SLOTS - (h - r->tail);
        if (k == 0) {
            unsigned seen;

            r->producer_waiting = 1;
            seen = ushm_event_read(&r->not_full);
            ushm_mutex_unlock(&r->lock);
            err = ushm_event_wait(&r->not_full, seen, PEER_TIMEOUT_MS);
            if (err == -ETIMEDOUT)
                return bench_fail("ring: the consumer made no room in %d ms",
                                  PEER_TIMEOUT_MS);
            if (err < 0)
                return bench_fail_ushm("ushm_event_wait", "ring", err);
            continue;
        }
        ushm_mutex_unlock(&r->lock);
        if (k > left)
            k = left;
        if (k > RING_BATCH)
            k = RING_BATCH;
        for (uint64_t j = 0; j < k; j++)
            fill_record(&r->slot[(h + j) % RING_SLOTS], h + j);
        if ((err = ring_lock(r)) < 0)
            return bench_fail_ushm("ushm_mutex_lock", "ring", err);
        r->head = h + k;
        wake = r->consumer_waiting;
        r->consumer_waiting = 0;
        ushm_mutex_unlock(&r->lock);
        if (wake)
            ushm_event_notify(&r->not_empty);
        left -= k;
    }
    while (ushm_event_read(&r->done) == done_seen) {
        err = ushm_event_wait(&r->done, done_seen, PEER_TIMEOUT_MS);
        if (err == -ETIMEDOUT)
            return bench_fail("ring: the consumer did not finish in %d ms",
                              PEER_TIMEOUT_MS);
        if (err < 0)
            return bench_fail_ushm("ushm_event_wait", "ring", err);
    }
    if ((err = ring_lock(r)) < 0)
        return bench_fail_ushm("ushm_mutex_lock", "ring", err);
    errors0 = r->errors - errors0;
    ushm_mutex_unlock(&r->lock);
    return errors0 == 0 ? 0 : bench_fail("ring: %u records arrived damaged "
                                         "or out of order",
                                         (unsigned)errors0);
}

static void ring_finish(void)
{
    if (rg_pid > 0 && ring_lock(&bench_area->ring) == 0) {
        bench_area->ring.quit = 1;
        ushm_mutex_unlock(&bench_area->ring.lock);
        ushm_event_notify(&bench_area->ring.not_empty);
    }
    bench_reap(&rg_pid, "ring");
}

/* ---- the same records through a pipe: one write() per record, as a
 *      producer of records makes them; the consumer reads whatever is
 *      there (up to 64 KiB at once) and answers one byte per run on a
 *      second pipe ---- */

static int rp_data[2] = { -1, -1 }, rp_ack[2] = { -1, -1 };
static pid_t rp_pid = -1;
static uint64_t rp_seq;

static void pipe_consumer(void)
{
    static unsigned char buf[64 * KiB];
    size_t have = 0;
    uint64_t seq = 0, in_run = 0;
    unsigned bad = 0;

    for (;;) {
        ssize_t got = read(rp_data[0], buf + have, sizeof buf - have);
        size_t off = 0;

        if (got == 0)
            _exit(0);
        if (got == -1) {
            if (errno == EINTR)
                continue;
            _exit(3);
        }
        have += (size_t)got;
        for (; have - off >= sizeof(struct record);
             off += sizeof(struct record)) {
            struct record rec;

            memcpy(&rec, buf + off, sizeof rec);
            if (!record_ok(&rec, seq))
                bad++;
            seq++;
            if (++in_run == (uint64_t)bench_opt.records) {
                unsigned char a = bad != 0;

                if (write(rp_ack[1], &a, 1) != 1)
                    _exit(3);
                in_run = 0;
                bad = 0;
            }
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
}

static int pipe_ring_prepare(void)
{
    for (int i = 0; i < 2; i++) {
        bench_peer_fd(&rp_data[i]);
        bench_peer_fd(&rp_ack[i]);
    }
    if (pipe(rp_data) == -1 || pipe(rp_ack) == -1)
        return bench_fail_errno("pipe", "ring", errno);
    rp_pid = bench_spawn(pipe_consumer, rp_data[0], rp_ack[1]);
    if (rp_pid < 0)
        return -1;
    bench_close_fd(&rp_data[0]);
    bench_close_fd(&rp_ack[1]);
    return 0;
}

static int pipe_ring(long n)
{
    unsigned char a;

    if (n != bench_opt.records)
        return bench_fail("pipe ring: %ld records in a run, not --records", n);
    for (long i = 0; i < n; i++) {
        struct record rec;

        fill_record(&rec, rp_seq++);
        if (bench_send(rp_data[1], &rec, sizeof rec, "pipe") < 0)
            return -1;
    }
    if (bench_recv(rp_ack[0], &a, 1, "pipe") < 0)
        return -1;
    return a == 0 ? 0
                  : bench_fail("pipe: records arrived damaged or out of "
                               "order");
}

static void pipe_ring_finish(void)
{
    bench_close_fd(&rp_data[1]);
    bench_reap(&rp_pid, "pipe ring");
    bench_close_fd(&rp_data[0]);
    bench_close_fd(&rp_ack[0]);
    bench_close_fd(&rp_ack[1]);
}

void bench_ring(void)
{
    struct contender c[] = {
        { .name = "pipe", .prepare = pipe_ring_prepare,
          .batch = pipe_ring, .finish = pipe_ring_finish },
        { .name = "libushm", .prepare = ring_prepare,
          .batch = ring_produce, .finish = ring_finish },
    };
    int nc = (int)(sizeof c / sizeof c[0]);

    bench_run_contenders("ring", c, nc, bench_opt.records,
                         sizeof(struct record));
    bench_report("ring", c, nc, "pipe");
    bench_goal_ratio("ring", c, nc, "pipe", "libushm", 0, 10, 0,
                     ": libushm's records/s over the pipe's");
    fflush(stdout);
}
