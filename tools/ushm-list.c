/* SPDX-License-Identifier: MIT */
/*
 * What the backend holds, one entry per segment: the library has no call
 * that enumerates segments, so this reads /dev/shm (POSIX) or
 * /proc/sysvipc/shm (SysV) and marks what the library would refuse.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ushm.h>

#include <errno.h>
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

/* Why the name of a /dev/shm entry is not one libushm accepts, or NULL.
 * The library judges it (ushm_key() checks a name as every call does);
 * of its two answers, -EINVAL is a bad character or the sem. prefix. */
static const char *name_problem(const char *base)
{
    key_t key;
    int err = ushm_key(base, &key);

    if (err == 0)
        return NULL;
    if (err == -ENAMETOOLONG)
        return "longer than 30 characters";
    if (strncmp(base, "sem.", 4) == 0)
        return "a POSIX semaphore's name (sem. prefix)";
    return "characters outside A-Z a-z 0-9 . _ -";
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

/* Out of memory: a value the lists' own errors (negative) cannot have. */
enum { NOMEM = 1 };

static int posix_entry(const struct seglist_posix *p, void *arg)
{
    struct entries *l = arg;
    mode_t m = (mode_t)p->mode;
    struct entry *e;

    /* Gone since readdir, or not ours to look at: not listed. */
    if (p->err)
        return 0;
    if (!(e = add_entry(l)) || !(e->name = malloc(strlen(p->name) + 2)))
        return NOMEM;
    sprintf(e->name, "/%s", p->name);
    e->size = (long long)p->size;
    e->mode = (unsigned)(m & 07777);
    e->uid = p->uid;
    e->gid = p->gid;
    if (!S_ISREG(m)) {
        e->status |= ST_NOTFILE;
        e->type = file_type(m);
    }
    /* glibc keeps a named semaphore as the file /dev/shm/sem.NAME. */
    if (S_ISREG(m) && strncmp(p->name, "sem.", 4) == 0)
        e->status |= ST_SEMAPHORE;
    else if ((e->why = name_problem(p->name)) != NULL)
        e->status |= ST_BADNAME;
    if (S_ISREG(m) && p->size == 0 && !(e->status & ST_SEMAPHORE))
        e->status |= ST_EMPTY;
    return 0;
}

static int pid_alive(long long pid)
{
    /* EPERM: the process exists but belongs to someone else. */
    return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int sysv_entry(const struct seglist_sysv *s, void *arg)
{
    struct entries *l = arg;
    struct entry *e = add_entry(l);

    if (!e)
        return NOMEM;
    e->key = (uint32_t)s->key;
    e->key_known = 1;
    e->id = s->shmid;
    e->mode = s->perms & 0777;
    e->size = (long long)s->size;
    e->cpid = s->cpid;
    e->cpid_alive = pid_alive(e->cpid);
    e->nattach = s->nattch;
    e->uid = s->uid;
    e->gid = s->gid;
    if (e->key == 0)
        e->status |= ST_PRIVATE;
    if (s->perms & 01000)   /* SHM_DEST */
        e->status |= ST_REMOVED;
    return 0;
}

/* Every segment the backend can see, sorted; on failure, a message in msg. */
int backend_entries(struct entries *l, char *msg, size_t len)
{
    int rc = is_sysv() ? seglist_sysv_each(sysv_entry, l, msg, len)
                       : seglist_posix_each(posix_entry, l, msg, len);

    if (rc == NOMEM)
        snprintf(msg, len, "out of memory");
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
    if (e->status & ST_SEMAPHORE)
        o += (size_t)snprintf(buf + o, len - o, "semaphore,");
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

/* The command that removes it, used or not (the notes advise); 0 if there
 * is none: removed, waiting to go, or a semaphore, which is not a segment
 * and belongs to the programs that use it (sem_unlink). */
int remove_command(const struct entry *e, char *buf, size_t len)
{
    char path[PATH_MAX], quoted[PATH_MAX * 4 + 8];

    if (e->status & (ST_REMOVED | ST_SEMAPHORE))
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
    snprintf(path, sizeof path, SEGLIST_POSIX_DIR "%s", e->name);
    shell_quote(path, quoted, sizeof quoted);
    snprintf(buf, len, "%s %s", (e->status & ST_NOTFILE) &&
             strcmp(e->type, "directory") == 0 ? "rm -r" : "rm", quoted);
    return 1;
}


/* The id and creator of the live segment with e's key. */
static int sysv_match(const struct seglist_sysv *s, void *arg)
{
    struct entry *e = arg;

    if ((uint32_t)s->key == e->key && !(s->perms & 01000)) {
        e->id = s->shmid;
        e->cpid = s->cpid;
        e->cpid_alive = pid_alive(e->cpid);
    }
    return 0;
}

/* What ushm_stat() or ushm_stat_key() says, and on SysV the id and creator
 * from the kernel's list (the segment with the key that is not removed). */
int stat_entry(const struct target *t, struct entry *e, char *msg, size_t len)
{
    struct ushm_stat st;
    key_t key = t->key;

    memset(e, 0, sizeof *e);
    e->nattach = e->id = e->cpid = -1;
    e->cpid_alive = -1;
    if (target_stat(t, &st) < 0 || (t->name && ushm_key(t->name, &key) < 0))
        return 1;
    if (t->name && !(e->name = strdup(t->label))) {
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
    e->key = (uint32_t)key;
    e->key_known = 1;
    return seglist_sysv_each(sysv_match, e, msg, len) == 0 ? 0 : -1;
}
