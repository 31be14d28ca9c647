/* SPDX-License-Identifier: MIT */
/*
 * producer [NAME [COUNT]]: create the named segment NAME (default
 * /ushm-example), attach to the queue it holds (a new segment is an empty
 * queue) and send COUNT records (default 1000) through it; then detach and
 * exit, leaving the segment for consumer(NAME) to drain and remove.  The
 * consumer may run at the same time or afterwards: the segment has room
 * for every record, and a full queue would only make send wait.
 *
 * Build: cc -std=c11 $(pkg-config --cflags ushm) producer.c \
 *            $(pkg-config --libs ushm) -o producer
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : RECORD_DEFAULT_NAME;
    unsigned long count = RECORD_DEFAULT_COUNT;
    ushm_queue_t *q = NULL;
    ushm_t *shm;
    int err;

    if (argc > 2) {
        char *end;

        errno = 0;
        count = strtoul(argv[2], &end, 10);
        if (errno || *end || end == argv[2] || count == 0 || count > 1000000) {
            fprintf(stderr, "producer: COUNT must be 1 to 1000000\n");
            return 2;
        }
    }
    if (argc > 3) {
        fprintf(stderr, "usage: producer [NAME [COUNT]]\n");
        return 2;
    }

    /* USHM_EXCL: a segment left by an earlier run must not be mixed with
     * this one.  The fresh segment is zero-filled: an empty queue. */
    err = ushm_open(&shm, name, RECORD_QUEUE_SIZE(count),
                    USHM_CREATE | USHM_EXCL, 0600);
    if (err == -EEXIST) {
        fprintf(stderr, "producer: %s already exists: run the consumer to "
                "drain it, or remove it (ushm rm %s)\n", name, name);
        return 1;
    }
    if (err < 0) {
        fprintf(stderr, "producer: %s\n", ushm_last_error());
        return 1;
    }
    err = ushm_queue_attach(&q, ushm_addr(shm), ushm_size(shm), USHM_QUEUE_SEND);
    for (unsigned long i = 0; err == 0 && i < count; i++) {
        struct record r;

        memset(&r, 0, sizeof r);
        r.seq = i;
        r.total = count;
        snprintf(r.text, sizeof r.text, "record %lu of %lu", i, count);
        /* -1: wait for room as long as it takes; -EPIPE if the consumer
         * came and went. */
        err = ushm_queue_send(q, &r, sizeof r, -1);
    }
    if (err < 0) {
        fprintf(stderr, "producer: %s\n", ushm_last_error());
        ushm_queue_detach(q);
        ushm_close(shm);
        ushm_unlink(name);
        return 1;
    }
    printf("producer: sent %lu records to %s (%zu bytes), %s backend\n",
           count, ushm_name(shm), ushm_size(shm), ushm_backend());
    /* Detaching tells the consumer, once it has taken the last record,
     * that the stream has ended.  Closing keeps the segment. */
    ushm_queue_detach(q);
    if (ushm_close(shm) < 0) {
        fprintf(stderr, "producer: %s\n", ushm_last_error());
        ushm_unlink(name);
        return 1;
    }
    return 0;
}
