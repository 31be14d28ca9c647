/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: synchronisation between the processes sharing a
 * segment: ushm_mutex_t and ushm_event_t (API.md, "Synchronisation inside a
 * segment").  Each test runs twice, on a named segment (children map it
 * again by name, at an address of their own) and on an anonymous one
 * (children inherit it across fork).  Processes wait for each other through
 * pipes, waitpid and the objects under test, never by sleeping.
 */
#include "common.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <sys/time.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
#include <time.h>

/* What every test segment starts with. */
struct shared {
    ushm_mutex_t m;
    ushm_mutex_t m2;
    ushm_event_t ev[4];
    atomic_int inside;          /* holders of m right now: never above 1 */
    atomic_int violations;      /* times a holder found another inside */
    atomic_long entries;        /* critical sections entered */
    atomic_long ownerdead;      /* USHM_OWNERDEAD seen */
    atomic_int errors;          /* unexpected results in children */
    atomic_int started;         /* kill storm walkers under way */
    long counter;               /* guarded by m, deliberately not atomic */
    char msg[512];              /* the first child error */
};

#define SEG_SIZE 65536

struct ctx {
    ushm_t *h;
    struct shared *sh;
    int anon;
    char name[NAMEBUF];
};

static void ctx_open(struct ctx *c, int anon)
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

static void ctx_close(struct ctx *c)
{
    CLOSE_OK(c->h);
    if (!c->anon)
        ASSERT_RC(ushm_unlink(c->name), 0);
}

