/* SPDX-License-Identifier: MIT */
/*
 * Names the test makes and removes, and snapshots of what the process
 * and the system hold (descriptors, mappings, /dev/shm, SysV, signal mask).
 */
#include "syscall-faults.h"

/* ------------------------------------------------------------------ */
/* Names, and removing everything at the end.                           */

#define MAX_NAMES 1024

pid_t main_pid;
int posix;                        /* the backend under test */
size_t page, seg_size, exist_size;
char prefix[24];                  /* "sf<pid>_": our /dev/shm entries */
static char names[MAX_NAMES][USHM_NAME_MAX + 1];
static int nnames;

const char *new_name(void)
{
    char *n = names[nnames < MAX_NAMES ? nnames : MAX_NAMES - 1];

    snprintf(n, USHM_NAME_MAX + 1, "/%s%d", prefix, nnames);
    if (nnames < MAX_NAMES)
        nnames++;
    return n;
}

/* Remove a name on both backends' terms, with the real calls. */
void remove_name(const char *name)
{
    int id;

    if (posix) {
        __real_shm_unlink(name);
        return;
    }
    id = __real_shmget((key_t)fc_sysv_key(name), 0, 0);
    if (id != -1)
        __real_shmctl(id, IPC_RMID, NULL);
}

struct sv_rows { struct sv_row *rows; int max, n; };

static int sysv_row(const struct seglist_sysv *s, void *arg)
{
    struct sv_rows *r = arg;

    if (s->cpid != (long long)main_pid)
        return 0;
    if (r->n < r->max) {
        r->rows[r->n].id = s->shmid;
        r->rows[r->n].key = (long)s->key;
        r->rows[r->n].size = (unsigned long)s->size;
        r->rows[r->n].nattch = (unsigned long)s->nattch;
    }
    r->n++;
    return 0;
}

int sysv_rows(struct sv_row *rows, int max)
{
    struct sv_rows r = { rows, max, 0 };

    seglist_sysv_each(sysv_row, &r, NULL, 0);
    return r.n < max ? r.n : max;
}

/* Anonymous SysV segments left by a failed IPC_RMID: ours, unattached. */
void remove_private_segments(void)
{
    struct sv_row rows[64];
    int n = sysv_rows(rows, 64);

    for (int i = 0; i < n; i++)
        if (rows[i].key == 0 && rows[i].nattch == 0)
            __real_shmctl(rows[i].id, IPC_RMID, NULL);
}

void sweep_all(void)
{
    char list[4096], *save, *tok;
    struct sv_row rows[64];
    int n;

    if (getpid() != main_pid)
        return;
    armed = 0;
    for (int i = 0; i < nnames; i++)
        remove_name(names[i]);
    fc_count_devshm(prefix, list, sizeof list);
    for (tok = strtok_r(list, " ", &save); tok != NULL;
         tok = strtok_r(NULL, " ", &save)) {
        char path[64];

        snprintf(path, sizeof path, "/%s", tok);
        __real_shm_unlink(path);
    }
    n = sysv_rows(rows, 64);
    for (int i = 0; i < n; i++)
        __real_shmctl(rows[i].id, IPC_RMID, NULL);
}

void on_signal(int sig)
{
    sweep_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* ------------------------------------------------------------------ */
/* What the process and the system hold.                                */

/* Our /dev/shm entries (the prefix's) and their sizes, -1 if gone. */
static int snap_dev(const struct seglist_posix *e, void *arg)
{
    struct snap *s = arg;

    if (strncmp(e->name, prefix, strlen(prefix)) != 0 || s->ndev == MAX_ENT)
        return 0;
    snprintf(s->dev[s->ndev].name, sizeof s->dev[0].name, "/%s", e->name);
    s->dev[s->ndev].size = e->err == 0 ? (long long)e->size : -1;
    s->ndev++;
    return 0;
}

void snap_sets(struct snap *s)
{
    s->ndev = 0;
    seglist_posix_each(snap_dev, s, NULL, 0);
    s->nsv = sysv_rows(s->sv, MAX_ENT);
}

void snap_take(struct snap *s)
{
    s->fds = fc_count_fds();
    s->maps = fc_count_maps();
    snap_sets(s);
    pthread_sigmask(SIG_BLOCK, NULL, &s->mask);
}

const struct entry *find_dev(const struct snap *s, const char *name)
{
    for (int i = 0; i < s->ndev; i++)
        if (strcmp(s->dev[i].name, name) == 0)
            return &s->dev[i];
    return NULL;
}

const struct sv_row *find_sv(const struct snap *s, int id)
{
    for (int i = 0; i < s->nsv; i++)
        if (s->sv[i].id == id)
            return &s->sv[i];
    return NULL;
}

int same_mask(const sigset_t *a, const sigset_t *b)
{
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return 0;
    return 1;
}

/* Append to a ';'-separated text field. */
void addf(char *buf, size_t len, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;

    if (used + 3 >= len)
        return;
    if (used > 0) {
        strcpy(buf + used, "; ");
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(buf + used, len - used, fmt, ap);
    va_end(ap);
}
