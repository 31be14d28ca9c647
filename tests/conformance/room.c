/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: what a creation needs and what it may join (API.md
 * 0.3): racers for one name on a small /dev/shm do not multiply the memory
 * it needs; an object with more than one name is never joined; a segment
 * larger than the process can address is -EOVERFLOW, never a truncated
 * size.
 */
#include "common.h"

/* ---- racers on Docker's 64 MiB /dev/shm ---- */

enum { RACERS = 4 };
#define RACE_SIZE (40 * MiB) /* two at once do not fit: this machine may run only two */

static int child_small_devshm_race(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF];
    int p[2], go[2], created = 0, joined = 0;
    pid_t pids[RACERS];
    char start[RACERS];

    (void)arg;
    /* run_guarded mounted a fresh 64 MiB tmpfs, as Docker gives. */
    NEW_NAME(name);
    CHILD_EXPECT(pipe(p) == 0 && pipe(go) == 0, "pipe: %s", strerror(errno));
    for (int i = 0; i < RACERS; i++) {
        pids[i] = guard_fork();
        CHILD_EXPECT(pids[i] >= 0, "fork: %s", strerror(errno));
        if (pids[i] == 0) {
            char line[256] = ""; /* one record, under PIPE_BUF: atomic */
            ushm_t *h;
            int rc;

            /* All start together: the race the contract speaks of. */
            if (read(go[0], line, 1) != 1)
                _exit(4);
            rc = ushm_open(&h, name, RACE_SIZE, USHM_CREATE, 0600);

            snprintf(line, sizeof line, "%c%d %s", rc == 0 ? (ushm_created(h) ? 'c' : 'j') : 'x',
                     rc, rc == 0 ? "" : ushm_last_error());
            if (write(p[1], line, sizeof line) != (ssize_t)sizeof line)
                _exit(3);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    close(p[1]);
    memset(start, 'g', sizeof start);
    CHILD_EXPECT(write(go[1], start, sizeof start) == (ssize_t)sizeof start, "go: %s",
                 strerror(errno));
    close(go[0]);
    close(go[1]);
    deadline_begin(20, "%d racers open-or-create %s of 40 MiB on a 64 MiB /dev/shm", RACERS,
                   name);
    for (int i = 0; i < RACERS; i++) {
        char line[256];
        int status;
        ssize_t n = read(p[0], line, sizeof line);

        CHILD_EXPECT(n == (ssize_t)sizeof line, "a racer said nothing");
        line[sizeof line - 1] = '\0';
        CHILD_EXPECT(line[0] == 'c' || line[0] == 'j', "a racer failed: %s", line + 1);
        created += line[0] == 'c';
        joined += line[0] == 'j';
        waitpid(pids[i], &status, 0);
    }
    deadline_end();
    close(p[0]);
    CHILD_EXPECT(created == 1 && joined == RACERS - 1, "%d created, %d joined", created,
                 joined);
    CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink: %s", last_err());
    return 0;
}

/* A 64 MiB /dev/shm of its own: in a user namespace when not root. */
START_TEST(test_small_devshm_racers)
{
    /* Each round is a new race; a fixed number of them, not a time. */
    for (int round = 0; round < 20; round++)
        RUN_GUARDED(child_small_devshm_race, NULL, GUARD_PRIVATE_ANY);
}
END_TEST

/* A truly full /dev/shm is still -ENOSPC, at once, naming the room. */
static int child_does_not_fit(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF];
    ushm_t *h = DUMMY;
    double t0;
    int rc;

    (void)arg;
    NEW_NAME(name);
    t0 = now_secs();
    deadline_begin(10, "ushm_open(%s, 80 MiB) on a 64 MiB /dev/shm", name);
    rc = ushm_open(&h, name, 80 * MiB, USHM_CREATE, 0600);
    deadline_end();
    CHILD_EXPECT(rc == -ENOSPC && h == NULL, "= %d (%s), want -ENOSPC: %s", rc, rcstr(rc),
                 last_err());
    if (fc_objects_are_files()) {
        CHILD_EXPECT(strstr(ushm_last_error(), "bytes free") != NULL,
                     "the message names no free space: %s", last_err());
    } else {
        /* No directory of objects to measure (FreeBSD): the call that
         * reserves the memory, and the system's word for it. */
        char want[128];

        snprintf(want, sizeof want, "posix_fallocate(%s, %zu bytes): %s", name, 80 * MiB,
                 strerror(ENOSPC));
        CHILD_EXPECT(strstr(ushm_last_error(), want) != NULL &&
                         strstr(ushm_last_error(), "/dev/shm") == NULL,
                     "the message is not \"%s\" (and names no /dev/shm): %s", want, last_err());
    }
    CHILD_EXPECT(now_secs() - t0 < 1.0, "-ENOSPC took %.3f s", now_secs() - t0);
    CHILD_EXPECT(ushm_stat(name, &(struct ushm_stat){ 0 }) == -ENOENT, "something was left");
    return 0;
}

