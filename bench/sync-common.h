/* SPDX-License-Identifier: MIT */
/*
 * What the synchronisation benchmarks (mutex, roundtrip, ring) share: one
 * anonymous segment of the backend under test, made before the first of
 * them (the kernel frees it with the last process that maps it), where
 * every object sits on cache lines of its own; two pinned CPUs; and the
 * peer processes that answer them.
 */
#ifndef USHM_BENCH_SYNC_COMMON_H
#define USHM_BENCH_SYNC_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ushm.h>

#define RING_SLOTS 4096        /* 256 KiB of records */
#define RING_BATCH 256         /* most records a side moves per turn */
#define PEER_TIMEOUT_MS 10000  /* a peer silent for this long has failed */

struct record {                /* 64 bytes: a sequence number and payload */
    uint64_t seq;
    uint64_t word[7];
};

struct ring {
    _Alignas(64) ushm_mutex_t lock;
    _Alignas(64) ushm_event_t not_empty; /* the producer published records */
    _Alignas(64) ushm_event_t not_full;  /* the consumer made room */
    _Alignas(64) ushm_event_t done;      /* the consumer reached target */
    /* Under lock.  head and tail count records since the start; the slots
     * from tail to head belong to the consumer, the others to the producer,
     * which is why neither holds the lock while copying records. */
    _Alignas(64) uint64_t head, tail, target;
    uint32_t consumer_waiting, producer_waiting, quit, errors;
    _Alignas(64) struct record slot[RING_SLOTS];
};

struct sync_area {
    _Alignas(64) ushm_mutex_t mutex;         /* mutex, libushm */
    _Alignas(64) pthread_mutex_t raw_mutex;  /* mutex, raw */
    _Alignas(64) ushm_event_t ping;          /* roundtrip, libushm */
    _Alignas(64) ushm_event_t pong;
    _Alignas(64) atomic_int quit;
    struct ring ring;
};

extern struct sync_area *bench_area;

int bench_sync_setup(void);

/* The two mutexes of mutex.c, set up (contended.c measures them too). */
int bench_mutex_lib_prepare(void);
int bench_mutex_raw_prepare(void);
void bench_mutex_raw_finish(void);
void bench_sync_teardown(void);

/* Peer processes and their descriptors. */
void bench_peer_fd(int *fd);
pid_t bench_spawn(void (*body)(void), int keep1, int keep2);
void bench_reap(pid_t *pid, const char *who);
void bench_close_fd(int *fd);
void bench_orphan_check(void);

/* Whole messages through a descriptor, EINTR retried. */
int bench_send(int fd, const void *buf, size_t len, const char *what);
int bench_recv(int fd, void *buf, size_t len, const char *what);

#endif
