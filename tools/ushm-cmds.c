/* SPDX-License-Identifier: MIT */
/*
 * The subcommands: each takes its parsed arguments and returns the exit
 * status.  Only the library's public calls touch segments.
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ushm-tool.h"

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int cmd_create(const struct command *cmd, struct args *a)
{
    ushm_t *shm;
    size_t size;
    mode_t mode = 0600;
    int flags = USHM_CREATE | ((a->seen & OPT_EXCL) ? USHM_EXCL : 0);

    if (parse_size(a->pos[1], &size) != 0)
        return usage_error(cmd, "invalid size '%s' (bytes, or a number with "
                           "a K, M or G suffix)", a->pos[1]);
    if (a->mode && parse_mode(a->mode, &mode) != 0)
        return usage_error(cmd, "invalid mode '%s' (octal, e.g. 0640)", a->mode);
    if (ushm_open(&shm, a->pos[0], size, flags, mode) < 0)
        return lib_error(cmd);
    if (ushm_close(shm) < 0)
        return lib_error(cmd);
    return 0;
}

int cmd_rm(const struct command *cmd, struct args *a)
{
    int status = 0;

    for (int i = 0; i < a->npos; i++)
        if (ushm_unlink(a->pos[i]) < 0)
            status = lib_error(cmd);
    return status;
}

int cmd_stat(const struct command *cmd, struct args *a)
{
    struct entry e;
    char msg[256];
    int rc = stat_entry(a->pos[0], &e, msg, sizeof msg);

    if (rc > 0)
        return lib_error(cmd);
    if (rc < 0)
        return tool_error(cmd, msg);
    if (a->seen & OPT_JSON) {
        json_entry(stdout, &e);
        putchar('\n');
    } else if (print_fields(&e, (a->seen & OPT_BYTES) != 0) != 0)
        rc = tool_error(cmd, "out of memory");
    free(e.name);
    return rc;
}

int cmd_write(const struct command *cmd, struct args *a)
{
    ushm_t *shm;
    size_t offset = 0, room, cap = 0, got = 0;
    char *buf = NULL, msg[256];
    int rc, status = 1;

    if ((rc = parse_number_opt(cmd, "offset", a->offset, &offset)) != 0)
        return rc;
    if (ushm_open(&shm, a->pos[0], 0, 0, 0) < 0)
        return lib_error(cmd);
    if (offset > ushm_size(shm)) {
        snprintf(msg, sizeof msg, "offset %zu is past the end of %s (%zu bytes)",
                 offset, ushm_name(shm), ushm_size(shm));
        tool_error(cmd, msg);
        goto out;
    }
    /* Read all of stdin (at most room + 1 bytes) before touching the
     * segment, so that input which does not fit changes nothing. */
    room = ushm_size(shm) - offset;
    for (;;) {
        ssize_t n;

        if (got == cap) {
            size_t want = cap ? cap * 2 : 65536;
            char *p;

            if (want > room + 1 || want < cap)
                want = room + 1;
            if (want == cap)
                break;
            if (!(p = realloc(buf, want))) {
                tool_error(cmd, "out of memory reading standard input");
                goto out;
            }
            buf = p;
            cap = want;
        }
        n = read(STDIN_FILENO, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(msg, sizeof msg, "reading standard input: %s",
                     strerror(errno));
            tool_error(cmd, msg);
            goto out;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got > room) {
        snprintf(msg, sizeof msg, "input does not fit: %s is %zu bytes, so "
                 "only %zu bytes fit at offset %zu; nothing was written",
                 ushm_name(shm), ushm_size(shm), room, offset);
        tool_error(cmd, msg);
        goto out;
    }
    if (got > 0)
        memcpy((char *)ushm_addr(shm) + offset, buf, got);
    status = 0;
out:
    free(buf);
    if (ushm_close(shm) < 0 && status == 0)
        status = lib_error(cmd);
    return status;
}

