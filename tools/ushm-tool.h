/* SPDX-License-Identifier: MIT */
/*
 * What the files of the ushm command share.  One file per job:
 *   ushm-main.c    main: errors, exit status, standard output
 *   ushm-args.c    the subcommands' table, help and argument parsing
 *   ushm-escape.c  text, JSON and shell quoting of bytes from anywhere
 *   ushm-list.c    what the backend holds: one entry per segment
 *   ushm-output.c  the columns behind ls and stat: table and JSON
 *   ushm-target.c  the segment a subcommand acts on: NAME, or --key KEY
 *   ushm-guard.c   touching a segment's memory without dying of SIGBUS
 *   ushm-cmds.c    the subcommands
 *   ushm-queue.c   the queue's subcommands (send, recv) and stat's lines
 * "ushm demo" is the example examples/demo.c, linked in.
 */
#ifndef USHM_TOOL_H
#define USHM_TOOL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <ushm.h>

#include "seglist.h"

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* ---- ushm-args.c: the subcommands and their arguments ---- */

enum {
    OPT_JSON = 1 << 0,
    OPT_EXCL = 1 << 1,
    OPT_MODE = 1 << 2,
    OPT_OFFSET = 1 << 3,
    OPT_LENGTH = 1 << 4,
    OPT_BYTES = 1 << 5,
    OPT_NOHEADINGS = 1 << 6,
    OPT_OUTPUT = 1 << 7,
    OPT_KEY = 1 << 8,       /* in place of NAME, the first argument */
    OPT_SIZE = 1 << 9,
    OPT_RAW = 1 << 10,
    OPT_COUNT = 1 << 11,
    OPT_TIMEOUT = 1 << 12,
};

struct args {
    unsigned seen;          /* OPT_* bits given */
    const char *mode, *offset, *length, *output;
    const char *size, *count, *timeout;     /* the queue's subcommands */
    char **pos;             /* positional arguments */
    int npos;
    const char **keys;      /* the values of --key, in order */
    int nkeys;
};

struct command {
    const char *name;
    const char *usage;      /* what follows "ushm " */
    const char *help;       /* what --help prints after the usage line */
    unsigned opts;          /* OPT_* bits accepted */
    int min_pos, max_pos;   /* max_pos < 0: no limit; each --key stands
                               for one NAME, the first argument */
    int (*run)(const struct command *, struct args *);
};

extern const struct command commands[];
extern const size_t ncommands;

enum { ARGS_HELP = -1, ARGS_VERSION = -2 };

void print_usage(FILE *f);
void print_version(void);
/* A usage error: the reason, then the usage line, on stderr; exit status 2. */
int usage_error(const struct command *cmd, const char *fmt, ...) PRINTF_LIKE(2, 3);
int parse_args(const struct command *cmd, int argc, char **argv, struct args *a);
int parse_size(const char *s, size_t *out);
int parse_mode(const char *s, mode_t *out);
int parse_number_opt(const struct command *cmd, const char *opt,
                     const char *value, size_t *out);

/* ---- ushm-main.c: errors and standard output ---- */

void print_error(const struct command *cmd, const char *msg);
/* A library failure: exit status 1, with the library's own sentence. */
int lib_error(const struct command *cmd);
/* A failure found by the tool itself (not by the library): exit status 1. */
int tool_error(const struct command *cmd, const char *msg);
void flush_stdout(void);

/* ---- ushm-escape.c ---- */

char *text_escape(const char *s);
size_t display_width(const char *s);
void json_string(FILE *f, const char *s);
void shell_quote(const char *s, char *out, size_t len);

/* ---- ushm-list.c: what the backend holds, one entry per segment ---- */

/* What the library refuses, or why no name reaches a segment. */
enum {
    ST_NOTFILE = 1 << 0,    /* POSIX: not a regular file (see type) */
    ST_BADNAME = 1 << 1,    /* POSIX: not a libushm name */
    ST_EMPTY = 1 << 2,      /* POSIX: size 0 */
    ST_PRIVATE = 1 << 3,    /* SysV: key IPC_PRIVATE */
    ST_REMOVED = 1 << 4,    /* SysV: removed, waiting for the last detach */
    ST_SEMAPHORE = 1 << 5,  /* POSIX: a file "sem.NAME", glibc's sem_open */
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

int is_sysv(void);
void canonical_name(const char *name, char *buf, size_t len);
void free_entries(struct entries *l);
int backend_entries(struct entries *l, char *msg, size_t len);
struct target;
/* 0, 1 when the library failed (its sentence in ushm_last_error()), or -1
 * with a message in msg.  e->name is malloc'd or NULL, whatever the result. */
int stat_entry(const struct target *t, struct entry *e, char *msg, size_t len);
void status_text(const struct entry *e, char *buf, size_t len);
int remove_command(const struct entry *e, char *buf, size_t len);

/* ---- ushm-target.c: the segment a subcommand acts on ---- */

struct target {
    const char *name;       /* as given; NULL for a key */
    key_t key;              /* with name NULL */
    char label[USHM_NAME_MAX + 16]; /* for messages: "/cache", "key 0x%08x" */
};

int parse_key(const char *s, key_t *out);
void target_of_name(const char *name, struct target *t);
int target_of_key(const struct command *cmd, const char *text, struct target *t);
/* The one segment of a subcommand that takes one: its first argument or
 * --key; *rest (unless NULL) gets the arguments after it.  0, or 2 (a
 * usage error, said). */
int one_target(const struct command *cmd, const struct args *a,
               struct target *t, char ***rest);
int target_open(const struct target *t, ushm_t **shm, size_t size, int flags,
                mode_t mode);
int target_unlink(const struct target *t);
int target_stat(const struct target *t, struct ushm_stat *st);

/* ---- ushm-guard.c: touching a segment's memory, SIGBUS caught ---- */

/* Fault in every page of [addr, addr + len) of a mapping, changing nothing:
 * 0, or -1 (SIGBUS: no memory for a page) with *offset where in the range. */
int touch_pages(const void *addr, size_t len, size_t *offset);
/* memcpy into a mapping, SIGBUS caught: 0, or -1 with *offset where in dst
 * (and the bytes before it may have been copied, or not). */
int copy_in(void *dst, const void *src, size_t len, size_t *offset);

/* ---- ushm-output.c: the columns, the table and JSON ---- */

#define NCOLUMNS 14         /* the column table's length */

void print_columns_help(void);
int pick_columns(const struct command *cmd, const char *list,
                 int cols[NCOLUMNS], size_t *n);
int print_table(const struct entries *l, const int *cols, size_t ncols,
                int bytes, int headings);
int print_fields(const struct entry *e, int bytes);
void print_notes(const struct command *cmd, const struct entries *l);
void json_entry_open(FILE *f, const struct entry *e);
void json_entry(FILE *f, const struct entry *e);
void print_json_list(const struct entries *l);

/* ---- ushm-cmds.c: the subcommands ---- */

int cmd_create(const struct command *, struct args *);
int cmd_rm(const struct command *, struct args *);
int cmd_stat(const struct command *, struct args *);
int cmd_key(const struct command *, struct args *);
int cmd_write(const struct command *, struct args *);
int cmd_read(const struct command *, struct args *);
int cmd_ls(const struct command *, struct args *);
int cmd_info(const struct command *, struct args *);
int cmd_demo(const struct command *, struct args *);

/* ---- ushm-queue.c: send, recv and stat's queue lines ---- */

int cmd_send(const struct command *, struct args *);
int cmd_recv(const struct command *, struct args *);
void print_queue_stat(const struct target *t);
void json_queue_stat(FILE *f, const struct target *t);

#endif
