/* SPDX-License-Identifier: MIT */
/*
 * The columns: one table behind ls, stat and their JSON, and how a cell is
 * shown as text (sizes as lsipc shows them) or as a JSON value.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ushm.h>

#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ushm-tool.h"

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
    { "REMOVE", "remove", 0, "a command that removes it, used or not (- if "
      "it goes by itself, or is a semaphore)", get_remove },
};
_Static_assert(sizeof columns / sizeof columns[0] == NCOLUMNS,
               "NCOLUMNS in ushm.h is the length of columns[]");

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

void print_columns_help(void)
{
    printf("Columns for --output (names in either case, separated by commas):\n");
    for (size_t i = 0; i < NCOLUMNS; i++)
        printf("  %-8s %s\n", columns[i].name, columns[i].help);
}

/* The columns of --output LIST, or the backend's default; n of them. */
int pick_columns(const struct command *cmd, const char *list,
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
/* The entry's object without its closing brace, for stat to add to. */
void json_entry_open(FILE *f, const struct entry *e)
{
    char buf[CELL_MAX];

    fputc('{', f);
    for (size_t i = 0; i < NCOLUMNS; i++) {
        struct value v = { V_NULL, NULL, 0 };

        columns[i].get(e, &v, buf, sizeof buf);
        fprintf(f, "%s\"%s\": ", i ? ", " : "", columns[i].key);
        json_value(f, &v);
    }
}

void json_entry(FILE *f, const struct entry *e)
{
    json_entry_open(f, e);
    fputc('}', f);
}

/* stat's text: one "key: value" line per column, in the JSON keys' order. */
int print_fields(const struct entry *e, int bytes)
{
    for (size_t i = 0; i < NCOLUMNS; i++) {
        char *text = cell_text(e, (int)i, bytes);

        if (!text)
            return -1;
        printf("%s: %s\n", columns[i].key, text);
        free(text);
    }
    return 0;
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
int print_table(const struct entries *l, const int *cols, size_t ncols,
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

/* Why the library refuses e, and whether anything uses it. */
static void problem_text(const struct entry *e, char *buf, size_t len)
{
    if (e->status & ST_SEMAPHORE)
        snprintf(buf, len, "a POSIX semaphore (sem_open), not a shared "
                 "memory segment: it is left to the programs that use it");
    else if (e->status & ST_NOTFILE)
        snprintf(buf, len, "not a shared memory object: %s", e->type);
    else if (e->status & ST_BADNAME)
        snprintf(buf, len, "%s", e->why);
    else if (e->status & ST_EMPTY)
        snprintf(buf, len, "empty (size 0): the library does not open it");
    else if (e->cpid_alive == 1)
        snprintf(buf, len, "key IPC_PRIVATE: no name reaches it, and nothing "
                 "is attached, though its creator (pid %lld) is still "
                 "running", e->cpid);
    else
        snprintf(buf, len, "key IPC_PRIVATE: no name reaches it, and nothing "
                 "is attached");
}

/*
 * On stderr, for each entry the library refuses: why, and a command that
 * removes it only where nothing uses it.  A SysV segment with processes
 * attached is somebody's at work: no line.  POSIX cannot tell whether a
 * program has an object open or mapped, so the advice says "if".  A
 * semaphore gets no advice at all.
 */
void print_notes(const struct command *cmd, const struct entries *l)
{
    char how[CELL_MAX], label[64], why[256];

    for (size_t i = 0; i < l->n; i++) {
        const struct entry *e = &l->e[i];
        int posix = e->id < 0;
        char *name, *what;

        if (!(e->status & ~(unsigned)ST_REMOVED) || (e->status & ST_REMOVED) ||
            e->nattach > 0)
            continue;
        snprintf(label, sizeof label, "key 0x%08" PRIx32 " (id %lld)",
                 e->key, e->id);
        problem_text(e, why, sizeof why);
        name = text_escape(e->name ? e->name : label);
        what = text_escape(why);
        if (name && what && !remove_command(e, how, sizeof how))
            fprintf(stderr, "ushm: %s: %s: %s\n", cmd->name, name, what);
        else if (name && what)
            fprintf(stderr, "ushm: %s: %s: %s; %sremove it with: %s\n",
                    cmd->name, name, what, posix ? "if nothing uses it, " : "",
                    how);
        free(name);
        free(what);
    }
}

void print_json_list(const struct entries *l)
{
    fputs("{\"segments\": [", stdout);
    for (size_t i = 0; i < l->n; i++) {
        fputs(i ? ",\n  " : "\n  ", stdout);
        json_entry(stdout, &l->e[i]);
    }
    fputs(l->n ? "\n]}\n" : "]}\n", stdout);
}