static const char *kind(const struct ctx *c)
{
    return c->anon ? "anonymous" : "named";
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int under_valgrind(void)
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
static double late_ms(void)
{
#ifdef SYNC_SANITIZED
    if (!under_valgrind())
        return 500.0;
#endif
    return under_valgrind() ? 3000.0 : 200.0;
}

/* A child records the first thing that went wrong, for the parent to print. */
static void child_error(struct shared *sh, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void child_error(struct shared *sh, const char *fmt, ...)
{
    va_list ap;

    if (atomic_fetch_add(&sh->errors, 1) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(sh->msg, sizeof sh->msg, fmt, ap);
    va_end(ap);
}

#define ASSERT_NO_CHILD_ERRORS(sh)                                              \
    ck_assert_msg(atomic_load(&(sh)->errors) == 0, "%d child error(s); first: %s", \
                  atomic_load(&(sh)->errors), (sh)->msg)

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

typedef int (*sync_child_fn)(struct ctx *c, struct shared *sh, long arg);

/* Fork a child that runs fn on its own view of the segment and exits with
 * its result; it dies with the test process. */
static pid_t spawn(struct ctx *c, sync_child_fn fn, long arg)
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

/* Reap pid; its exit code, or 256 + signal. */
static int reap(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid(%ld): %s", (long)pid, strerror(errno));
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 256 + WTERMSIG(status);
}

#define ASSERT_EXITED_0(pid)                                                     \
    do {                                                                          \
        int st_ = reap(pid);                                                      \
        ck_assert_msg(st_ == 0, "child exited with %d%s; first child error: %s",   \
                      st_, st_ > 256 ? " (256 + signal)" : "", c.sh->msg);         \
    } while (0)

/* One byte through a pipe, retried on EINTR; 1 on success. */
static int put_byte(int fd, char b)
{
    ssize_t r;

    while ((r = write(fd, &b, 1)) < 0 && errno == EINTR)
        ;
    return r == 1;
}

static int get_byte(int fd, char *b)
{
    ssize_t r;

    while ((r = read(fd, b, 1)) < 0 && errno == EINTR)
        ;
    return r == 1;
}

static void pipe_ok(int p[2])
{
    ck_assert_msg(pipe(p) == 0, "pipe: %s", strerror(errno));
}

static void close_pipe(int p[2])
{
    close(p[0]);
    close(p[1]);
}

/* Pipes between the test and one child: to_child, from_child. */
struct chan {
    int down[2];
    int up[2];
};
static struct chan chan;

static void chan_open(void)
{
    pipe_ok(chan.down);
    pipe_ok(chan.up);
}

static void chan_close(void)
{
    close_pipe(chan.down);
    close_pipe(chan.up);
}

/*
 * Where the system has no robust process-shared mutex every mutex call is
 * -ENOTSUP (API.md): checked here, and the test that needs one is skipped.
 */
static int no_mutex(const char *test)
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
    printf("SKIP %s (%s backend): no robust process-shared mutex here: %s\n", test,
           ushm_backend(), last_err());
    fflush(stdout);
    return 1;
}

#define SKIP_WITHOUT_MUTEX()        \
    do {                            \
        if (no_mutex(__func__))     \
            return;                 \
    } while (0)

/*
 * Linux tells the next locker that a holder died by walking the dead
 * thread's robust futex list (set_robust_list).  qemu-user cannot walk a
 * guest's list and answers ENOSYS, yet glibc still makes robust mutexes,
 * which then never report USHM_OWNERDEAD: a limit of the emulator, so the
 * cases that let a holder die are skipped there, saying why.
 */
static int no_robust_list(const char *test)
{
#if defined(__linux__) && defined(SYS_get_robust_list)
    void *head;
    size_t len;

    if (syscall(SYS_get_robust_list, 0, &head, &len) == -1 && errno == ENOSYS) {
        printf("SKIP %s (%s backend): get_robust_list() is ENOSYS here (qemu-user "
               "implements no robust futex list), so a dead holder's mutex is never "
               "marked EOWNERDEAD\n", test, ushm_backend());
        fflush(stdout);
        return 1;
    }
#endif
    (void)test;
    return 0;
}

#define SKIP_WITHOUT_DEATH_NOTICE()                      \
    do {                                                 \
        if (no_mutex(__func__) || no_robust_list(__func__)) \
            return;                                      \
    } while (0)

/* ------------------------------------------------------------------ */
/* Zero-filled is ready                                                 */

START_TEST(test_zero_is_ready)
{
    SKIP_WITHOUT_MUTEX();
    static ushm_mutex_t private_m; /* private memory works too */
    static ushm_event_t private_ev;
    struct ctx c;
    ushm_mutex_t *last;
    unsigned char *base;

    ctx_open(&c, _i);
    base = ushm_addr(c.h);
    ck_assert_msg(first_nonzero(base, SEG_SIZE) == NONE, "a new segment is not zero-filled");
    /* No set-up call: the first lock of zero bytes works. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m2, 100), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    /* Anywhere 8-byte aligned: the last 64 bytes of the segment. */
    last = (ushm_mutex_t *)(void *)(base + SEG_SIZE - sizeof(ushm_mutex_t));
    ASSERT_RC(ushm_mutex_timedlock(last, 0), 0);
    ASSERT_RC(ushm_mutex_unlock(last), 0);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 0);
    ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 1);

    ASSERT_RC(ushm_mutex_lock(&private_m), 0);
    ASSERT_RC(ushm_mutex_unlock(&private_m), 0);
    ASSERT_RC(ushm_event_notify(&private_ev), 0);
    ASSERT_RC(ushm_event_wait(&private_ev, 0, -1), 0);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Mutual exclusion: 4 processes x 2 threads on a non-atomic counter     */

#define HAMMER_PROCS 4
#define HAMMER_THREADS 2

static long hammer_rounds(void)
{
    return under_valgrind() ? 2000 : 20000;
}

struct hammer_arg {
    struct shared *sh;
    long rounds;
};

static void *hammer_thread(void *p)
{
    struct hammer_arg *a = p;
    struct shared *sh = a->sh;

    for (long i = 0; i < a->rounds; i++) {
        int rc = ushm_mutex_lock(&sh->m);
        long v;

        if (rc != 0) {
            child_error(sh, "pid %ld: ushm_mutex_lock = %d: %s", (long)getpid(), rc,
                        ushm_last_error());
            return NULL;
        }
        if (atomic_fetch_add(&sh->inside, 1) != 0)
            atomic_fetch_add(&sh->violations, 1);
        v = sh->counter;
        if ((i & 63) == 0)
            sched_yield(); /* give the others a chance to break in */
        sh->counter = v + 1;
        atomic_fetch_sub(&sh->inside, 1);
        rc = ushm_mutex_unlock(&sh->m);
        if (rc != 0) {
            child_error(sh, "pid %ld: ushm_mutex_unlock = %d: %s", (long)getpid(), rc,
                        ushm_last_error());
            return NULL;
        }
    }
    return NULL;
}

static int hammer_child(struct ctx *c, struct shared *sh, long rounds)
{
    pthread_t t[HAMMER_THREADS];
    struct hammer_arg a = { sh, rounds };

    (void)c;
    for (int i = 0; i < HAMMER_THREADS; i++)
        if (pthread_create(&t[i], NULL, hammer_thread, &a) != 0)
            return 2;
    for (int i = 0; i < HAMMER_THREADS; i++)
        pthread_join(t[i], NULL);
    return 0;
}

START_TEST(test_mutual_exclusion)
{
    SKIP_WITHOUT_MUTEX();
    pid_t pid[HAMMER_PROCS];
    long rounds = hammer_rounds();
    struct ctx c;

    ctx_open(&c, _i);
    for (int i = 0; i < HAMMER_PROCS; i++)
        pid[i] = spawn(&c, hammer_child, rounds);
    for (int i = 0; i < HAMMER_PROCS; i++)
        ASSERT_EXITED_0(pid[i]);
    ASSERT_NO_CHILD_ERRORS(c.sh);
    ck_assert_int_eq(atomic_load(&c.sh->violations), 0);
    ck_assert_msg(c.sh->counter == HAMMER_PROCS * HAMMER_THREADS * rounds,
                  "%s segment: counter %ld, want %ld: an increment was lost", kind(&c),
                  c.sh->counter, HAMMER_PROCS * HAMMER_THREADS * rounds);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A holder that dies                                                   */

/* Lock, say so, then wait on the pipe until killed (or told to unlock). */
static int hold_child(struct ctx *c, struct shared *sh, long which)
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

/* Start hold_child and wait until it holds the mutex. */
static pid_t start_holder(struct ctx *c, long which)
{
    pid_t pid;
    char b = 0;

    chan_open();
    pid = spawn(c, hold_child, which);
    ck_assert_msg(get_byte(chan.up[0], &b) && b == 'l', "the holder did not lock (%c): %s",
                  b, c->sh->msg);
    return pid;
}

START_TEST(test_owner_killed)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    pid_t pid;

    ctx_open(&c, _i);
    for (int round = 0; round < 3; round++) {
        pid = start_holder(&c, 0);
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(reap(pid), 256 + SIGKILL);
        chan_close();
        /* The first locker hears of the death, in any of the three calls. */
        if (round == 0)
            ASSERT_RC(ushm_mutex_lock(&c.sh->m), USHM_OWNERDEAD);
        else if (round == 1)
            ASSERT_RC(ushm_mutex_trylock(&c.sh->m), USHM_OWNERDEAD);
        else
            ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 1000), USHM_OWNERDEAD);
        ck_assert_int_eq(c.sh->counter, 12345);
        c.sh->counter = 0; /* repaired */
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
        ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    }
    ctx_close(&c);
}
END_TEST

/* A second process, not the one that reaped the holder, hears of it too. */
static int expect_ownerdead_child(struct ctx *c, struct shared *sh, long arg)
{
    int rc = ushm_mutex_lock(&sh->m);

    (void)c;
    (void)arg;
    if (rc != USHM_OWNERDEAD) {
        child_error(sh, "after the holder died: ushm_mutex_lock = %d, want "
                    "USHM_OWNERDEAD: %s", rc, ushm_last_error());
        return 2;
    }
    rc = ushm_mutex_unlock(&sh->m);
    return rc == 0 ? 0 : 3;
}

