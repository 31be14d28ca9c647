/* SPDX-License-Identifier: MIT */
/*
 * ushm: create, inspect, fill, dump and remove libushm segments from the
 * shell, on the backend the library was configured with.  See ushm(1).
 *
 * Only the public API is used.  The library has no call that enumerates
 * segments, so "ls" reads /dev/shm (POSIX) or /proc/sysvipc/shm (SysV) and
 * marks what the library would refuse.  Options are parsed by hand: there
 * are few, and it keeps the file free of getopt_long and _GNU_SOURCE.
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
#include <strings.h>
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
    OPT_BYTES = 1 << 5,
    OPT_NOHEADINGS = 1 << 6,
    OPT_OUTPUT = 1 << 7,
};

static const struct option_def {
    const char *name;
    const char *short_name;     /* NULL: none */
    unsigned bit;
    int has_arg;
} options[] = {
    { "--json", "-J", OPT_JSON, 0 },
    { "--excl", NULL, OPT_EXCL, 0 },
    { "--mode", NULL, OPT_MODE, 1 },
    { "--offset", NULL, OPT_OFFSET, 1 },
    { "--length", NULL, OPT_LENGTH, 1 },
    { "--bytes", "-b", OPT_BYTES, 0 },
    { "--noheadings", "-n", OPT_NOHEADINGS, 0 },
    { "--output", "-o", OPT_OUTPUT, 1 },
};
#define NOPTIONS (sizeof options / sizeof options[0])

struct args {
    unsigned seen;          /* OPT_* bits given */
    const char *mode, *offset, *length, *output;
    char **pos;             /* positional arguments */
    int npos;
};

