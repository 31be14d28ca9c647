/* SPDX-License-Identifier: MIT */
/*
 * ushm_mutex_t beside the C library's own robust mutexes.  Where the mutex
 * is a robust pthread mutex, libushm's fast path (configure
 * --with-mutex-fast-path=glibc) links it into the same per-thread robust
 * list that glibc keeps for a program's own robust mutexes and that the
 * kernel walks when a thread dies.  Here a thread or process locks both
 * kinds interleaved, unlocks some of each out of order, and ends (returns,
 * or is killed) holding the rest: every one it still held must be found
 * with its holder dead, and every one it let go must be free.  A list left
 * inconsistent by either side's unlock would leave some of them held for
 * ever, so each lock here has a deadline.  A child of fork() (another
 * thread id) must be seen dead as well; and a thread whose program
 * registered a robust list of its own keeps it untouched.
 */
#include "conformance/sync-common.h"

#include <pthread.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#define N_EACH 3
#define MIXED_OFFSET 32768 /* in the segment, past struct shared */

struct mixed {
    pthread_mutex_t p[N_EACH];
    ushm_mutex_t u[N_EACH];
};

static struct mixed *mixed_of(struct shared *sh)
{
    return (struct mixed *)(void *)((char *)sh + MIXED_OFFSET);
}

static void mixed_init(struct mixed *x)
{
    pthread_mutexattr_t a;

    memset(x, 0, sizeof *x);
    ck_assert_int_eq(pthread_mutexattr_init(&a), 0);
    ck_assert_int_eq(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED), 0);
    ck_assert_int_eq(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST), 0);
    for (int i = 0; i < N_EACH; i++)
        ck_assert_int_eq(pthread_mutex_init(&x->p[i], &a), 0);
    pthread_mutexattr_destroy(&a);
    /* Set up, so that the holder's locks take the usual path, not the
     * first use's. */
    for (int i = 0; i < N_EACH; i++) {
        ASSERT_RC(ushm_mutex_lock(&x->u[i]), 0);
        ASSERT_RC(ushm_mutex_unlock(&x->u[i]), 0);
    }
}

/*
 * Where the kernel keeps robust lists (Linux): the calling thread's list,
 * as the kernel will walk it, names only locks this thread holds, and ends.
 * A list whose links an unlock left stale (an unlocked mutex still in it,
 * or a loop) fails here even when no death would show it.  0 or a step.
 */
static int list_is_sound(void)
{
#if defined(__linux__) && defined(SYS_get_robust_list)
    struct robust_list_head *head;
    struct robust_list *e;
    size_t len;
    int n = 0;
    unsigned tid = (unsigned)syscall(SYS_gettid);

    if (syscall(SYS_get_robust_list, 0, &head, &len) != 0 || head == NULL)
        return 0; /* none here (qemu-user) */
    for (e = head->list.next; e != &head->list; e = e->next) {
        unsigned word;

        e = (struct robust_list *)((uintptr_t)e & ~(uintptr_t)1);
        memcpy(&word, (char *)e + head->futex_offset, sizeof word);
        if ((word & FUTEX_TID_MASK) != tid)
            return 40 + n; /* an entry this thread does not hold */
        if (++n > 4 * N_EACH)
            return 39; /* longer than what was ever locked: a loop */
    }
#endif
    return 0;
}

/* Lock p0 u0 p1 u1 p2 u2, then unlock u2, p2, u0 and p1: p0 and u1 stay
 * held.  0, or which step failed. */
static int lock_mixed(struct mixed *x)
{
    for (int i = 0; i < N_EACH; i++) {
        if (pthread_mutex_lock(&x->p[i]) != 0)
            return 10 + i;
        if (ushm_mutex_lock(&x->u[i]) != 0)
            return 20 + i;
    }
    /* Each unlock's neighbours in the list: u2 is first, then p2, whose
     * back link u2's unlock must set; u0 sits between p1 and p0. */
    if (ushm_mutex_unlock(&x->u[2]) != 0 || pthread_mutex_unlock(&x->p[2]) != 0 ||
        ushm_mutex_unlock(&x->u[0]) != 0 || pthread_mutex_unlock(&x->p[1]) != 0)
        return 30;
    return list_is_sound();
}

