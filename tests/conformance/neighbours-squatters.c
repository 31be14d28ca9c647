/* SPDX-License-Identifier: MIT */
/* Squatters at a POSIX name: FIFOs, directories, symlinks, sockets, empty and locked objects. */
#include "common.h" /* first: it asks for _GNU_SOURCE */

#include <sys/socket.h>
#include <sys/un.h>

#include "neighbours-common.h"

static int make_fifo(const char *path, const void *arg, char *why, size_t len)
{
    (void)arg;
    if (mkfifo(path, 0666) == 0)
        return 0;
    snprintf(why, len, "mkfifo(%s): %s", path, strerror(errno));
    return 1;
}

static int make_dir(const char *path, const void *arg, char *why, size_t len)
{
    (void)arg;
    if (mkdir(path, 0755) == 0)
        return 0;
    snprintf(why, len, "mkdir(%s): %s", path, strerror(errno));
    return 1;
}

static int make_symlink(const char *path, const void *arg, char *why, size_t len)
{
    if (symlink((const char *)arg, path) == 0)
        return 0;
    snprintf(why, len, "symlink(%s, %s): %s", (const char *)arg, path, strerror(errno));
    return 1;
}

static int make_socket(const char *path, const void *arg, char *why, size_t len)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    (void)arg;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0) {
        close(fd);
        return 0;
    }
    snprintf(why, len, "socket/bind(%s): %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    return 1;
}

/* A regular object the usual way (shm_open, then ftruncate when size is
 * given), 0666, optionally held under flock(LOCK_EX) by this process. */
struct object_arg {
    const char *name;
    size_t size;
    int lock;
};