START_TEST(test_owner_killed_other_process)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    pid_t pid;

    ctx_open(&c, _i);
    pid = start_holder(&c, 0);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(reap(pid), 256 + SIGKILL);
    chan_close();
    pid = spawn(&c, expect_ownerdead_child, 0);
    ASSERT_EXITED_0(pid);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

static void *lock_and_exit(void *p)
{
    intptr_t rc = ushm_mutex_lock(p);

    return (void *)rc; /* exits holding it */
}

static int thread_exit_child(struct ctx *c, struct shared *sh, long arg)
{
    pthread_t t;
    void *rc;

    (void)c;
    (void)arg;
    if (pthread_create(&t, NULL, lock_and_exit, &sh->m2) != 0)
        return 2;
    pthread_join(t, &rc);
    return rc == NULL ? 0 : 3;
}

START_TEST(test_owner_thread_exited)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    pthread_t t;
    void *rc;
    pid_t pid;

    ctx_open(&c, _i);
    /* In this process. */
    ck_assert_int_eq(pthread_create(&t, NULL, lock_and_exit, &c.sh->m), 0);
    ck_assert_int_eq(pthread_join(t, &rc), 0);
    ck_assert_msg(rc == NULL, "the thread's lock failed: %d", (int)(intptr_t)rc);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), USHM_OWNERDEAD);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    /* In another process that lives on after its thread. */
    pid = spawn(&c, thread_exit_child, 0);
    ASSERT_EXITED_0(pid);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), USHM_OWNERDEAD);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Busy, timeouts, wrong use                                            */

static void release_holder(struct ctx *cp, pid_t pid)
{
    struct ctx c = *cp;
    char b = 0;

    ck_assert(put_byte(chan.down[1], 'u'));
    ck_assert_msg(get_byte(chan.up[0], &b) && b == 'u', "the holder did not unlock");
    ASSERT_EXITED_0(pid);
    chan_close();
}

START_TEST(test_trylock_busy_and_timeout)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    double t0, el;
    pid_t pid;

    ctx_open(&c, _i);
    pid = start_holder(&c, 0);
    t0 = now_ms();
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EBUSY);
    ck_assert_msg(now_ms() - t0 < late_ms(), "trylock took %.1f ms", now_ms() - t0);
    ck_assert_msg(strstr(last_err(), "ushm_mutex_trylock") != NULL, "message: %s", last_err());
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 0), -ETIMEDOUT);
    for (long ms = 1; ms <= 300; ms = ms * 6 + 4) { /* 1, 10, 64, 388 */
        t0 = now_ms();
        ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, ms), -ETIMEDOUT);
        el = now_ms() - t0;
        ck_assert_msg(el >= (double)ms, "timedlock(%ld ms) gave up after %.3f ms", ms, el);
        ck_assert_msg(el < (double)ms + late_ms(), "timedlock(%ld ms) took %.3f ms", ms, el);
    }
    ck_assert_msg(strstr(last_err(), "ushm_mutex_timedlock") != NULL, "message: %s", last_err());
    /* Another process holds it: unlocking it here is not ours to do. */
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM);
    release_holder(&c, pid);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 1000), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

/* A blocked timed lock gets the mutex as soon as it is free. */
START_TEST(test_timedlock_gets_it)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pid_t pid;

    ctx_open(&c, _i);
    pid = start_holder(&c, 0);
    ck_assert(put_byte(chan.down[1], 'u')); /* unlock while we wait */
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 30000), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    chan_close();
    pid = start_holder(&c, 0);
    ck_assert(put_byte(chan.down[1], 'u'));
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, -1), 0); /* < 0: no limit */
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    chan_close();
    ctx_close(&c);
}
END_TEST

static void *trylock_from_thread(void *p)
{
    return (void *)(intptr_t)ushm_mutex_trylock(p);
}

static void *unlock_from_thread(void *p)
{
    return (void *)(intptr_t)ushm_mutex_unlock(p);
}

START_TEST(test_deadlk_eperm)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pthread_t t;
    void *rc;

    ctx_open(&c, _i);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM); /* never locked */
    ck_assert_msg(strstr(last_err(), "ushm_mutex_unlock") != NULL, "message: %s", last_err());
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), -EDEADLK);
    ck_assert_msg(strstr(last_err(), "ushm_mutex_lock") != NULL, "message: %s", last_err());
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EDEADLK);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 10), -EDEADLK);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 0), -EDEADLK);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, -1), -EDEADLK);
    /* Another thread of this process neither holds it nor may unlock it. */
    ck_assert_int_eq(pthread_create(&t, NULL, trylock_from_thread, &c.sh->m), 0);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, -EBUSY);
    ck_assert_int_eq(pthread_create(&t, NULL, unlock_from_thread, &c.sh->m), 0);
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, -EPERM);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM);
    /* Two at once, released in either order. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ctx_close(&c);
}
END_TEST

/* Many held at once by one thread (more than any small fixed table). */
START_TEST(test_many_held)
{
    SKIP_WITHOUT_MUTEX();
    enum { N = 100 };
    ushm_mutex_t *m;
    struct ctx c;

    ctx_open(&c, _i);
    m = (ushm_mutex_t *)(void *)((char *)c.sh + 4096);
    for (int i = 0; i < N; i++)
        ASSERT_RC(ushm_mutex_lock(&m[i]), 0);
    for (int i = 0; i < N; i++)
        ASSERT_RC(ushm_mutex_lock(&m[i]), -EDEADLK);
    ASSERT_RC(ushm_close(c.h), -EBUSY);
    for (int i = N; i-- > 0;)
        ASSERT_RC(ushm_mutex_unlock(&m[i]), 0);
    for (int i = 0; i < N; i++)
        ASSERT_RC(ushm_mutex_unlock(&m[i]), -EPERM);
    ctx_close(&c);
}
END_TEST

