/* SPDX-License-Identifier: MIT */
/*
 * The subcommands' table with each one's help, and the parsing of their
 * arguments.  Options are parsed by hand: there are few, and it keeps the
 * command free of getopt_long and _GNU_SOURCE.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ushm.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ushm-tool.h"

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
    { "--size", NULL, OPT_SIZE, 1 },
    { "--raw", NULL, OPT_RAW, 0 },
    { "--count", NULL, OPT_COUNT, 1 },
    { "--timeout", NULL, OPT_TIMEOUT, 1 },
    { "--key", NULL, OPT_KEY, 1 },
};
#define NOPTIONS (sizeof options / sizeof options[0])

#define HELP_NAME \
    "  NAME                \"/\" and 1 to 30 of A-Z a-z 0-9 . _ - (the slash may\n" \
    "                      be left out)\n"
#define HELP_KEY_TEXT \
    "                      the System V segment with that key, as a program\n" \
    "                      that uses ftok(3) names it: 0x and hex digits, or\n" \
    "                      decimal (sysv backend; posix says it cannot)\n"
#define HELP_KEY \
    "  --key KEY           in place of NAME:\n" HELP_KEY_TEXT
#define HELP_HELP \
    "  -h, --help          print this help and exit\n"

const struct command commands[] = {
    { "create", "create NAME|--key KEY SIZE [--mode MODE] [--excl]",
      "Create the segment NAME with SIZE bytes, zero-filled.  If it exists with\n"
      "at least SIZE bytes nothing is done (unless --excl); if it has other\n"
      "permission bits than --mode asks for, they are left as they are and the\n"
      "exit status is 1.  Prints nothing.\n\n"
      HELP_NAME
      "  SIZE                bytes, or a number with a K, M or G suffix (1024s)\n"
      "  --mode MODE         permission bits in octal (default 0600); the umask\n"
      "                      is not applied\n"
      "  --excl              fail if the segment exists\n"
      HELP_KEY HELP_HELP "\n"
      "Examples:\n  ushm create /cache 64M --mode 0640\n"
      "  ushm create --key 0xc4010203 4K --mode 0644\n",
      OPT_MODE | OPT_EXCL | OPT_KEY, 2, 2, cmd_create },
    { "rm", "rm NAME|--key KEY...",
      "Remove each named segment; processes that have it mapped keep it until\n"
      "they close it.  Every name and key is tried; the exit status is 1 if\n"
      "any could not be removed.  An empty POSIX object under a libushm name\n"
      "is removed too.  What is not a libushm name, or not a shared memory\n"
      "object, is refused: 'ushm ls' shows the command that removes it.\n\n"
      HELP_NAME
      "  --key KEY           as well as or in place of the names (repeatable):\n"
      HELP_KEY_TEXT HELP_HELP "\n"
      "Examples:\n  ushm rm /cache /cache-old\n  ushm rm --key 0xc4010203\n",
      OPT_KEY, 1, -1, cmd_rm },
    { "stat", "stat NAME|--key KEY [--json] [--bytes]",
      "Show one segment without mapping it: one 'key: value' line per field,\n"
      "or with --json the object that 'ushm ls --json' gives for it.  A segment\n"
      "that holds a queue (ushm send) adds its depth, capacity and attached\n"
      "producers and consumers (text only; it is then mapped read-write).\n\n"
      HELP_NAME
      "  -J, --json          print JSON (see ushm(1), OUTPUT)\n"
      "  -b, --bytes         the size in bytes rather than as 64M\n"
      HELP_KEY HELP_HELP "\n"
      "Examples:\n  ushm stat /cache --json\n  ushm stat --key 0xc4010203\n",
      OPT_JSON | OPT_BYTES | OPT_KEY, 1, 1, cmd_stat },
    { "key", "key NAME|--key KEY [--json]",
      "Print the System V key of NAME as 0x%08x: the key a segment of that\n"
      "name has on the sysv backend (ipcs -m shows it), whichever backend the\n"
      "library was built with.  Nothing is opened or created.\n\n"
      HELP_NAME
      "  -J, --json          print {\"name\": ..., \"key\": ...}, as stat --json\n"
      "                      gives them\n"
      "  --key KEY           print KEY itself as 0x%08x (a decimal key from\n"
      "                      /proc/sysvipc/shm, say), with the name null\n"
      HELP_HELP "\n"
      "Example:\n  ushm key /cache\n",
      OPT_JSON | OPT_KEY, 1, 1, cmd_key },
    { "write", "write NAME|--key KEY [--offset N] < FILE",
      "Copy standard input into the segment, N bytes in.  If it does not fit\n"
      "before the end of the segment, nothing is written and the exit status\n"
      "is 1.  Prints nothing.\n\n"
      HELP_NAME
      "  --offset N          where to start (bytes, or with a K, M or G suffix;\n"
      "                      default 0)\n"
      HELP_KEY HELP_HELP "\n"
      "Example:\n  ushm write /cache --offset 4K < header.bin\n",
      OPT_OFFSET | OPT_KEY, 1, 1, cmd_write },
    { "read", "read NAME|--key KEY [--offset N] [--length N] > FILE",
      "Copy the segment to standard output, from N bytes in to its end, or\n"
      "--length bytes.  The segment is mapped read-only.\n\n"
      HELP_NAME
      "  --offset N          where to start (default 0)\n"
      "  --length N          how many bytes (default: up to the end)\n"
      HELP_KEY HELP_HELP "\n"
      "Example:\n  ushm read /cache --offset 4K --length 1K | od -c\n",
      OPT_OFFSET | OPT_LENGTH | OPT_KEY, 1, 1, cmd_read },
    { "send", "send NAME [--offset N --size N] [--raw] < FILE",
      "Send each line of standard input (without its newline) as a message to\n"
      "the queue in the segment NAME, or with --raw all of it as one message.\n"
      "Waits while the queue is full.  The queue is the whole segment, or\n"
      "--size bytes from --offset (64-byte aligned): give recv the same.  An\n"
      "all-zero segment is an empty queue (ushm create makes one).  Exit status\n"
      "1 if a consumer was attached and none is any more (ushm_queue_send(3)).\n\n"
      HELP_NAME
      "  --offset N          where the queue starts (default 0)\n"
      "  --size N            its bytes (default: to the end of the segment)\n"
      "  --raw               all of standard input is one message\n"
      HELP_HELP "\n"
      "Example:\n  ushm create /q 1M && tail -f log | ushm send /q\n",
      OPT_OFFSET | OPT_SIZE | OPT_RAW, 1, 1, cmd_send },
    { "recv", "recv NAME [--offset N --size N] [--count N] [--timeout MS] [--raw]",
      "Print the messages of the queue in the segment NAME as they arrive,\n"
      "each followed by a newline (with --raw: as they are), until the last\n"
      "producer has detached (exit status 0, as at the end of a pipe), N\n"
      "messages (--count) or MS milliseconds without one (--timeout, exit\n"
      "status 1).  Waits for the first producer.\n\n"
      HELP_NAME
      "  --offset N, --size N  the queue, as given to send\n"
      "  --count N           stop after N messages\n"
      "  --timeout MS        stop when none arrives for MS milliseconds\n"
      "  --raw               no newline after each message\n"
      HELP_HELP "\n"
      "Example:\n  ushm recv /q | grep ERROR\n",
      OPT_OFFSET | OPT_SIZE | OPT_COUNT | OPT_TIMEOUT | OPT_RAW, 1, 1, cmd_recv },
    { "ls", "ls [--json] [--bytes] [--noheadings] [--output COLUMNS]",
      "List every segment the backend can see (" SEGLIST_POSIX_DIR " or "
      SEGLIST_SYSV_FILE "),\nlibushm's or not, sorted.  STATUS marks what the "
      "library refuses, and a\nline on standard error says why, and how to remove "
      "it where nothing uses it.\n\n"
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
      "System V limits and the size and free space of " SEGLIST_POSIX_DIR ".\n\n"
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
const size_t ncommands = sizeof commands / sizeof commands[0];

void print_usage(FILE *f)
{
    fputs("usage: ushm SUBCOMMAND [ARGS]\n", f);
    for (size_t i = 0; i < ncommands; i++)
        fprintf(f, "       ushm %s\n", commands[i].usage);
    fputs("       ushm -h | --help | -V | --version\n"
          "SIZE, N: bytes, or a number with a K, M or G suffix (powers of 1024)\n"
          "'ushm SUBCOMMAND --help' describes each subcommand; see ushm(1).\n",
          f);
}

void print_version(void)
{
    printf("ushm %s (%s backend)\n", ushm_version(), ushm_backend());
}

int usage_error(const struct command *cmd, const char *fmt, ...)
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

/* As many arguments as the subcommand takes; each --key stands for a NAME,
 * the first argument (and only "rm NAME..." takes more than one). */
