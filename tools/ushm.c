/*
 * ushm: create, inspect, fill, dump and remove libushm segments from the
 * shell, on the backend the library was configured with.  See ushm(1).
 *
 * Only the public API is used.  The library has no call that enumerates
 * segments, so "ls" reads /dev/shm (POSIX) or /proc/sysvipc/shm (SysV).
 * Options are parsed by hand: there are few, and it keeps the file free of
 * getopt_long and _GNU_SOURCE.
 */
#define _POSIX_C_SOURCE 200809L

#include "ushm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define POSIX_SHM_DIR "/dev/shm"
#define SYSV_SHM_FILE "/proc/sysvipc/shm"

/* ---- command table and argument parsing ---- */

enum {
    OPT_JSON = 1 << 0,
    OPT_EXCL = 1 << 1,
    OPT_MODE = 1 << 2,
    OPT_OFFSET = 1 << 3,
    OPT_LENGTH = 1 << 4,
};

static const struct option_def {
    const char *name;
    unsigned bit;
    int has_arg;
} options[] = {
    { "--json", OPT_JSON, 0 },
    { "--excl", OPT_EXCL, 0 },
    { "--mode", OPT_MODE, 1 },
    { "--offset", OPT_OFFSET, 1 },
    { "--length", OPT_LENGTH, 1 },
};

struct args {
    unsigned seen;          /* OPT_* bits given */
    const char *mode, *offset, *length;
    char **pos;             /* positional arguments */
    int npos;
};

struct command {
    const char *name;
    const char *usage;      /* what follows "ushm " */
    unsigned opts;          /* OPT_* bits accepted */
    int min_pos, max_pos;   /* max_pos < 0: no limit */
    int (*run)(const struct command *, struct args *);
};

static int cmd_create(const struct command *, struct args *);
static int cmd_rm(const struct command *, struct args *);
static int cmd_stat(const struct command *, struct args *);
static int cmd_write(const struct command *, struct args *);
static int cmd_read(const struct command *, struct args *);
static int cmd_ls(const struct command *, struct args *);
static int cmd_info(const struct command *, struct args *);
static int cmd_demo(const struct command *, struct args *);