static void check_einval(const char *what, int rc)
{
    ck_assert_msg(rc == -EINVAL, "%s = %d (%s), want -EINVAL", what, rc, rcstr(rc));
    ck_assert_msg(last_err()[0] != '\0', "%s: no message", what);
}

START_TEST(test_einval)
{
    struct ctx c;
    char *base;

    ctx_open(&c, _i);
    base = (char *)c.sh;
    check_einval("ushm_mutex_lock(NULL)", ushm_mutex_lock(NULL));
    check_einval("ushm_mutex_trylock(NULL)", ushm_mutex_trylock(NULL));
    check_einval("ushm_mutex_timedlock(NULL)", ushm_mutex_timedlock(NULL, 10));
    check_einval("ushm_mutex_unlock(NULL)", ushm_mutex_unlock(NULL));
    check_einval("ushm_event_notify(NULL)", ushm_event_notify(NULL));
    check_einval("ushm_event_wait(NULL)", ushm_event_wait(NULL, 0, 10));
    ck_assert_uint_eq(ushm_event_read(NULL), 0);
    for (int off = 1; off < 8; off++) {
        ushm_mutex_t *m = (ushm_mutex_t *)(void *)(base + 1024 + off);
        ushm_event_t *ev = (ushm_event_t *)(void *)(base + 2048 + off);

        check_einval("ushm_mutex_lock(misaligned)", ushm_mutex_lock(m));
        ck_assert_msg(strstr(last_err(), "align") != NULL, "message: %s", last_err());
        check_einval("ushm_mutex_trylock(misaligned)", ushm_mutex_trylock(m));
        check_einval("ushm_mutex_timedlock(misaligned)", ushm_mutex_timedlock(m, 10));
        check_einval("ushm_mutex_unlock(misaligned)", ushm_mutex_unlock(m));
        check_einval("ushm_event_notify(misaligned)", ushm_event_notify(ev));
        check_einval("ushm_event_wait(misaligned)", ushm_event_wait(ev, 0, 10));
    }
    /* Nothing was written by the refused calls. */
    ck_assert_msg(first_nonzero(base, SEG_SIZE) == NONE, "a refused call wrote to the segment");
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ushm_close while holding                                             */

START_TEST(test_close_busy)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c, other;
    char *base;
    ushm_mutex_t *last;

    ctx_open(&c, _i);
    ctx_open(&other, !_i);
    base = (char *)c.sh;
    last = (ushm_mutex_t *)(void *)(base + SEG_SIZE - sizeof(ushm_mutex_t));
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_close(c.h), -EBUSY);
    ck_assert_msg(strstr(last_err(), "ushm_close") != NULL, "message: %s", last_err());
    if (!c.anon)
        ck_assert_msg(strstr(last_err(), c.name) != NULL, "message does not name %s: %s",
                      c.name, last_err());
    base[100] = 7; /* still mapped */
    /* A mutex held elsewhere does not keep this one from closing... */
    {
        ushm_t *h2 = OPEN_OK(NULL, 4096, USHM_CREATE, 0600);

        ASSERT_RC(close_tracked(h2), 0);
    }
    /* ...and a second handle of the same segment is a separate mapping. */
    if (!c.anon) {
        ushm_t *h2 = OPEN_OK(c.name, 0, 0, 0);

        ASSERT_RC(close_tracked(h2), 0);
    }
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_lock(last), 0); /* the very end of the mapping */
    ASSERT_RC(ushm_close(c.h), -EBUSY);
    ASSERT_RC(ushm_mutex_lock(&other.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(last), 0);
    ck_assert_int_eq(base[100], 7);
    ctx_close(&c); /* the other segment's mutex is no reason to refuse */
    ASSERT_RC(ushm_close(other.h), -EBUSY);
    ASSERT_RC(ushm_mutex_unlock(&other.sh->m), 0);
    ctx_close(&other);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Another ABI's bytes                                                  */

/*
 * White box: lib/sync.c keeps its state word in the first 4 bytes, and once
 * initialised it holds 0x55 | C library | pointer bytes | sizeof
 * (pthread_mutex_t).  A program of another word size writes another tag.
 */
START_TEST(test_eproto)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    uint32_t mine, theirs, garbage = 0x12345678u;

    ctx_open(&c, _i);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    memcpy(&mine, c.sh->m.opaque_, 4);
    ck_assert_msg(mine >> 24 == 0x55, "state word 0x%08x is not a tag", mine);
    theirs = (mine & 0xffff0000u) | (sizeof(void *) == 8 ? 0x0418u : 0x0828u);
    memcpy(c.sh->m.opaque_, &theirs, 4);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), -EPROTO);
    ck_assert_msg(strstr(last_err(), sizeof(void *) == 8 ? "32-bit" : "64-bit") != NULL &&
                  strstr(last_err(), "word size") != NULL,
                  "the message does not say what differs: %s", last_err());
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), -EPROTO);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 10), -EPROTO);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), -EPERM);
    /* Another C library, same word size. */
    theirs = (mine & 0xff00ffffu) | ((((mine >> 16) & 0xffu) == 1 ? 2u : 1u) << 16);
    memcpy(c.sh->m.opaque_, &theirs, 4);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), -EPROTO);
    ck_assert_msg(strstr(last_err(), "C library") != NULL, "message: %s", last_err());
    memcpy(c.sh->m.opaque_, &garbage, 4);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), -EPROTO);
    /* Nothing was changed behind the caller's back. */
    ck_assert_int_eq(memcmp(c.sh->m.opaque_, &garbage, 4), 0);
    /* Zero bytes again are a fresh mutex. */
    memset(&c.sh->m, 0, sizeof c.sh->m);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

