/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: what every topic shares (the name log, the helpers,
 * child processes, the sweep) and main().  See common.h.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* The name log: shared by every process forked from main().           */

struct name_log *name_log;
char prefix[24];          /* "u<main pid>x" */
mode_t saved_umask;
unsigned long swept_upto; /* main process only */
unsigned leaks;           /* main process only */
int dummy_byte;

unsigned long log_reserve(void)
{
    unsigned long n = __atomic_fetch_add(&name_log->next, 1, __ATOMIC_SEQ_CST);

    if (n >= LOG_MAX)
        __atomic_store_n(&name_log->overflow, 1, __ATOMIC_SEQ_CST);
    return n;
}

void log_fill(unsigned long n, const char *name, const char *who)
{
    struct log_entry *e;

    if (n >= LOG_MAX)
        return;
    e = &name_log->e[n];
    e->pid = getpid();
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->who, sizeof e->who, "%s", who);
    __atomic_store_n(&e->ready, 1, __ATOMIC_RELEASE);
}

/*
 * A fresh name "/<prefix><pid>_<n><suffix>", logged for the sweep.  With
 * body_len, the part after the slash is padded with 'z' to exactly that
 * length (the caller checks it could be).
 */
char *new_name_(char *buf, size_t len, const char *suffix,
                size_t body_len, const char *who)
{
    unsigned long n = log_reserve();
    size_t k;

    snprintf(buf, len, "/%s%ld_%lu%s", prefix, (long)getpid(), n, suffix);
    k = strlen(buf);
    while (body_len && k < body_len + 1 && k + 1 < len)
        buf[k++] = 'z';
    buf[k] = '\0';
    log_fill(n, buf, who);
    return buf;
}

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

/* ------------------------------------------------------------------ */
/* Expected failures: exact error, *shm NULL, a message, nothing left.  */

/*
 * ushm_open() must fail with want, set *shm to NULL, leave a non-empty
 * ushm_last_error() (containing canon when given, and a "(" naming the
 * system call when syscall is set), and change no descriptor, no /dev/shm
 * entry of ours and no SysV segment of ours.
 */
void expect_open_fail(int line, const char *name, size_t size, int flags,
                      mode_t mode, int want, const char *canon, int syscall)
{
    struct probe before, after;
    ushm_t *shm = DUMMY;
    const char *msg;
    char why[128];
    int rc;

    if (name == NULL)
        NOTE_PID();
    probe_take(&before);
    rc = ushm_open(&shm, name, size, flags, mode);
    msg = ushm_last_error();
    if (rc == 0 && shm && shm != DUMMY)
        ushm_close(shm);
    ck_assert_msg(rc == want,
                  "line %d: ushm_open(\"%s\", %zu, %#x, %#o) = %d (%s), want %d (%s); last error: %s",
                  line, name ? name : "NULL", size, (unsigned)flags, (unsigned)mode,
                  rc, rcstr(rc), want, rcstr(want), last_err());
    ck_assert_msg(shm == NULL, "line %d: ushm_open failed with %d but left *shm = %p",
                  line, rc, (void *)shm);
    ck_assert_msg(msg != NULL && msg[0] != '\0',
                  "line %d: ushm_last_error() is NULL or empty after a failure", line);
    if (canon)
        ck_assert_msg(strstr(msg, canon) != NULL,
                      "line %d: ushm_last_error() \"%s\" does not name the segment %s",
                      line, msg, canon);
    if (syscall)
        ck_assert_msg(strchr(msg, '(') != NULL,
                      "line %d: ushm_last_error() \"%s\" does not name the system call",
                      line, msg);
    probe_take(&after);
    ck_assert_msg(!probe_differs(&before, &after, why, sizeof why),
                  "line %d: failed ushm_open(\"%s\") left something behind: %s",
                  line, name ? name : "NULL", why);
}

/* ushm_stat / ushm_unlink must fail with want and explain it. */
void expect_fail_msg(int line, const char *what, int rc, int want, const char *canon)
{
    const char *msg = ushm_last_error();

    ck_assert_msg(rc == want, "line %d: %s = %d (%s), want %d (%s); last error: %s",
                  line, what, rc, rcstr(rc), want, rcstr(want), last_err());
    ck_assert_msg(msg != NULL && msg[0] != '\0',
                  "line %d: %s: ushm_last_error() NULL or empty", line, what);
    if (canon)
        ck_assert_msg(strstr(msg, canon) != NULL,
                      "line %d: %s: ushm_last_error() \"%s\" does not name %s",
                      line, what, msg, canon);
}

