/*
 * consumer [NAME]: open the segment NAME (default /ushm-example) that
 * producer left behind, check every record, print a summary and remove the
 * segment.  Exits 0 only when all the records the producer wrote are intact.
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

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : RECORD_DEFAULT_NAME;
    const struct record_log *log;
    unsigned done, count, intact = 0;
    ushm_t *shm;
    int err, status = 1;

    if (argc > 2) {
        fprintf(stderr, "usage: consumer [NAME]\n");
        return 2;
    }
    /* No USHM_CREATE: the consumer only joins, and never waits.  Size 0
     * maps the whole segment, whatever size the producer chose. */
    err = ushm_open(&shm, name, 0, USHM_RDONLY, 0);
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

    /* Acquire: every record counted below was written before its count. */
    done = atomic_load_explicit(&log->done, memory_order_acquire);
    count = atomic_load_explicit(&log->count, memory_order_acquire);
    if (ushm_size(shm) < RECORD_LOG_SIZE(0) || log->magic != RECORD_MAGIC ||
        ushm_size(shm) < RECORD_LOG_SIZE(log->capacity) ||
        count > log->capacity) {
        fprintf(stderr, "consumer: %s (%zu bytes) is not a record log\n",
                ushm_name(shm), ushm_size(shm));
        goto out;
    }
    for (unsigned i = 0; i < count; i++) {
        char want[sizeof log->rec[i].text];

        snprintf(want, sizeof want, "record %u of %u", i, log->capacity);
        if (log->rec[i].seq == i &&
            strncmp(log->rec[i].text, want, sizeof want) == 0)
            intact++;
        else
            fprintf(stderr, "consumer: record %u is damaged\n", i);
    }
    printf("consumer: %u of %u records intact in %s, %s backend%s\n", intact,
           log->capacity, ushm_name(shm), ushm_backend(),
           done ? "" : " (the producer has not finished)");
    if (done && intact == count && count == log->capacity)
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