/*
 * White box as above: a state word that says "process P is initialising"
 * (bit 31 | P) over bytes that are not a mutex yet.  A dead P, a zombie P or
 * this very process (a dead one that had our pid) is taken over at once; a
 * live P is waited for.
 */
static void set_initing(ushm_mutex_t *m, pid_t pid)
{
    uint32_t state = 0x80000000u | (uint32_t)pid;

    memset(m, 0xab, sizeof *m);
    memcpy(m->opaque_, &state, sizeof state);
}

static int exit_at_once(struct ctx *c, struct shared *sh, long arg)
{
    (void)c;
    (void)sh;
    (void)arg;
    return 0;
}

static int block_on_pipe(struct ctx *c, struct shared *sh, long arg)
{
    char b;

    (void)c;
    (void)sh;
    (void)arg;
    put_byte(chan.up[1], 'r');
    get_byte(chan.down[0], &b);
    return 0;
}

START_TEST(test_init_interrupted)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    siginfo_t si;
    double t0;
    pid_t pid;
    char b;

    ctx_open(&c, _i);
    /* Dead and reaped. */
    pid = spawn(&c, exit_at_once, 0);
    ck_assert_int_eq(reap(pid), 0);
    set_initing(&c.sh->m, pid);
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    /* Dead, not reaped yet. */
    pid = spawn(&c, exit_at_once, 0);
    memset(&si, 0, sizeof si);
    ck_assert_int_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
    set_initing(&c.sh->m, pid);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ck_assert_int_eq(reap(pid), 0);
    /* A process that had this pid. */
    set_initing(&c.sh->m, getpid());
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m, 1000), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    /* Alive: busy, and a timed lock waits for it. */
    chan_open();
    pid = spawn(&c, block_on_pipe, 0);
    ck_assert(get_byte(chan.up[0], &b) && b == 'r');
    set_initing(&c.sh->m2, pid);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m2), -EBUSY);
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m2, 0), -ETIMEDOUT);
    t0 = now_ms();
    ASSERT_RC(ushm_mutex_timedlock(&c.sh->m2, 50), -ETIMEDOUT);
    ck_assert(now_ms() - t0 >= 50.0);
    ck_assert_int_eq(kill(pid, SIGKILL), 0);
    ck_assert_int_eq(reap(pid), 256 + SIGKILL);
    chan_close();
    ASSERT_RC(ushm_mutex_lock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Kill storm                                                           */

static int storm_child(struct ctx *c, struct shared *sh, long arg)
{
    (void)c;
    (void)arg;
    for (;;) {
        int rc = ushm_mutex_lock(&sh->m);

        if (rc < 0) {
            child_error(sh, "storm: ushm_mutex_lock = %d: %s", rc, ushm_last_error());
            return 2;
        }
        if (rc == USHM_OWNERDEAD) {
            atomic_fetch_add(&sh->ownerdead, 1);
            atomic_store(&sh->inside, 0); /* the dead holder was inside */
        }
        if (atomic_fetch_add(&sh->inside, 1) != 0)
            atomic_fetch_add(&sh->violations, 1);
        atomic_fetch_add(&sh->entries, 1);
        sh->counter++;
        atomic_fetch_sub(&sh->inside, 1);
        rc = ushm_mutex_unlock(&sh->m);
        if (rc != 0) {
            child_error(sh, "storm: ushm_mutex_unlock = %d: %s", rc, ushm_last_error());
            return 3;
        }
    }
}

/*
 * Fresh mutexes for the kill storm's walkers: each walker zeroes its own
 * share of them and locks each once, over and over, so that it spends much
 * of its time in the lazy initialisation, where the kills land.
 */
#define WALK_OFFSET 8192
#define WALK_COUNT ((SEG_SIZE - WALK_OFFSET) / 64)
#define WALKERS 2

static ushm_mutex_t *walk_array(struct shared *sh)
{
    return (ushm_mutex_t *)(void *)((char *)sh + WALK_OFFSET);
}

static int walk_child(struct ctx *c, struct shared *sh, long which)
{
    size_t share = WALK_COUNT / WALKERS;
    ushm_mutex_t *w = walk_array(sh) + (size_t)which * share;

    (void)c;
    atomic_fetch_add(&sh->started, 1);
    for (;;) {
        memset(w, 0, share * sizeof *w);
        for (size_t k = 0; k < share; k++) {
            int rc = ushm_mutex_lock(&w[k]);

            if (rc != 0) {
                child_error(sh, "walker: ushm_mutex_lock(#%zu) = %d: %s", k, rc,
                            ushm_last_error());
                return 2;
            }
            if ((rc = ushm_mutex_unlock(&w[k])) != 0) {
                child_error(sh, "walker: ushm_mutex_unlock = %d: %s", rc,
                            ushm_last_error());
                return 3;
            }
        }
    }
}

static void nap_us(long us)
{
    struct timespec ts = { 0, us * 1000 };

    nanosleep(&ts, NULL); /* a random moment to kill at, not a wait */
}

START_TEST(test_kill_storm)
{
    SKIP_WITHOUT_DEATH_NOTICE();
    enum { LOCKERS = 1 + WALKERS };
    double seconds = under_valgrind() ? 4.0 : 2.5, t_end, t_cap;
    long min_kills = under_valgrind() ? 30 : 300;
    unsigned seed = (unsigned)getpid() * 2654435761u;
    long kills = 0, rounds = 0, zeroed = 0, init_kills = 0;
    struct ctx c;

    ctx_open(&c, _i);
    /* A few seconds, and hundreds of kills however slow the machine. */
    t_end = now_ms() + seconds * 1e3;
    t_cap = now_ms() + 30e3;
    while ((now_ms() < t_end || kills < min_kills) && now_ms() < t_cap) {
        pid_t pid[LOCKERS];
        int alive = LOCKERS, rc;

        /* Every other round starts from zero bytes: kills land in the lazy
         * initialisation too. */
        if (rounds % 2 == 0) {
            memset(&c.sh->m, 0, sizeof c.sh->m);
            memset(walk_array(c.sh), 0, WALK_COUNT * sizeof(ushm_mutex_t));
            atomic_store(&c.sh->inside, 0);
            zeroed++;
        }
        for (int i = 0; i < LOCKERS; i++)
            pid[i] = rounds % 2 == 0 && i > 0 ?
                     spawn(&c, walk_child, i - 1) :
                     spawn(&c, storm_child, 0);
        /* Walkers initialise for about a millisecond once they run. */
        if (rounds % 2 == 0) {
            double give_up = now_ms() + 10000;

            while (atomic_load(&c.sh->started) < LOCKERS - 1 && now_ms() < give_up)
                sched_yield();
            atomic_store(&c.sh->started, 0);
        }
        if (rounds % 2 == 0) {
            /* All at once, so no walker finishes another's initialisation. */
            if (rand_r(&seed) % 2 != 0)
                nap_us(rand_r(&seed) % 100u);
            for (int i = 0; i < LOCKERS; i++)
                ck_assert_int_eq(kill(pid[i], SIGKILL), 0);
        }
        while (alive > 0) {
            int k = (int)(rand_r(&seed) % (unsigned)alive);

            if (rounds % 2 != 0) {
                nap_us(rand_r(&seed) % 2000u);
                ck_assert_int_eq(kill(pid[k], SIGKILL), 0);
            }
            rc = reap(pid[k]);
            ck_assert_msg(rc == 256 + SIGKILL, "a locker ended with %d: %s", rc, c.sh->msg);
            kills++;
            pid[k] = pid[--alive];
        }
        /* White box (see test_eproto): bit 31 of the state word set means
         * a locker was killed while it initialised the mutex.  Each such
         * mutex, and every other, can still be locked. */
        for (int k = -1; rounds % 2 == 0 && k < WALK_COUNT; k++) {
            ushm_mutex_t *m = k < 0 ? &c.sh->m : &walk_array(c.sh)[k];
            uint32_t state;

            memcpy(&state, m->opaque_, sizeof state);
            init_kills += (state & 0x80000000u) != 0;
            if (k < 0)
                continue;
            rc = ushm_mutex_timedlock(m, 10000);
            ck_assert_msg(rc == 0 || rc == USHM_OWNERDEAD, "walk mutex %d (state 0x%08x): "
                          "timedlock = %d: %s", k, state, rc, last_err());
            ASSERT_RC(ushm_mutex_unlock(m), 0);
        }
        /* Between rounds the mutex still works. */
        rc = ushm_mutex_timedlock(&c.sh->m, 10000);
        ck_assert_msg(rc == 0 || rc == USHM_OWNERDEAD, "after round %ld: timedlock = %d: %s",
                      rounds, rc, last_err());
        atomic_store(&c.sh->inside, 0);
        ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
        rounds++;
    }
    printf("kill storm (%s backend, %s segment): %ld kills in %ld rounds (%ld from zero "
           "bytes, %ld left mid-initialisation), %ld critical sections, %ld owner-dead "
           "recoveries\n", ushm_backend(), kind(&c), kills, rounds, zeroed, init_kills,
           (long)atomic_load(&c.sh->entries), (long)atomic_load(&c.sh->ownerdead));
    fflush(stdout);
    ASSERT_NO_CHILD_ERRORS(c.sh);
    ck_assert_int_eq(atomic_load(&c.sh->violations), 0);
    ck_assert_msg(kills >= min_kills, "only %ld kills in 30 s", kills);
    ck_assert_msg(atomic_load(&c.sh->entries) > 0, "no locker ever got in");
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Events                                                               */

START_TEST(test_event_basics)
{
    struct ctx c;
    ushm_event_t *ev;
    double t0, el;

    ctx_open(&c, _i);
    ev = &c.sh->ev[1];
    ck_assert_uint_eq(ushm_event_read(ev), 0);
    ASSERT_RC(ushm_event_wait(ev, 0, 0), -ETIMEDOUT);
    ck_assert_msg(strstr(last_err(), "ushm_event_wait") != NULL, "message: %s", last_err());
    for (long ms = 1; ms <= 300; ms = ms * 6 + 4) {
        t0 = now_ms();
        ASSERT_RC(ushm_event_wait(ev, 0, ms), -ETIMEDOUT);
        el = now_ms() - t0;
        ck_assert_msg(el >= (double)ms, "wait(%ld ms) gave up after %.3f ms", ms, el);
        ck_assert_msg(el < (double)ms + late_ms(), "wait(%ld ms) took %.3f ms", ms, el);
    }
    for (unsigned i = 1; i <= 5; i++) {
        ASSERT_RC(ushm_event_notify(ev), 0);
        ck_assert_uint_eq(ushm_event_read(ev), i);
    }
    /* The counter already differs: at once, whatever the timeout. */
    t0 = now_ms();
    ASSERT_RC(ushm_event_wait(ev, 0, -1), 0);
    ASSERT_RC(ushm_event_wait(ev, 4, 100000), 0);
    ASSERT_RC(ushm_event_wait(ev, 6, 0), 0);
    ck_assert_msg(now_ms() - t0 < late_ms(), "waits took %.1f ms", now_ms() - t0);
    ASSERT_RC(ushm_event_wait(ev, 5, 0), -ETIMEDOUT);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 0); /* its neighbours untouched */
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[2]), 0);
    ctx_close(&c);
}
END_TEST

