/* SPDX-License-Identifier: MIT */
/*
 * The layout shared by producer.c and consumer.c: a header, then an array of
 * fixed-size records.  Both programs include this one definition, so they
 * cannot disagree about it.
 *
 * The producer writes records into the array, then publishes how many there
 * are by updating count under the mutex.  The consumer reads count under the
 * same mutex, after which the records below it are complete.  When it has
 * caught up it sets waiting, under the mutex, and waits on the event "more";
 * the producer notifies "more" only when it finds waiting set, so a consumer
 * that keeps up costs the producer no notify at all.  The mutex and the
 * event need no set-up: the new segment is zero-filled, and zero bytes are
 * an unlocked mutex and an event at 0.
 */
#ifndef RECORD_H
#define RECORD_H

#include <ushm.h>

#include <stddef.h>
#include <stdint.h>

#define RECORD_MAGIC 0x75736872u    /* "ushr": the segment is a record log */

struct record {
    uint64_t seq;                   /* 0, 1, 2, ... */
    char text[56];                  /* "record <seq> of <capacity>" */
};

struct record_log {
    ushm_mutex_t lock;              /* guards the five fields below */
    ushm_event_t more;              /* notified for a waiting consumer */
    uint32_t magic;                 /* RECORD_MAGIC once the header is set */
    uint32_t capacity;              /* records the segment holds */
    uint32_t count;                 /* records published so far */
    uint32_t done;                  /* 1 once the producer has finished */
    uint32_t waiting;               /* 1: the consumer sleeps on "more" */
    struct record rec[];
};

/* Bytes of a segment holding n records. */
#define RECORD_LOG_SIZE(n) (offsetof(struct record_log, rec) + \
                            (size_t)(n) * sizeof(struct record))

/* The producer publishes this many records at a time. */
#define RECORD_BATCH 64u

#define RECORD_DEFAULT_NAME "/ushm-example"
#define RECORD_DEFAULT_COUNT 1000u

#endif /* RECORD_H */
