/* SPDX-License-Identifier: MIT */
/*
 * The subcommands: each takes its parsed arguments and returns the exit
 * status.  Only the library's public calls touch segments.
 */
#define _POSIX_C_SOURCE 200809L

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
    else
        print_queue_stat(a->pos[0]);
    free(e.name);
    return rc;
}

/* The key from ushm_key(), as stat and ls show keys (text and JSON). */
int cmd_key(const struct command *cmd, struct args *a)
{
    char canon[USHM_NAME_MAX + 2], text[16];
    key_t key;

    if (ushm_key(a->pos[0], &key) < 0)
        return lib_error(cmd);
    snprintf(text, sizeof text, "0x%08" PRIx32, (uint32_t)key);
    if (!(a->seen & OPT_JSON)) {
        printf("%s\n", text);
        return 0;
    }
    canonical_name(a->pos[0], canon, sizeof canon);
    fputs("{\"name\": ", stdout);
    json_string(stdout, canon);
    fputs(", \"key\": ", stdout);
    json_string(stdout, text);
    fputs("}\n", stdout);
    return 0;
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
    if (statvfs(SEGLIST_POSIX_DIR, &vfs) == 0) {
        printf(SEGLIST_POSIX_DIR " size: %llu bytes\n",
               (unsigned long long)vfs.f_blocks * vfs.f_frsize);
        printf(SEGLIST_POSIX_DIR " free: %llu bytes\n",
               (unsigned long long)vfs.f_bavail * vfs.f_frsize);
    } else {
        printf(SEGLIST_POSIX_DIR " size: unknown\n" SEGLIST_POSIX_DIR " free: unknown\n");
    }
    return 0;
}

/* The demo is an example program, examples/demo.c, linked in. */
int cmd_demo(const struct command *cmd, struct args *a)
{
    (void)cmd;
    (void)a;
    return demo_run("ushm: demo");
}