ushm_t *open_ok(int line, const char *name, size_t size, int flags, mode_t mode)
{
    ushm_t *shm = DUMMY;
    int rc;

    if (name == NULL)
        NOTE_PID(); /* an anonymous SysV segment would carry this cpid */
    rc = ushm_open(&shm, name, size, flags, mode);

    ck_assert_msg(rc == 0, "line %d: ushm_open(\"%s\", %zu, %#x, %#o) = %d (%s); last error: %s",
                  line, name ? name : "NULL", size, (unsigned)flags, (unsigned)mode,
                  rc, rcstr(rc), last_err());
    ck_assert_msg(shm != NULL && shm != DUMMY, "line %d: ushm_open succeeded without a handle", line);
    ck_assert_msg(is_aligned(ushm_addr(shm)), "line %d: address %p is not page-aligned",
                  line, ushm_addr(shm));
    return shm;
}

ushm_t *tracked[MAX_TRACKED];

ushm_t *track(ushm_t *h)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == NULL) {
            tracked[i] = h;
            break;
        }
    return h;
}

int close_tracked(ushm_t *h)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == h && h != NULL)
            tracked[i] = NULL;
    return ushm_close(h);
}

void close_leftover_handles(void)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] != NULL) {
            ushm_close(tracked[i]);
            tracked[i] = NULL;
        }
}

long nattach_of(const char *name)
{
    struct ushm_stat st;
    int rc = ushm_stat(name, &st);

    ck_assert_msg(rc == 0, "ushm_stat(%s) = %d (%s): %s", name, rc, rcstr(rc), last_err());
    return st.nattach;
}

/* ------------------------------------------------------------------ */
/* Child processes: report through a pipe and the exit status.          */

int drop_to_nobody(char *msg, size_t len)
{
    struct passwd *pw = getpwnam("nobody");
    uid_t uid = pw ? pw->pw_uid : 65534;
    gid_t gid = pw ? pw->pw_gid : 65534;

    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0 ||
        geteuid() != uid || getegid() != gid) {
        snprintf(msg, len, "could not become nobody (%ld:%ld): %s",
                 (long)uid, (long)gid, strerror(errno));
        return 1;
    }
    return 0;
}

uid_t nobody_uid(void)
{
    struct passwd *pw = getpwnam("nobody");
    return pw ? pw->pw_uid : 65534;
}

/* Runs fn in a forked child (as nobody when drop is set); returns its exit status. */
int run_child(child_fn fn, void *arg, int drop, char *msg, size_t len)
{
    int p[2], status;
    size_t got = 0;
    ssize_t r;
    pid_t pid;

    msg[0] = '\0';
    ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char buf[1024] = "";
        int rc;
        close(p[0]);
        NOTE_PID();
        if (drop && drop_to_nobody(buf, sizeof buf) != 0)
            rc = 250;
        else
            rc = fn(arg, buf, sizeof buf);
        if (write(p[1], buf, strlen(buf)) < 0)
            rc = 251;
        _exit(rc);
    }
    close(p[1]);
    while (got + 1 < len && (r = read(p[0], msg + got, len - 1 - got)) > 0)
        got += (size_t)r;
    msg[got] = '\0';
    close(p[0]);
    ck_assert_msg(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    snprintf(msg + strlen(msg), len - strlen(msg), " [killed by signal %d]", WTERMSIG(status));
    return 256 + WTERMSIG(status);
}

void skip_case(const char *test, const char *fmt, ...)
{
    unsigned long seq = __atomic_load_n(&name_log->cases, __ATOMIC_SEQ_CST);
    unsigned long k = __atomic_fetch_add(&name_log->nskips, 1, __ATOMIC_SEQ_CST);
    size_t tl = strlen(test);
    char why[240];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    /* START_TEST names the function <test>_fn. */
    if (tl > 3 && strcmp(test + tl - 3, "_fn") == 0)
        tl -= 3;
    if (k < MAX_SKIPS) {
        name_log->skips[k].seq = seq;
        snprintf(name_log->skips[k].why, sizeof name_log->skips[k].why, "%s", why);
    }
    printf("SKIP %.*s (%s backend): %s\n", (int)tl, test, ushm_backend(), why);
    fflush(stdout);
}

int skip_unless_root(const char *what)
{
    if (geteuid() == 0)
        return 0;
    skip_case(what, "needs root to act as another user");
    return 1;
}

/* ------------------------------------------------------------------ */
/* Guarded children: every call under a deadline, optionally in private  */
/* IPC and mount namespaces with a fresh 1777 tmpfs on /dev/shm.         */