static int timed_pthread_lock(pthread_mutex_t *p)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 5;
    return pthread_mutex_timedlock(p, &t);
}

/* After the holder ended: p0 and u1 are owner-dead, the rest free. */
static void check_mixed_after_death(struct mixed *x)
{
    for (int i = 0; i < N_EACH; i++) {
        int want = i == 0 ? EOWNERDEAD : 0, rc = timed_pthread_lock(&x->p[i]);

        ck_assert_msg(rc == want, "pthread mutex %d: %d (%s), want %d: the robust "
                      "list the two kinds share was left inconsistent", i, rc,
                      strerror(rc), want);
        if (rc == EOWNERDEAD)
            ck_assert_int_eq(pthread_mutex_consistent(&x->p[i]), 0);
        ck_assert_int_eq(pthread_mutex_unlock(&x->p[i]), 0);
    }
    for (int i = 0; i < N_EACH; i++) {
        int want = i == 1 ? USHM_OWNERDEAD : 0, rc = ushm_mutex_timedlock(&x->u[i], 5000);

        ck_assert_msg(rc == want, "ushm mutex %d: %d (%s), want %d: %s", i, rc,
                      rcstr(rc), want, last_err());
        ASSERT_RC(ushm_mutex_unlock(&x->u[i]), 0);
    }
}

/* A segment of ctx's, with the mutexes of both kinds in it, set up. */
static struct mixed *mixed_open(struct ctx *c, int anon)
{
    struct mixed *x;

    ctx_open(c, anon);
    x = mixed_of(c->sh);
    mixed_init(x);
    return x;
}

static void *thread_lock_mixed(void *arg)
{
    return (void *)(intptr_t)lock_mixed(arg);
}

/* A thread of this process ends holding one of each. */
START_TEST(mixed_thread_ends)
{
    SKIP_WITHOUT_MUTEX();
    SKIP_WITHOUT_DEATH_NOTICE();
    struct ctx c;
    struct mixed *x;
    pthread_t t;
    void *ret;

    x = mixed_open(&c, 1);
    /* This thread's own list holds one of each meanwhile. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m), 0);
    ck_assert_int_eq(pthread_mutex_lock(&x->p[0]), 0);
    ck_assert_int_eq(pthread_mutex_unlock(&x->p[0]), 0);
    ck_assert_int_eq(pthread_create(&t, NULL, thread_lock_mixed, x), 0);
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    ck_assert_msg(ret == NULL, "the thread's locks failed at step %ld", (long)(intptr_t)ret);
    check_mixed_after_death(x);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m), 0);
    ctx_close(&c);
}
END_TEST

static int child_lock_mixed(struct ctx *c, struct shared *sh, long killed)
{
    int rc;

    (void)c;
    /* The child of fork() is another thread id than the parent whose
     * memory it copied: a lock and unlock first, as a program would. */
    if (ushm_mutex_lock(&sh->m2) != 0 || ushm_mutex_unlock(&sh->m2) != 0)
        return 2;
    if ((rc = lock_mixed(mixed_of(sh))) != 0) {
        child_error(sh, "child: lock_mixed failed at step %d: %s", rc, ushm_last_error());
        put_byte(chan.up[1], 'f');
        return 3;
    }
    if (killed) {
        put_byte(chan.up[1], 'l');
        for (;;)
            pause();
    }
    _exit(0); /* holding them: not through spawn()'s ushm_close(), -EBUSY */
}