static int make_object(const char *path, const void *arg, char *why, size_t len)
{
    const struct object_arg *o = arg;
    int fd = shm_open(o->name, O_CREAT | O_EXCL | O_RDWR, 0666);

    (void)path;
    if (fd < 0) {
        snprintf(why, len, "shm_open(%s, O_CREAT | O_EXCL): %s", o->name, strerror(errno));
        return 1;
    }
    if (o->size > 0) {
        unsigned char *p;
        if (ftruncate(fd, (off_t)o->size) != 0 ||
            (p = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
            snprintf(why, len, "ftruncate/mmap(%s): %s", o->name, strerror(errno));
            close(fd);
            return 1;
        }
        p[o->size - 1] = 0x6b;
        munmap(p, o->size);
    }
    if (o->lock && flock(fd, LOCK_EX) != 0) {
        snprintf(why, len, "flock(%s, LOCK_EX): %s", o->name, strerror(errno));
        close(fd);
        return 1;
    }
    /* With a lock the descriptor stays open (and locked) until exit. */
    if (!o->lock)
        close(fd);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Squatters on a POSIX name                                            */

enum squat_kind {
    SQ_FIFO, SQ_DIR, SQ_SYMLINK_OURS, SQ_SYMLINK_DANGLING, SQ_SOCKET, SQ_EMPTY,
    SQ_EMPTY_FLOCK, SQ_WHOLE_FLOCK, SQ_EMPTY_OURS, SQ_EMPTY_OURS_FLOCK
};

static const struct {
    const char *what;
    const char *words; /* what the message must name for the non-regular ones */
} squats[] = {
    [SQ_FIFO] = { "a FIFO", "fifo" },
    [SQ_DIR] = { "a directory", "directory" },
    [SQ_SYMLINK_OURS] = { "a symlink to a segment of ours", "symbolic link|symlink" },
    [SQ_SYMLINK_DANGLING] = { "a dangling symlink", "symbolic link|symlink" },
    [SQ_SOCKET] = { "a Unix socket", "socket" },
    [SQ_EMPTY] = { "an empty object", NULL },
    [SQ_EMPTY_FLOCK] = { "an empty object under flock(LOCK_EX)", NULL },
    [SQ_WHOLE_FLOCK] = { "a whole object under flock(LOCK_EX)", NULL },
    [SQ_EMPTY_OURS] = { "an empty object of our user's", NULL },
    [SQ_EMPTY_OURS_FLOCK] = { "an empty object of our user's, under flock(LOCK_EX)", NULL },
};

/* Made by another program of this user: no other user, so no root needed. */
static int squat_same_user(int kind)
{
    return kind == SQ_EMPTY_OURS || kind == SQ_EMPTY_OURS_FLOCK;
}

#define SQ_TARGET_SIZE 4096

/* Every call of the API on name, with what holds it. */
static int squat_calls(int kind, const char *name, const char *path, const struct snap *before,
                       char *msg, size_t len)
{
    const char *what = squats[kind].what, *words = squats[kind].words;
    int empty = kind == SQ_EMPTY || kind == SQ_EMPTY_FLOCK || kind == SQ_EMPTY_OURS ||
                kind == SQ_EMPTY_OURS_FLOCK;
    int regular = empty || kind == SQ_WHOLE_FLOCK;
    static const struct {
        const char *how;
        size_t size;
        int flags;
    } opens[] = {
        { "ushm_open(%s, 4096, 0) on %s", 4096, 0 },
        { "ushm_open(%s, 0, USHM_RDONLY) on %s", 0, USHM_RDONLY },
        { "ushm_open(%s, 4096, USHM_CREATE|USHM_EXCL) on %s", 4096, USHM_CREATE | USHM_EXCL },
        { "ushm_open(%s, 4096, USHM_CREATE) on %s", 4096, USHM_CREATE },
    };
    char how[384], why[128];
    struct snap now;
    struct ushm_stat st;
    struct probe p0, p1;
    int rc, fds0 = count_fds(NULL), maps0;

    probe_take(&p0);
    for (size_t i = 0; i < sizeof opens / sizeof *opens; i++) {
        ushm_t *h = DUMMY;
        double t0 = now_secs(), secs;
        int want;

        snprintf(how, sizeof how, opens[i].how, name, what);
        fc_count_maps(); /* its first stdio use may map */
        maps0 = fc_count_maps();
        rc = CALL_UNDER(10, ushm_open(&h, name, opens[i].size, opens[i].flags, 0600), "%s", how);
        secs = now_secs() - t0;
        if (opens[i].flags & USHM_EXCL)
            want = -EEXIST;
        else if (!regular)
            want = -EINVAL;
        else if (empty)
            want = (opens[i].flags & USHM_CREATE) ? -EAGAIN : -ENOENT;
        else
            want = (opens[i].flags & USHM_CREATE) ? -EPERM : 0;
        if (want == 0) {
            CHILD_EXPECT(rc == 0, "%s = %d (%s), want 0: %s", how, rc, rcstr(rc), last_err());
            CHILD_EXPECT(ushm_created(h) == 0 && ushm_size(h) == SQ_SIZE &&
                         ((unsigned char *)ushm_addr(h))[SQ_SIZE - 1] == 0x6b,
                         "%s: created %d, size %zu, or the squatter's byte is not there", how,
                         ushm_created(h), ushm_size(h));
            ushm_close(h);
        } else if (failed_right(how, rc, want, h == DUMMY ? NULL : h, name,
                                want == -EINVAL ? words : empty && want == -ENOENT ? "empty"
                                                                                : NULL,
                                msg, len)) {
            if (rc == 0 && h != NULL && h != DUMMY)
                ushm_close(h);
            return 10 + (int)i;
        } else {
            CHILD_EXPECT(fc_count_maps() == maps0, "%s failed but left %d mapping(s)", how,
                         fc_count_maps() - maps0);
        }
        if (want == -EAGAIN) {
            char whose[32];
            struct passwd *pw = getpwuid(before->uid);

            snprintf(whose, sizeof whose, "uid %ld", (long)before->uid);
            CHILD_EXPECT(strstr(last_err(), whose) != NULL ||
                             (pw != NULL && strstr(last_err(), pw->pw_name) != NULL),
                         "%s = -EAGAIN but the message does not say whose empty object it "
                         "is (%s): %s", how, whose, last_err());
            CHILD_EXPECT(strstr(last_err(), "ushm_unlink") != NULL,
                         "%s = -EAGAIN but the message does not say that ushm_unlink() "
                         "removes it: %s", how, last_err());
            /* The documented wait for a size: about a second, never less. */
            CHILD_EXPECT(secs >= 0.9 && secs < 5.0, "%s = -EAGAIN after %.3f s (want about "
                         "1 s)", how, secs);
        }
        probe_take(&p1);
        CHILD_EXPECT(!probe_differs(&p0, &p1, why, sizeof why), "%s left: %s", how, why);
        snap_take(path, &now);
        if (snap_same(before, &now, how, msg, len))
            return 20 + (int)i;
    }
    if (empty) {
        /* Size 0 with USHM_CREATE: an empty object is no segment to join. */
        ushm_t *h = DUMMY;

        snprintf(how, sizeof how, "ushm_open(%s, 0, USHM_CREATE) on %s", name, what);
        rc = CALL_UNDER(10, ushm_open(&h, name, 0, USHM_CREATE, 0600), "%s", how);
        if (failed_right(how, rc, -EINVAL, h == DUMMY ? NULL : h, name, NULL, msg, len)) {
            if (rc == 0 && h != NULL && h != DUMMY)
                ushm_close(h);
            return 15;
        }
        probe_take(&p1);
        CHILD_EXPECT(!probe_differs(&p0, &p1, why, sizeof why), "%s left: %s", how, why);
        snap_take(path, &now);
        if (snap_same(before, &now, how, msg, len))
            return 25;
    }

    snprintf(how, sizeof how, "ushm_stat(%s) on %s", name, what);
    rc = CALL_UNDER(10, ushm_stat(name, &st), "%s", how);
    if (regular && !empty) {
        CHILD_EXPECT(rc == 0 && st.size == SQ_SIZE && st.uid == nobody_uid() && st.mode == 0666,
                     "%s = %d (%s), size %zu, uid %ld, mode 0%o: %s", how, rc, rcstr(rc),
                     rc == 0 ? st.size : 0, rc == 0 ? (long)st.uid : -1L,
                     rc == 0 ? (unsigned)st.mode : 0u, last_err());
    } else if (failed_right(how, rc, empty ? -ENOENT : -EINVAL, NULL, name,
                            empty ? "empty" : words, msg, len)) {
        return 30;
    }
    snap_take(path, &now);
    if (snap_same(before, &now, how, msg, len))
        return 31;

    snprintf(how, sizeof how, "ushm_unlink(%s) on %s", name, what);
    rc = CALL_UNDER(10, ushm_unlink(name), "%s", how);
    snap_take(path, &now);
    if (regular) {
        ushm_t *h = NULL;

        /* An empty object, or a whole one, is a segment's name: removed, and
         * the name is free for a segment of ours. */
        CHILD_EXPECT(rc == 0, "%s = %d (%s), want 0: %s", how, rc, rcstr(rc), last_err());
        CHILD_EXPECT(!now.exists, "%s returned 0 but %s is still there", how, path);
        if (failed_right("ushm_unlink() again", ushm_unlink(name), -ENOENT, NULL, name, NULL,
                         msg, len))
            return 42;
        rc = CALL_UNDER(10, ushm_open(&h, name, 4096, USHM_CREATE, 0600),
                        "ushm_open(%s, 4096, USHM_CREATE) once %s is removed", name, what);
        CHILD_EXPECT(rc == 0 && ushm_created(h) == 1 && ushm_size(h) == 4096,
                     "open-or-create once %s is removed = %d (%s), created %d: %s", what, rc,
                     rcstr(rc), rc == 0 ? ushm_created(h) : -1, last_err());
        ushm_close(h);
        CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink(%s): %s", name, last_err());
    } else {
        if (failed_right(how, rc, -EINVAL, NULL, name, words, msg, len))
            return 40;
        if (snap_same(before, &now, how, msg, len))
            return 41;
    }
    CHILD_EXPECT(count_fds(NULL) == fds0, "the calls on %s left %d descriptor(s) open", what,
                 count_fds(NULL) - fds0);
    return 0;
}

static int child_squat_kind(void *arg, char *msg, size_t len)
{
    int kind = *(const int *)arg;
    char name[NAMEBUF], target[NAMEBUF], path[NAMEBUF + 16], tpath[NAMEBUF + 16];
    struct object_arg obj = { name, 0, 0 };
    struct squatter sq = { -1, -1 };
    struct snap before, tbefore, tnow;
    ushm_t *h = NULL;
    int rc, hold = 0;
    squat_fn make = NULL;
    const void *marg = NULL;

    NEW_NAME(name);
    NEW_NAME(target);
    snprintf(path, sizeof path, "/dev/shm%s", name);
    snprintf(tpath, sizeof tpath, "/dev/shm%s", target);
    switch (kind) {
    case SQ_FIFO: make = make_fifo; break;
    case SQ_DIR: make = make_dir; break;
    case SQ_SOCKET: make = make_socket; break;
    case SQ_SYMLINK_OURS:
        /* A whole segment of ours the link points at: it must stay as it is. */
        rc = ushm_open(&h, target, SQ_TARGET_SIZE, USHM_CREATE | USHM_EXCL, 0600);
        CHILD_EXPECT(rc == 0, "ushm_open(%s, CREATE|EXCL) = %d: %s", target, rc, last_err());
        ((unsigned char *)ushm_addr(h))[0] = 0x3c;
        ushm_close(h);
        /* fall through */
    case SQ_SYMLINK_DANGLING:
        make = make_symlink;
        marg = tpath;
        break;
    case SQ_EMPTY: make = make_object; marg = &obj; break;
    case SQ_EMPTY_FLOCK: make = make_object; marg = &obj; obj.lock = 1; hold = SQ_HOLD; break;
    case SQ_EMPTY_OURS: make = make_object; marg = &obj; hold = SQ_SAME_USER; break;
    case SQ_EMPTY_OURS_FLOCK:
        make = make_object;
        marg = &obj;
        obj.lock = 1;
        hold = SQ_HOLD | SQ_SAME_USER;
        break;
    case SQ_WHOLE_FLOCK:
        make = make_object;
        marg = &obj;
        obj.size = SQ_SIZE;
        obj.lock = 1;
        hold = SQ_HOLD;
        break;
    default: CHILD_EXPECT(0, "unknown squatter %d", kind);
    }
    snap_take(tpath, &tbefore);
    rc = squat_begin(&sq, make, path, marg, hold, msg, len);
    if (rc != 0)
        return rc;
    snap_take(path, &before);
    CHILD_EXPECT(before.exists &&
                 before.uid == (squat_same_user(kind) ? geteuid() : nobody_uid()),
                 "%s: the squatter's %s is not there or not its maker's", path,
                 squats[kind].what);
    rc = squat_calls(kind, name, path, &before, msg, len);
    squat_end(&sq);
    if (rc != 0)
        return rc;

    snap_take(tpath, &tnow);
    if (kind == SQ_SYMLINK_OURS) {
        struct ushm_stat st;
        if (snap_same(&tbefore, &tnow, "the calls through a symlink to it", msg, len))
            return 50;
        rc = ushm_open(&h, target, 0, USHM_RDONLY, 0);
        CHILD_EXPECT(rc == 0 && ushm_size(h) == SQ_TARGET_SIZE &&
                     ((unsigned char *)ushm_addr(h))[0] == 0x3c,
                     "our segment %s behind the symlink changed: rc %d: %s", target, rc,
                     last_err());
        ushm_close(h);
        CHILD_EXPECT(ushm_stat(target, &st) == 0 && st.mode == 0600,
                     "our segment %s behind the symlink was re-moded", target);
        CHILD_EXPECT(ushm_unlink(target) == 0, "ushm_unlink(%s): %s", target, last_err());
    } else {
        CHILD_EXPECT(!tnow.exists, "%s was created by a call on the symlink %s", tpath, path);
    }
    /* The namespace's tmpfs goes with the child; tidy anyway. */
    if (kind == SQ_DIR)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Another user's squatter needs root to be that user; our own user's runs
 * as anyone, in a user namespace of its own when not root. */
START_TEST(test_squatters)
{
    int kind = _i;

    /* Elsewhere names are the kernel's, and only objects (shm_open) hold
     * them: the empty and locked objects are still squatters there. */
    if (kind < SQ_EMPTY && !fc_objects_are_files())
        SKIP_CASE("%s has no /dev/shm directory: nothing but a shared memory object can "
                  "hold a name, so %s cannot squat it", fc_system(), squats[kind].what);
    if (!squat_same_user(kind) && geteuid() != 0)
        SKIP_CASE("needs root for nobody to squat the name with %s", squats[kind].what);
    RUN_GUARDED(child_squat_kind, &kind,
                squat_same_user(kind) ? GUARD_PRIVATE_ANY : GUARD_PRIVATE_ROOT);
}
END_TEST

void neighbours_add_squatters(TCase *tc)
{
    if (is_posix())
        tcase_add_loop_test(tc, test_squatters, 0, (int)(sizeof squats / sizeof *squats));
    else
        printf("NOTE test_squatters: FIFOs, directories, symlinks, sockets and empty objects "
               "in /dev/shm do not apply to the sysv backend\n");
}
