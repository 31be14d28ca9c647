/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: children that report through a pipe, skips, and guarded
 * children (every call under a deadline, maybe in namespaces).  See common.h.
 */
#include "common.h"

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