struct command {
    const char *name;
    const char *usage;      /* what follows "ushm " */
    const char *help;       /* what --help prints after the usage line */
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

#define HELP_NAME \
    "  NAME                \"/\" and 1 to 30 of A-Z a-z 0-9 . _ - (the slash may\n" \
    "                      be left out)\n"
#define HELP_HELP \
    "  -h, --help          print this help and exit\n"

static const struct command commands[] = {
    { "create", "create NAME SIZE [--mode MODE] [--excl]",
      "Create the segment NAME with SIZE bytes, zero-filled.  If it exists with\n"
      "at least SIZE bytes nothing is done (unless --excl).  Prints nothing.\n\n"
      HELP_NAME
      "  SIZE                bytes, or a number with a K, M or G suffix (1024s)\n"
      "  --mode MODE         permission bits in octal (default 0600); the umask\n"
      "                      is not applied\n"
      "  --excl              fail if the segment exists\n"
      HELP_HELP "\n"
      "Example:\n  ushm create /cache 64M --mode 0640\n",
      OPT_MODE | OPT_EXCL, 2, 2, cmd_create },
    { "rm", "rm NAME...",
      "Remove each named segment; processes that have it mapped keep it until\n"
      "they close it.  Every name is tried; the exit status is 1 if any could\n"
      "not be removed.  An empty POSIX object under a libushm name is removed\n"
      "too.  What is not a libushm name, or not a shared memory object, is\n"
      "refused: 'ushm ls' shows the command that removes it.\n\n"
      HELP_NAME HELP_HELP "\n"
      "Example:\n  ushm rm /cache /cache-old\n",
      0, 1, -1, cmd_rm },
    { "stat", "stat NAME [--json] [--bytes]",
      "Show one segment without mapping it: one 'key: value' line per field,\n"
      "or with --json the object that 'ushm ls --json' gives for it.\n\n"
      HELP_NAME
      "  -J, --json          print JSON (see ushm(1), OUTPUT)\n"
      "  -b, --bytes         the size in bytes rather than as 64M\n"
      HELP_HELP "\n"
      "Example:\n  ushm stat /cache --json\n",
      OPT_JSON | OPT_BYTES, 1, 1, cmd_stat },
    { "write", "write NAME [--offset N] < FILE",
      "Copy standard input into the segment, N bytes in.  If it does not fit\n"
      "before the end of the segment, nothing is written and the exit status\n"
      "is 1.  Prints nothing.\n\n"
      HELP_NAME
      "  --offset N          where to start (bytes, or with a K, M or G suffix;\n"
      "                      default 0)\n"
      HELP_HELP "\n"
      "Example:\n  ushm write /cache --offset 4K < header.bin\n",
      OPT_OFFSET, 1, 1, cmd_write },
    { "read", "read NAME [--offset N] [--length N] > FILE",
      "Copy the segment to standard output, from N bytes in to its end, or\n"
      "--length bytes.  The segment is mapped read-only.\n\n"
      HELP_NAME
      "  --offset N          where to start (default 0)\n"
      "  --length N          how many bytes (default: up to the end)\n"
      HELP_HELP "\n"
      "Example:\n  ushm read /cache --offset 4K --length 1K | od -c\n",
      OPT_OFFSET | OPT_LENGTH, 1, 1, cmd_read },
    { "ls", "ls [--json] [--bytes] [--noheadings] [--output COLUMNS]",
      "List every segment the backend can see (" POSIX_SHM_DIR " or "
      SYSV_SHM_FILE "),\nlibushm's or not, sorted.  STATUS marks what the "
      "library refuses, and a\nline on standard error says how to remove it.\n\n"
      "  -J, --json          print {\"segments\": [...]}, every key (ushm(1))\n"
      "  -b, --bytes         sizes in bytes rather than as 64M\n"
      "  -n, --noheadings    no header line\n"
      "  -o, --output LIST   the columns to show, separated by commas;\n"
      "                      '--output help' lists them\n"
      HELP_HELP "\n"
      "Examples:\n  ushm ls --output name,size,status\n"
      "  ushm ls --noheadings --output name\n",
      OPT_JSON | OPT_BYTES | OPT_NOHEADINGS | OPT_OUTPUT, 0, 0, cmd_ls },
    { "info", "info",
      "Print the backend, the library version, the page size, the kernel's\n"
      "System V limits and the size and free space of " POSIX_SHM_DIR ".\n\n"
      HELP_HELP "\n"
      "Example:\n  ushm info\n",
      0, 0, 0, cmd_info },
    { "demo", "demo",
      "Show the library at work: a producer process and a consumer process\n"
      "pass five messages through a segment named /ushm-demo-PID, which is\n"
      "removed before the end.  Exit status 0 if every message arrived intact.\n\n"
      HELP_HELP "\n"
      "Example:\n  ushm demo\n",
      0, 0, 0, cmd_demo },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void print_usage(FILE *f)
{
    fputs("usage: ushm SUBCOMMAND [ARGS]\n", f);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "       ushm %s\n", commands[i].usage);
    fputs("       ushm -h | --help | -V | --version\n"
          "SIZE, N: bytes, or a number with a K, M or G suffix (powers of 1024)\n"
          "'ushm SUBCOMMAND --help' describes each subcommand; see ushm(1).\n",
          f);
}

static void print_version(void)
{
    printf("ushm %s (%s backend)\n", ushm_version(), ushm_backend());
}

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* A usage error: the reason, then the usage line, on stderr; exit status 2. */
static int usage_error(const struct command *cmd, const char *fmt, ...)
    PRINTF_LIKE(2, 3);

static char *text_escape(const char *s);

/* "ushm: SUBCOMMAND: MESSAGE" on stderr, escaped as text output is: the
 * message may hold a name from the command line or from /dev/shm. */
static void print_error(const struct command *cmd, const char *msg)
{
    char *safe = text_escape(msg);

    fprintf(stderr, "ushm: %s%s%s\n", cmd ? cmd->name : "", cmd ? ": " : "",
            safe ? safe : msg);
    free(safe);
}

static int usage_error(const struct command *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error(cmd, msg);
    if (cmd)
        fprintf(stderr, "usage: ushm %s\n", cmd->usage);
    else
        print_usage(stderr);
    return 2;
}

/* A library failure: exit status 1, with the library's own sentence. */
static int lib_error(const struct command *cmd)
{
    print_error(cmd, ushm_last_error());
    return 1;
}

/* A failure found by the tool itself (not by the library): exit status 1. */
static int tool_error(const struct command *cmd, const char *msg)
{
    print_error(cmd, msg);
    return 1;
}

enum { ARGS_HELP = -1, ARGS_VERSION = -2 };

static const struct option_def *find_option(const struct command *cmd,
                                            const char *arg, size_t len)
{
    for (size_t j = 0; j < NOPTIONS; j++) {
        const struct option_def *o = &options[j];

        if (!(cmd->opts & o->bit))
            continue;
        if ((strlen(o->name) == len && strncmp(o->name, arg, len) == 0) ||
            (o->short_name && strlen(o->short_name) == len &&
             strncmp(o->short_name, arg, len) == 0))
            return o;
    }
    return NULL;
}

/*
 * Returns 0 when parsed, 2 on a usage error (already reported), ARGS_HELP
 * when --help was asked for, or ARGS_VERSION for --version.
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
        const struct option_def *o;
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
            return ARGS_HELP;
        if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0)
            return ARGS_VERSION;
        len = strcspn(arg, "=");
        if (!(o = find_option(cmd, arg, len)))
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
        else if (o->bit == OPT_OUTPUT)
            a->output = value;
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

/* ---- text, JSON and shell quoting ---- */

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

/* A C0 or C1 control character or DEL, as a sequence of n bytes at p. */
static int is_control(const unsigned char *p, int n)
{
    if (n == 1)
        return p[0] < 0x20 || p[0] == 0x7f;
    return n == 2 && p[0] == 0xc2 && p[1] < 0xa0;
}

/* The printable form of s for text output: control characters, C1 controls
 * and bytes that are not UTF-8 become \xHH, and a backslash becomes \\, so
 * that the escaped form is unambiguous.  Returns a malloc'd string. */
static char *text_escape(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char *out = malloc(strlen(s) * 8 + 1), *q = out;

    if (!out)
        return NULL;
    while (*p) {
        int n = utf8_length(p);

        if (n == 0 || is_control(p, n)) {
            for (int k = 0; k < (n ? n : 1); k++)
                q += sprintf(q, "\\x%02x", p[k]);
            p += n ? n : 1;
            continue;
        }
        if (*p == '\\')
            *q++ = '\\';
        memcpy(q, p, (size_t)n);
        q += n;
        p += n;
    }
    *q = '\0';
    return out;
}

/* Columns are as wide as their widest cell, in characters (code points). */
static size_t display_width(const char *s)
{
    size_t w = 0;

    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* A JSON string: quotes, backslashes and control characters (C1 and DEL
 * too) escaped; bytes that are not UTF-8 replaced by U+FFFD. */
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
        if (is_control(p, n))
            fprintf(f, "\\u%04x", n == 1 ? p[0] : p[1]);
        else if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n;
    }
    fputc('"', f);
}