START_TEST(test_does_not_fit)
{
    /* macOS cannot reserve an object's memory (no posix_fallocate, no
     * write): its pages come from the VM system as they are touched. */
    if (fc_is_macos())
        SKIP_CASE("macOS reserves no memory at creation (no posix_fallocate or write on "
                  "objects): nothing there to fill");
    RUN_GUARDED(child_does_not_fit, NULL, GUARD_PRIVATE_ANY);
}
END_TEST

/* ---- hard links ---- */

struct link_arg {
    char public[NAMEBUF], private[NAMEBUF];
};

/* The attacker: another user links the world-writable object. */
static int child_link(void *arg, char *msg, size_t len)
{
    const struct link_arg *a = arg;
    char from[NAMEBUF + 16], to[NAMEBUF + 16];

    snprintf(from, sizeof from, "/dev/shm%s", a->public);
    snprintf(to, sizeof to, "/dev/shm%s", a->private);
    CHILD_EXPECT(link(from, to) == 0, "link %s %s: %s", from, to, strerror(errno));
    return 0;
}

START_TEST(test_hard_link_not_joined)
{
    struct link_arg a;
    struct ushm_stat st;
    ushm_t *pub;

    if (!fc_objects_are_files())
        SKIP_CASE("%s has no /dev/shm directory: objects are no files, cannot be linked, "
                  "and have one name", fc_system());
    if (skip_unless_root("test_hard_link_not_joined (another user)"))
        return;
    NEW_NAME(a.public);
    NEW_NAME(a.private);
    pub = OPEN_OK(a.public, 4096, USHM_CREATE | USHM_EXCL, 0666);
    /* fs.protected_hardlinks lets another user link what it may read and
     * write: a 0666 segment. */
    RUN_CHILD(child_link, &a, 1);

    /* The owner's open-or-create of "private" finds the linked object. */
    EXPECT_OPEN_FAIL(a.private, 4096, USHM_CREATE, 0600, -EPERM, a.private, 0);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "2 names"));
    EXPECT_OPEN_FAIL(a.private, 0, 0, 0, -EPERM, a.private, 0);
    EXPECT_OPEN_FAIL(a.public, 0, 0, 0, -EPERM, a.public, 0);
    /* ushm_stat still describes it. */
    ASSERT_RC(ushm_stat(a.private, &st), 0);
    ck_assert_uint_eq(st.size, 4096);
    ck_assert_uint_eq(st.mode, 0666);
    CLOSE_OK(pub);
    ASSERT_RC(ushm_unlink(a.private), 0);
    /* One name again: joined as usual. */
    pub = OPEN_OK(a.public, 0, 0, 0);
    CLOSE_OK(pub);
    ASSERT_RC(ushm_unlink(a.public), 0);
}
END_TEST

/* ---- larger than the process can address ---- */

START_TEST(test_larger_than_address_space)
{
    char name[NAMEBUF];
    struct ushm_stat st;
    uint64_t big = (uint64_t)5 << 30;
    int fd;

    NEW_NAME(name);
    /* Another program's sparse 5 GiB object. */
    fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)big), 0);
    close(fd);
    ASSERT_RC(ushm_stat(name, &st), -EOVERFLOW);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "5368709120"));
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -EOVERFLOW, name, 0);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "5368709120"));
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

void conf_add_room(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    /* A case that does not apply here is no case (and no pass). */
    if (!is_posix()) {
        printf("NOTE test_small_devshm_racers, test_does_not_fit, test_hard_link_not_joined, "
               "test_larger_than_address_space: /dev/shm objects do not apply to the sysv "
               "backend\n");
        return;
    }
    tc = add_tcase(s, "room", 120);
    tcase_add_test(tc, test_small_devshm_racers);
    tcase_add_test(tc, test_does_not_fit);
    tcase_add_test(tc, test_hard_link_not_joined);
    /* 64-bit: every size fits; the 32-bit build runs this. */
    if (sizeof(size_t) == 4)
        tcase_add_test(tc, test_larger_than_address_space);
    else
        printf("NOTE test_larger_than_address_space: every size fits a 64-bit process\n");
}