static void mixed_process(long killed)
{
    struct ctx c;
    struct mixed *x;
    pid_t pid;
    char b = 0;

    x = mixed_open(&c, 0);
    /* The parent's thread has used the mutexes before the fork (in
     * mixed_init()), and m2 too. */
    ASSERT_RC(ushm_mutex_lock(&c.sh->m2), 0);
    ASSERT_RC(ushm_mutex_unlock(&c.sh->m2), 0);
    chan_open();
    pid = spawn(&c, child_lock_mixed, killed);
    if (killed) {
        if (!get_byte(chan.up[0], &b) || b != 'l') {
            reap(pid);
            ASSERT_NO_CHILD_ERRORS(c.sh);
            ck_abort_msg("the child did not lock");
        }
        ck_assert_int_eq(kill(pid, SIGKILL), 0);
        ck_assert_int_eq(reap(pid), 256 + SIGKILL);
    } else {
        ASSERT_EXITED_0(pid);
    }
    ASSERT_NO_CHILD_ERRORS(c.sh);
    check_mixed_after_death(x);
    chan_close();
    ctx_close(&c);
}

/* A child process, with its own thread id, exits holding one of each. */
START_TEST(mixed_child_exits)
{
    SKIP_WITHOUT_MUTEX();
    SKIP_WITHOUT_DEATH_NOTICE();
    mixed_process(0);
}
END_TEST

/* The same child killed with SIGKILL instead. */
START_TEST(mixed_child_killed)
{
    SKIP_WITHOUT_MUTEX();
    SKIP_WITHOUT_DEATH_NOTICE();
    mixed_process(1);
}
END_TEST

#if defined(__linux__) && defined(SYS_set_robust_list)
/*
 * A thread whose program registered a robust list of its own with the
 * kernel (some runtimes keep their own robust locks): it is not glibc's,
 * and libushm must not link its mutexes into it, nor touch it.  The
 * mutexes still work, through the C library.
 */
static void *own_list_body(void *arg)
{
    struct mixed *x = arg;
    struct robust_list_head own, *theirs = NULL;
    size_t len;
    intptr_t rc = 0;

    memset(&own, 0, sizeof own);
    own.list.next = &own.list;
    own.futex_offset = (long)offsetof(pthread_mutex_t, __data.__lock) -
                       (long)offsetof(pthread_mutex_t, __data.__list.__next);
    if (syscall(SYS_get_robust_list, 0, &theirs, &len) != 0 ||
        syscall(SYS_set_robust_list, &own, sizeof own) != 0)
        return (void *)(intptr_t)-1; /* no robust lists here */
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (ushm_mutex_lock(&x->u[0]) != 0)
            rc = 1;
        else if (own.list.next != &own.list || own.list_op_pending != NULL)
            rc = 2; /* linked into the program's list */
        else if (ushm_mutex_unlock(&x->u[0]) != 0)
            rc = 3;
    }
    syscall(SYS_set_robust_list, theirs, len);
    return (void *)rc;
}

START_TEST(own_list_untouched)
{
    SKIP_WITHOUT_MUTEX();
    struct ctx c;
    struct mixed *x;
    pthread_t t;
    void *ret;

    x = mixed_open(&c, 1);
    ck_assert_int_eq(pthread_create(&t, NULL, own_list_body, x), 0);
    ck_assert_int_eq(pthread_join(t, &ret), 0);
    if ((intptr_t)ret == -1) {
        skip_case(__func__, "get_robust_list/set_robust_list are refused here "
                  "(qemu-user keeps no robust lists)");
        ctx_close(&c);
        return;
    }
    ck_assert_msg(ret == NULL, "step %ld failed: 1 lock, 2 the program's own "
                  "robust list was changed, 3 unlock: %s", (long)(intptr_t)ret,
                  last_err());
    ASSERT_RC(ushm_mutex_lock(&x->u[0]), 0);
    ASSERT_RC(ushm_mutex_unlock(&x->u[0]), 0);
    ctx_close(&c);
}
END_TEST
#endif

static void add_topics(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "robust_list", 60);
    tcase_add_test(tc, mixed_thread_ends);
    tcase_add_test(tc, mixed_child_exits);
    tcase_add_test(tc, mixed_child_killed);
#if defined(__linux__) && defined(SYS_set_robust_list)
    tcase_add_test(tc, own_list_untouched);
#endif
}

int main(void)
{
    return conf_main("ushm_mutex_t beside the C library's robust mutexes", add_topics);
}