/* Wait with no limit until notified; exit 0 when woken for a real change. */
static int wait_forever_child(struct ctx *c, struct shared *sh, long seen)
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

START_TEST(test_event_wait_forever)
{
    enum { WAITERS = 3 };
    pid_t pid[WAITERS];
    struct ctx c;
    char b;

    ctx_open(&c, _i);
    chan_open();
    for (int i = 0; i < WAITERS; i++)
        pid[i] = spawn(&c, wait_forever_child, 0);
    for (int i = 0; i < WAITERS; i++)
        ck_assert(get_byte(chan.up[0], &b) && b == 'w');
    /* Whether each has gone to sleep yet or not, one notify wakes them all. */
    ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
    for (int i = 0; i < WAITERS; i++)
        ASSERT_EXITED_0(pid[i]);
    chan_close();
    ctx_close(&c);
}
END_TEST

START_TEST(test_event_waiters_killed)
{
    enum { WAITERS = 4 };
    pid_t pid[WAITERS];
    struct ctx c;
    double t0;
    char b;

    ctx_open(&c, _i);
    chan_open();
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < WAITERS; i++)
            pid[i] = spawn(&c, wait_forever_child, round);
        for (int i = 0; i < WAITERS; i++)
            ck_assert(get_byte(chan.up[0], &b) && b == 'w');
        /* White box: the event's second word counts the waiters asleep (the
         * dead of earlier rounds stay counted).  Killed only once all of
         * these are asleep, not still on their way in. */
        {
            double give_up = now_ms() + 10000;
            unsigned want = (unsigned)(WAITERS * (round + 1)), asleep = 0;

            while (now_ms() < give_up) {
                asleep = __atomic_load_n((unsigned *)(void *)(c.sh->ev[0].opaque_ + 4),
                                         __ATOMIC_SEQ_CST);
                if (asleep >= want)
                    break;
                sched_yield();
            }
            ck_assert_msg(asleep == want, "%u waiters asleep, want %u", asleep, want);
        }
        for (int i = 0; i < WAITERS; i++) {
            ck_assert_int_eq(kill(pid[i], SIGKILL), 0);
            ck_assert_int_eq(reap(pid[i]), 256 + SIGKILL);
        }
        /* The dead changed nothing: the counter, and what waiting does. */
        ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), (unsigned)round);
        t0 = now_ms();
        ASSERT_RC(ushm_event_wait(&c.sh->ev[0], (unsigned)round, 20), -ETIMEDOUT);
        ck_assert(now_ms() - t0 >= 20.0);
        ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
        ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), (unsigned)round + 1);
    }
    /* A live waiter is still woken. */
    pid[0] = spawn(&c, wait_forever_child, 3);
    ck_assert(get_byte(chan.up[0], &b) && b == 'w');
    ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
    ASSERT_EXITED_0(pid[0]);
    chan_close();
    ctx_close(&c);
}
END_TEST

