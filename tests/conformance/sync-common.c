/* SPDX-License-Identifier: MIT */
/*
 * What the mutex and event tests share: see sync-common.h.
 */
#include "sync-common.h"

#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <stdarg.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>

void ctx_open(struct ctx *c, int anon)
{
    memset(c, 0, sizeof *c);
    c->anon = anon;
    if (anon) {
        c->h = OPEN_OK(NULL, SEG_SIZE, USHM_CREATE, 0600);
    } else {
        NEW_NAME(c->name);
        c->h = OPEN_OK(c->name, SEG_SIZE, USHM_CREATE | USHM_EXCL, 0600);
    }
    c->sh = ushm_addr(c->h);
}

void ctx_close(struct ctx *c)
{
    CLOSE_OK(c->h);
    if (!c->anon)
        ASSERT_RC(ushm_unlink(c->name), 0);
}

const char *ctx_kind(const struct ctx *c)
{
    return c->anon ? "anonymous" : "named";
}

double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int under_valgrind(void)
{
    return getenv("USHM_UNDER_VALGRIND") != NULL;
}

#if defined(__SANITIZE_ADDRESS__)
#define SYNC_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SYNC_SANITIZED 1
#endif
#endif

/* How late a timeout may end: a loaded CI machine, a sanitizer, valgrind. */
double late_ms(void)
{
#ifdef SYNC_SANITIZED
    if (!under_valgrind())
        return 500.0;
#endif
    return under_valgrind() ? 3000.0 : 200.0;
}

void child_error(struct shared *sh, const char *fmt, ...)
{
    va_list ap;

    if (atomic_fetch_add(&sh->errors, 1) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sh->msg, sizeof sh->msg, fmt, ap);
    va_end(ap);
}

/*
 * The segment as a child sees it: for a named segment, its own mapping made
 * by name (so at another address); for an anonymous one, the inherited one.
 */
static struct shared *child_map(struct ctx *c, ushm_t **own)
{
    *own = NULL;
    if (c->anon)
        return c->sh;
    if (ushm_open(own, c->name, 0, 0, 0) != 0)
        return NULL;
    return ushm_addr(*own);
}

pid_t spawn(struct ctx *c, sync_child_fn fn, long arg)
{
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        struct shared *sh;
        ushm_t *own;
        int rc;

#ifdef PR_SET_PDEATHSIG
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        signal(SIGALRM, SIG_DFL); /* not Check's handler (CK_FORK=no) */
        alarm(120);               /* nothing here may outlive a hung test */
        sh = child_map(c, &own);
        if (sh == NULL) {
            child_error(c->sh, "child %ld: ushm_open(%s): %s", (long)getpid(),
                        c->name, ushm_last_error());
            _exit(100);
        }
        rc = fn(c, sh, arg);
        if (own != NULL && ushm_close(own) != 0) {
            child_error(sh, "child %ld: ushm_close: %s", (long)getpid(),
                        ushm_last_error());
            rc = 101;
        }
        _exit(rc);
    }
    return pid;
}

int reap(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid(%ld): %s", (long)pid, strerror(errno));
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 256 + WTERMSIG(status);
}

int put_byte(int fd, char b)
{
    ssize_t r;

    while ((r = write(fd, &b, 1)) < 0 && errno == EINTR)
        ;
    return r == 1;
}

int get_byte(int fd, char *b)
{
    ssize_t r;

    while ((r = read(fd, b, 1)) < 0 && errno == EINTR)
        ;
    return r == 1;
}

void pipe_ok(int p[2])
{
    ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
}

void close_pipe(int p[2])
{
    close(p[0]);
    close(p[1]);
}

struct chan chan;

void chan_open(void)
{
    pipe_ok(chan.down);
    pipe_ok(chan.up);
}

void chan_close(void)
{
    close_pipe(chan.down);
    close_pipe(chan.up);
}

