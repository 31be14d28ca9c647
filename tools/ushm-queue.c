/* SPDX-License-Identifier: MIT */
/*
 * The queue's subcommands: "ushm send" (each line of standard input, or
 * all of it with --raw, as messages), "ushm recv" (messages to standard
 * output as they arrive) and the queue lines of "ushm stat".  The queue is
 * the whole segment, or --size bytes from --offset: the same on both sides.
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ushm-tool.h"

struct queue_place {
    ushm_t *shm;
    void *mem;
    size_t bytes;
};

/* Map NAME read-write and find the region the options name. */
static int open_queue(const struct command *cmd, const struct args *a,
                      struct queue_place *p)
{
    size_t offset = 0, size = 0;
    int rc;

    if ((rc = parse_number_opt(cmd, "--offset", a->offset, &offset)) != 0 ||
        (rc = parse_number_opt(cmd, "--size", a->size, &size)) != 0)
        return rc;
    if (ushm_open(&p->shm, a->pos[0], 0, 0, 0) < 0)
        return lib_error(cmd);
    if (offset > ushm_size(p->shm) ||
        (size != 0 && size > ushm_size(p->shm) - offset)) {
        char msg[200];

        snprintf(msg, sizeof msg, "--offset %zu --size %zu: past the end of "
                 "the segment (%zu bytes)", offset, size, ushm_size(p->shm));
        ushm_close(p->shm);
        return tool_error(cmd, msg);
    }
    p->mem = (char *)ushm_addr(p->shm) + offset;
    p->bytes = size != 0 ? size : ushm_size(p->shm) - offset;
    return 0;
}

static int close_queue(const struct command *cmd, ushm_queue_t *q,
                       struct queue_place *p, int status)
{
    ushm_queue_detach(q);
    if (ushm_close(p->shm) < 0 && status == 0)
        status = lib_error(cmd);
    return status;
}

/* All of standard input, for --raw: at most max bytes. */
static int read_all(const struct command *cmd, char *buf, size_t max,
                    size_t *len)
{
    size_t n = 0;

    while (n < max) {
        ssize_t r = read(0, buf + n, max - n);

        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return tool_error(cmd, "reading standard input failed");
        }
        n += (size_t)r;
    }
    if (n == max) {
        char extra;

        if (read(0, &extra, 1) == 1) {
            char msg[160];

            snprintf(msg, sizeof msg, "standard input is longer than the "
                     "queue's longest message (%zu bytes)", max);
            return tool_error(cmd, msg);
        }
    }
    *len = n;
    return 0;
}

int cmd_send(const struct command *cmd, struct args *a)
{
    struct queue_place p;
    ushm_queue_t *q;
    char *line = NULL;
    size_t cap = 0;
    int status = 0;

    if ((status = open_queue(cmd, a, &p)) != 0)
        return status;
    if (ushm_queue_attach(&q, p.mem, p.bytes, USHM_QUEUE_SEND) < 0) {
        status = lib_error(cmd);
        ushm_close(p.shm);
        return status;
    }
    if (a->seen & OPT_RAW) {
        size_t max = ushm_queue_msg_max(q), len = 0;
        char *buf = malloc(max + 1);

        if (buf == NULL)
            status = tool_error(cmd, "out of memory");
        else if ((status = read_all(cmd, buf, max, &len)) == 0 &&
                 ushm_queue_send(q, buf, len, -1) < 0)
            status = lib_error(cmd);
        free(buf);
        return close_queue(cmd, q, &p, status);
    }
    for (;;) {
        ssize_t n = getline(&line, &cap, stdin);

        if (n < 0)
            break;
        if (n > 0 && line[n - 1] == '\n')
            n--;
        if (ushm_queue_send(q, line, (size_t)n, -1) < 0) {
            status = lib_error(cmd);
            break;
        }
    }
    if (status == 0 && ferror(stdin))
        status = tool_error(cmd, "reading standard input failed");
    free(line);
    return close_queue(cmd, q, &p, status);
}

