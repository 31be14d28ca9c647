/* SPDX-License-Identifier: MIT */
/*
 * What the backend holds, one entry per segment: the library has no call
 * that enumerates segments, so this reads /dev/shm (POSIX) or
 * /proc/sysvipc/shm (SysV) and marks what the library would refuse.
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ushm-tool.h"

/* "cache" and "/cache" name one segment; show the form with the slash. */
void canonical_name(const char *name, char *buf, size_t len)
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

int is_sysv(void)
{
    return strcmp(ushm_backend(), "sysv") == 0;
}

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

void free_entries(struct entries *l)
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

int backend_entries(struct entries *l, char *msg, size_t len)
{
    int rc = is_sysv() ? sysv_entries(l, msg, len) : posix_entries(l, msg, len);

    if (rc == 0 && l->n > 1)
        qsort(l->e, l->n, sizeof l->e[0], compare_entries);
    return rc;
}

/* What "status" says: "ok", or the ST_* words joined by commas. */
void status_text(const struct entry *e, char *buf, size_t len)
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
int remove_command(const struct entry *e, char *buf, size_t len)
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


/* What ushm_stat() says, and on SysV the id and creator from the kernel's
 * list (the segment with the name's key that is not removed). */
int stat_entry(const char *name, struct entry *e, char *msg, size_t len)
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