int cmd_read(const struct command *cmd, struct args *a)
{
    ushm_t *shm;
    size_t offset = 0, length = 0, size;
    char msg[256];
    int rc, status = 1;

    if ((rc = parse_number_opt(cmd, "offset", a->offset, &offset)) != 0 ||
        (rc = parse_number_opt(cmd, "length", a->length, &length)) != 0)
        return rc;
    if (ushm_open(&shm, a->pos[0], 0, USHM_RDONLY, 0) < 0)
        return lib_error(cmd);
    size = ushm_size(shm);
    if (offset > size) {
        snprintf(msg, sizeof msg, "offset %zu is past the end of %s (%zu bytes)",
                 offset, ushm_name(shm), size);
        tool_error(cmd, msg);
        goto out;
    }
    if (!a->length)
        length = size - offset;
    if (length > size - offset) {
        snprintf(msg, sizeof msg, "%zu bytes at offset %zu run past the end "
                 "of %s (%zu bytes)", length, offset, ushm_name(shm), size);
        tool_error(cmd, msg);
        goto out;
    }
    if (write_all(STDOUT_FILENO, (const char *)ushm_addr(shm) + offset,
                  length) < 0) {
        snprintf(msg, sizeof msg, "writing standard output: %s", strerror(errno));
        tool_error(cmd, msg);
        goto out;
    }
    status = 0;
out:
    if (ushm_close(shm) < 0 && status == 0)
        status = lib_error(cmd);
    return status;
}

int cmd_ls(const struct command *cmd, struct args *a)
{
    struct entries l = { 0 };
    int cols[NCOLUMNS], rc;
    size_t ncols;
    char msg[256];

    if (a->output && strcasecmp(a->output, "help") == 0) {
        print_columns_help();
        return 0;
    }
    if (a->output && (a->seen & OPT_JSON))
        return usage_error(cmd, "--output does not go with --json, which "
                           "prints every key");
    if ((rc = pick_columns(cmd, a->output, cols, &ncols)) != 0)
        return rc;
    if (backend_entries(&l, msg, sizeof msg) != 0) {
        free_entries(&l);
        return tool_error(cmd, msg);
    }
    if (a->seen & OPT_JSON) {
        print_json_list(&l);
    } else if (print_table(&l, cols, ncols, (a->seen & OPT_BYTES) != 0,
                           !(a->seen & OPT_NOHEADINGS)) != 0) {
        rc = tool_error(cmd, "out of memory");
    } else {
        flush_stdout();     /* the notes come after the table */
        print_notes(cmd, &l);
    }
    free_entries(&l);
    return rc;
}

