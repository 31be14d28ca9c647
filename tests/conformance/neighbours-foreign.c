/* SPDX-License-Identifier: MIT */
/* Other programs: raw and Python creators, populate on sparse objects, sem. names, RLIMIT_FSIZE. */
#include "common.h" /* first: it asks for _GNU_SOURCE */

#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/inotify.h>

#include "neighbours-common.h"

/* ------------------------------------------------------------------ */
/* Foreign creators racing open-or-create: shm_open + ftruncate later   */

#define FOREIGN_SIZE (3 * 4096 + 17)

/* Waits (bounded, no sleep) until process pid is asleep, i.e. waiting. */
static void wait_until_asleep(pid_t pid)
{
    char path[64], buf[256], *p;
    double end = now_secs() + 2.0;

    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    while (now_secs() < end) {
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;

        if (f)
            fclose(f);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p == NULL || (p[1] == ' ' && (p[2] == 'S' || p[2] == 'D')))
            return;
        sched_yield();
    }
}

static int child_foreign_raw(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF], c = 0;
    int made[2], calling[2], sized[2], rc, status;
    struct ushm_stat st;
    ushm_t *h = DUMMY;
    pid_t pid, me = getpid();
    ssize_t n;
    char why[160];

    (void)arg;
    NEW_NAME(name);
    CHILD_EXPECT(pipe(made) == 0 && pipe(calling) == 0 && pipe(sized) == 0, "pipe: %s",
                 strerror(errno));
    pid = guard_fork();
    CHILD_EXPECT(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* The other program: shm_open(O_CREAT|O_EXCL), then, once the
         * libushm caller is in ushm_open(), ftruncate and a byte. */
        int fd;
        unsigned char *p;

        umask(0);
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
        if (fd < 0 || write(made[1], "m", 1) != 1)
            _exit(2);
        if (read(calling[0], &c, 1) != 1)
            _exit(3);
        wait_until_asleep(me);
        if (ftruncate(fd, FOREIGN_SIZE) != 0)
            _exit(4);
        p = mmap(NULL, FOREIGN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED)
            _exit(5);
        p[FOREIGN_SIZE - 1] = 0x4f;
        _exit(write(sized[1], "s", 1) == 1 ? 0 : 6);
    }
    deadline_begin(10, "waiting for the foreign creator's shm_open");
    n = read(made[0], &c, 1);
    deadline_end();
    CHILD_EXPECT(n == 1, "the foreign creator could not shm_open %s", name);
    CHILD_EXPECT(write(calling[1], "c", 1) == 1, "write: %s", strerror(errno));
    rc = CALL_UNDER(10, ushm_open(&h, name, 4096, USHM_CREATE, 0640),
                    "ushm_open(%s, 4096, USHM_CREATE) while another program sizes it", name);
    deadline_begin(10, "waiting for the foreign creator's ftruncate");
    n = read(sized[0], &c, 1);
    waitpid(pid, &status, 0);
    deadline_end();
    CHILD_EXPECT(n == 1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "the foreign creator failed (status 0x%x)", status);
    CHILD_EXPECT(rc == 0, "ushm_open(%s, USHM_CREATE) racing shm_open + ftruncate = %d (%s): %s",
                 name, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0,
                 "ushm_open(CREATE) took over another program's object (created = 1)");
    CHILD_EXPECT(ushm_size(h) == fc_size_seen(FOREIGN_SIZE), "ushm_size = %zu, want the foreign size %d",
                 ushm_size(h), FOREIGN_SIZE);
    CHILD_EXPECT(((unsigned char *)ushm_addr(h))[FOREIGN_SIZE - 1] == 0x4f,
                 "the foreign creator's byte is not in our mapping");
    CHILD_EXPECT(fc_touch_all(ushm_addr(h), FOREIGN_SIZE, 0, why, sizeof why) == 0,
                 "touching the joined segment: %s", why);
    CHILD_EXPECT(ushm_stat(name, &st) == 0 && st.mode == 0600 && st.size == fc_size_seen(FOREIGN_SIZE),
                 "the foreign object was changed: mode 0%o size %zu (want 0600, %d)",
                 (unsigned)st.mode, st.size, FOREIGN_SIZE);
    ushm_close(h);
    CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink(%s): %s", name, last_err());
    return 0;
}

