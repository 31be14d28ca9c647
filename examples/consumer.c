/* SPDX-License-Identifier: MIT */
/*
 * consumer [NAME]: open the segment NAME (default /ushm-example) that
 * producer made, check every record as it is published, waiting on the
 * segment's event while the producer is behind, print a summary and remove
 * the segment.  Exits 0 only when all the records the producer wrote are
 * intact.  It gives up when nothing new arrives for 10 seconds.
 *
 * Build: cc -std=c11 $(pkg-config --cflags ushm) consumer.c \
 *            $(pkg-config --libs ushm) -o consumer
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "record.h"

#define PATIENCE_MS 10000L

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : RECORD_DEFAULT_NAME;
    struct record_log *log;
    unsigned checked = 0, intact = 0, capacity = 0, count = 0, done = 0;
    ushm_t *shm;
    int err, status = 1, orphaned = 0;

    if (argc > 2) {
        fprintf(stderr, "usage: consumer [NAME]\n");
        return 2;
    }
    /* No USHM_CREATE: the consumer only joins.  Size 0 maps the whole
     * segment, whatever size the producer chose.  Read-write: taking the
     * mutex and waiting on the event write to them. */
    err = ushm_open(&shm, name, 0, 0, 0);
    if (err == -ENOENT) {
        fprintf(stderr, "consumer: no segment %s: run the producer first%s\n",
                name, strcmp(ushm_backend(), "sysv") == 0 ?
                " (with kernel.shm_rmid_forced=1, a SysV segment dies with "
                "its last user)" : "");
        return 1;
    }
    if (err < 0) {
        fprintf(stderr, "consumer: %s\n", ushm_last_error());
        return 1;
    }
    log = ushm_addr(shm);
    if (ushm_size(shm) < RECORD_LOG_SIZE(0)) {
        fprintf(stderr, "consumer: %s (%zu bytes) is not a record log\n",
                ushm_name(shm), ushm_size(shm));
        goto out;
    }

    for (;;) {
        /* Read the event before looking, so a notify in between is seen. */
        unsigned seen = ushm_event_read(&log->more);
        int sleepy;

        err = ushm_mutex_lock(&log->lock);
        if (err < 0) {
            fprintf(stderr, "consumer: %s\n", ushm_last_error());
            goto out;
        }
        /* USHM_OWNERDEAD: the producer died holding the lock.  The fields
         * are each set in one store, so they are whole; note it and go on. */
        orphaned |= err == USHM_OWNERDEAD;
        if (log->magic == RECORD_MAGIC) {
            capacity = log->capacity;
            count = log->count;
            done = log->done;
        }
        /* Caught up: the producer notifies its next publish only if told.
         * It publishes under this lock, after the counter was read above,
         * so that notify moves the counter past seen: no wake-up is lost. */
        sleepy = !done && !orphaned && count == checked;
        if (sleepy)
            log->waiting = 1;
        ushm_mutex_unlock(&log->lock);

        if (capacity != 0 && (ushm_size(shm) < RECORD_LOG_SIZE(capacity) ||
                              count > capacity)) {
            fprintf(stderr, "consumer: %s (%zu bytes) is not a record log\n",
                    ushm_name(shm), ushm_size(shm));
            goto out;
        }
        /* The records below count were complete before it was stored. */
        for (; checked < count; checked++) {
            char want[sizeof log->rec[checked].text];

            snprintf(want, sizeof want, "record %u of %u", checked, capacity);
            if (log->rec[checked].seq == checked &&
                strncmp(log->rec[checked].text, want, sizeof want) == 0)
                intact++;
            else
                fprintf(stderr, "consumer: record %u is damaged\n", checked);
        }
        if (done || orphaned)
            break;
        if (!sleepy)
            continue;           /* new records: look again before sleeping */
        err = ushm_event_wait(&log->more, seen, PATIENCE_MS);
        if (err == -ETIMEDOUT) {
            fprintf(stderr, "consumer: nothing new in %s for %ld s after "
                    "record %u\n", name, PATIENCE_MS / 1000, checked);
            break;
        }
        if (err < 0) {
            fprintf(stderr, "consumer: %s\n", ushm_last_error());
            goto out;
        }
    }
    printf("consumer: %u of %u records intact in %s, %s backend%s\n", intact,
           capacity, ushm_name(shm), ushm_backend(),
           done ? "" : orphaned ? " (the producer died)" :
           " (the producer has not finished)");
    if (done && intact == count && count == capacity)
        status = 0;
out:
    /* The consumer owns the cleanup: remove the name whatever happened. */
    ushm_close(shm);
    if (ushm_unlink(name) < 0) {
        fprintf(stderr, "consumer: %s\n", ushm_last_error());
        status = 1;
    }
    return status;
}