static int guard_fd = -1;       /* the pipe to the parent, in a guarded child */
static char guard_step[512];   /* what the guarded child is doing */
static size_t guard_step_len;

static void guard_alarm(int sig)
{
    static const char head[] = "deadline passed (a hang) in: ";
    ssize_t w;

    (void)sig;
    if (guard_fd >= 0) {
        w = write(guard_fd, head, sizeof head - 1);
        w = write(guard_fd, guard_step, guard_step_len);
        (void)w;
    }
    _exit(GUARD_HUNG);
}

void deadline_begin(unsigned secs, const char *fmt, ...)
{
    va_list ap;
    int n;

    alarm(0);
    va_start(ap, fmt);
    n = vsnprintf(guard_step, sizeof guard_step, fmt, ap);
    va_end(ap);
    guard_step_len = n < 0 ? 0 : (size_t)n < sizeof guard_step ? (size_t)n : sizeof guard_step - 1;
    alarm(secs);
}

void deadline_end(void)
{
    alarm(0);
    deadline_begin(GUARD_SECS, "the test between two calls");
}

double now_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void guard_here(int fd)
{
    guard_fd = fd;
    signal(SIGALRM, guard_alarm);
    deadline_end();
}

pid_t guard_fork(void)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        NOTE_PID();
        alarm(0);
        signal(SIGALRM, SIG_DFL);
        if (guard_fd >= 0)
            close(guard_fd);
        guard_fd = -1;
#ifdef PR_SET_PDEATHSIG
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
    }
    return pid;
}

int run_guarded(child_fn fn, void *arg, int private_shm, char *msg, size_t len)
{
    int p[2], status;
    size_t got = 0;
    ssize_t r;
    pid_t pid;

    msg[0] = '\0';
    ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
    fflush(stdout);
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        char buf[1024] = "";
        int rc = 0, in_userns = 0;

        close(p[0]);
        NOTE_PID();
        guard_fd = p[1];
        signal(SIGALRM, guard_alarm);
        deadline_begin(GUARD_SECS, "entering the namespaces");
        if (private_shm) {
            rc = fc_enter_namespaces(private_shm == GUARD_PRIVATE_ANY, &in_userns, buf,
                                     sizeof buf);
            if (rc == 0 && fc_mount_devshm("mode=1777,size=64m", buf, sizeof buf) != 0)
                rc = 252;
            else if (rc == 77)
                rc = GUARD_SKIP;
            else if (rc != 0)
                rc = 252;
        }
        if (rc == 0) {
            buf[0] = '\0';
            deadline_end();
            rc = fn(arg, buf, sizeof buf);
        }
        alarm(0);
        if (write(p[1], buf, strlen(buf)) < 0)
            rc = 251;
        _exit(rc);
    }
    close(p[1]);
    while (got + 1 < len && ((r = read(p[0], msg + got, len - 1 - got)) > 0 ||
                             (r < 0 && errno == EINTR)))
        if (r > 0)
            got += (size_t)r;
    msg[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) != pid)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    snprintf(msg + strlen(msg), len - strlen(msg), " [killed by signal %d: %s]",
             WTERMSIG(status), strsignal(WTERMSIG(status)));
    return 256 + WTERMSIG(status);
}

/* ------------------------------------------------------------------ */
/* The sweep                                                            */

/* Unlinks every logged name from index from on; returns how many still existed. */
static unsigned sweep_names(unsigned long from, const char *when)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);
    unsigned found = 0;

    if (n > LOG_MAX)
        n = LOG_MAX;
    for (unsigned long i = from; i < n; i++) {
        struct log_entry *e = &name_log->e[i];
        int rc;

        if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE) || e->name[0] == '\0')
            continue;
        rc = ushm_unlink(e->name);
        if (rc == -ENOENT || rc == -ENAMETOOLONG)
            continue;
        found++;
        if (rc == 0)
            fprintf(stderr, "LEAK %s: %s (named by %s, pid %ld) still existed; removed\n",
                    when, e->name, e->who, (long)e->pid);
        else
            fprintf(stderr, "LEAK %s: %s (named by %s, pid %ld): ushm_unlink = %d (%s)\n",
                    when, e->name, e->who, (long)e->pid, rc, rcstr(rc));
    }
    return found;
}

void sweep_teardown(void)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);

    umask(saved_umask);
    close_leftover_handles();
    leaks += sweep_names(swept_upto, "after test case");
    swept_upto = n > LOG_MAX ? LOG_MAX : n;
}

