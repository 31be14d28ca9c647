/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: small helpers, and probes that count what exists (fds,
 * /dev/shm entries, SysV segments, what backs a mapping).  See common.h.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Small helpers.                                                        */

int is_sysv(void) { return strcmp(ushm_backend(), "sysv") == 0; }
int is_posix(void) { return strcmp(ushm_backend(), "posix") == 0; }

const char *last_err(void)
{
    const char *m = ushm_last_error();
    return m ? m : "(ushm_last_error() returned NULL)";
}

const char *rcstr(int rc)
{
    return rc == 0 ? "success" : strerror(rc < 0 ? -rc : rc);
}

size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

unsigned char pattern_byte(size_t i, unsigned seed)
{
    return (unsigned char)((i * 31u + seed * 7u) ^ (i >> 9) ^ 0x5a);
}

void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = pattern_byte(i, seed);
}

size_t pattern_mismatch(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != pattern_byte(i, seed))
            return i;
    return NONE;
}

size_t first_nonzero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return i;
    return NONE;
}

int is_aligned(const void *p)
{
    return p != NULL && (uintptr_t)p % page_size() == 0;
}

/* /dev/shm/<name without slash>, or "" when there is no /dev/shm. */
const char *devshm_path(const char *canon, char *buf, size_t len)
{
    struct stat sb;

    if (stat("/dev/shm", &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        buf[0] = '\0';
        return buf;
    }
    snprintf(buf, len, "/dev/shm%s", canon);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Counting what exists: descriptors, /dev/shm entries, SysV segments.  */

/* Open descriptors of this process (and how many lack FD_CLOEXEC); -1 if unknown. */
int count_fds(int *inheritable)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0, inh = 0, self;

    if (!d)
        return -1;
    self = dirfd(d);
    while ((de = readdir(d)) != NULL) {
        int fd, fl;
        if (de->d_name[0] == '.')
            continue;
        fd = atoi(de->d_name);
        if (fd == self)
            continue;
        n++;
        fl = fcntl(fd, F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC))
            inh++;
    }
    closedir(d);
    if (inheritable)
        *inheritable = inh;
    return n;
}

static int count_prefix_entry(const struct seglist_posix *e, void *arg)
{
    if (strncmp(e->name, prefix, strlen(prefix)) == 0)
        ++*(int *)arg;
    return 0;
}

int devshm_count_prefix(void)
{
    int n = 0;

    seglist_posix_each(count_prefix_entry, &n, NULL, 0);
    return n;
}

struct sysv_each_call {
    void (*fn)(long key, long shmid, long cpid, void *arg);
    void *arg;
};

static int sysv_each_row(const struct seglist_sysv *s, void *arg)
{
    const struct sysv_each_call *c = arg;

    c->fn((long)s->key, (long)s->shmid, (long)s->cpid, c->arg);
    return 0;
}

/* Calls fn for every row of /proc/sysvipc/shm; -1 if the file is missing. */
int sysv_each(void (*fn)(long key, long shmid, long cpid, void *arg), void *arg)
{
    struct sysv_each_call c = { fn, arg };

    return seglist_sysv_each(sysv_each_row, &c, NULL, 0) < 0 ? -1 : 0;
}

void count_cpid_row(long key, long shmid, long cpid, void *arg)
{
    struct cpid_count *c = arg;
    (void)key;
    (void)shmid;
    if (cpid == (long)c->pid)
        c->n++;
}

/* SysV segments (named or not, removed or not) created by pid. */
int sysv_count_cpid(pid_t pid)
{
    struct cpid_count c = { pid, 0 };
    sysv_each(count_cpid_row, &c);
    return c.n;
}

void probe_take(struct probe *p)
{
    p->fds = count_fds(NULL);
    p->devshm = devshm_count_prefix();
    p->sysv = sysv_count_cpid(getpid());
}

int probe_differs(const struct probe *a, const struct probe *b, char *why, size_t len)
{
    if (a->fds != b->fds) {
        snprintf(why, len, "open descriptors %d -> %d", a->fds, b->fds);
        return 1;
    }
    if (a->devshm != b->devshm) {
        snprintf(why, len, "our /dev/shm entries %d -> %d", a->devshm, b->devshm);
        return 1;
    }
    if (a->sysv != b->sysv) {
        snprintf(why, len, "our SysV segments %d -> %d", a->sysv, b->sysv);
        return 1;
    }
    return 0;
}

void mapping_backing(const void *addr, struct backing *b)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];

    memset(b, 0, sizeof *b);
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi, ino;
        unsigned maj, min;
        int used = 0;

        if (sscanf(line, "%lx-%lx %*s %*s %x:%x %lu %n", &lo, &hi, &maj, &min, &ino, &used) < 5)
            continue;
        if ((uintptr_t)addr < lo || (uintptr_t)addr >= hi)
            continue;
        b->maj = maj;
        b->min = min;
        b->ino = ino;
        if (used > 0)
            snprintf(b->path, sizeof b->path, "%.*s", (int)strcspn(line + used, "\n"), line + used);
        break;
    }
    fclose(f);
}

struct names_of {
    const struct backing *b;
    char *out;
    size_t len;
    int n;
};

static int name_of_entry(const struct seglist_posix *e, void *arg)
{
    struct names_of *c = arg;
    dev_t dev = (dev_t)e->dev;

    if (e->err != 0 || !S_ISREG((mode_t)e->mode) || e->ino != c->b->ino ||
        major(dev) != c->b->maj || minor(dev) != c->b->min)
        return 0;
    snprintf(c->out + strlen(c->out), c->len - strlen(c->out), " %s/%s",
             SEGLIST_POSIX_DIR, e->name);
    c->n++;
    return 0;
}

/* Names in /dev/shm of the file b (a name left behind for an anonymous segment). */
int devshm_names_of(const struct backing *b, char *out, size_t len)
{
    struct names_of c = { b, out, len, 0 };

    out[0] = '\0';
    if (b->ino == 0)
        return 0;
    seglist_posix_each(name_of_entry, &c, NULL, 0);
    return c.n;
}
