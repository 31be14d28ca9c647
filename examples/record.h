/* SPDX-License-Identifier: MIT */
/*
 * What producer.c and consumer.c share: the record they pass through a
 * ushm_queue_t, and the size of the segment that holds the queue.  Both
 * programs include this one definition, so they cannot disagree about it.
 *
 * The whole segment is the queue: all-zero bytes, as in a new segment, are
 * an empty queue, so neither side sets anything up.  It is made large
 * enough for every record, so the producer may run first and leave; the
 * consumer then takes them all and learns from -EPIPE that the stream has
 * ended, as read() of a pipe returns 0.
 */
#ifndef RECORD_H
#define RECORD_H

#include <ushm.h>

#include <stddef.h>
#include <stdint.h>

struct record {
    uint64_t seq;                   /* 0, 1, 2, ... */
    uint64_t total;                 /* how many the producer sends */
    char text[48];                  /* "record <seq> of <total>" */
};

/* A queue holds each message in 8 bytes plus its own, after a few KiB of
 * its own: a segment for n records, with room to spare. */
#define RECORD_QUEUE_SIZE(n) (16384 + (size_t)(n) * (8 + sizeof(struct record)))

#define RECORD_DEFAULT_NAME "/ushm-example"
#define RECORD_DEFAULT_COUNT 1000u

#endif /* RECORD_H */
