/*
 * The layout shared by producer.c and consumer.c: a header, then an array of
 * fixed-size records.  Both programs include this one definition, so they
 * cannot disagree about it.
 *
 * The producer writes a record, then publishes it by storing the new count
 * with release order; the consumer loads the count with acquire order and may
 * then read that many records.  Cross-process atomics need lock-free types:
 * a lock would live in one process, not in the segment.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if ATOMIC_INT_LOCK_FREE != 2
#error "atomic_uint must be lock-free to be shared between processes"
#endif

#define RECORD_MAGIC 0x75736872u    /* "ushr": the segment is a record log */

struct record {
    uint64_t seq;                   /* 0, 1, 2, ... */
    char text[56];                  /* "record <seq> of <capacity>" */
};

struct record_log {
    uint32_t magic;                 /* written before anything is published */
    uint32_t capacity;              /* records the segment holds */
    atomic_uint count;              /* records published so far */
    atomic_uint done;               /* 1 once the producer has finished */
    struct record rec[];
};

/* Bytes of a segment holding n records. */
#define RECORD_LOG_SIZE(n) (offsetof(struct record_log, rec) + \
                            (size_t)(n) * sizeof(struct record))

#define RECORD_DEFAULT_NAME "/ushm-example"
#define RECORD_DEFAULT_COUNT 1000u

#endif /* RECORD_H */