#define PING_PONGS 2000

static int pong_child(struct ctx *c, struct shared *sh, long arg)
{
    (void)c;
    (void)arg;
    for (unsigned i = 0; i < PING_PONGS; i++) {
        int rc = ushm_event_wait(&sh->ev[0], i, 10000);

        if (rc != 0) {
            child_error(sh, "pong %u: ushm_event_wait = %d: %s", i, rc, ushm_last_error());
            return 2;
        }
        sh->counter++; /* published by the notify */
        ushm_event_notify(&sh->ev[1]);
    }
    return 0;
}

START_TEST(test_event_ping_pong)
{
    struct ctx c;
    double t0;
    pid_t pid;

    ctx_open(&c, _i);
    pid = spawn(&c, pong_child, 0);
    t0 = now_ms();
    for (unsigned i = 0; i < PING_PONGS; i++) {
        ASSERT_RC(ushm_event_notify(&c.sh->ev[0]), 0);
        ASSERT_RC(ushm_event_wait(&c.sh->ev[1], i, 10000), 0);
        ck_assert_uint_eq(ushm_event_read(&c.sh->ev[1]), i + 1);
        ck_assert_int_eq(c.sh->counter, (long)i + 1);
    }
    printf("ping-pong (%s backend, %s segment): %d round trips, %.2f us each\n",
           ushm_backend(), kind(&c), PING_PONGS, (now_ms() - t0) * 1e3 / PING_PONGS);
    fflush(stdout);
    ASSERT_EXITED_0(pid);
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), PING_PONGS);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A storm of signals                                                   */

static volatile sig_atomic_t alarms;

static void count_alarm(int sig)
{
    (void)sig;
    alarms++;
}

struct storm_state {
    struct sigaction old;
    struct itimerval old_timer;
};

static void alarm_storm_start(struct storm_state *s)
{
    struct sigaction sa;
    struct itimerval it = { { 0, 1000 }, { 0, 1000 } };

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = count_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: every system call is interrupted */
    alarms = 0;
    ck_assert_int_eq(sigaction(SIGALRM, &sa, &s->old), 0);
    ck_assert_int_eq(setitimer(ITIMER_REAL, &it, &s->old_timer), 0);
}

static void alarm_storm_stop(struct storm_state *s)
{
    struct itimerval off = { { 0, 0 }, { 0, 0 } };

    struct sigaction ign;

    setitimer(ITIMER_REAL, &off, NULL);
    /* Ignoring it discards one still pending, which must not reach the
     * handler put back (Check's kills the process group with CK_FORK=no). */
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGALRM, &ign, NULL);
    sigaction(SIGALRM, &s->old, NULL);
}

/* Wait a while (on an event no one notifies), then notify ev[0]. */
static int late_notify_child(struct ctx *c, struct shared *sh, long ms)
{
    (void)c;
    if (ushm_event_wait(&sh->ev[3], 0, ms) != -ETIMEDOUT)
        return 2;
    return ushm_event_notify(&sh->ev[0]) == 0 ? 0 : 3;
}

