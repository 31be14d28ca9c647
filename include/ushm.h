/* SPDX-License-Identifier: MIT */
/*
 * libushm: one small API for shared memory on POSIX systems.
 *
 * The segment is either a POSIX shared memory object (shm_open + mmap) or a
 * System V segment (shmget + shmat): the backend is chosen when the library
 * is configured, and both behave the same through this header.
 *
 * Every int function returns 0 on success or a negative errno value.
 * See ushm(3) for the whole contract.
 */
#ifndef USHM_H
#define USHM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/ipc.h> /* key_t, whatever the feature macros */
#include <sys/uio.h> /* struct iovec */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define USHM_EXPORT __attribute__((visibility("default")))
#else
#define USHM_EXPORT
#endif

/* USHM_VERSION_MAJOR, _MINOR, _PATCH and _STRING, from configure. */
#include "ushm-version.h"

/* Longest canonical name, leading slash included (macOS PSHMNAMLEN). */
#define USHM_NAME_MAX 31

/* Flags for ushm_open(). */
#define USHM_CREATE   0x01 /* create the segment if it does not exist */
#define USHM_EXCL     0x02 /* with USHM_CREATE: fail with -EEXIST if it exists */
#define USHM_RDONLY   0x04 /* map read-only */
#define USHM_POPULATE 0x08 /* prefault every page before returning */
#define USHM_HUGEPAGES 0x10 /* when creating: back it with huge pages */

typedef struct ushm ushm_t; /* opaque: one mapping of one segment */

struct ushm_stat {
    size_t size;    /* bytes, exactly as created */
    mode_t mode;    /* permission bits (0777 mask) */
    uid_t uid;      /* owner */
    gid_t gid;
    long nattach;   /* current attachments, -1 if the backend cannot tell */
};

USHM_EXPORT int ushm_open(ushm_t **shm, const char *name, size_t size,
                          int flags, mode_t mode);
USHM_EXPORT int ushm_close(ushm_t *shm);
USHM_EXPORT int ushm_unlink(const char *name);

USHM_EXPORT void *ushm_addr(const ushm_t *shm);
USHM_EXPORT size_t ushm_size(const ushm_t *shm);
USHM_EXPORT const char *ushm_name(const ushm_t *shm);
USHM_EXPORT int ushm_created(const ushm_t *shm);

USHM_EXPORT int ushm_stat(const char *name, struct ushm_stat *st);

USHM_EXPORT const char *ushm_backend(void);
USHM_EXPORT const char *ushm_version(void);
USHM_EXPORT const char *ushm_strerror(int err);
USHM_EXPORT const char *ushm_last_error(void);

/* The SysV key of a name, on every backend (what ipcs shows). */
USHM_EXPORT int ushm_key(const char *name, key_t *key);

/* A SysV segment by its key (from ftok(3), or a fixed number), to share it
 * with programs that use the raw calls; the POSIX backend says -ENOTSUP. */
USHM_EXPORT int ushm_open_key(ushm_t **shm, key_t key, size_t size, int flags,
                              mode_t mode);
USHM_EXPORT int ushm_unlink_key(key_t key);
USHM_EXPORT int ushm_stat_key(key_t key, struct ushm_stat *st);

/*
 * Synchronisation objects that live inside a segment (8-byte aligned).
 * All-zero bytes are an unlocked mutex and an event at 0: a new segment
 * needs no set-up.  The bytes are the library's; their size and alignment
 * are part of the ABI.  See ushm_mutex_lock(3) and ushm_event_wait(3).
 */
#if defined(__GNUC__)
#define USHM__EXT __extension__ /* long long in C89 */
/* 8 everywhere: i386 would place long long at 4 inside a struct */
#define USHM__ALIGN8 __attribute__((aligned(8)))
#else
#define USHM__EXT
#define USHM__ALIGN8
#endif
#if defined(__cplusplus) && __cplusplus < 201103L && defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wlong-long" /* g++ -std=c++98 -pedantic */
#endif
typedef union USHM__ALIGN8 ushm_mutex { unsigned char opaque_[64]; USHM__EXT long long align_; } ushm_mutex_t;
typedef union USHM__ALIGN8 ushm_event { unsigned char opaque_[16]; USHM__EXT long long align_; } ushm_event_t;
#if defined(__cplusplus) && __cplusplus < 201103L && defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
#undef USHM__EXT
#undef USHM__ALIGN8

