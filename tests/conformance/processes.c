/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: Processes and threads: fork, anonymous segments, threads.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Fork                                                                 */

struct fork_arg {
    const char *name;
    ushm_t *inherited;
};

static int child_attach_by_name(void *arg, char *msg, size_t len)
{
    struct fork_arg *f = arg;
    ushm_t *h = DUMMY;
    int rc = ushm_open(&h, f->name, 0, 0, 0);

    CHILD_EXPECT(rc == 0, "child: ushm_open(%s) = %d (%s): %s", f->name, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0 && ushm_size(h) == fc_size_seen(6000), "child: created %d size %zu",
                 ushm_created(h), ushm_size(h));
    CHILD_EXPECT(((unsigned char *)ushm_addr(h))[10] == 0x10, "child: parent's byte missing");
    ((unsigned char *)ushm_addr(h))[5999] = 0xc7;
    CHILD_EXPECT(ushm_close(h) == 0, "child: ushm_close failed");
    /* The inherited handle is closed independently too. */
    CHILD_EXPECT(ushm_close(f->inherited) == 0, "child: closing the inherited handle failed");
    return 0;
}

START_TEST(test_fork_attach_by_name)
{
    char name[NAMEBUF];
    struct fork_arg f;
    unsigned char *p;
    ushm_t *h;

    NEW_NAME(name);
    h = OPEN_OK(name, 6000, USHM_CREATE | USHM_EXCL, 0600);
    p = ushm_addr(h);
    p[10] = 0x10;
    f.name = name;
    f.inherited = h;
    RUN_CHILD(child_attach_by_name, &f, 0);
    ck_assert_uint_eq(p[5999], 0xc7);
    p[0] = 0x01;
    ck_assert_uint_eq(p[0], 0x01);
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/*
 * The child keeps the parent's mapping at the same address, writes through
 * it, then closes its copy while the parent keeps using its own: two pipes
 * order the steps, the child is still alive when the parent checks.
 */
START_TEST(test_fork_same_address)
{
    char name[NAMEBUF];
    int up[2], down[2], status;
    volatile unsigned char *p;
    char c;
    pid_t pid;
    ushm_t *h;

    NEW_NAME(name);
    h = OPEN_OK(name, 3 * 4096, USHM_CREATE | USHM_EXCL, 0600);
    p = ushm_addr(h);
    p[1] = 0xaa;
    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pipe(down), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int ok = 1;
        close(up[0]);
        close(down[1]);
        NOTE_PID();
        ok &= ushm_addr(h) == (void *)p && ushm_size(h) == 3 * 4096;
        ok &= p[1] == 0xaa;
        p[2] = 0xbb;                                   /* step 1: write */
        ok &= write(up[1], "1", 1) == 1;
        ok &= read(down[0], &c, 1) == 1;               /* parent checked */
        ok &= ushm_close(h) == 0;                      /* step 2: close our copy */
        ok &= write(up[1], "2", 1) == 1;
        ok &= read(down[0], &c, 1) == 1;               /* parent done */
        _exit(ok ? 0 : 1);
    }
    close(up[1]);
    close(down[0]);
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    ck_assert_uint_eq(p[2], 0xbb);
    ASSERT_NATTACH(name, 2);
    ck_assert_int_eq(write(down[1], "a", 1), 1);
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    ck_assert_int_eq(c, '2');
    /* The child has closed its copy: ours is intact and usable. */
    ASSERT_NATTACH(name, 1);
    ck_assert_uint_eq(p[1], 0xaa);
    ck_assert_uint_eq(p[2], 0xbb);
    p[3 * 4096 - 1] = 0xcc;
    ck_assert_uint_eq(p[3 * 4096 - 1], 0xcc);
    ck_assert_int_eq(write(down[1], "b", 1), 1);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    close(up[0]);
    close(down[1]);
    ck_assert_uint_eq(p[2], 0xbb);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Anonymous segments                                                   */

static int child_anon_write(void *arg, char *msg, size_t len)
{
    ushm_t *h = arg;
    unsigned char *p = ushm_addr(h);

    CHILD_EXPECT(p[0] == 0x0a && p[4999] == 0x0b, "child: parent's writes not visible");
    p[1] = 0x1c;
    p[4998] = 0x1d;
    CHILD_EXPECT(ushm_close(h) == 0, "child: ushm_close failed");
    return 0;
}

START_TEST(test_anon_shared_with_child)
{
    int sysv_before = sysv_count_cpid(getpid()), fds_before = count_fds(NULL);
    struct backing b;
    char extra[512];
    unsigned char *p;
    ushm_t *h;
    size_t bad;

    h = OPEN_OK(NULL, 5000, USHM_CREATE, 0600);
    ck_assert_ptr_null(ushm_name(h));
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_uint_eq(ushm_size(h), 5000);
    p = ushm_addr(h);
    bad = first_nonzero(p, 5000);
    ck_assert_msg(bad == NONE, "anonymous segment: byte %zu is %#x", bad, p[bad]);
    mapping_backing(p, &b);
    ck_assert_msg(devshm_names_of(&b, extra, sizeof extra) == 0,
                  "an anonymous segment (%s) has a name in /dev/shm:%s", b.path, extra);

    p[0] = 0x0a;
    p[4999] = 0x0b;
    RUN_CHILD(child_anon_write, h, 0);
    ck_assert_uint_eq(p[1], 0x1c);
    ck_assert_uint_eq(p[4998], 0x1d);
    CLOSE_OK(h);

    ck_assert_msg(devshm_names_of(&b, extra, sizeof extra) == 0,
                  "closing an anonymous segment left in /dev/shm:%s", extra);
    ck_assert_int_eq(sysv_count_cpid(getpid()), sysv_before);
    ck_assert_int_eq(count_fds(NULL), fds_before);
}
END_TEST

/* Two at once are distinct; the mode of an anonymous segment never keeps its
 * creator from mapping it read-write (0400, or 0 meaning 0600). */
START_TEST(test_anon_independent)
{
    int sysv_before = sysv_count_cpid(getpid());
    ushm_t *a = OPEN_OK(NULL, 4096, USHM_CREATE, 0400);
    ushm_t *b = OPEN_OK(NULL, 4096, USHM_CREATE | USHM_POPULATE, 0);
    unsigned char *pa = ushm_addr(a), *pb = ushm_addr(b);

    ck_assert_ptr_ne(pa, pb);
    memset(pa, 0x3a, 4096);
    ck_assert_msg(first_nonzero(pb, 4096) == NONE, "two anonymous segments share memory");
    pb[4095] = 0x3b;
    ck_assert_uint_eq(pa[4095], 0x3a);
    ck_assert_int_eq(ushm_created(a), 1);
    ck_assert_int_eq(ushm_created(b), 1);
    ck_assert_ptr_null(ushm_name(b));
    CLOSE_OK(a);
    CLOSE_OK(b);
    ck_assert_msg(sysv_count_cpid(getpid()) == sysv_before,
                  "closed anonymous segments are still in /proc/sysvipc/shm");
}
END_TEST

/*
 * A child makes an anonymous segment and dies without closing it (SIGKILL:
 * abrupt, and no exit handler of a leak checker sees the handle); nothing of
 * it may outlive the child.
 */
START_TEST(test_anon_freed_on_exit)
{
    struct { int rc; struct backing b; } r = { 1, { 0, 0, 0, "" } };
    char extra[512];
    int p[2], status;
    ssize_t got;
    pid_t pid;

    ck_assert_int_eq(pipe(p), 0);
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ushm_t *h = NULL;
        close(p[0]);
        NOTE_PID();
        r.rc = ushm_open(&h, NULL, 3 * 4096 + 1, USHM_CREATE, 0600);
        if (r.rc == 0) {
            ((volatile unsigned char *)ushm_addr(h))[3 * 4096] = 1;
            mapping_backing(ushm_addr(h), &r.b);
        }
        if (write(p[1], &r, sizeof r) != sizeof r)
            _exit(1);
        kill(getpid(), SIGKILL);
        _exit(2);
    }
    close(p[1]);
    got = read(p[0], &r, sizeof r);
    close(p[0]);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(got == sizeof r && r.rc == 0, "child: anonymous ushm_open = %d (%s)", r.rc, rcstr(r.rc));
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %#x", status);
    /* Its own segment, by id (a SysV mapping's inode in /proc/PID/maps):
     * not by the pid, which the rest of make check soon reuses. */
    if (is_sysv()) {
        struct shmid_ds ds;

        ck_assert_msg(shmctl((int)r.b.ino, IPC_STAT, &ds) == -1,
                      "the anonymous SysV segment (id %lu) of pid %ld outlived it",
                      r.b.ino, (long)pid);
    }
    ck_assert_msg(devshm_names_of(&r.b, extra, sizeof extra) == 0,
                  "an anonymous segment (%s) outlived its process in /dev/shm:%s", r.b.path, extra);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Threads                                                              */

#define THREADS 8
#define THREAD_LOOPS 40

struct thread_job {
    int id;
    pthread_barrier_t *start;
    char err[256];
};

static void *thread_loops(void *arg)
{
    struct thread_job *j = arg;

    pthread_barrier_wait(j->start); /* all at once */
    for (int k = 0; k < THREAD_LOOPS; k++) {
        char name[NAMEBUF];
        size_t size = 1000 + (size_t)j->id * 131 + (size_t)k;
        struct ushm_stat st;
        ushm_t *a = NULL, *b = NULL;
        int rc;

        NEW_NAME(name);
        rc = ushm_open(&a, name, size, USHM_CREATE | USHM_EXCL, 0600);
        if (rc != 0 || ushm_created(a) != 1 || ushm_size(a) != size ||
            first_nonzero(ushm_addr(a), size) != NONE) {
            snprintf(j->err, sizeof j->err, "loop %d: create %s = %d (%s)", k, name, rc, rcstr(rc));
            if (rc == 0)
                ushm_close(a);
            ushm_unlink(name);
            return NULL;
        }
        memset(ushm_addr(a), j->id + 1, size);
        rc = ushm_open(&b, name, 0, 0, 0);
        if (rc != 0 || ushm_created(b) != 0 || ushm_size(b) != fc_size_seen(size) ||
            ((unsigned char *)ushm_addr(b))[size - 1] != j->id + 1) {
            snprintf(j->err, sizeof j->err, "loop %d: reopen %s = %d (%s)", k, name, rc, rcstr(rc));
            ushm_close(a);
            if (rc == 0)
                ushm_close(b);
            ushm_unlink(name);
            return NULL;
        }
        if (ushm_close(a) != 0 || ushm_close(b) != 0 || (rc = ushm_unlink(name)) != 0 ||
            ushm_stat(name, &st) != -ENOENT) {
            snprintf(j->err, sizeof j->err, "loop %d: close/unlink/stat of %s (unlink %d)", k, name, rc);
            return NULL;
        }
    }
    return NULL;
}

START_TEST(test_threads_loops)
{
    pthread_t t[THREADS];
    struct thread_job jobs[THREADS];
    pthread_barrier_t start;
    /* Each thread has two mappings at once: macOS lets a process attach 8
     * SysV segments (kern.sysv.shmseg), and says EMFILE past them. */
    const char *sys = fc_personality();
    int threads = is_sysv() && sys != NULL && strcmp(sys, "macos") == 0 ? 4 : THREADS;

    ck_assert_int_eq(pthread_barrier_init(&start, NULL, (unsigned)threads), 0);
    for (int i = 0; i < threads; i++) {
        jobs[i].id = i;
        jobs[i].start = &start;
        jobs[i].err[0] = '\0';
        ck_assert_int_eq(pthread_create(&t[i], NULL, thread_loops, &jobs[i]), 0);
    }
    for (int i = 0; i < threads; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < threads; i++)
        ck_assert_msg(jobs[i].err[0] == '\0', "thread %d: %s", i, jobs[i].err);
}
END_TEST

struct err_job {
    pthread_barrier_t *barrier;
    char name[NAMEBUF];
    int rc;
    int null_shm;
    int msg_null;
    char msg[512];
};

static void *thread_fail(void *arg)
{
    struct err_job *j = arg;
    ushm_t *h = DUMMY;
    const char *m;

    j->rc = ushm_open(&h, j->name, 0, 0, 0);
    j->null_shm = h == NULL;
    pthread_barrier_wait(j->barrier); /* both have failed before either reads */
    m = ushm_last_error();
    j->msg_null = m == NULL;
    snprintf(j->msg, sizeof j->msg, "%s", m ? m : "");
    pthread_barrier_wait(j->barrier);
    return NULL;
}

static void *thread_fresh_error(void *arg)
{
    *(int *)arg = ushm_last_error() != NULL;
    return NULL;
}

START_TEST(test_threads_last_error)
{
    pthread_barrier_t bar;
    struct err_job ja, jb;
    char mine[NAMEBUF], kept[512];
    pthread_t ta, tb;
    int fresh = 0;
    ushm_t *h = DUMMY;

    NEW_NAME_SUFFIX(mine, "M");
    NEW_NAME_SUFFIX(ja.name, "A");
    NEW_NAME_SUFFIX(jb.name, "B");
    ASSERT_RC(ushm_open(&h, mine, 0, 0, 0), -ENOENT);
    snprintf(kept, sizeof kept, "%s", last_err());
    ck_assert_msg(strstr(kept, mine), "main thread's error \"%s\" does not name %s", kept, mine);

    ck_assert_int_eq(pthread_barrier_init(&bar, NULL, 2), 0);
    ja.barrier = jb.barrier = &bar;
    ck_assert_int_eq(pthread_create(&ta, NULL, thread_fail, &ja), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, thread_fail, &jb), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_int_eq(pthread_join(tb, NULL), 0);
    pthread_barrier_destroy(&bar);

    ck_assert_int_eq(ja.rc, -ENOENT);
    ck_assert_int_eq(jb.rc, -ENOENT);
    ck_assert(ja.null_shm && jb.null_shm);
    ck_assert(!ja.msg_null && !jb.msg_null);
    ck_assert_msg(strstr(ja.msg, ja.name) && !strstr(ja.msg, jb.name),
                  "thread A sees \"%s\", want its own %s", ja.msg, ja.name);
    ck_assert_msg(strstr(jb.msg, jb.name) && !strstr(jb.msg, ja.name),
                  "thread B sees \"%s\", want its own %s", jb.msg, jb.name);
    ck_assert_msg(strstr(last_err(), mine) && !strstr(last_err(), ja.name) && !strstr(last_err(), jb.name),
                  "main thread's error became \"%s\"", last_err());

    ck_assert_int_eq(pthread_create(&ta, NULL, thread_fresh_error, &fresh), 0);
    ck_assert_int_eq(pthread_join(ta, NULL), 0);
    ck_assert_msg(fresh, "ushm_last_error() is NULL in a new thread");
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_processes(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;

    tc = add_tcase(s, "fork", 60);
    tcase_add_test(tc, test_fork_attach_by_name);
    tcase_add_test(tc, test_fork_same_address);

    tc = add_tcase(s, "anonymous", 60);
    tcase_add_test(tc, test_anon_shared_with_child);
    tcase_add_test(tc, test_anon_independent);
    tcase_add_test(tc, test_anon_freed_on_exit);

    tc = add_tcase(s, "threads", 300);
    tcase_add_test(tc, test_threads_loops);
    tcase_add_test(tc, test_threads_last_error);
}