static int devshm_leftover_entry(const struct seglist_posix *e, void *arg)
{
    /* Ours, or a semaphore of ours (sem.<name>: test_sem_names). */
    const char *body = strncmp(e->name, "sem.", 4) == 0 ? e->name + 4 : e->name;
    char path[512];

    if (strncmp(body, prefix, strlen(prefix)) != 0)
        return 0;
    fprintf(stderr, "LEAK at exit: /dev/shm/%s; removed\n", e->name);
    snprintf(path, sizeof path, "/dev/shm/%s", e->name);
    unlink(path);
    ++*(unsigned *)arg;
    return 0;
}

static unsigned devshm_leftovers(void)
{
    unsigned n = 0;

    seglist_posix_each(devshm_leftover_entry, &n, NULL, 0);
    return n;
}

static int pid_is_ours(long pid)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);

    if (pid == (long)getpid())
        return 1;
    if (n > LOG_MAX)
        n = LOG_MAX;
    for (unsigned long i = 0; i < n; i++)
        if (name_log->e[i].ready && (long)name_log->e[i].pid == pid)
            return 1;
    return 0;
}

static void sysv_leftover_row(long key, long shmid, long cpid, void *arg)
{
    if (!pid_is_ours(cpid))
        return;
    /* Every process of ours but this one is reaped by now: a live process
     * with that pid is someone else's that reused it. */
    if (cpid != (long)getpid() && (kill((pid_t)cpid, 0) == 0 || errno == EPERM))
        return;
    fprintf(stderr, "LEAK at exit: SysV segment key %#lx shmid %ld made by pid %ld; removed\n",
            (unsigned long)key & 0xffffffffUL, shmid, cpid);
    shmctl((int)shmid, IPC_RMID, NULL);
    ++*(unsigned *)arg;
}

static unsigned sysv_leftovers(void)
{
    unsigned n = 0;
    sysv_each(sysv_leftover_row, &n);
    return n;
}

/* ------------------------------------------------------------------ */
/* Test cases, and their results for automake                            */

/* A checked fixture: runs first in every case, in the case's process. */
static void case_begin(void)
{
    __atomic_fetch_add(&name_log->cases, 1, __ATOMIC_SEQ_CST);
}

TCase *add_tcase_fixture(Suite *s, const char *name, double timeout,
                         void (*setup)(void), void (*teardown)(void))
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    tcase_add_checked_fixture(tc, case_begin, NULL);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

TCase *add_tcase(Suite *s, const char *name, double timeout)
{
    return add_tcase_fixture(s, name, timeout, NULL, sweep_teardown);
}

/* The reason case seq (from 1) gave for skipping, or NULL. */
static const char *skip_reason(unsigned long seq)
{
    unsigned long n = __atomic_load_n(&name_log->nskips, __ATOMIC_SEQ_CST);

    for (unsigned long k = 0; k < n && k < MAX_SKIPS; k++)
        if (name_log->skips[k].seq == seq)
            return name_log->skips[k].why;
    return NULL;
}

/* One line of Check's TAP log: "ok 3 - file:tcase:test: message". */
struct tap_line {
    int ok;
    char name[160];   /* "tcase:test" */
    char *message;
};

static void tap_parse(char *line, struct tap_line *t)
{
    char *rest = strstr(line, " - "), *file_end, *tc_end, *name_end;

    line[strcspn(line, "\n")] = '\0';
    t->ok = strncmp(line, "ok ", 3) == 0;
    rest = rest ? rest + 3 : line;
    file_end = strchr(rest, ':');
    tc_end = file_end ? strchr(file_end + 1, ':') : NULL;
    name_end = tc_end ? strchr(tc_end + 1, ':') : NULL;
    if (name_end == NULL) {
        snprintf(t->name, sizeof t->name, "%.*s", (int)sizeof t->name - 1, rest);
        t->message = strdup("");
        return;
    }
    snprintf(t->name, sizeof t->name, "%.*s",
             (int)((size_t)(name_end - file_end - 1) < sizeof t->name - 1 ?
                   (size_t)(name_end - file_end - 1) : sizeof t->name - 1), file_end + 1);
    rest = name_end + 1;
    t->message = strdup(rest + (*rest == ' '));
}

/*
 * Check's TAP log printed again with each skip marked, a loop test's rounds
 * numbered ("test[2]") and the plan last.  The lines are in the order the
 * cases ran, so line n is the case that case_begin() counted as n; if the
 * counts differ no skip can be trusted to its line, which is a failure.
 */