/* Positive: the mutex is acquired, and its previous holder died holding it. */
#define USHM_OWNERDEAD 1

USHM_EXPORT int ushm_mutex_lock(ushm_mutex_t *m);
USHM_EXPORT int ushm_mutex_trylock(ushm_mutex_t *m);
USHM_EXPORT int ushm_mutex_timedlock(ushm_mutex_t *m, long timeout_ms);
USHM_EXPORT int ushm_mutex_unlock(ushm_mutex_t *m);

USHM_EXPORT unsigned ushm_event_read(const ushm_event_t *ev);
USHM_EXPORT int ushm_event_wait(ushm_event_t *ev, unsigned seen, long timeout_ms);
USHM_EXPORT int ushm_event_notify(ushm_event_t *ev);
/* The caller holds m: unlock it, wait for a notify, lock it again. */
USHM_EXPORT int ushm_event_wait_locked(ushm_event_t *ev, ushm_mutex_t *m,
                                       long timeout_ms);

/*
 * A message queue inside a region of a segment (64-byte aligned, 1024 bytes
 * to USHM_QUEUE_BYTES_MAX): many producers, many consumers, messages of 0 to
 * ushm_queue_msg_max() bytes.  All-zero bytes are an empty queue.  Each
 * process attaches its own handle; one that dies is detached.  See
 * ushm_queue_send(3).
 */
typedef struct ushm_queue ushm_queue_t; /* opaque: this process's handle on one queue */
#define USHM_QUEUE_SEND 0x1             /* attach as a producer */
#define USHM_QUEUE_RECV 0x2             /* attach as a consumer */
#define USHM_QUEUE_BYTES_MIN 1024
#define USHM_QUEUE_BYTES_MAX ((size_t)1 << 30)

USHM_EXPORT int ushm_queue_attach(ushm_queue_t **q, void *mem, size_t bytes,
                                  int flags);
USHM_EXPORT int ushm_queue_detach(ushm_queue_t *q);
USHM_EXPORT size_t ushm_queue_msg_max(const ushm_queue_t *q);
USHM_EXPORT int ushm_queue_send(ushm_queue_t *q, const void *msg, size_t len,
                                long timeout_ms);
USHM_EXPORT int ushm_queue_recv(ushm_queue_t *q, void *buf, size_t cap,
                                size_t *len, long timeout_ms);
/* Batches, each iovec one message: the count sent or received (>= 1), or a
 * negative errno.  sendv waits for room for msgs[0], then sends as many as
 * fit; recvv waits for a message, then takes up to n of those there. */
USHM_EXPORT ssize_t ushm_queue_sendv(ushm_queue_t *q, const struct iovec *msgs,
                                     size_t n, long timeout_ms);
USHM_EXPORT ssize_t ushm_queue_recvv(ushm_queue_t *q, const struct iovec *bufs,
                                     size_t *lens, size_t n, long timeout_ms);

/* What a queue holds now, for ushm_queue_stat(): 128 bytes on every ABI. */
struct ushm_queue_stat {
    uint64_t bytes;       /* the region, as the queue was set up (0: all zero) */
    uint64_t capacity;    /* bytes of the ring that holds the messages */
    uint64_t msg_max;     /* the longest message */
    uint64_t used;        /* bytes of the ring in use (whole 64-byte cells, at least one a message) */
    uint64_t depth;       /* messages in the queue */
    uint64_t sent;        /* messages ever sent */
    uint64_t received;    /* messages ever received */
    uint32_t producers;   /* handles attached with USHM_QUEUE_SEND, by live threads */
    uint32_t consumers;   /* handles attached with USHM_QUEUE_RECV */
    uint32_t places;      /* handles the queue can have attached at once */
    uint32_t reserved_[7];
};
/* Read-write memory only: it notices dead peers as a waiting call does. */
USHM_EXPORT int ushm_queue_stat(void *mem, size_t bytes,
                                struct ushm_queue_stat *st);

#ifdef __cplusplus
}
#endif

#endif /* USHM_H */
