/* SPDX-License-Identifier: MIT */
/*
 * The subcommands: each takes its parsed arguments and returns the exit
 * status.  Only the library's public calls touch segments.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ushm.h>

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ushm-tool.h"
#include "../examples/demo.h"

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

/* A page of t's segment, at offset `at`, could not be given memory: the
 * touch raised SIGBUS (ushm-guard.c).  Says so, and what became of the copy. */
static int no_memory(const struct command *cmd, const struct target *t,
                     size_t at, const char *outcome)
{
    char msg[512], room[96] = "";
    struct statvfs vfs;
    long page = sysconf(_SC_PAGESIZE);

    if (page > 0)
        at -= at % (size_t)page;
    if (!is_sysv() && statvfs(SEGLIST_POSIX_DIR, &vfs) == 0)
        snprintf(room, sizeof room, ": " SEGLIST_POSIX_DIR " has %llu bytes "
                 "free", (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    snprintf(msg, sizeof msg, "%s: the page at offset %zu has no memory yet, "
             "and the system has none to give it (SIGBUS)%s; %s", t->label,
             at, room, outcome);
    return tool_error(cmd, msg);
}

/* 0 if t's segment has the permission bits want, else 1, said. */
static int check_mode(const struct command *cmd, const struct target *t,
                      mode_t want)
{
    struct ushm_stat st;
    char msg[256];

    if (target_stat(t, &st) < 0)
        return lib_error(cmd);
    if ((st.mode & 0777) == want)
        return 0;
    snprintf(msg, sizeof msg, "%s exists with mode %04o, not %04o: its mode "
             "is left as it is (remove it and create it again for another; "
             "without --mode, create joins it as it is)", t->label,
             (unsigned)(st.mode & 0777), (unsigned)want);
    return tool_error(cmd, msg);
}

int cmd_create(const struct command *cmd, struct args *a)
{
    struct target t;
    ushm_t *shm;
    size_t size;
    mode_t mode = 0600;
    int flags = USHM_CREATE | ((a->seen & OPT_EXCL) ? USHM_EXCL : 0), rc;
    char **rest;

    if ((rc = one_target(cmd, a, &t, &rest)) != 0)
        return rc;
    if (parse_size(rest[0], &size) != 0)
        return usage_error(cmd, "invalid size '%s' (bytes, or a number with "
                           "a K, M or G suffix)", rest[0]);
    if (a->mode && parse_mode(a->mode, &mode) != 0)
        return usage_error(cmd, "invalid mode '%s' (octal, e.g. 0640)", a->mode);
    if (target_open(&t, &shm, size, flags, mode) < 0)
        return lib_error(cmd);
    /* Joining is fine, but not with other permission bits than were asked
     * for: the caller would believe they hold.  A mode is its creator's. */
    if (!ushm_created(shm) && (a->seen & OPT_MODE))
        rc = check_mode(cmd, &t, mode != 0 ? mode : 0600);
    if (ushm_close(shm) < 0 && rc == 0)
        rc = lib_error(cmd);
    return rc;
}

/* Every name, then every key: each is tried whatever became of the others. */
int cmd_rm(const struct command *cmd, struct args *a)
{
    struct target t;
    int status = 0;

    for (int i = 0; i < a->nkeys; i++)
        if (target_of_key(cmd, a->keys[i], &t) != 0)
            return 2;
    for (int i = 0; i < a->npos; i++) {
        target_of_name(a->pos[i], &t);
        if (target_unlink(&t) < 0)
            status = lib_error(cmd);
    }
    for (int i = 0; i < a->nkeys; i++) {
        target_of_key(cmd, a->keys[i], &t);
        if (target_unlink(&t) < 0)
            status = lib_error(cmd);
    }
    return status;
}

int cmd_stat(const struct command *cmd, struct args *a)
{
    struct target t;
    struct entry e;
    char msg[256];
    int rc;

    if ((rc = one_target(cmd, a, &t, NULL)) != 0)
        return rc;
    rc = stat_entry(&t, &e, msg, sizeof msg);
    if (rc != 0) {
        free(e.name);
        return rc > 0 ? lib_error(cmd) : tool_error(cmd, msg);
    }
    if (a->seen & OPT_JSON) {
        json_entry_open(stdout, &e);
        json_queue_stat(stdout, &t);
        fputs("}\n", stdout);
    } else if (print_fields(&e, (a->seen & OPT_BYTES) != 0) != 0)
        rc = tool_error(cmd, "out of memory");
    else
        print_queue_stat(&t);
    free(e.name);
    return rc;
}

/* The key from ushm_key(), as stat and ls show keys (text and JSON); with
 * --key, that key written as they show it. */
int cmd_key(const struct command *cmd, struct args *a)
{
    struct target t;
    char text[16];
    key_t key;
    int rc;

    if ((rc = one_target(cmd, a, &t, NULL)) != 0)
        return rc;
    if (!t.name)
        key = t.key;
    else if (ushm_key(t.name, &key) < 0)
        return lib_error(cmd);
    snprintf(text, sizeof text, "0x%08" PRIx32, (uint32_t)key);
    if (!(a->seen & OPT_JSON)) {
        printf("%s\n", text);
        return 0;
    }
    fputs("{\"name\": ", stdout);
    if (t.name)
        json_string(stdout, t.label);
    else
        fputs("null", stdout);
    fputs(", \"key\": ", stdout);
    json_string(stdout, text);
    fputs("}\n", stdout);
    return 0;
}

int cmd_write(const struct command *cmd, struct args *a)
{
    struct target t;
    ushm_t *shm;
    size_t offset = 0, room, cap = 0, got = 0, at;
    char *buf = NULL, msg[256];
    int rc, status = 1;

    if ((rc = one_target(cmd, a, &t, NULL)) != 0 ||
        (rc = parse_number_opt(cmd, "offset", a->offset, &offset)) != 0)
        return rc;
    if (target_open(&t, &shm, 0, 0, 0) < 0)
        return lib_error(cmd);
    if (offset > ushm_size(shm)) {
        snprintf(msg, sizeof msg, "offset %zu is past the end of %s (%zu bytes)",
                 offset, t.label, ushm_size(shm));
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
                 t.label, ushm_size(shm), room, offset);
        tool_error(cmd, msg);
        goto out;
    }
    /* Every page first, so that a page with no memory to be had (SIGBUS)
     * stops the write before any byte of it is copied. */
    if (touch_pages((char *)ushm_addr(shm) + offset, got, &at) != 0) {
        no_memory(cmd, &t, offset + at, "nothing was written");
        goto out;
    }
    if (copy_in((char *)ushm_addr(shm) + offset, buf, got, &at) != 0) {
        no_memory(cmd, &t, offset + at, "part of the input may have been "
                  "written");
        goto out;
    }
    status = 0;
out:
    free(buf);
    if (ushm_close(shm) < 0 && status == 0)
        status = lib_error(cmd);
    return status;
}

int cmd_read(const struct command *cmd, struct args *a)
{
    struct target t;
    ushm_t *shm;
    size_t offset = 0, length = 0, size, at;
    char msg[256];
    int rc, status = 1;

    if ((rc = one_target(cmd, a, &t, NULL)) != 0 ||
        (rc = parse_number_opt(cmd, "offset", a->offset, &offset)) != 0 ||
        (rc = parse_number_opt(cmd, "length", a->length, &length)) != 0)
        return rc;
    if (target_open(&t, &shm, 0, USHM_RDONLY, 0) < 0)
        return lib_error(cmd);
    size = ushm_size(shm);
    if (offset > size) {
        snprintf(msg, sizeof msg, "offset %zu is past the end of %s (%zu bytes)",
                 offset, t.label, size);
        tool_error(cmd, msg);
        goto out;
    }
    if (!a->length)
        length = size - offset;
    if (length > size - offset) {
        snprintf(msg, sizeof msg, "%zu bytes at offset %zu run past the end "
                 "of %s (%zu bytes)", length, offset, t.label, size);
        tool_error(cmd, msg);
        goto out;
    }
    /* A page that gets no memory (SIGBUS) is found before anything is
     * output; write(2) would only have said EFAULT, half-way. */
    if (touch_pages((const char *)ushm_addr(shm) + offset, length, &at) != 0) {
        no_memory(cmd, &t, offset + at, "nothing was written to standard "
                  "output");
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
#ifdef USHM_POSIX_UNLISTED
    (void)vfs;
    printf("POSIX objects: not files: %s\n", USHM_POSIX_UNLISTED);
#else
    if (statvfs(SEGLIST_POSIX_DIR, &vfs) == 0) {
        printf(SEGLIST_POSIX_DIR " size: %llu bytes\n",
               (unsigned long long)vfs.f_blocks * vfs.f_frsize);
        printf(SEGLIST_POSIX_DIR " free: %llu bytes\n",
               (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    } else {
        printf(SEGLIST_POSIX_DIR " size: unknown\n" SEGLIST_POSIX_DIR " free: unknown\n");
    }
#endif
    return 0;
}

/* The demo is an example program, examples/demo.c, linked in. */
int cmd_demo(const struct command *cmd, struct args *a)
{
    (void)cmd;
    (void)a;
    return demo_run("ushm: demo");
}