static const struct command commands[] = {
    { "create", "create NAME SIZE [--mode MODE] [--excl]",
      OPT_MODE | OPT_EXCL, 2, 2, cmd_create },
    { "rm", "rm NAME...", 0, 1, -1, cmd_rm },
    { "stat", "stat NAME [--json]", OPT_JSON, 1, 1, cmd_stat },
    { "write", "write NAME [--offset N] < FILE", OPT_OFFSET, 1, 1, cmd_write },
    { "read", "read NAME [--offset N] [--length N] > FILE",
      OPT_OFFSET | OPT_LENGTH, 1, 1, cmd_read },
    { "ls", "ls [--json]", OPT_JSON, 0, 0, cmd_ls },
    { "info", "info", 0, 0, 0, cmd_info },
    { "demo", "demo", 0, 0, 0, cmd_demo },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fputs("usage: ushm SUBCOMMAND [ARGS]\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "       ushm %s\n", commands[i].usage);
    fputs("       ushm --help | --version\n"
          "SIZE, N: bytes, or a number with a K, M or G suffix (powers of 1024)\n",
          f);
}

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* A usage error: the reason, then the usage line, on stderr; exit status 2. */
static int usage_error(const struct command *cmd, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static int usage_error(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("ushm: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (cmd)
        fprintf(stderr, "usage: ushm %s\n", cmd->usage);
    else
        print_usage(stderr);
    return 2;
}

/* A library failure: exit status 1, with the library's own sentence. */
static int lib_error(const struct command *cmd)
{
    fprintf(stderr, "ushm: %s: %s\n", cmd->name, ushm_last_error());
    return 1;
}

/* A failure found by the tool itself (not by the library): exit status 1. */
static int tool_error(const struct command *cmd, const char *msg)
{
    fprintf(stderr, "ushm: %s: %s\n", cmd->name, msg);
    return 1;
}

/*
 * Returns 0 when parsed, 2 on a usage error (already reported), or -1 when
 * --help was asked for.
 */
static int parse_args(const struct command *cmd, int argc, char **argv,
                      struct args *a)
{
    int only_pos = 0;

    memset(a, 0, sizeof *a);
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    if (!a->pos) {
        perror("ushm");
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        const struct option_def *o = NULL;
        size_t len;
        const char *value;

        /* "-1" is a bad number, reported as such, not an unknown option. */
        if (only_pos || arg[0] != '-' || arg[1] == '\0' ||
            (arg[1] >= '0' && arg[1] <= '9')) {
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return -1;
        len = strcspn(arg, "=");
        for (size_t j = 0; j < sizeof options / sizeof options[0]; j++)
            if (strlen(options[j].name) == len &&
                strncmp(options[j].name, arg, len) == 0 &&
                (cmd->opts & options[j].bit))
                o = &options[j];
        if (!o)
            return usage_error(cmd, "unknown option '%s'", arg);
        if (!o->has_arg) {
            if (arg[len] == '=')
                return usage_error(cmd, "option '%s' takes no value", o->name);
            value = NULL;
        } else if (arg[len] == '=') {
            value = arg + len + 1;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return usage_error(cmd, "option '%s' needs a value", o->name);
        }
        a->seen |= o->bit;
        if (o->bit == OPT_MODE)
            a->mode = value;
        else if (o->bit == OPT_OFFSET)
            a->offset = value;
        else if (o->bit == OPT_LENGTH)
            a->length = value;
    }
    if (a->npos < cmd->min_pos)
        return usage_error(cmd, "missing argument");
    if (cmd->max_pos >= 0 && a->npos > cmd->max_pos)
        return usage_error(cmd, "unexpected argument '%s'", a->pos[cmd->max_pos]);
    return 0;
}

/* "4096", "4K", "1M", "2G" (powers of 1024).  Rejects signs, spaces, garbage. */
static int parse_size(const char *s, size_t *out)
{
    unsigned long long v;
    size_t shift = 0;
    char *end;

    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -1;
    switch (*end) {
    case '\0': break;
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    default: return -1;
    }
    if (*end != '\0' || v > (unsigned long long)(SIZE_MAX >> shift))
        return -1;
    *out = (size_t)(v << shift);
    return 0;
}

/* Octal digits only; bits outside 0777 are left for the library to refuse. */
static int parse_mode(const char *s, mode_t *out)
{
    unsigned long v;
    char *end;

    if (!s || *s == '\0' || strspn(s, "01234567") != strlen(s))
        return -1;
    errno = 0;
    v = strtoul(s, &end, 8);
    if (errno || v > 07777777)
        return -1;
    *out = (mode_t)v;
    return 0;
}

static int parse_number_opt(const struct command *cmd, const char *opt,
                            const char *value, size_t *out)
{
    if (value && parse_size(value, out) != 0)
        return usage_error(cmd, "invalid %s '%s' (bytes, or a number with a "
                           "K, M or G suffix)", opt, value);
    return 0;
}

/* ---- output helpers ---- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), or 0. */
static int utf8_length(const unsigned char *p)
{
    unsigned char lo = 0x80, hi = 0xbf;
    int n;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    /* No overlong forms, no surrogates, nothing above U+10FFFF. */
    if (p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (int k = 2; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return n;
}

/* A JSON string: escapes quotes, backslashes and control characters, and
 * replaces bytes that are not UTF-8 (names in /dev/shm are any bytes). */
static void json_string(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p) {
        int n = utf8_length(p);

        if (n == 0) {
            fputs("\\ufffd", f);
            p++;
            continue;
        }
        if (n > 1)
            fwrite(p, 1, (size_t)n, f);
        else if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
        p += n;
    }
    fputc('"', f);
}

/* For text output: a name with control characters must not break lines. */
static void text_string(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);

    if (pw && pw->pw_name)
        return pw->pw_name;
    snprintf(buf, len, "%lu", (unsigned long)uid);
    return buf;
}

/* "cache" and "/cache" name one segment; show the form with the slash. */
static void canonical_name(const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s", name[0] == '/' ? "" : "/", name);
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h;
}

/* The SysV key of a canonical name, as documented in ushm(3): repeated here
 * so that "stat" can show it without the library's internals. */
static uint32_t sysv_key(const char *canonical)
{
    uint32_t h = fnv1a(canonical);

    return h ? h : 1;   /* never IPC_PRIVATE */
}

static int is_sysv(void)
{
    return strcmp(ushm_backend(), "sysv") == 0;
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

static ssize_t read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* ---- subcommands ---- */

static int cmd_create(const struct command *cmd, struct args *a)
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

static int cmd_rm(const struct command *cmd, struct args *a)
{
    int status = 0;

    for (int i = 0; i < a->npos; i++)
        if (ushm_unlink(a->pos[i]) < 0)
            status = lib_error(cmd);
    return status;
}

static int cmd_stat(const struct command *cmd, struct args *a)
{
    struct ushm_stat st;
    char name[USHM_NAME_MAX + 2];
    int sysv = is_sysv();

    if (ushm_stat(a->pos[0], &st) < 0)
        return lib_error(cmd);
    canonical_name(a->pos[0], name, sizeof name);
    if (a->seen & OPT_JSON) {
        fputs("{\"name\": ", stdout);
        json_string(stdout, name);
        fputs(", \"backend\": ", stdout);
        json_string(stdout, ushm_backend());
        if (sysv)
            printf(", \"key\": \"0x%08" PRIx32 "\"", sysv_key(name));
        printf(", \"size\": %zu, \"mode\": \"%04o\", \"uid\": %lu, "
               "\"gid\": %lu, \"nattach\": %ld}\n",
               st.size, (unsigned)(st.mode & 07777), (unsigned long)st.uid,
               (unsigned long)st.gid, st.nattach);
    } else {
        printf("name: %s\nbackend: %s\n", name, ushm_backend());
        if (sysv)
            printf("key: 0x%08" PRIx32 "\n", sysv_key(name));
        printf("size: %zu\nmode: %04o\nuid: %lu\ngid: %lu\nnattach: %ld\n",
               st.size, (unsigned)(st.mode & 07777), (unsigned long)st.uid,
               (unsigned long)st.gid, st.nattach);
    }
    return 0;
}

static int cmd_write(const struct command *cmd, struct args *a)
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

static int cmd_read(const struct command *cmd, struct args *a)
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

struct posix_entry {
    char *name;
    struct stat st;
};

static int compare_entries(const void *x, const void *y)
{
    return strcmp(((const struct posix_entry *)x)->name,
                  ((const struct posix_entry *)y)->name);
}

static int ls_posix(const struct command *cmd, int json)
{
    struct posix_entry *e = NULL;
    size_t n = 0, cap = 0;
    struct dirent *d;
    char msg[256], ubuf[32];
    DIR *dir = opendir(POSIX_SHM_DIR);

    if (!dir) {
        snprintf(msg, sizeof msg, "cannot list POSIX segments: %s: %s",
                 POSIX_SHM_DIR, strerror(errno));
        return tool_error(cmd, msg);
    }
    while ((d = readdir(dir)) != NULL) {
        struct stat st;

        /* Dotfiles are not objects; "sem." files are POSIX semaphores. */
        if (d->d_name[0] == '.' || strncmp(d->d_name, "sem.", 4) == 0)
            continue;
        if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (n == cap) {
            struct posix_entry *p = realloc(e, (cap ? cap * 2 : 32) * sizeof *e);
            if (!p)
                break;
            e = p;
            cap = cap ? cap * 2 : 32;
        }
        e[n].st = st;
        if ((e[n].name = malloc(strlen(d->d_name) + 2)) == NULL)
            break;
        sprintf(e[n].name, "/%s", d->d_name);
        n++;
    }
    closedir(dir);
    if (d != NULL) {
        for (size_t i = 0; i < n; i++)
            free(e[i].name);
        free(e);
        return tool_error(cmd, "out of memory");
    }
    if (n > 1)
        qsort(e, n, sizeof *e, compare_entries);

    if (json)
        fputc('[', stdout);
    else
        printf("%-32s %14s %5s %s\n", "NAME", "SIZE", "MODE", "OWNER");
    for (size_t i = 0; i < n; i++) {
        const char *user = user_name(e[i].st.st_uid, ubuf, sizeof ubuf);
        unsigned mode = (unsigned)(e[i].st.st_mode & 07777);
        long long size = (long long)e[i].st.st_size;

        if (json) {
            fputs(i ? ",\n {\"name\": " : "\n {\"name\": ", stdout);
            json_string(stdout, e[i].name);
            printf(", \"size\": %lld, \"mode\": \"%04o\", \"uid\": %lu, "
                   "\"owner\": ", size, mode, (unsigned long)e[i].st.st_uid);
            json_string(stdout, user);
            fputc('}', stdout);
        } else {
            text_string(stdout, e[i].name);
            printf("%*s %14lld  %04o %s\n",
                   strlen(e[i].name) < 32 ? (int)(32 - strlen(e[i].name)) : 0,
                   "", size, mode, user);
        }
        free(e[i].name);
    }
    if (json)
        fputs(n ? "\n]\n" : "]\n", stdout);
    free(e);
    return 0;
}

static int pid_alive(long pid)
{
    /* EPERM: the process exists but belongs to someone else. */
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int ls_sysv(const struct command *cmd, int json)
{
    enum { KEY, SHMID, PERMS, SIZE, CPID, NATTCH, UID, NCOLS };
    static const char *const colname[NCOLS] = {
        "key", "shmid", "perms", "size", "cpid", "nattch", "uid"
    };
    int col[NCOLS];
    char *line = NULL, *tok, *save, msg[256], ubuf[32];
    size_t linecap = 0, rows = 0;
    FILE *f = fopen(SYSV_SHM_FILE, "r");

    if (!f) {
        snprintf(msg, sizeof msg, "cannot list SysV segments: %s: %s",
                 SYSV_SHM_FILE, strerror(errno));
        return tool_error(cmd, msg);
    }
    /* Find the columns by their header names, not their positions. */
    for (int c = 0; c < NCOLS; c++)
        col[c] = -1;
    if (getline(&line, &linecap, f) > 0) {
        int i = 0;
        for (tok = strtok_r(line, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save), i++)
            for (int c = 0; c < NCOLS; c++)
                if (strcmp(tok, colname[c]) == 0)
                    col[c] = i;
    }
    for (int c = 0; c < NCOLS; c++)
        if (col[c] < 0) {
            free(line);
            fclose(f);
            snprintf(msg, sizeof msg, "%s: no '%s' column", SYSV_SHM_FILE,
                     colname[c]);
            return tool_error(cmd, msg);
        }

    if (json)
        fputc('[', stdout);
    else
        printf("%-10s %10s %14s %-10s %4s %7s %8s %s\n", "KEY", "SHMID",
               "SIZE", "OWNER", "MODE", "NATTACH", "CPID", "ALIVE");
    while (getline(&line, &linecap, f) > 0) {
        const char *v[NCOLS] = { 0 };
        unsigned long perms, nattach;
        unsigned long long size;
        long shmid, cpid, uid;
        uint32_t key;
        int i = 0, alive;
        const char *user;

        for (tok = strtok_r(line, " \t\n", &save); tok;
             tok = strtok_r(NULL, " \t\n", &save), i++)
            for (int c = 0; c < NCOLS; c++)
                if (col[c] == i)
                    v[c] = tok;
        if (!v[KEY] || !v[UID] || !v[CPID] || !v[NATTCH] || !v[SIZE] ||
            !v[PERMS] || !v[SHMID])
            continue;
        /* The kernel prints the key as a signed int. */
        key = (uint32_t)strtoll(v[KEY], NULL, 10);
        shmid = strtol(v[SHMID], NULL, 10);
        perms = strtoul(v[PERMS], NULL, 8);
        size = strtoull(v[SIZE], NULL, 10);
        nattach = strtoul(v[NATTCH], NULL, 10);
        cpid = strtol(v[CPID], NULL, 10);
        uid = strtol(v[UID], NULL, 10);
        alive = pid_alive(cpid);
        user = user_name((uid_t)uid, ubuf, sizeof ubuf);
        if (json) {
            printf("%s {\"key\": \"0x%08" PRIx32 "\", \"shmid\": %ld, "
                   "\"size\": %llu, \"uid\": %ld, \"owner\": ",
                   rows ? ",\n" : "\n", key, shmid, size, uid);
            json_string(stdout, user);
            printf(", \"mode\": \"%04lo\", \"nattach\": %lu, \"cpid\": %ld, "
                   "\"cpid_alive\": %s, \"removed\": %s}", perms & 0777,
                   nattach, cpid, alive ? "true" : "false",
                   (perms & 01000) ? "true" : "false");
        } else {
            /* 01000 is SHM_DEST: removed, waiting for the last detach. */
            printf("0x%08" PRIx32 " %10ld %14llu %-10s %04lo %7lu %8ld %s%s\n",
                   key, shmid, size, user, perms & 0777, nattach, cpid,
                   alive ? "yes" : "no", (perms & 01000) ? " (removed)" : "");
        }
        rows++;
    }
    if (json)
        fputs(rows ? "\n]\n" : "]\n", stdout);
    free(line);
    fclose(f);
    return 0;
}

static int cmd_ls(const struct command *cmd, struct args *a)
{
    int json = (a->seen & OPT_JSON) != 0;

    return is_sysv() ? ls_sysv(cmd, json) : ls_posix(cmd, json);
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

static int cmd_info(const struct command *cmd, struct args *a)
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
 * slot in a named segment.  The parent writes a message and publishes its
 * sequence number with a release store; a byte on one pipe wakes the child,
 * which reads it with an acquire load, checks it and answers on another pipe.
 * The name is unlinked as soon as the child has opened it, so nothing is
 * left behind whatever happens next; termination signals are held until then.
 */
#define DEMO_MESSAGES 5

struct demo_slot {
    atomic_uint seq;        /* 1..DEMO_MESSAGES once the message is written */
    uint32_t sum;           /* FNV-1a of text, to check it arrived intact */
    char text[56];
};

#if ATOMIC_INT_LOCK_FREE != 2
#error "demo needs lock-free atomic_uint to share it between processes"
#endif

static void demo_text(char *buf, size_t len, unsigned i, long pid)
{
    snprintf(buf, len, "message %u of %d from producer %ld", i, DEMO_MESSAGES, pid);
}

static int demo_consumer(const char *name, int rfd, int wfd, long producer)
{
    ushm_t *shm;
    const struct demo_slot *slot;
    unsigned intact = 0;
    char c;

    if (ushm_open(&shm, name, 0, USHM_RDONLY, 0) < 0) {
        fprintf(stderr, "ushm: demo: consumer: %s\n", ushm_last_error());
        write_all(wfd, "f", 1);
        return 1;
    }
    printf("consumer %ld: opened %s read-only (%zu bytes)\n", (long)getpid(),
           ushm_name(shm), ushm_size(shm));
    fflush(stdout);
    slot = ushm_addr(shm);
    if (write_all(wfd, "o", 1) < 0)
        goto out;
    while (read_full(rfd, &c, 1) == 1) {
        char want[sizeof slot->text];
        unsigned seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        int ok;

        demo_text(want, sizeof want, seq, producer);
        ok = seq == intact + 1 &&
             memchr(slot->text, '\0', sizeof slot->text) != NULL &&
             slot->sum == fnv1a(slot->text) &&
             strncmp(slot->text, want, sizeof want) == 0;
        intact += ok;
        printf("consumer: received #%u: \"%.*s\" %s\n", seq,
               (int)sizeof slot->text, slot->text, ok ? "(intact)" : "(CORRUPT)");
        fflush(stdout);
        if (write_all(wfd, ok ? "y" : "n", 1) < 0)
            break;
    }
out:
    ushm_close(shm);
    return intact == DEMO_MESSAGES ? 0 : 1;
}

static int cmd_demo(const struct command *cmd, struct args *a)
{
    ushm_t *shm;
    struct demo_slot *slot;
    char name[USHM_NAME_MAX + 1];
    int ready[2] = { -1, -1 }, ack[2] = { -1, -1 }, wstatus = 0;
    int status = 1, unlinked = 0;
    unsigned delivered = 0;
    long self = (long)getpid();
    sigset_t hold, old;
    pid_t child = -1;
    char c = 0;

    (void)a;
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGQUIT);
    sigprocmask(SIG_BLOCK, &hold, &old);
    signal(SIGPIPE, SIG_IGN);    /* a dead consumer is an error, not a kill */

    snprintf(name, sizeof name, "/ushm-demo-%ld", self);
    if (ushm_open(&shm, name, sizeof *slot, USHM_CREATE | USHM_EXCL, 0600) < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return lib_error(cmd);
    }
    slot = ushm_addr(shm);
    printf("backend: %s\nproducer %ld: created %s (%zu bytes)\n",
           ushm_backend(), self, ushm_name(shm), ushm_size(shm));
    fflush(stdout);

    if (pipe(ready) != 0 || pipe(ack) != 0) {
        perror("ushm: demo: pipe");
    } else if ((child = fork()) < 0) {
        perror("ushm: demo: fork");
    } else if (child == 0) {
        int rc;

        sigprocmask(SIG_SETMASK, &old, NULL);
        close(ready[1]);
        close(ack[0]);
        ushm_close(shm);    /* the consumer maps the segment by its name */
        rc = demo_consumer(name, ready[0], ack[1], self);
        fflush(stdout);
        _exit(rc);
    } else {
        close(ready[0]);
        close(ack[1]);
        ready[0] = ack[1] = -1;
    }

    /* Once the consumer has its own mapping the name is no longer needed:
     * unlinking it now means no failure from here on can leave it behind. */
    if (child > 0 && read_full(ack[0], &c, 1) == 1 && c == 'o') {
        if (ushm_unlink(name) < 0) {
            lib_error(cmd);
        } else {
            unlinked = 1;
            printf("producer: unlinked %s; both processes keep their mappings\n",
                   name);
            fflush(stdout);
        }
        for (unsigned i = 1; unlinked && i <= DEMO_MESSAGES; i++) {
            demo_text(slot->text, sizeof slot->text, i, self);
            slot->sum = fnv1a(slot->text);
            atomic_store_explicit(&slot->seq, i, memory_order_release);
            printf("producer: sent #%u: \"%s\"\n", i, slot->text);
            fflush(stdout);
            if (write_all(ready[1], "m", 1) < 0 || read_full(ack[0], &c, 1) != 1)
                break;
            delivered += c == 'y';
        }
    }
    for (int i = 0; i < 2; i++) {
        if (ready[i] >= 0)
            close(ready[i]);    /* the consumer sees EOF: no more messages */
        if (ack[i] >= 0)
            close(ack[i]);
    }
    if (child > 0)
        while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
            ;
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

int main(int argc, char **argv)
{
    const struct command *cmd = NULL;
    struct args a;
    int rc;

    if (argc < 2)
        return usage_error(NULL, "missing subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ushm %s (%s backend)\n", ushm_version(), ushm_backend());
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd && argv[1][0] == '-')
        return usage_error(NULL, "unknown option '%s'", argv[1]);
    if (!cmd)
        return usage_error(NULL, "unknown subcommand '%s'", argv[1]);
    rc = parse_args(cmd, argc - 2, argv + 2, &a);
    if (rc < 0) {
        printf("usage: ushm %s\n", cmd->usage);
        rc = 0;
    } else if (rc == 0) {
        rc = cmd->run(cmd, &a);
    }
    free(a.pos);
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "ushm: %s: writing standard output: %s\n", cmd->name,
                strerror(errno));
        rc = 1;
    }
    return rc;
}