START_TEST(test_foreign_raw_creator)
{
    RUN_GUARDED(child_foreign_raw, NULL, 0);
}
END_TEST

/* Python's multiprocessing.shared_memory.SharedMemory(create=True). */
static const char python_creator[] =
    "import sys\n"
    "try:\n"
    "    from multiprocessing import shared_memory\n"
    "except ImportError:\n"
    "    print('no multiprocessing.shared_memory (Python 3.8 or later)', flush=True)\n"
    "    sys.exit(0)\n"
    "size = int(sys.argv[2])\n"
    "m = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=size)\n"
    "m.buf[size - 1] = 0x50\n"
    "print('ready', flush=True)\n"
    "sys.stdin.readline()\n"
    "m.close()\n"
    "m.unlink()\n";

static int have_python3(void)
{
    const char *path = getenv("PATH");
    char buf[512];

    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/python3", (int)n, path);
        if (access(buf, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

static int child_foreign_python(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF], sizebuf[32], line[64] = "", why[160] = "";
    int in[2], out[2], ino, wd, rc, status, seen = 0;
    struct ushm_stat st;
    ushm_t *h = DUMMY;
    size_t got = 0;
    ssize_t n;
    pid_t pid;

    (void)arg;
    if (!have_python3()) {
        snprintf(msg, len, "python3 is not on PATH");
        return GUARD_SKIP;
    }
    NEW_NAME(name);
    snprintf(sizebuf, sizeof sizebuf, "%d", FOREIGN_SIZE);
    ino = inotify_init1(IN_CLOEXEC);
    CHILD_EXPECT(ino >= 0, "inotify_init1: %s", strerror(errno));
    wd = inotify_add_watch(ino, "/dev/shm", IN_CREATE);
    CHILD_EXPECT(wd >= 0, "inotify_add_watch(/dev/shm): %s", strerror(errno));
    CHILD_EXPECT(pipe(in) == 0 && pipe(out) == 0, "pipe: %s", strerror(errno));
    pid = guard_fork();
    CHILD_EXPECT(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        close(ino);
        execlp("python3", "python3", "-c", python_creator, name + 1, sizebuf, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    /* Open-or-create as soon as the name appears: Python's ftruncate may
     * not have come yet. */
    deadline_begin(20, "waiting for Python's SharedMemory to appear in /dev/shm");
    while (!seen) {
        char ev[4096] __attribute__((aligned(8)));
        struct pollfd pf[2] = { { ino, POLLIN, 0 }, { out[0], POLLIN, 0 } };

        if (poll(pf, 2, -1) < 0 && errno == EINTR)
            continue;
        if (!(pf[0].revents & POLLIN) && pf[1].revents) {
            /* Python spoke (or exited) before making anything. */
            n = read(out[0], line, sizeof line - 1);
            line[n > 0 ? n : 0] = '\0';
            line[strcspn(line, "\n")] = '\0';
            close(in[1]);
            waitpid(pid, &status, 0);
            if (strncmp(line, "no multiprocessing", 18) == 0) {
                snprintf(msg, len, "python3 has %s", line);
                return GUARD_SKIP;
            }
            CHILD_EXPECT(0, "Python's SharedMemory(create=True) failed before making %s "
                         "(said \"%s\", status 0x%x)", name, line, status);
        }
        n = read(ino, ev, sizeof ev);
        CHILD_EXPECT(n > 0, "inotify read: %s", strerror(errno));
        for (char *p = ev; p < ev + n;) {
            struct inotify_event *e = (struct inotify_event *)(void *)p;
            if (e->len > 0 && strcmp(e->name, name + 1) == 0)
                seen = 1;
            p += sizeof *e + e->len;
        }
    }
    deadline_end();
    close(ino);
    rc = CALL_UNDER(10, ushm_open(&h, name, 4096, USHM_CREATE, 0640),
                    "ushm_open(%s, 4096, USHM_CREATE) while Python's SharedMemory creates it",
                    name);
    deadline_begin(20, "waiting for Python's SharedMemory to say ready");
    while (got + 1 < sizeof line && strchr(line, '\n') == NULL &&
           (n = read(out[0], line + got, sizeof line - 1 - got)) > 0) {
        got += (size_t)n;
        line[got] = '\0';
    }
    line[got] = '\0';
    deadline_end();
    if (rc == 0 && strncmp(line, "ready", 5) == 0) {
        if (ushm_created(h) != 0)
            snprintf(why, sizeof why, "took over Python's object (created = 1)");
        else if (ushm_size(h) != fc_size_seen(FOREIGN_SIZE))
            snprintf(why, sizeof why, "ushm_size = %zu, want Python's %d", ushm_size(h),
                     FOREIGN_SIZE);
        else if (((unsigned char *)ushm_addr(h))[FOREIGN_SIZE - 1] != 0x50)
            snprintf(why, sizeof why, "Python's byte is not in our mapping");
        else if (fc_touch_all(ushm_addr(h), FOREIGN_SIZE, 0, why, sizeof why) != 0)
            ;
        else if (ushm_stat(name, &st) != 0 || st.mode != 0600)
            snprintf(why, sizeof why, "Python's object was re-moded to 0%o", (unsigned)st.mode);
        else
            why[0] = '\0';
    }
    if (rc == 0)
        ushm_close(h);
    n = write(in[1], "\n", 1);
    close(in[1]);
    deadline_begin(20, "waiting for Python to exit");
    waitpid(pid, &status, 0);
    deadline_end();
    close(out[0]);
    ushm_unlink(name);
    CHILD_EXPECT(strncmp(line, "ready", 5) == 0,
                 "Python's SharedMemory(create=True) did not get ready (said \"%s\", status "
                 "0x%x)", line, status);
    CHILD_EXPECT(rc == 0, "ushm_open(%s, USHM_CREATE) racing Python's SharedMemory = %d (%s): %s",
                 name, rc, rcstr(rc), last_err());
    CHILD_EXPECT(why[0] == '\0', "joining Python's SharedMemory: %s", why);
    CHILD_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                 "Python exited with status 0x%x", status);
    return 0;
}

START_TEST(test_foreign_python_creator)
{
    RUN_GUARDED(child_foreign_python, NULL, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* USHM_POPULATE on another program's sparse object, /dev/shm too small */

#define SPARSE_SIZE (32 * MiB)

static int child_populate_sparse(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF], path[NAMEBUF + 16], how[256];
    struct snap before, now;
    ushm_t *h = DUMMY;
    int fd, rc, fds0;

    (void)arg;
    /* A tmpfs with room for a quarter of the object, over the private one. */
    if (fc_mount_devshm("mode=1777,size=8m", msg, len) != 0)
        return 2;
    NEW_NAME(name);
    snprintf(path, sizeof path, "/dev/shm%s", name);
    /* The other program: shm_open + ftruncate, no memory reserved. */
    fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    CHILD_EXPECT(fd >= 0, "shm_open(%s): %s", name, strerror(errno));
    CHILD_EXPECT(ftruncate(fd, (off_t)SPARSE_SIZE) == 0, "ftruncate: %s", strerror(errno));
    close(fd);
    snap_take(path, &before);
    fds0 = count_fds(NULL);
    snprintf(how, sizeof how, "ushm_open(%s, 0, USHM_POPULATE) of another program's sparse "
             "32 MiB object on an 8 MiB /dev/shm", name);
    rc = CALL_UNDER(20, ushm_open(&h, name, 0, USHM_POPULATE, 0), "%s", how);
    CHILD_EXPECT(rc != -EFAULT, "%s = -EFAULT (want -ENOSPC or -ENOMEM): %s", how, last_err());
    if (rc == -ENOSPC) {
        if (failed_right(how, rc, -ENOSPC, h == DUMMY ? NULL : h, name, "/dev/shm", msg, len))
            return 3;
    } else if (failed_right(how, rc, -ENOMEM, h == DUMMY ? NULL : h, name, NULL, msg, len)) {
        if (rc == 0 && h != NULL && h != DUMMY)
            ushm_close(h);
        return 4;
    }
    CHILD_EXPECT(count_fds(NULL) == fds0, "%s left %d descriptor(s) open", how,
                 count_fds(NULL) - fds0);
    snap_take(path, &now);
    if (snap_same(&before, &now, how, msg, len))
        return 5;
    /* Without USHM_POPULATE the join is the system's rule: it works. */
    h = NULL;
    rc = CALL_UNDER(10, ushm_open(&h, name, 0, 0, 0), "ushm_open(%s, 0, 0) of a sparse object",
                    name);
    CHILD_EXPECT(rc == 0 && ushm_size(h) == SPARSE_SIZE && ushm_created(h) == 0,
                 "ushm_open(%s) of the sparse object without USHM_POPULATE = %d (%s): %s", name,
                 rc, rcstr(rc), last_err());
    ushm_close(h);
    CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink(%s): %s", name, last_err());
    return 0;
}

/* A small /dev/shm of its own: in a user namespace when not root. */
START_TEST(test_populate_sparse)
{
    /* The room that runs out is a small tmpfs's: Linux's alone.  FreeBSD
     * and macOS take an object's pages from the VM system (swap-backed), so
     * a touch waits for memory and never finds a full file system. */
    if (!fc_objects_are_files())
        SKIP_CASE("%s keeps objects in no file system that can fill: no small /dev/shm to "
                  "run out of", fc_system());
    RUN_GUARDED(child_populate_sparse, NULL, GUARD_PRIVATE_ANY);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Names that would be glibc's named semaphores                         */

START_TEST(test_sem_names)
{
    char name[NAMEBUF], sem[NAMEBUF + 8], bare[NAMEBUF + 8], ok[NAMEBUF + 8];
    char path[NAMEBUF + 32];
    struct stat sb;
    static const char *const fine[] = { "/sem%s", "/semx%s", "/xsem.%s", "/se.m%s" };
    struct ushm_stat st;
    sem_t *s;
    int v = -1;
    ushm_t *h;

    NEW_NAME(name);
    snprintf(sem, sizeof sem, "/sem.%s", name + 1);
    snprintf(bare, sizeof bare, "sem.%s", name + 1);
    /* A real semaphore behind the name (/dev/shm/sem.<name> on glibc). */
    s = sem_open(name, O_CREAT | O_EXCL, 0600, 3);
    ck_assert_msg(s != SEM_FAILED, "sem_open(%s): %s", name, strerror(errno));
    EXPECT_OPEN_FAIL(sem, 4096, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(sem, 4096, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(sem, 0, 0, 0, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(sem, 0, USHM_RDONLY, 0, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(bare, 4096, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(bare, 0, 0, 0, -EINVAL, NULL, 0);
    EXPECT_STAT_FAIL(sem, -EINVAL, NULL);
    EXPECT_STAT_FAIL(bare, -EINVAL, NULL);
    EXPECT_UNLINK_FAIL(sem, -EINVAL, NULL);
    EXPECT_UNLINK_FAIL(bare, -EINVAL, NULL);
    /* The semaphore is untouched. */
    ck_assert_msg(sem_getvalue(s, &v) == 0 && v == 3, "the semaphore's value is %d, want 3", v);
    sem_close(s);
    ck_assert_msg(sem_unlink(name) == 0, "sem_unlink(%s): %s", name, strerror(errno));
    /* No semaphore behind it now: still -EINVAL, and nothing created. */
    EXPECT_OPEN_FAIL(sem, 4096, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(bare, 4096, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
    EXPECT_STAT_FAIL(sem, -EINVAL, NULL);
    devshm_path(sem, path, sizeof path);
    ck_assert_msg(!path[0] || lstat(path, &sb) != 0, "%s was created", path);

    /* Only a body that begins with "sem." is refused. */
    for (size_t i = 0; i < sizeof fine / sizeof *fine; i++) {
        snprintf(ok, sizeof ok, fine[i], name + 1);
        LOG_NAME(ok);
        h = OPEN_OK(ok, 4096, USHM_CREATE | USHM_EXCL, 0600);
        ck_assert_int_eq(ushm_created(h), 1);
        CLOSE_OK(h);
        ASSERT_RC(ushm_stat(ok, &st), 0);
        ck_assert_uint_eq(st.size, 4096);
        ASSERT_RC(ushm_unlink(ok), 0);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* RLIMIT_FSIZE: never SIGXFSZ                                          */

static int child_rlimit_fsize(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    struct rlimit rl;
    struct ushm_stat st;
    struct stat sb;
    ushm_t *h = DUMMY;
    int rc;

    (void)arg;
    NEW_NAME(name);
    CHILD_EXPECT(getrlimit(RLIMIT_FSIZE, &rl) == 0, "getrlimit: %s", strerror(errno));
    rl.rlim_cur = MiB;
    CHILD_EXPECT(setrlimit(RLIMIT_FSIZE, &rl) == 0, "setrlimit(RLIMIT_FSIZE, 1 MiB): %s",
                 strerror(errno));
    rc = CALL_UNDER(10, ushm_open(&h, name, 4 * MiB, USHM_CREATE | USHM_EXCL, 0600),
                    "ushm_open(%s, 4 MiB, CREATE|EXCL) under RLIMIT_FSIZE 1 MiB", name);
    if (is_posix()) {
        if (failed_right("ushm_open(4 MiB) under RLIMIT_FSIZE 1 MiB", rc, -EINVAL,
                         h == DUMMY ? NULL : h, name, "RLIMIT_FSIZE", msg, len))
            return 2;
        CHILD_EXPECT(ushm_stat(name, &st) == -ENOENT,
                     "after the refused creation %s exists (ushm_stat)", name);
        devshm_path(name, path, sizeof path);
        CHILD_EXPECT(!path[0] || lstat(path, &sb) != 0, "after the refused creation %s exists",
                     path);
    } else {
        /* A SysV segment is no file: the limit does not apply. */
        CHILD_EXPECT(rc == 0, "sysv: ushm_open(4 MiB) under RLIMIT_FSIZE 1 MiB = %d (%s): %s",
                     rc, rcstr(rc), last_err());
        CHILD_EXPECT(ushm_size(h) == 4 * MiB, "size %zu", ushm_size(h));
        memset(ushm_addr(h), 0x11, 4 * MiB);
        ushm_close(h);
        CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink: %s", last_err());
    }
    /* Under the limit it works. */
    h = NULL;
    rc = CALL_UNDER(10, ushm_open(&h, name, MiB / 2, USHM_CREATE | USHM_EXCL, 0600),
                    "ushm_open(%s, 512 KiB) under RLIMIT_FSIZE 1 MiB", name);
    CHILD_EXPECT(rc == 0, "ushm_open(512 KiB) under RLIMIT_FSIZE 1 MiB = %d (%s): %s", rc,
                 rcstr(rc), last_err());
    ushm_close(h);
    CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink: %s", last_err());
    return 0;
}

START_TEST(test_rlimit_fsize)
{
    /* run_guarded() says "killed by signal 25" if SIGXFSZ came. */
    RUN_GUARDED(child_rlimit_fsize, NULL, 0);
}
END_TEST

void neighbours_add_foreign(TCase *tc)
{
    if (is_posix()) {
        tcase_add_test(tc, test_foreign_raw_creator);
        tcase_add_test(tc, test_foreign_python_creator);
        tcase_add_test(tc, test_populate_sparse);
    } else {
        printf("NOTE test_foreign_*_creator, test_populate_sparse: shm_open + ftruncate "
               "objects do not apply to the sysv backend\n");
    }
    tcase_add_test(tc, test_sem_names);
    tcase_add_test(tc, test_rlimit_fsize);
}