static void print_tap(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    struct tap_line *t = NULL;
    unsigned long n = 0, cap = 0, cases = __atomic_load_n(&name_log->cases, __ATOMIC_SEQ_CST);

    if (f == NULL) {
        printf("not ok 1 - cannot read Check's TAP log %s: %s\n1..1\n", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "ok ", 3) != 0 && strncmp(line, "not ok ", 7) != 0)
            continue;
        if (n == cap) {
            struct tap_line *more = realloc(t, (cap = cap ? 2 * cap : 256) * sizeof *t);
            if (more == NULL)
                break;
            t = more;
        }
        tap_parse(line, &t[n++]);
    }
    fclose(f);
    for (unsigned long i = 0, round = 0; i < n; i++) {
        int loop = (i > 0 && strcmp(t[i].name, t[i - 1].name) == 0) ||
                   (i + 1 < n && strcmp(t[i].name, t[i + 1].name) == 0);
        const char *why = i < cases ? skip_reason(i + 1) : NULL;
        char name[200];

        round = i > 0 && strcmp(t[i].name, t[i - 1].name) == 0 ? round + 1 : 0;
        snprintf(name, sizeof name, loop ? "%s[%lu]" : "%s", t[i].name, round);
        if (!t[i].ok)
            printf("not ok %lu - %s: %s\n", i + 1, name, t[i].message ? t[i].message : "");
        else if (why != NULL)
            printf("ok %lu - %s # SKIP %s\n", i + 1, name, why);
        else
            printf("ok %lu - %s\n", i + 1, name);
        free(t[i].message);
    }
    free(t);
    if (n != cases) {
        printf("not ok %lu - %lu cases begun, Check reported %lu: the skips cannot be "
               "placed\n", n + 1, cases, n);
        n++;
    }
    printf("1..%lu\n", n);
    fflush(stdout);
}

/* The program's topics, run; each case's result as TAP; the leftovers swept. */
int conf_main(const char *title, void (*add_topics)(Suite *s, int forking))
{
    Suite *s;
    SRunner *sr;
    int failed, forking, overflow, tap_fd;
    unsigned exit_leaks;
    char tap[64];
    const char *tmp = getenv("TMPDIR");

    /* Check's forked children leave by exit(): nothing may wait in a buffer. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(prefix, sizeof prefix, "u%ldx", (long)getpid());
    saved_umask = umask(022);
    umask(saved_umask);
    name_log = mmap(NULL, sizeof *name_log, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (name_log == MAP_FAILED) {
        perror("mmap name log");
        return EXIT_FAILURE;
    }
    name_log->nr_hugepages_saved = -1;
    if (is_sysv()) {
        FILE *f = fopen("/proc/sys/kernel/shm_rmid_forced", "r");
        int forced = 0;
        if (f) {
            if (fscanf(f, "%d", &forced) != 1)
                forced = 0;
            fclose(f);
        }
        if (forced)
            printf("NOTE kernel.shm_rmid_forced=1: SysV segments vanish when the last "
                   "user detaches, so the reopen-after-close tests will fail here\n");
    }
    /* Check's TAP log goes to a file of ours, read back with the skips. */
    snprintf(tap, sizeof tap, "%s/ushm-tap-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    tap_fd = mkstemp(tap);
    if (tap_fd < 0) {
        perror("mkstemp for Check's TAP log");
        return EXIT_FAILURE;
    }
    close(tap_fd);
    unsetenv("CK_TAP_LOG_FILE_NAME");

    s = suite_create(title);
    sr = srunner_create(s);
    srunner_set_tap(sr, tap);
    forking = srunner_fork_status(sr) != CK_NOFORK;
    add_topics(s, forking);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    print_tap(tap);
    unlink(tap);

    exit_leaks = sweep_names(0, "at exit");
    exit_leaks += devshm_leftovers();
    exit_leaks += sysv_leftovers();
    overflow = name_log->overflow;
    if (overflow)
        fprintf(stderr, "the name log overflowed (%d entries): some names were not swept\n", LOG_MAX);
    if (name_log->nskips > MAX_SKIPS)
        fprintf(stderr, "%lu cases skipped: only the first %d are marked\n",
                name_log->nskips, MAX_SKIPS);
    if (leaks + exit_leaks > 0)
        fprintf(stderr, "%u segment(s) were left behind by the tests (see LEAK lines)\n",
                leaks + exit_leaks);
    munmap(name_log, sizeof *name_log);
    return failed == 0 && leaks + exit_leaks == 0 && !overflow ? EXIT_SUCCESS : EXIT_FAILURE;
}
