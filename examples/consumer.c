/* SPDX-License-Identifier: MIT */
/*
 * consumer [NAME]: open the segment NAME (default /ushm-example) that
 * producer made, receive and check every record from the queue in it until
 * the producer has detached and the queue is empty (-EPIPE: the end of the
 * stream), print a summary and remove the segment.  Exits 0 only when every
 * record the producer announced arrived intact and in order.  It gives up
 * when nothing arrives for 10 seconds.
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
    unsigned long intact = 0, total = 0, received = 0;
    ushm_queue_t *q = NULL;
    ushm_t *shm;
    int err, status = 1;

    if (argc > 2) {
        fprintf(stderr, "usage: consumer [NAME]\n");
        return 2;
    }
    /* No USHM_CREATE: the consumer only joins.  Size 0 maps the whole
     * segment, whatever size the producer chose.  Read-write: a queue's
     * users write to it. */
    err = ushm_open(&shm, name, 0, 0, 0);
    if (err == -ENOENT) {
        fprintf(stderr, "consumer: no segment %s: run the producer first%s\n",
                name, strcmp(ushm_backend(), "sysv") == 0 ?
                " (with kernel.shm_rmid_forced=1, a SysV segment dies with "
                "its last user)" : "");
        return 1;
    }
    if (err < 0 ||
        (err = ushm_queue_attach(&q, ushm_addr(shm), ushm_size(shm),
                                 USHM_QUEUE_RECV)) < 0) {
        fprintf(stderr, "consumer: %s\n", ushm_last_error());
        goto out;
    }
    for (;;) {
        struct record r;
        char want[sizeof r.text];
        size_t len;

        err = ushm_queue_recv(q, &r, sizeof r, &len, PATIENCE_MS);
        if (err == -EPIPE)
            break; /* the producer has detached and everything is read */
        if (err < 0) {
            fprintf(stderr, "consumer: after record %lu: %s\n", received,
                    ushm_last_error());
            goto out;
        }
        snprintf(want, sizeof want, "record %lu of %lu", received,
                 (unsigned long)r.total);
        if (len == sizeof r && r.seq == received &&
            strncmp(r.text, want, sizeof want) == 0)
            intact++;
        else
            fprintf(stderr, "consumer: record %lu is damaged\n", received);
        total = (unsigned long)r.total;
        received++;
    }
    printf("consumer: %lu of %lu records intact in %s, %s backend\n", intact,
           total, ushm_name(shm), ushm_backend());
    if (intact == total && received == total)
        status = 0;
out:
    /* The consumer owns the cleanup: remove the name whatever happened. */
    ushm_queue_detach(q);
    ushm_close(shm);
    if (ushm_unlink(name) < 0) {
        fprintf(stderr, "consumer: %s\n", ushm_last_error());
        status = 1;
    }
    return status;
}