/* Where the system has no robust mutex every mutex call is -ENOTSUP. */
/*
 * Linux tells the next locker that a holder died by walking the dead
 * thread's robust futex list (set_robust_list).  qemu-user cannot walk a
 * guest's list and answers ENOSYS, yet glibc still makes robust mutexes,
 * which then never report USHM_OWNERDEAD: a limit of the emulator, so the
 * cases that let a holder die are skipped there, saying why.
 */
int no_death_notice(const char *test)
{
    if (no_mutex(test))
        return 1;
#if defined(__linux__) && defined(SYS_get_robust_list)
    {
        void *head;
        size_t len;

        if (syscall(SYS_get_robust_list, 0, &head, &len) == -1 && errno == ENOSYS) {
            skip_case(test, "get_robust_list() is ENOSYS here (qemu-user keeps "
                      "no robust futex list), so a dead holder's mutex is never "
                      "marked EOWNERDEAD");
            return 1;
        }
    }
#endif
    return 0;
}

int no_mutex(const char *test)
{
    static ushm_mutex_t probe;
    int rc = ushm_mutex_trylock(&probe);

    if (rc == 0) {
        ASSERT_RC(ushm_mutex_unlock(&probe), 0);
        return 0;
    }
    ck_assert_msg(rc == -ENOTSUP, "trylock of a zero mutex = %d (%s): %s", rc, rcstr(rc),
                  last_err());
    ASSERT_RC(ushm_mutex_lock(&probe), -ENOTSUP);
    ASSERT_RC(ushm_mutex_timedlock(&probe, 10), -ENOTSUP);
    ASSERT_RC(ushm_mutex_unlock(&probe), -ENOTSUP);
    skip_case(test, "no robust process-shared mutex here: %s", last_err());
    return 1;
}

/* ------------------------------------------------------------------ */
/* A holder, a waiter                                                   */

int hold_child(struct ctx *c, struct shared *sh, long which)
{
    ushm_mutex_t *m = which ? &sh->m2 : &sh->m;
    int rc = ushm_mutex_lock(m);
    char b;

    (void)c;
    if (rc != 0) {
        child_error(sh, "holder: ushm_mutex_lock = %d: %s", rc, ushm_last_error());
        put_byte(chan.up[1], 'f');
        return 2;
    }
    sh->counter = 12345; /* "half-updated" */
    if (!put_byte(chan.up[1], 'l'))
        return 3;
    if (!get_byte(chan.down[0], &b))
        return 4;
    rc = ushm_mutex_unlock(m);
    if (rc != 0) {
        child_error(sh, "holder: ushm_mutex_unlock = %d: %s", rc, ushm_last_error());
        return 5;
    }
    put_byte(chan.up[1], 'u');
    return 0;
}

pid_t start_holder(struct ctx *c, long which)
{
    pid_t pid;
    char b = 0;

    chan_open();
    pid = spawn(c, hold_child, which);
    ck_assert_msg(get_byte(chan.up[0], &b) && b == 'l', "the holder did not lock (%c): %s",
                  b, c->sh->msg);
    return pid;
}

void release_holder(struct ctx *cp, pid_t pid)
{
    struct ctx c = *cp;
    char b = 0;

    ck_assert(put_byte(chan.down[1], 'u'));
    ck_assert_msg(get_byte(chan.up[0], &b) && b == 'u', "the holder did not unlock");
    ASSERT_EXITED_0(pid);
    chan_close();
}

int wait_forever_child(struct ctx *c, struct shared *sh, long seen)
{
    int rc;

    (void)c;
    put_byte(chan.up[1], 'w');
    rc = ushm_event_wait(&sh->ev[0], (unsigned)seen, -1);
    if (rc != 0) {
        child_error(sh, "ushm_event_wait(-1) = %d: %s", rc, ushm_last_error());
        return 2;
    }
    if (ushm_event_read(&sh->ev[0]) == (unsigned)seen) {
        child_error(sh, "ushm_event_wait returned 0 with the counter unchanged");
        return 3;
    }
    return 0;
}