/* s quoted for a POSIX shell, or for bash's $'...' when it holds bytes that
 * text output would escape, so the command can be pasted as it is shown. */
static void shell_quote(const char *s, char *out, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    int plain = 1, printable = 1;
    size_t o = 0;

    for (const unsigned char *c = p; *c; c++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789._/-+,:=@%", *c))
            plain = 0;
    for (const unsigned char *c = p; *c;) {
        int n = utf8_length(c);

        if (n == 0 || is_control(c, n) || *c == '\'' || *c == '\\')
            printable = 0;
        c += n ? n : 1;
    }
    if (plain) {
        snprintf(out, len, "%s", s);
        return;
    }
    if (printable) {
        snprintf(out, len, "'%s'", s);
        return;
    }
    o += (size_t)snprintf(out, len, "$'");
    while (*p && o + 6 < len) {
        int n = utf8_length(p);

        if (n == 0 || is_control(p, n)) {
            o += (size_t)snprintf(out + o, len - o, "\\x%02x", *p);
            p++;
            continue;
        }
        if (*p == '\'' || *p == '\\')
            out[o++] = '\\';
        memcpy(out + o, p, (size_t)n);
        o += (size_t)n;
        p += n;
    }
    snprintf(out + o, len - o, "'");
}

/*
 * A size as lsipc shows it: below 1 KiB in bytes ("512B"); else in the
 * largest unit of K, M, G, T, P, E (powers of 1024) that it reaches, with no
 * decimal when it is an exact multiple ("64M"), else rounded to one decimal
 * below 10 ("1.5M") and to a whole number from 10 up ("123M").
 */
static void human_size(unsigned long long v, char *buf, size_t len)
{
    static const char units[] = "KMGTPE";
    unsigned long long q, r, half;
    unsigned shift = 10;
    int u = 0;

    if (v < 1024) {
        snprintf(buf, len, "%lluB", v);
        return;
    }
    while (u < 5 && (v >> (shift + 10)) != 0) {
        shift += 10;
        u++;
    }
    q = v >> shift;
    r = v & ((1ULL << shift) - 1);
    half = 1ULL << (shift - 1);
    if (r == 0) {
        snprintf(buf, len, "%llu%c", q, units[u]);
    } else if (q < 10) {
        /* r < 2^60, so r * 10 + half cannot overflow. */
        unsigned long long tenths = q * 10 + ((r * 10 + half) >> shift);

        if (tenths >= 100)
            snprintf(buf, len, "%llu%c", tenths / 10, units[u]);
        else
            snprintf(buf, len, "%llu.%llu%c", tenths / 10, tenths % 10, units[u]);
    } else if (q + (r >= half) >= 1024 && u < 5) {
        snprintf(buf, len, "1.0%c", units[u + 1]);
    } else {
        snprintf(buf, len, "%llu%c", q + (r >= half), units[u]);
    }
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

/* ---- what the backend holds: one entry per segment ---- */

/* What the library refuses, or why no name reaches a segment. */
enum {
    ST_NOTFILE = 1 << 0,    /* POSIX: not a regular file (see type) */
    ST_BADNAME = 1 << 1,    /* POSIX: not a libushm name */
    ST_EMPTY = 1 << 2,      /* POSIX: size 0 */
    ST_PRIVATE = 1 << 3,    /* SysV: key IPC_PRIVATE */
    ST_REMOVED = 1 << 4,    /* SysV: removed, waiting for the last detach */
};

/* Unknown numbers are -1 (and key_known 0): JSON null, "-" in text. */
struct entry {
    char *name;             /* canonical, with the slash; NULL if unknown */
    const char *type;       /* with ST_NOTFILE: "fifo", "directory"... */
    const char *why;        /* with ST_BADNAME: what is wrong with the name */
    long long size;
    unsigned mode;          /* permission bits */
    long long uid, gid, nattach, id, cpid;
    int cpid_alive;
    int key_known;
    uint32_t key;
    unsigned status;        /* ST_* bits */
};

struct entries {
    struct entry *e;
    size_t n, cap;
};

static struct entry *add_entry(struct entries *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 32;
        struct entry *p = realloc(l->e, cap * sizeof *p);

        if (!p)
            return NULL;
        l->e = p;
        l->cap = cap;
    }
    memset(&l->e[l->n], 0, sizeof l->e[0]);
    l->e[l->n].nattach = l->e[l->n].id = l->e[l->n].cpid = -1;
    l->e[l->n].cpid_alive = -1;
    return &l->e[l->n++];
}

static void free_entries(struct entries *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->e[i].name);
    free(l->e);
    l->e = NULL;
    l->n = l->cap = 0;
}