START_TEST(test_signal_storm)
{
    SKIP_WITHOUT_MUTEX();
    struct storm_state st;
    struct ctx c;
    double t0, el;
    pid_t pid;
    int rc;

    ctx_open(&c, _i);
    pid = start_holder(&c, 0);
    alarm_storm_start(&st);
    t0 = now_ms();
    rc = ushm_mutex_timedlock(&c.sh->m, 300);
    el = now_ms() - t0;
    alarm_storm_stop(&st);
    ck_assert_msg(rc == -ETIMEDOUT, "timedlock under a signal storm = %d (%s): %s", rc,
                  rcstr(rc), last_err());
    ck_assert_msg(el >= 300.0 && el < 300.0 + late_ms(),
                  "timedlock(300 ms) under a signal storm took %.3f ms", el);
    ck_assert_msg(alarms > 20, "only %d signals arrived", (int)alarms);

    /* A lock without a limit, released while the signals fly. */
    alarm_storm_start(&st);
    ck_assert(put_byte(chan.down[1], 'u'));
    rc = ushm_mutex_lock(&c.sh->m);
    alarm_storm_stop(&st);
    ck_assert_msg(rc == 0, "lock under a signal storm = %d (%s): %s", rc, rcstr(rc), last_err());
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ASSERT_EXITED_0(pid);
    chan_close();

    alarm_storm_start(&st);
    t0 = now_ms();
    rc = ushm_event_wait(&c.sh->ev[0], 0, 300);
    el = now_ms() - t0;
    alarm_storm_stop(&st);
    ck_assert_msg(rc == -ETIMEDOUT, "event wait under a signal storm = %d (%s): %s", rc,
                  rcstr(rc), last_err());
    ck_assert_msg(el >= 300.0 && el < 300.0 + late_ms(),
                  "event wait(300 ms) under a signal storm took %.3f ms", el);
    ck_assert_msg(alarms > 20, "only %d signals arrived", (int)alarms);

    pid = spawn(&c, late_notify_child, 200);
    alarm_storm_start(&st);
    rc = ushm_event_wait(&c.sh->ev[0], 0, -1);
    alarm_storm_stop(&st);
    ck_assert_msg(rc == 0, "event wait(-1) under a signal storm = %d (%s): %s", rc,
                  rcstr(rc), last_err());
    ck_assert_uint_eq(ushm_event_read(&c.sh->ev[0]), 1);
    ASSERT_EXITED_0(pid);
    ctx_close(&c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Across fork                                                          */

/* A forked child does not hold its parent's mutex, and may close. */
static int forked_child(struct ctx *c, struct shared *sh, long arg)
{
    int rc;
    char b;

    (void)arg;
    if ((rc = ushm_mutex_trylock(&sh->m)) != -EBUSY) {
        child_error(sh, "child: trylock of the parent's mutex = %d", rc);
        return 2;
    }
    if ((rc = ushm_mutex_unlock(&sh->m)) != -EPERM) {
        child_error(sh, "child: unlock of the parent's mutex = %d", rc);
        return 3;
    }
    put_byte(chan.up[1], 'c');
    if (!get_byte(chan.down[0], &b))
        return 4;
    if ((rc = ushm_mutex_lock(&sh->m)) != 0) {
        child_error(sh, "child: lock = %d: %s", rc, ushm_last_error());
        return 5;
    }
    if ((rc = ushm_mutex_unlock(&sh->m)) != 0)
        return 6;
    /* The inherited handle: the parent's lock at fork time is not ours. */
    if (c->anon && (rc = ushm_close(c->h)) != 0) {
        child_error(sh, "child: ushm_close(inherited) = %d: %s", rc, ushm_last_error());
        return 7;
    }
    return 0;
}

START_TEST(test_fork)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    pid_t pid;
    char b;

    ctx_open(&c, _i);
    chan_open();
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    pid = spawn(&c, forked_child, 0);
    ck_assert_msg(get_byte(chan.up[0], &b) && b == 'c', "child: %s", c.sh->msg);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ck_assert(put_byte(chan.down[1], 'g'));
    ASSERT_EXITED_0(pid);
    chan_close();
    ASSERT_RC(ushm_mutex_trylock(&c.sh->m), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

void conf_add_sync(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    /* _i: 0 a named segment, 1 an anonymous one. */
    tc = add_tcase(s, "sync_mutex", 120);
    tcase_add_loop_test(tc, test_zero_is_ready, 0, 2);
    tcase_add_loop_test(tc, test_deadlk_eperm, 0, 2);
    tcase_add_loop_test(tc, test_many_held, 0, 2);
    tcase_add_loop_test(tc, test_einval, 0, 2);
    tcase_add_loop_test(tc, test_close_busy, 0, 2);
    tcase_add_loop_test(tc, test_eproto, 0, 2);
    tcase_add_loop_test(tc, test_init_interrupted, 0, 2);
    tcase_add_loop_test(tc, test_trylock_busy_and_timeout, 0, 2);
    tcase_add_loop_test(tc, test_timedlock_gets_it, 0, 2);
    tcase_add_loop_test(tc, test_fork, 0, 2);

    tc = add_tcase(s, "sync_robust", 300);
    tcase_add_loop_test(tc, test_mutual_exclusion, 0, 2);
    tcase_add_loop_test(tc, test_owner_killed, 0, 2);
    tcase_add_loop_test(tc, test_owner_killed_other_process, 0, 2);
    tcase_add_loop_test(tc, test_owner_thread_exited, 0, 2);
    tcase_add_loop_test(tc, test_kill_storm, 0, 2);

    tc = add_tcase(s, "sync_event", 120);
    tcase_add_loop_test(tc, test_event_basics, 0, 2);
    tcase_add_loop_test(tc, test_event_wait_forever, 0, 2);
    tcase_add_loop_test(tc, test_event_waiters_killed, 0, 2);
    tcase_add_loop_test(tc, test_event_ping_pong, 0, 2);

    tc = add_tcase(s, "sync_signals", 120);
    tcase_add_loop_test(tc, test_signal_storm, 0, 2);
}