int cmd_recv(const struct command *cmd, struct args *a)
{
    struct queue_place p;
    ushm_queue_t *q;
    size_t count = 0, timeout = 0, max;
    char *buf;
    int status = 0;

    if ((status = parse_number_opt(cmd, "--count", a->count, &count)) != 0 ||
        (status = parse_number_opt(cmd, "--timeout", a->timeout, &timeout)) != 0)
        return status;
    if ((status = open_queue(cmd, a, &p)) != 0)
        return status;
    if (ushm_queue_attach(&q, p.mem, p.bytes, USHM_QUEUE_RECV) < 0) {
        status = lib_error(cmd);
        ushm_close(p.shm);
        return status;
    }
    max = ushm_queue_msg_max(q);
    if ((buf = malloc(max + 1)) == NULL)
        return close_queue(cmd, q, &p, tool_error(cmd, "out of memory"));
    for (size_t got = 0; !(a->seen & OPT_COUNT) || got < count; got++) {
        size_t len;
        int rc = ushm_queue_recv(q, buf, max, &len,
                                 a->seen & OPT_TIMEOUT ? (long)timeout : -1);

        if (rc == -EPIPE)
            break; /* the end of the stream, as read() of a pipe says 0 */
        if (rc == -ETIMEDOUT) {
            char msg[96];

            snprintf(msg, sizeof msg, "no message in %zu ms", timeout);
            status = tool_error(cmd, msg);
            break;
        }
        if (rc < 0) {
            status = lib_error(cmd);
            break;
        }
        if (!(a->seen & OPT_RAW))
            buf[len++] = '\n';
        if (fwrite(buf, 1, len, stdout) != len)
            break; /* main() reports standard output's failure */
        flush_stdout();
    }
    free(buf);
    return close_queue(cmd, q, &p, status);
}

/* stat: the queue at the start of the segment, if it holds one.  Quietly
 * nothing where the caller may not map it read-write or it holds none. */
static int queue_stat_of(const struct target *t, struct ushm_queue_stat *st)
{
    ushm_t *shm;
    int found;

    if (target_open(t, &shm, 0, 0, 0) < 0)
        return 0;
    found = ushm_size(shm) >= USHM_QUEUE_BYTES_MIN &&
            ushm_queue_stat(ushm_addr(shm), ushm_size(shm) < USHM_QUEUE_BYTES_MAX ?
                            ushm_size(shm) : USHM_QUEUE_BYTES_MAX, st) == 0 &&
            st->bytes != 0;
    ushm_close(shm);
    return found;
}

/* The queue's fields, in stat's text and JSON key order. */
#define QUEUE_FIELDS(X) \
    X(depth, st.depth) X(used, st.used) X(capacity, st.capacity) \
    X(msg_max, st.msg_max) X(producers, st.producers) \
    X(consumers, st.consumers) X(sent, st.sent) X(received, st.received)

void print_queue_stat(const struct target *t)
{
    struct ushm_queue_stat st;

    if (!queue_stat_of(t, &st))
        return;
#define X(key, v) printf("queue_" #key ": %llu\n", (unsigned long long)(v));
    QUEUE_FIELDS(X)
#undef X
}

/* stat --json: ', "queue": {...}' to add inside the segment's object, or
 * ', "queue": null' where it holds none (or cannot be mapped read-write). */
void json_queue_stat(FILE *f, const struct target *t)
{
    struct ushm_queue_stat st;
    const char *sep = "";

    if (!queue_stat_of(t, &st)) {
        fputs(", \"queue\": null", f);
        return;
    }
    fputs(", \"queue\": {", f);
#define X(key, v) \
    fprintf(f, "%s\"" #key "\": %llu", sep, (unsigned long long)(v)); sep = ", ";
    QUEUE_FIELDS(X)
#undef X
    fputc('}', f);
}