/* Why the name of a /dev/shm entry is not one libushm accepts, or NULL. */
static const char *name_problem(const char *base)
{
    size_t len = strlen(base);

    if (len > USHM_NAME_MAX - 1)
        return "longer than 30 characters";
    if (strspn(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789._-") != len)
        return "characters outside A-Z a-z 0-9 . _ -";
    if (strncmp(base, "sem.", 4) == 0)
        return "a POSIX semaphore's name (sem. prefix)";
    return NULL;
}

static const char *file_type(mode_t m)
{
    return S_ISDIR(m) ? "directory" : S_ISFIFO(m) ? "fifo" :
           S_ISLNK(m) ? "symlink" : S_ISSOCK(m) ? "socket" :
           S_ISCHR(m) || S_ISBLK(m) ? "device" : "other";
}

static int compare_entries(const void *x, const void *y)
{
    const struct entry *a = x, *b = y;

    if (a->name && b->name)
        return strcmp(a->name, b->name);
    if (a->key != b->key)
        return a->key > b->key ? 1 : -1;
    return (a->id > b->id) - (a->id < b->id);  /* several with key 0 */
}

static int posix_entry(struct entries *l, int dfd, const char *base)
{
    struct entry *e;
    struct stat st;

    /* Gone since readdir, or not ours to look at: not listed. */
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return 0;
    if (!(e = add_entry(l)) || !(e->name = malloc(strlen(base) + 2)))
        return -1;
    sprintf(e->name, "/%s", base);
    e->size = (long long)st.st_size;
    e->mode = (unsigned)(st.st_mode & 07777);
    e->uid = (long long)st.st_uid;
    e->gid = (long long)st.st_gid;
    if (!S_ISREG(st.st_mode)) {
        e->status |= ST_NOTFILE;
        e->type = file_type(st.st_mode);
    }
    if ((e->why = name_problem(base)) != NULL)
        e->status |= ST_BADNAME;
    if (S_ISREG(st.st_mode) && st.st_size == 0)
        e->status |= ST_EMPTY;
    return 0;
}

/* Every entry of /dev/shm; on failure, a message in msg. */
static int posix_entries(struct entries *l, char *msg, size_t len)
{
    struct dirent *d;
    DIR *dir = opendir(POSIX_SHM_DIR);
    int rc = 0;

    if (!dir) {
        snprintf(msg, len, "cannot list POSIX segments: %s: %s",
                 POSIX_SHM_DIR, strerror(errno));
        return -1;
    }
    while (rc == 0 && (d = readdir(dir)) != NULL)
        if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
            rc = posix_entry(l, dirfd(dir), d->d_name);
    closedir(dir);
    if (rc != 0)
        snprintf(msg, len, "out of memory");
    return rc;
}

static int pid_alive(long long pid)
{
    /* EPERM: the process exists but belongs to someone else. */
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

enum { KEY, SHMID, PERMS, SIZE, CPID, NATTCH, UID, GID, NSYSVCOLS };
static const char *const sysv_colname[NSYSVCOLS] = {
    "key", "shmid", "perms", "size", "cpid", "nattch", "uid", "gid"
};

/* Where each column is, from the header line: not from fixed positions. */
static int sysv_header(char *line, int col[NSYSVCOLS], char *msg, size_t len)
{
    char *tok, *save;
    int i = 0;

    for (int c = 0; c < NSYSVCOLS; c++)
        col[c] = -1;
    for (tok = strtok_r(line, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save), i++)
        for (int c = 0; c < NSYSVCOLS; c++)
            if (strcmp(tok, sysv_colname[c]) == 0)
                col[c] = i;
    for (int c = 0; c < NSYSVCOLS; c++)
        if (col[c] < 0) {
            snprintf(msg, len, "%s: no '%s' column", SYSV_SHM_FILE,
                     sysv_colname[c]);
            return -1;
        }
    return 0;
}

/* One line of /proc/sysvipc/shm; 1 if it was not a segment's line. */
static int sysv_entry(struct entries *l, char *line, const int col[NSYSVCOLS])
{
    const char *v[NSYSVCOLS] = { 0 };
    char *tok, *save;
    struct entry *e;
    unsigned long perms;
    int i = 0;

    for (tok = strtok_r(line, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save), i++)
        for (int c = 0; c < NSYSVCOLS; c++)
            if (col[c] == i)
                v[c] = tok;
    for (int c = 0; c < NSYSVCOLS; c++)
        if (!v[c])
            return 1;
    if (!(e = add_entry(l)))
        return -1;
    /* The kernel prints the key as a signed int. */
    e->key = (uint32_t)strtoll(v[KEY], NULL, 10);
    e->key_known = 1;
    e->id = strtoll(v[SHMID], NULL, 10);
    perms = strtoul(v[PERMS], NULL, 8);
    e->mode = (unsigned)(perms & 0777);
    e->size = strtoll(v[SIZE], NULL, 10);
    e->cpid = strtoll(v[CPID], NULL, 10);
    e->cpid_alive = pid_alive(e->cpid);
    e->nattach = strtoll(v[NATTCH], NULL, 10);
    e->uid = strtoll(v[UID], NULL, 10);
    e->gid = strtoll(v[GID], NULL, 10);
    if (e->key == 0)
        e->status |= ST_PRIVATE;
    if (perms & 01000)      /* SHM_DEST */
        e->status |= ST_REMOVED;
    return 0;
}

/* Every segment of /proc/sysvipc/shm; on failure, a message in msg. */
static int sysv_entries(struct entries *l, char *msg, size_t len)
{
    int col[NSYSVCOLS], rc = 0;
    char *line = NULL;
    size_t linecap = 0;
    FILE *f = fopen(SYSV_SHM_FILE, "r");

    if (!f) {
        snprintf(msg, len, "cannot list SysV segments: %s: %s",
                 SYSV_SHM_FILE, strerror(errno));
        return -1;
    }
    if (getline(&line, &linecap, f) <= 0) {
        snprintf(msg, len, "%s: no header line", SYSV_SHM_FILE);
        rc = -1;
    } else if ((rc = sysv_header(line, col, msg, len)) == 0) {
        while (rc >= 0 && getline(&line, &linecap, f) > 0)
            rc = sysv_entry(l, line, col);
        if (rc < 0)
            snprintf(msg, len, "out of memory");
    }
    free(line);
    fclose(f);
    return rc < 0 ? -1 : 0;
}

static int backend_entries(struct entries *l, char *msg, size_t len)
{
    int rc = is_sysv() ? sysv_entries(l, msg, len) : posix_entries(l, msg, len);

    if (rc == 0 && l->n > 1)
        qsort(l->e, l->n, sizeof l->e[0], compare_entries);
    return rc;
}

/* What "status" says: "ok", or the ST_* words joined by commas. */
static void status_text(const struct entry *e, char *buf, size_t len)
{
    size_t o = 0;

    buf[0] = '\0';
    if (e->status & ST_NOTFILE)
        o += (size_t)snprintf(buf + o, len - o, "%s,", e->type);
    if (e->status & ST_BADNAME)
        o += (size_t)snprintf(buf + o, len - o, "badname,");
    if (e->status & ST_EMPTY)
        o += (size_t)snprintf(buf + o, len - o, "empty,");
    if (e->status & ST_PRIVATE)
        o += (size_t)snprintf(buf + o, len - o, "private,");
    if (e->status & ST_REMOVED)
        o += (size_t)snprintf(buf + o, len - o, "removed,");
    if (o == 0)
        snprintf(buf, len, "ok");
    else
        buf[o - 1] = '\0';
}

/* The command that removes it; 0 if none does (removed, waiting to go). */
static int remove_command(const struct entry *e, char *buf, size_t len)
{
    char path[PATH_MAX], quoted[PATH_MAX * 4 + 8];

    if (e->status & ST_REMOVED)
        return 0;
    if (e->id >= 0) {
        snprintf(buf, len, "ipcrm -m %lld", e->id);
        return 1;
    }
    if (!e->name)
        return 0;
    if (!(e->status & (ST_NOTFILE | ST_BADNAME))) {
        /* ushm_unlink() takes empty objects under libushm names too. */
        shell_quote(e->name, quoted, sizeof quoted);
        snprintf(buf, len, "ushm rm %s", quoted);
        return 1;
    }
    snprintf(path, sizeof path, POSIX_SHM_DIR "%s", e->name);
    shell_quote(path, quoted, sizeof quoted);
    snprintf(buf, len, "%s %s", (e->status & ST_NOTFILE) &&
             strcmp(e->type, "directory") == 0 ? "rm -r" : "rm", quoted);
    return 1;
}

/* ---- columns: the one table behind ls, stat and their JSON ---- */

static int stdout_errno;    /* why writing standard output first failed */

static void flush_stdout(void)
{
    if (fflush(stdout) != 0 && !stdout_errno)
        stdout_errno = errno;
}

/* V_RAW: a string that is printable as it is, made so (a shell command). */
enum vtype { V_NULL, V_STR, V_RAW, V_NUM, V_BOOL, V_SIZE };

struct value {
    enum vtype type;
    const char *s;          /* V_STR, V_RAW */
    long long n;            /* V_NUM, V_BOOL, V_SIZE */
};

#define CELL_MAX (PATH_MAX * 4 + 64)

typedef void get_fn(const struct entry *, struct value *, char *, size_t);

static void set_num(struct value *v, long long n)
{
    v->type = n < 0 ? V_NULL : V_NUM;
    v->n = n;
}

static void get_name(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    v->type = e->name ? V_STR : V_NULL;
    v->s = e->name;
}

static void get_backend(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)e, (void)b, (void)l;
    v->type = V_STR;
    v->s = ushm_backend();
}

static void get_size(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    v->type = V_SIZE;
    v->n = e->size;
}

static void get_mode(const struct entry *e, struct value *v, char *b, size_t l)
{
    snprintf(b, l, "%04o", e->mode);
    v->type = V_STR;
    v->s = b;
}

static void get_owner(const struct entry *e, struct value *v, char *b, size_t l)
{
    v->type = V_STR;
    v->s = user_name((uid_t)e->uid, b, l);
}

static void get_uid(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    set_num(v, e->uid);
}

static void get_gid(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    set_num(v, e->gid);
}

static void get_nattach(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    set_num(v, e->nattach);
}

static void get_key(const struct entry *e, struct value *v, char *b, size_t l)
{
    snprintf(b, l, "0x%08" PRIx32, e->key);
    v->type = e->key_known ? V_STR : V_NULL;
    v->s = b;
}

static void get_id(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    set_num(v, e->id);
}

static void get_cpid(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    set_num(v, e->cpid);
}

static void get_alive(const struct entry *e, struct value *v, char *b, size_t l)
{
    (void)b, (void)l;
    v->type = e->cpid_alive < 0 ? V_NULL : V_BOOL;
    v->n = e->cpid_alive;
}

static void get_status(const struct entry *e, struct value *v, char *b, size_t l)
{
    status_text(e, b, l);
    v->type = V_STR;
    v->s = b;
}

static void get_remove(const struct entry *e, struct value *v, char *b, size_t l)
{
    v->type = remove_command(e, b, l) ? V_RAW : V_NULL;
    v->s = b;
}

/* In this order: the JSON keys, stat's lines, --output help. */
static const struct column {
    const char *name;       /* for --output, upper case in the header */
    const char *key;        /* JSON key and stat's label */
    int right;              /* right-aligned */
    const char *help;
    get_fn *get;
} columns[] = {
    { "NAME", "name", 0, "segment name (- on SysV in ls: a key is not "
      "turned back into a name)", get_name },
    { "BACKEND", "backend", 0, "posix or sysv", get_backend },
    { "SIZE", "size", 1, "size, as 64M (in bytes with --bytes)", get_size },
    { "MODE", "mode", 0, "permission bits, in octal", get_mode },
    { "OWNER", "owner", 0, "owner's user name, or uid", get_owner },
    { "UID", "uid", 1, "owner's user id", get_uid },
    { "GID", "gid", 1, "owner's group id", get_gid },
    { "NATTACH", "nattach", 1, "processes attached (SysV; - on POSIX)",
      get_nattach },
    { "KEY", "key", 0, "SysV key, as 0x%08x", get_key },
    { "ID", "id", 1, "SysV shmid", get_id },
    { "CPID", "cpid", 1, "pid of the SysV segment's creator", get_cpid },
    { "ALIVE", "cpid_alive", 0, "whether that creator is still running",
      get_alive },
    { "STATUS", "status", 0, "ok, or what the library refuses (badname, "
      "empty, fifo...)", get_status },
    { "REMOVE", "remove", 0, "a command that removes it (- if it goes by "
      "itself)", get_remove },
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

static const char *const default_posix[] = {
    "NAME", "SIZE", "MODE", "OWNER", "STATUS", NULL
};
static const char *const default_sysv[] = {
    "KEY", "ID", "SIZE", "OWNER", "MODE", "NATTACH", "CPID", "ALIVE",
    "STATUS", NULL
};

static int find_column(const char *name, size_t len)
{
    for (size_t i = 0; i < NCOLUMNS; i++)
        if (strlen(columns[i].name) == len &&
            strncasecmp(columns[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static void print_columns_help(void)
{
    printf("Columns for --output (names in either case, separated by commas):\n");
    for (size_t i = 0; i < NCOLUMNS; i++)
        printf("  %-8s %s\n", columns[i].name, columns[i].help);
}

/* The columns of --output LIST, or the backend's default; n of them. */
static int pick_columns(const struct command *cmd, const char *list,
                        int cols[NCOLUMNS], size_t *n)
{
    const char *const *def = is_sysv() ? default_sysv : default_posix;
    const char *p = list;

    *n = 0;
    if (!list) {
        for (; def[*n]; (*n)++)
            cols[*n] = find_column(def[*n], strlen(def[*n]));
        return 0;
    }
    for (;;) {
        size_t len = strcspn(p, ",");
        int c = find_column(p, len);

        if (c < 0)
            return usage_error(cmd, "unknown column '%.*s' in --output "
                               "(--output help lists them)", (int)len, p);
        if (*n == NCOLUMNS)
            return usage_error(cmd, "too many columns in --output");
        cols[(*n)++] = c;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

/* The text of a cell, escaped; a malloc'd string. */
static char *cell_text(const struct entry *e, int col, int bytes)
{
    char buf[CELL_MAX], num[32];
    struct value v = { V_NULL, NULL, 0 };

    columns[col].get(e, &v, buf, sizeof buf);
    switch (v.type) {
    case V_NULL:
        return text_escape("-");
    case V_STR:
        return text_escape(v.s);
    case V_RAW:
        return strdup(v.s);
    case V_BOOL:
        return text_escape(v.n ? "yes" : "no");
    case V_SIZE:
        if (bytes)
            snprintf(num, sizeof num, "%lld", v.n);
        else
            human_size((unsigned long long)v.n, num, sizeof num);
        return text_escape(num);
    case V_NUM:
        break;
    }
    snprintf(num, sizeof num, "%lld", v.n);
    return text_escape(num);
}

static void json_value(FILE *f, const struct value *v)
{
    switch (v->type) {
    case V_NULL:
        fputs("null", f);
        break;
    case V_STR:
    case V_RAW:
        json_string(f, v->s);
        break;
    case V_BOOL:
        fputs(v->n ? "true" : "false", f);
        break;
    case V_NUM:
    case V_SIZE:
        fprintf(f, "%lld", v->n);
        break;
    }
}

/* One entry as a JSON object with every key, null where unknown. */
static void json_entry(FILE *f, const struct entry *e)
{
    char buf[CELL_MAX];

    fputc('{', f);
    for (size_t i = 0; i < NCOLUMNS; i++) {
        struct value v = { V_NULL, NULL, 0 };

        columns[i].get(e, &v, buf, sizeof buf);
        fprintf(f, "%s\"%s\": ", i ? ", " : "", columns[i].key);
        json_value(f, &v);
    }
    fputc('}', f);
}

/* One line of the table: each cell padded to its column's width. */
static void print_row(const char *const *cells, const size_t *width,
                      const int *cols, size_t ncols)
{
    for (size_t c = 0; c < ncols; c++) {
        const char *s = cells[c];
        int pad = (int)(width[c] - display_width(s));

        if (c)
            putchar(' ');
        if (columns[cols[c]].right)
            printf("%*s%s", pad, "", s);
        else if (c + 1 == ncols)
            fputs(s, stdout);       /* no spaces at the end of a line */
        else
            printf("%s%*s", s, pad, "");
    }
    putchar('\n');
}

/* The table, each column as wide as its widest cell (header included). */
static int print_table(const struct entries *l, const int *cols, size_t ncols,
                       int bytes, int headings)
{
    size_t width[NCOLUMNS], ncells = l->n * ncols;
    const char *header[NCOLUMNS];
    char **cell = calloc(ncells ? ncells : 1, sizeof *cell);
    int rc = 0;

    if (!cell)
        return -1;
    for (size_t c = 0; c < ncols; c++) {
        header[c] = columns[cols[c]].name;
        width[c] = headings ? strlen(header[c]) : 0;
    }
    for (size_t i = 0; i < ncells && rc == 0; i++) {
        size_t w;

        if (!(cell[i] = cell_text(&l->e[i / ncols], cols[i % ncols], bytes)))
            rc = -1;
        else if ((w = display_width(cell[i])) > width[i % ncols])
            width[i % ncols] = w;
    }
    if (rc == 0 && headings)
        print_row(header, width, cols, ncols);
    for (size_t r = 0; rc == 0 && r < l->n; r++)
        print_row((const char *const *)(cell + r * ncols), width, cols, ncols);
    for (size_t i = 0; i < ncells; i++)
        free(cell[i]);
    free(cell);
    return rc;
}

static const char *problem_text(const struct entry *e)
{
    if (e->status & ST_NOTFILE)
        return "not a shared memory object";
    if (e->status & ST_BADNAME)
        return e->why;
    if (e->status & ST_EMPTY)
        return "empty (size 0): the library does not open it";
    return "key IPC_PRIVATE: no name reaches it";
}

/* On stderr, for each entry the library refuses: why, and what removes it. */
static void print_notes(const struct command *cmd, const struct entries *l)
{
    char how[CELL_MAX], label[64];

    for (size_t i = 0; i < l->n; i++) {
        const struct entry *e = &l->e[i];
        char *name, *what;

        if (!(e->status & ~(unsigned)ST_REMOVED))
            continue;
        snprintf(label, sizeof label, "key 0x%08" PRIx32 " (id %lld)",
                 e->key, e->id);
        if (!remove_command(e, how, sizeof how))
            continue;
        name = text_escape(e->name ? e->name : label);
        what = text_escape(problem_text(e));
        if (name && what)
            fprintf(stderr, "ushm: %s: %s: %s%s%s; remove it with: %s\n",
                    cmd->name, name, what, e->type ? ": " : "",
                    e->type ? e->type : "", how);
        free(name);
        free(what);
    }
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

/* What ushm_stat() says, and on SysV the id and creator from the kernel's
 * list (the segment with the name's key that is not removed). */
static int stat_entry(const char *name, struct entry *e, char *msg, size_t len)
{
    struct ushm_stat st;
    struct entries l = { 0 };
    char canon[USHM_NAME_MAX + 2];

    if (ushm_stat(name, &st) < 0)
        return 1;
    canonical_name(name, canon, sizeof canon);
    memset(e, 0, sizeof *e);
    e->id = e->cpid = -1;
    e->cpid_alive = -1;
    if (!(e->name = strdup(canon))) {
        snprintf(msg, len, "out of memory");
        return -1;
    }
    e->size = (long long)st.size;
    e->mode = (unsigned)(st.mode & 07777);
    e->uid = (long long)st.uid;
    e->gid = (long long)st.gid;
    e->nattach = st.nattach;
    if (!is_sysv())
        return 0;
    e->key = sysv_key(canon);
    e->key_known = 1;
    if (sysv_entries(&l, msg, len) != 0)
        return -1;
    for (size_t i = 0; i < l.n; i++)
        if (l.e[i].key == e->key && !(l.e[i].status & ST_REMOVED)) {
            e->id = l.e[i].id;
            e->cpid = l.e[i].cpid;
            e->cpid_alive = l.e[i].cpid_alive;
        }
    free_entries(&l);
    return 0;
}

static int cmd_stat(const struct command *cmd, struct args *a)
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
    }
    for (size_t i = 0; !(a->seen & OPT_JSON) && i < NCOLUMNS; i++) {
        char *text = cell_text(&e, (int)i, (a->seen & OPT_BYTES) != 0);

        if (!text) {
            rc = tool_error(cmd, "out of memory");
            break;
        }
        printf("%s: %s\n", columns[i].key, text);
        free(text);
    }
    free(e.name);
    return rc;
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

static void print_json_list(const struct entries *l)
{
    fputs("{\"segments\": [", stdout);
    for (size_t i = 0; i < l->n; i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        json_entry(stdout, &l->e[i]);
    }
    fputs(l->n ? "\n]}\n" : "]}\n", stdout);
}

static int cmd_ls(const struct command *cmd, struct args *a)
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

static int cmd_demo(const struct command *cmd, struct args *a)
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

/* A standard descriptor that is closed gets /dev/null opened the other way
 * round, so that using it fails (EBADF) rather than reaching a file that
 * the command opens later under the same number. */
static void guard_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        int nfd;

        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        nfd = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
        if (nfd >= 0 && nfd != fd) {
            dup2(nfd, fd);
            close(nfd);
        }
    }
}

/* Like ls and cat: a reader that went away kills the command by SIGPIPE,
 * quietly, even when the caller left the signal ignored or blocked. */
static void default_sigpipe(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Output that did not get out is a failure, whatever the subcommand. */
static int close_stdout(const char *who, int rc)
{
    int failed, err;

    errno = 0;
    failed = fflush(stdout) != 0 || ferror(stdout);
    err = stdout_errno ? stdout_errno : errno;
    /* EBADF with nothing left to write: stdout was closed and unused. */
    if (fclose(stdout) != 0 && !failed && errno != EBADF) {
        failed = 1;
        err = errno;
    }
    if (!failed)
        return rc;
    if (err == EPIPE) {
        default_sigpipe();
        raise(SIGPIPE);
        return 1;
    }
    fprintf(stderr, "ushm: %s%swriting standard output: %s\n", who ? who : "",
            who ? ": " : "", err ? strerror(err) : "write error");
    return 1;
}

static int run(int argc, char **argv, const char **who)
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
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        print_version();
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd && argv[1][0] == '-')
        return usage_error(NULL, "unknown option '%s'", argv[1]);
    if (!cmd)
        return usage_error(NULL, "unknown subcommand '%s'", argv[1]);
    *who = cmd->name;
    rc = parse_args(cmd, argc - 2, argv + 2, &a);
    if (rc == ARGS_HELP) {
        printf("usage: ushm %s\n\n%s", cmd->usage, cmd->help);
        rc = 0;
    } else if (rc == ARGS_VERSION) {
        print_version();
        rc = 0;
    } else if (rc == 0) {
        rc = cmd->run(cmd, &a);
    }
    free(a.pos);
    return rc;
}

int main(int argc, char **argv)
{
    const char *who = NULL;
    int rc;

    guard_std_fds();
    default_sigpipe();
    rc = run(argc, argv, &who);
    return close_stdout(who, rc);
}
