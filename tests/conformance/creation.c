/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: Creation: racing creators, failure paths.  (An empty
 * object that libushm did not make is neighbours.c's: others in the way.)
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Racing creators                                                      */

#define RACE_PROCS 8
#define RACE_ROUNDS 50
#define RACE_SIZE (2 * 4096 + 123)

struct race {
    pthread_barrier_t barrier;
    char names[RACE_ROUNDS][NAMEBUF];
    int rc[RACE_ROUNDS][RACE_PROCS];
    int created[RACE_ROUNDS][RACE_PROCS];
    size_t size[RACE_ROUNDS][RACE_PROCS];
    int mismatches[RACE_ROUNDS][RACE_PROCS];
    int unlink_rc[RACE_ROUNDS];
};

static uint32_t race_tag(int round, int who) { return 0x52000000u | (uint32_t)(round << 8) | (uint32_t)(who + 1); }

/* Every worker passes every barrier whatever happens, so none can hang the others. */
static void race_worker(struct race *r, int me)
{
    NOTE_PID();
    for (int k = 0; k < RACE_ROUNDS; k++) {
        ushm_t *h = NULL;
        int rc;

        pthread_barrier_wait(&r->barrier);
        rc = ushm_open(&h, r->names[k], RACE_SIZE, USHM_CREATE, 0600);
        r->rc[k][me] = rc;
        if (rc == 0) {
            r->created[k][me] = ushm_created(h);
            r->size[k][me] = ushm_size(h);
            if (ushm_size(h) >= RACE_SIZE)
                __atomic_store_n((uint32_t *)ushm_addr(h) + me, race_tag(k, me), __ATOMIC_SEQ_CST);
        }
        pthread_barrier_wait(&r->barrier);
        if (rc == 0 && ushm_size(h) >= RACE_SIZE) {
            const uint32_t *w = ushm_addr(h);
            const unsigned char *b = ushm_addr(h);
            for (int j = 0; j < RACE_PROCS; j++)
                r->mismatches[k][me] += __atomic_load_n(w + j, __ATOMIC_SEQ_CST) != race_tag(k, j);
            r->mismatches[k][me] += b[RACE_SIZE - 1] != 0;
        }
        pthread_barrier_wait(&r->barrier);
        if (rc == 0)
            ushm_close(h);
        if (me == 0)
            r->unlink_rc[k] = ushm_unlink(r->names[k]);
    }
}

START_TEST(test_race_create)
{
    pthread_barrierattr_t ba;
    pid_t pids[RACE_PROCS];
    struct race *r;
    int status;

    r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(r, MAP_FAILED);
    for (int k = 0; k < RACE_ROUNDS; k++)
        NEW_NAME(r->names[k]);
    pthread_barrierattr_init(&ba);
    ck_assert_int_eq(pthread_barrierattr_setpshared(&ba, PTHREAD_PROCESS_SHARED), 0);
    ck_assert_int_eq(pthread_barrier_init(&r->barrier, &ba, RACE_PROCS), 0);
    pthread_barrierattr_destroy(&ba);

    for (int i = 0; i < RACE_PROCS; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            race_worker(r, i);
            _exit(0);
        }
    }
    /* A worker that dies would strand the others at a barrier: kill them. */
    for (int left = RACE_PROCS; left > 0; left--) {
        pid_t pid = waitpid(-1, &status, 0);
        int abnormal = pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0;
        if (pid < 0)
            break;
        for (int i = 0; i < RACE_PROCS; i++)
            if (pids[i] == pid)
                pids[i] = 0;
        if (abnormal) {
            for (int i = 0; i < RACE_PROCS; i++)
                if (pids[i] > 0) {
                    kill(pids[i], SIGKILL);
                    waitpid(pids[i], NULL, 0);
                }
            ck_abort_msg("race worker %ld died (status %#x)", (long)pid, status);
        }
    }
    for (int k = 0; k < RACE_ROUNDS; k++) {
        int creators = 0;
        for (int i = 0; i < RACE_PROCS; i++) {
            ck_assert_msg(r->rc[k][i] == 0, "round %d worker %d: ushm_open = %d (%s)", k, i,
                          r->rc[k][i], rcstr(r->rc[k][i]));
            /* The creator knows its size; on macOS the others see pages. */
            ck_assert_msg(r->size[k][i] == RACE_SIZE || r->size[k][i] == fc_size_seen(RACE_SIZE),
                          "round %d worker %d mapped %zu bytes, want %d",
                          k, i, r->size[k][i], RACE_SIZE);
            ck_assert_msg(r->mismatches[k][i] == 0, "round %d worker %d saw %d wrong words", k, i,
                          r->mismatches[k][i]);
            creators += r->created[k][i];
        }
        ck_assert_msg(creators == 1, "round %d: %d workers say they created %s", k, creators, r->names[k]);
        ck_assert_msg(r->unlink_rc[k] == 0, "round %d: ushm_unlink = %d", k, r->unlink_rc[k]);
    }
    pthread_barrier_destroy(&r->barrier);
    munmap(r, sizeof *r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Failure paths leave nothing                                          */

START_TEST(test_fail_no_leak)
{
    char name[NAMEBUF], missing[NAMEBUF];
    ushm_t *h;

    NEW_NAME(name);
    NEW_NAME(missing);
    h = OPEN_OK(name, 10000, USHM_CREATE | USHM_EXCL, 0600);
    EXPECT_OPEN_FAIL(missing, 0, USHM_CREATE, 0600, -EINVAL, missing, 0);
    EXPECT_OPEN_FAIL(missing, 0, 0, 0, -ENOENT, missing, 1);
    /* One byte more than it has (macOS tells its size in whole pages). */
    EXPECT_OPEN_FAIL(name, fc_size_seen(10000) + 1, 0, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, fc_size_seen(10000) + 1, USHM_CREATE, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 10000, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(missing, 4096, USHM_CREATE | 0x200, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(missing, 4096, USHM_CREATE, 01600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(missing, 4096, USHM_CREATE | USHM_RDONLY, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL("/a/b", 4096, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, 0, 0600, -EINVAL, NULL, 0);
    ASSERT_RC(ushm_open(NULL, missing, 4096, USHM_CREATE, 0600), -EINVAL);
    EXPECT_STAT_FAIL(missing, -ENOENT, missing);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/*
 * A failure after the segment was made (no address space left to map it)
 * must undo the creation: APR's classic leak of a SysV segment when shmat
 * fails after shmget.  Runs in a child that lowers its own RLIMIT_AS.
 */
static int child_fail_after_create(void *arg, char *msg, size_t len)
{
    const char *name = arg;
    size_t big = 1024 * MiB, room = 64 * MiB;
    unsigned long long shmmax = 0;
    unsigned long vm_pages = 0;
    struct probe before, after;
    struct ushm_stat st;
    struct rlimit rl;
    char why[128];
    ushm_t *h;
    FILE *f;
    int rc;

    f = fopen("/proc/self/statm", "r");
    if (!f || fscanf(f, "%lu", &vm_pages) != 1) {
        if (f)
            fclose(f);
        snprintf(msg, len, "no /proc/self/statm to size RLIMIT_AS");
        return GUARD_SKIP;
    }
    fclose(f);
    if (!fc_rlimit_as_enforced()) {
        snprintf(msg, len, "RLIMIT_AS is not enforced here (an emulator?)");
        return GUARD_SKIP;
    }
    /* A SysV segment must get past shmget first: below kernel.shmmax,
     * which a personality lowers to FreeBSD's or macOS's (4 MiB). */
    f = is_sysv() ? fopen("/proc/sys/kernel/shmmax", "r") : NULL;
    if (f && fscanf(f, "%llu", &shmmax) == 1 && shmmax < big) {
        big = (size_t)shmmax;
        room = big / 2;
    }
    if (f)
        fclose(f);
    rl.rlim_cur = rl.rlim_max = (rlim_t)(vm_pages * page_size() + room);
    CHILD_EXPECT(setrlimit(RLIMIT_AS, &rl) == 0, "setrlimit(RLIMIT_AS): %s", strerror(errno));

    for (int anon = 0; anon < 2; anon++) {
        const char *n = anon ? NULL : name;
        probe_take(&before);
        h = DUMMY;
        rc = ushm_open(&h, n, big, USHM_CREATE | USHM_EXCL, 0600);
        if (rc == 0) {
            ushm_close(h);
            if (n)
                ushm_unlink(n);
        }
        CHILD_EXPECT(rc == -ENOMEM && h == NULL, "ushm_open(%s, %zu bytes) under RLIMIT_AS = %d (%s), "
                     "handle %p; want -ENOMEM and NULL", n ? n : "NULL", big, rc, rcstr(rc), (void *)h);
        CHILD_EXPECT(strstr(last_err(), "RLIMIT_AS") && (!n || strstr(last_err(), n)),
                     "last error \"%s\" names neither the segment nor RLIMIT_AS", last_err());
        probe_take(&after);
        CHILD_EXPECT(!probe_differs(&before, &after, why, sizeof why),
                     "a failed mapping of %s left: %s", n ? n : "an anonymous segment", why);
        if (n) {
            rc = ushm_stat(n, &st);
            CHILD_EXPECT(rc == -ENOENT, "after the failed mapping ushm_stat(%s) = %d (%s): "
                         "the segment it made was not removed", n, rc, rcstr(rc));
        }
    }
    return 0;
}

START_TEST(test_fail_after_create)
{
    char name[NAMEBUF], cmsg[512];
    int st;

    NEW_NAME(name);
    st = run_child(child_fail_after_create, name, 0, cmsg, sizeof cmsg);
    if (st == GUARD_SKIP)
        SKIP_CASE("%s", cmsg);
    ck_assert_msg(st == 0, "child failed (status %d): %s", st, cmsg);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* Whether asking for SIZE_MAX/2 bytes is safe to try here (see below). */
static int huge_is_safe(void)
{
    struct statvfs vf;
    FILE *f;
    int oc = 0;

    if (is_posix())
        /* tmpfs refuses an impossible fallocate at once only when it has a size limit. */
        return statvfs("/dev/shm", &vf) != 0 || vf.f_blocks > 0;
    f = fopen("/proc/sys/vm/overcommit_memory", "r");
    if (f) {
        if (fscanf(f, "%d", &oc) != 1)
            oc = 0;
        fclose(f);
    }
    /* With overcommit "always" the kernel would hand out the 8 EiB segment. */
    return oc != 1;
}

START_TEST(test_fail_huge)
{
    /* SIZE_MAX / 2 is a size a 32-bit process may well get. */
    const size_t sizes[] = { sizeof(size_t) > 4 ? SIZE_MAX / 2 : SIZE_MAX - 8191, SIZE_MAX - 4095 };
    char name[NAMEBUF];

    if (!huge_is_safe())
        SKIP_CASE("this system would grant or try to fill the segment");
    NEW_NAME(name);
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        struct probe before, after;
        ushm_t *h = DUMMY;
        const char *msg;
        char why[128];
        int rc;

        probe_take(&before);
        rc = ushm_open(&h, name, sizes[i], USHM_CREATE | USHM_EXCL, 0600);
        msg = last_err();
        if (rc == 0) {
            ushm_close(h);
            ushm_unlink(name);
        }
        ck_assert_msg(rc == -EINVAL || rc == -ENOSPC || rc == -ENOMEM,
                      "ushm_open(%s, %zu bytes) = %d (%s), want -EINVAL, -ENOSPC or -ENOMEM",
                      name, sizes[i], rc, rcstr(rc));
        ck_assert_ptr_null(h);
        ck_assert_msg(strstr(msg, name) && strchr(msg, '('),
                      "huge size: last error \"%s\" names neither %s nor the system call", msg, name);
        probe_take(&after);
        ck_assert_msg(!probe_differs(&before, &after, why, sizeof why), "huge size left: %s", why);
        EXPECT_STAT_FAIL(name, -ENOENT, name);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* A process that creates, gives up root, and creates again: the second
 * publication cannot use the privileged link of the first. */

static int child_create_then_drop(void *arg, char *msg, size_t len)
{
    char (*names)[NAMEBUF] = arg;
    ushm_t *h = NULL;
    int rc;

    for (int i = 0; i < 2; i++) {
        if (i == 1 && drop_to_nobody(msg, len) != 0)
            return 90;
        rc = ushm_open(&h, names[i], 5000, USHM_CREATE | USHM_EXCL, 0644);
        CHILD_EXPECT(rc == 0 && ushm_created(h) == 1 && ushm_size(h) == 5000,
                     "creation %d (%s) = %d: %s", i + 1, i ? "as nobody" : "as root", rc,
                     ushm_last_error());
        CHILD_EXPECT(ushm_close(h) == 0, "close: %s", ushm_last_error());
        rc = ushm_unlink(names[i]);
        CHILD_EXPECT(rc == 0, "unlink %s = %d: %s", names[i], rc, ushm_last_error());
    }
    return 0;
}

START_TEST(test_create_after_dropping_root)
{
    char names[2][NAMEBUF];

    if (skip_unless_root("test_create_after_dropping_root"))
        return;
    NEW_NAME(names[0]);
    NEW_NAME(names[1]);
    RUN_CHILD(child_create_then_drop, names, 0);
    EXPECT_STAT_FAIL(names[0], -ENOENT, names[0]);
    EXPECT_STAT_FAIL(names[1], -ENOENT, names[1]);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_creation(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;

    tc = add_tcase(s, "race", 300);
    tcase_add_test(tc, test_race_create);
    tcase_add_test(tc, test_create_after_dropping_root);

    tc = add_tcase(s, "failures", 60);
    tcase_add_test(tc, test_fail_no_leak);
    tcase_add_test(tc, test_fail_huge);
    tcase_add_test(tc, test_fail_after_create);
}
