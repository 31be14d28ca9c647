/* SPDX-License-Identifier: MIT */
/*
 * producer [NAME [COUNT]]: create the named segment NAME (default
 * /ushm-example) and fill it with COUNT records (default 1000), publishing
 * them in batches under the segment's mutex and waking the consumer only
 * when it said it waits; then exit, leaving the segment for consumer(NAME)
 * to read and remove.  The consumer may run at the same time or afterwards.
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

/* Take the log's lock.  Only producers write what it guards, each field in
 * one store, so USHM_OWNERDEAD (an earlier holder died) needs no repair. */
static int locked(struct record_log *log, const char *what)
{
    int err = ushm_mutex_lock(&log->lock);

    if (err < 0) {
        fprintf(stderr, "producer: %s: %s\n", what, ushm_last_error());
        return -1;
    }
    return 0;
}

/* Notify only a consumer that said, under the lock, that it waits: one that
 * has not said so will look again before it sleeps, and a notify per batch
 * would cost a system call whenever it is counted as a sleeper. */
static int unlock_and_notify(struct record_log *log)
{
    int wake = log->waiting;

    log->waiting = 0;
    if (ushm_mutex_unlock(&log->lock) < 0 ||
        (wake && ushm_event_notify(&log->more) < 0)) {
        fprintf(stderr, "producer: %s\n", ushm_last_error());
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : RECORD_DEFAULT_NAME;
    unsigned long count = RECORD_DEFAULT_COUNT;
    struct record_log *log;
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
     * this one.  The fresh segment is zero-filled: count and done are 0,
     * and the mutex and the event are ready. */
    err = ushm_open(&shm, name, RECORD_LOG_SIZE(count),
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
    log = ushm_addr(shm);

    if (locked(log, "header") < 0)
        goto fail;
    log->capacity = (uint32_t)count;
    log->magic = RECORD_MAGIC;
    if (unlock_and_notify(log) < 0)
        goto fail;
    for (unsigned i = 0; i < count; i++) {
        /* Slot i is the producer's alone until count says otherwise. */
        log->rec[i].seq = i;
        snprintf(log->rec[i].text, sizeof log->rec[i].text,
                 "record %u of %lu", i, count);
        if ((i + 1) % RECORD_BATCH == 0 || i + 1 == count) {
            if (locked(log, "publish") < 0)
                goto fail;
            log->count = i + 1;
            log->done = i + 1 == count;
            if (unlock_and_notify(log) < 0)
                goto fail;
        }
    }

    printf("producer: wrote %lu records (%zu bytes) to %s, %s backend\n",
           count, ushm_size(shm), ushm_name(shm), ushm_backend());
    /* Closing keeps the segment: it lives until the consumer unlinks it. */
    if (ushm_close(shm) < 0) {
        fprintf(stderr, "producer: %s\n", ushm_last_error());
        ushm_unlink(name);
        return 1;
    }
    return 0;
fail:
    ushm_close(shm);
    ushm_unlink(name);
    return 1;
}