static int check_count(const struct command *cmd, const struct args *a)
{
    int min = cmd->min_pos, max = cmd->max_pos;

    if (a->nkeys > 0) {
        if (max >= 0 && a->nkeys > 1)
            return usage_error(cmd, "--key given %d times: it names the one "
                               "segment, in place of NAME", a->nkeys);
        if (max >= 0 && a->npos == max)
            return usage_error(cmd, "--key stands in place of NAME: give "
                               "one of them");
        min = min > 0 ? min - 1 : 0;
        max = max > 0 ? max - 1 : max;
    }
    if (a->npos < min)
        return usage_error(cmd, "missing argument");
    if (max >= 0 && a->npos > max)
        return usage_error(cmd, "unexpected argument '%s'", a->pos[max]);
    return 0;
}

/*
 * Returns 0 when parsed, 2 on a usage error (already reported), ARGS_HELP
 * when --help was asked for, or ARGS_VERSION for --version.
 */
int parse_args(const struct command *cmd, int argc, char **argv,
                      struct args *a)
{
    int only_pos = 0;

    memset(a, 0, sizeof *a);
    a->pos = calloc((size_t)argc + 1, sizeof *a->pos);
    a->keys = calloc((size_t)argc + 1, sizeof *a->keys);
    if (!a->pos || !a->keys) {
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
        else if (o->bit == OPT_SIZE)
            a->size = value;
        else if (o->bit == OPT_COUNT)
            a->count = value;
        else if (o->bit == OPT_TIMEOUT)
            a->timeout = value;
        else if (o->bit == OPT_KEY)
            a->keys[a->nkeys++] = value;
    }
    return check_count(cmd, a);
}

/* "4096", "4K", "1M", "2G" (powers of 1024).  Rejects signs, spaces, garbage. */
int parse_size(const char *s, size_t *out)
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
int parse_mode(const char *s, mode_t *out)
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

int parse_number_opt(const struct command *cmd, const char *opt,
                            const char *value, size_t *out)
{
    if (value && parse_size(value, out) != 0)
        return usage_error(cmd, "invalid %s '%s' (bytes, or a number with a "
                           "K, M or G suffix)", opt, value);
    return 0;
}