static void print_kernel_value(const char *key, const char *unit)
{
    char path[64], buf[64] = "";
    FILE *f;

    snprintf(path, sizeof path, "/proc/sys/kernel/%s", key);
    if ((f = fopen(path, "r")) != NULL) {
        if (!fgets(buf, sizeof buf, f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    if (buf[0])
        printf("kernel.%s: %s%s\n", key, buf, unit);
    else
        printf("kernel.%s: unknown\n", key);
}

int cmd_info(const struct command *cmd, struct args *a)
{
    struct statvfs vfs;
    long page = sysconf(_SC_PAGESIZE);

    (void)cmd;
    (void)a;
    printf("backend: %s\nversion: %s\n", ushm_backend(), ushm_version());
    if (page > 0)
        printf("page size: %ld\n", page);
    else
        printf("page size: unknown\n");
    print_kernel_value("shmmax", " bytes");
    print_kernel_value("shmmni", " segments");
    print_kernel_value("shmall", " pages");
    print_kernel_value("shm_rmid_forced", "");
    if (statvfs(POSIX_SHM_DIR, &vfs) == 0) {
        printf(POSIX_SHM_DIR " size: %llu bytes\n",
               (unsigned long long)vfs.f_blocks * vfs.f_frsize);
        printf(POSIX_SHM_DIR " free: %llu bytes\n",
               (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    } else {
        printf(POSIX_SHM_DIR " size: unknown\n" POSIX_SHM_DIR " free: unknown\n");
    }
    return 0;
}

/*
 * demo: the parent produces, a forked child consumes, through one message
 * slot in a named segment.  The slot's mutex guards the message and the
 * answer; the producer notifies the event "sent" after each message, the
 * consumer notifies "answered" once it has its mapping and after checking
 * each message.  Nobody polls or sleeps.  The name is unlinked as soon as the
 * child has opened it, so nothing is left behind whatever happens next;
 * termination signals are held until then.
 */
#define DEMO_MESSAGES 5
#define DEMO_PATIENCE_MS 10000L

struct demo_slot {
    ushm_mutex_t lock;      /* guards everything below */
    ushm_event_t sent;      /* notified by the producer */
    ushm_event_t answered;  /* notified by the consumer */
    uint32_t opened;        /* 1 once the consumer has its own mapping */
    uint32_t stop;          /* 1: the producer gives up, no more messages */
    uint32_t seq;           /* 1..DEMO_MESSAGES once the message is written */
    uint32_t sum;           /* FNV-1a of text, to check it arrived intact */
    uint32_t checked;       /* the last seq the consumer checked */
    uint32_t intact;        /* and whether it was intact */
    char text[56];
};

static void demo_text(char *buf, size_t len, unsigned i, long pid)
{
    snprintf(buf, len, "message %u of %d from producer %ld", i, DEMO_MESSAGES, pid);
}

/* Lock the slot.  Each field is written whole under the lock, so a holder
 * that died (USHM_OWNERDEAD) left nothing to repair. */
static int demo_lock(struct demo_slot *slot, const char *who)
{
    if (ushm_mutex_lock(&slot->lock) < 0) {
        fprintf(stderr, "ushm: demo: %s: %s\n", who, ushm_last_error());
        return -1;
    }
    return 0;
}

static int demo_consumer(const char *name, long producer)
{
    struct demo_slot *slot;
    unsigned intact = 0, done = 0;
    ushm_t *shm;

    if (ushm_open(&shm, name, 0, 0, 0) < 0) {
        fprintf(stderr, "ushm: demo: consumer: %s\n", ushm_last_error());
        return 1;
    }
    printf("consumer %ld: opened %s (%zu bytes)\n", (long)getpid(),
           ushm_name(shm), ushm_size(shm));
    fflush(stdout);
    slot = ushm_addr(shm);
    if (demo_lock(slot, "consumer") < 0)
        goto out;
    slot->opened = 1;
    ushm_mutex_unlock(&slot->lock);
    ushm_event_notify(&slot->answered);

    while (done < DEMO_MESSAGES) {
        /* Read the event before looking, so a notify in between counts. */
        unsigned seen = ushm_event_read(&slot->sent), seq, stop;
        char text[sizeof slot->text], want[sizeof slot->text];
        uint32_t sum;
        int ok = 0;

        if (demo_lock(slot, "consumer") < 0)
            break;
        seq = slot->seq;
        stop = slot->stop;
        sum = slot->sum;
        memcpy(text, slot->text, sizeof text);
        if (seq == done + 1) {
            demo_text(want, sizeof want, seq, producer);
            ok = memchr(text, '\0', sizeof text) != NULL && sum == fnv1a(text) &&
                 strncmp(text, want, sizeof want) == 0;
            slot->checked = seq;
            slot->intact = (uint32_t)ok;
        }
        ushm_mutex_unlock(&slot->lock);
        if (stop)
            break;
        if (seq != done + 1) {
            if (ushm_event_wait(&slot->sent, seen, DEMO_PATIENCE_MS) < 0) {
                fprintf(stderr, "ushm: demo: consumer: %s\n", ushm_last_error());
                break;
            }
            continue;
        }
        done = seq;
        intact += ok;
        printf("consumer: received #%u: \"%.*s\" %s\n", seq, (int)sizeof text,
               text, ok ? "(intact)" : "(CORRUPT)");
        fflush(stdout);
        ushm_event_notify(&slot->answered);
    }
out:
    ushm_close(shm);
    return intact == DEMO_MESSAGES ? 0 : 1;
}

/*
 * Wait until *field (read under the lock) reaches want, or the consumer has
 * exited (then reaped into *wstatus).  0 when it did.
 */
static int demo_await(struct demo_slot *slot, const uint32_t *field,
                      uint32_t want, pid_t child, int *wstatus, int *reaped)
{
    for (long waited = 0; waited < DEMO_PATIENCE_MS; waited += 100) {
        unsigned seen = ushm_event_read(&slot->answered);
        uint32_t v;
        int err;

        if (demo_lock(slot, "producer") < 0)
            return -1;
        v = *field;
        ushm_mutex_unlock(&slot->lock);
        if (v == want)
            return 0;
        err = ushm_event_wait(&slot->answered, seen, 100);
        if (err < 0 && err != -ETIMEDOUT) {
            fprintf(stderr, "ushm: demo: producer: %s\n", ushm_last_error());
            return -1;
        }
        if (err == -ETIMEDOUT && waitpid(child, wstatus, WNOHANG) == child) {
            *reaped = 1;
            return -1;
        }
    }
    fprintf(stderr, "ushm: demo: producer: no answer from the consumer in %ld s\n",
            DEMO_PATIENCE_MS / 1000);
    return -1;
}

int cmd_demo(const struct command *cmd, struct args *a)
{
    ushm_t *shm;
    struct demo_slot *slot;
    char name[USHM_NAME_MAX + 1];
    int wstatus = 0, status = 1, unlinked = 0, reaped = 0;
    unsigned delivered = 0;
    long self = (long)getpid();
    sigset_t hold, old;
    pid_t child = -1;

    (void)a;
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGQUIT);
    sigprocmask(SIG_BLOCK, &hold, &old);

    snprintf(name, sizeof name, "/ushm-demo-%ld", self);
    if (ushm_open(&shm, name, sizeof *slot, USHM_CREATE | USHM_EXCL, 0600) < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return lib_error(cmd);
    }
    slot = ushm_addr(shm);  /* zero-filled: the mutex and events are ready */
    printf("backend: %s\nproducer %ld: created %s (%zu bytes)\n",
           ushm_backend(), self, ushm_name(shm), ushm_size(shm));
    fflush(stdout);

    if ((child = fork()) < 0) {
        perror("ushm: demo: fork");
    } else if (child == 0) {
        int rc;

        sigprocmask(SIG_SETMASK, &old, NULL);
        ushm_close(shm);    /* the consumer maps the segment by its name */
        rc = demo_consumer(name, self);
        fflush(stdout);
        _exit(rc);
    }

    /* Once the consumer has its own mapping the name is no longer needed:
     * unlinking it now means no failure from here on can leave it behind. */
    if (child > 0 &&
        demo_await(slot, &slot->opened, 1, child, &wstatus, &reaped) == 0) {
        if (ushm_unlink(name) < 0) {
            lib_error(cmd);
        } else {
            unlinked = 1;
            printf("producer: unlinked %s; both processes keep their mappings\n",
                   name);
            fflush(stdout);
        }
        for (unsigned i = 1; unlinked && i <= DEMO_MESSAGES; i++) {
            if (demo_lock(slot, "producer") < 0)
                break;
            demo_text(slot->text, sizeof slot->text, i, self);
            slot->sum = fnv1a(slot->text);
            slot->seq = i;
            printf("producer: sent #%u: \"%s\"\n", i, slot->text);
            fflush(stdout);
            ushm_mutex_unlock(&slot->lock);
            ushm_event_notify(&slot->sent);
            if (demo_await(slot, &slot->checked, i, child, &wstatus, &reaped) < 0)
                break;
            delivered += slot->intact != 0; /* read after the lock in demo_await */
        }
    }
    if (child > 0 && !reaped) {
        /* Tell a consumer still waiting that no more messages come. */
        if (demo_lock(slot, "producer") == 0) {
            slot->stop = 1;
            ushm_mutex_unlock(&slot->lock);
        }
        ushm_event_notify(&slot->sent);
        while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    if (!unlinked) {
        if (ushm_unlink(name) < 0)
            lib_error(cmd);
        else
            printf("producer: unlinked %s\n", name);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (ushm_close(shm) < 0)
        lib_error(cmd);
    else
        printf("producer: closed %s\n", name);
    if (child > 0 && delivered == DEMO_MESSAGES && WIFEXITED(wstatus) &&
        WEXITSTATUS(wstatus) == 0)
        status = 0;
    printf("%u of %d messages arrived intact\n", delivered, DEMO_MESSAGES);
    if (status != 0)
        fprintf(stderr, "ushm: demo: failed\n");
    return status;
}
