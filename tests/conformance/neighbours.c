/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: other programs and other users in the way of a name
 * (API.md 0.2, "Other programs and other users in the way", "Creation is
 * atomic", "SysV modes" and the `sem.` rule): issue 8's cases.  The topics
 * tested here and nowhere else in the suite: the empty object that libushm
 * did not make (the squatters SQ_EMPTY*), and exact modes, the umask not
 * applied (test_modes_exact).
 *
 * Every call that someone else could make hang runs in a guarded child
 * (run_guarded(), common.h) under a deadline, so that a hang is a failure
 * that says which call hung.  The cases with another user run as root: the
 * guarded child makes new IPC and mount namespaces with a fresh 1777 tmpfs
 * on /dev/shm, and the hostile user is a grandchild dropped to nobody.  The
 * cases that need only a /dev/shm of their own run as any user (in a user
 * namespace when not root).
 */
#include "common.h" /* first: it asks for _GNU_SOURCE */

#include <poll.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>

/* One call under a deadline of secs, described by the rest. */
#define CALL_UNDER(secs, call, ...) \
    (deadline_begin((secs), __VA_ARGS__), neighbour_end_call(call))

static int neighbour_end_call(int rc)
{
    deadline_end();
    return rc;
}

/* Does s contain one of the '|'-separated words, ignoring case? */
static int names_one_of(const char *s, const char *words)
{
    char w[64];

    while (*words) {
        size_t n = strcspn(words, "|");
        snprintf(w, sizeof w, "%.*s", (int)n, words);
        if (strcasestr(s, w) != NULL)
            return 1;
        words += n + (words[n] == '|');
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* What is under a path, to see that nothing changed it.               */

struct snap {
    int exists;
    dev_t dev;
    ino_t ino;
    mode_t mode; /* type and permission bits */
    uid_t uid;
    off_t size;
    char link[256];
};

static void snap_take(const char *path, struct snap *s)
{
    struct stat sb;
    ssize_t n;

    memset(s, 0, sizeof *s);
    if (lstat(path, &sb) != 0)
        return;
    s->exists = 1;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    s->mode = sb.st_mode;
    s->uid = sb.st_uid;
    s->size = sb.st_size;
    if (S_ISLNK(sb.st_mode) && (n = readlink(path, s->link, sizeof s->link - 1)) > 0)
        s->link[n] = '\0';
}

/* 0 when a and b are the same object, unchanged; else why in msg. */
static int snap_same(const struct snap *a, const struct snap *b, const char *after,
                     char *msg, size_t len)
{
    if (!b->exists)
        snprintf(msg, len, "after %s the squatter's object is gone", after);
    else if (a->dev != b->dev || a->ino != b->ino)
        snprintf(msg, len, "after %s the name holds another object (inode %lu -> %lu)",
                 after, (unsigned long)a->ino, (unsigned long)b->ino);
    else if (a->mode != b->mode)
        snprintf(msg, len, "after %s the mode changed: 0%o -> 0%o", after,
                 (unsigned)a->mode, (unsigned)b->mode);
    else if (a->uid != b->uid)
        snprintf(msg, len, "after %s the owner changed: %ld -> %ld", after,
                 (long)a->uid, (long)b->uid);
    else if (a->size != b->size)
        snprintf(msg, len, "after %s the size changed: %lld -> %lld", after,
                 (long long)a->size, (long long)b->size);
    else if (strcmp(a->link, b->link) != 0)
        snprintf(msg, len, "after %s the symlink points to %s, not %s", after, b->link, a->link);
    else
        return 0;
    return 1;
}

/*
 * A failed call: rc is want, *shm (when given) is NULL, the message is not
 * empty, names canon and the call ("call(...)"), and names one of words
 * when given.
 */
static int failed_right(const char *what, int rc, int want, ushm_t *h, const char *canon,
                        const char *words, char *msg, size_t len)
{
    const char *m = last_err();

    if (rc != want)
        snprintf(msg, len, "%s = %d (%s), want %d (%s); last error: %s", what, rc, rcstr(rc),
                 want, rcstr(want), m);
    else if (h != NULL)
        snprintf(msg, len, "%s failed with %d but left a handle", what, rc);
    else if (m[0] == '\0' || strstr(m, canon) == NULL)
        snprintf(msg, len, "%s = %d: ushm_last_error() \"%s\" does not name %s", what, rc, m,
                 canon);
    else if (strchr(m, '(') == NULL)
        snprintf(msg, len, "%s = %d: ushm_last_error() \"%s\" does not name the call", what,
                 rc, m);
    else if (words != NULL && !names_one_of(m, words))
        snprintf(msg, len, "%s = %d: ushm_last_error() \"%s\" does not say what is there (%s)",
                 what, rc, m, words);
    else
        return 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* A hostile nobody: a grandchild that makes something under a path.    */

struct squatter {
    pid_t pid;
    int release; /* write end: closing it lets a holding squatter go */
};

typedef int (*squat_fn)(const char *path, const void *arg, char *why, size_t len);

/*
 * Forks a child that becomes nobody (or, with SQ_SAME_USER, stays this
 * process's user: another program of ours), runs make(path, arg) and
 * reports; with SQ_HOLD, it then stays (keeping whatever it holds) until
 * squat_end().  0, or a status with why in msg.
 */
#define SQ_HOLD 1
#define SQ_SAME_USER 2

static int squat_begin(struct squatter *sq, squat_fn make, const char *path, const void *arg,
                       int how, char *msg, size_t len)
{
    int hold = how & SQ_HOLD;
    int rep[2], rel[2];
    char buf[512];
    ssize_t n;
    int status;

    sq->pid = -1;
    sq->release = -1;
    CHILD_EXPECT(pipe(rep) == 0 && pipe(rel) == 0, "pipe: %s", strerror(errno));
    sq->pid = guard_fork();
    CHILD_EXPECT(sq->pid >= 0, "fork: %s", strerror(errno));
    if (sq->pid == 0) {
        char why[512] = "";
        char c;
        int rc;

        close(rep[0]);
        close(rel[1]);
        umask(0);
        rc = (how & SQ_SAME_USER) ? 0 : drop_to_nobody(why, sizeof why);
        if (rc == 0 && make(path, arg, why, sizeof why) != 0)
            rc = 1;
        if (rc == 0)
            snprintf(why, sizeof why, "ok");
        n = write(rep[1], why, strlen(why));
        close(rep[1]);
        if (rc == 0 && hold)
            while (read(rel[0], &c, 1) < 0 && errno == EINTR)
                ;
        _exit(rc == 0 && n > 0 ? 0 : 1);
    }
    close(rep[1]);
    close(rel[0]);
    sq->release = rel[1];
    deadline_begin(10, "waiting for the squatter to make %s", path);
    n = read(rep[0], buf, sizeof buf - 1);
    deadline_end();
    close(rep[0]);
    buf[n > 0 ? n : 0] = '\0';
    if (strcmp(buf, "ok") != 0) {
        close(sq->release);
        sq->release = -1;
        waitpid(sq->pid, &status, 0);
        sq->pid = -1;
        snprintf(msg, len, "the squatter (%s) could not make %s: %s",
                 (how & SQ_SAME_USER) ? "our user" : "nobody", path, buf);
        return 2;
    }
    if (!hold) {
        close(sq->release);
        sq->release = -1;
        waitpid(sq->pid, &status, 0);
        sq->pid = -1;
    }
    return 0;
}

static void squat_end(struct squatter *sq)
{
    int status;

    if (sq->release >= 0)
        close(sq->release);
    sq->release = -1;
    if (sq->pid > 0)
        waitpid(sq->pid, &status, 0);
    sq->pid = -1;
}

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

#define SQ_SIZE 8192
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

    if (!squat_same_user(kind) && geteuid() != 0)
        SKIP_CASE("needs root for nobody to squat the name with %s", squats[kind].what);
    RUN_GUARDED(child_squat_kind, &kind,
                squat_same_user(kind) ? GUARD_PRIVATE_ANY : GUARD_PRIVATE_ROOT);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SysV: a segment made by another user and given away (IPC_SET uid)    */

struct giveaway {
    char name[NAMEBUF];
    uid_t victim;
};

static int make_giveaway(const char *path, const void *arg, char *why, size_t len)
{
    const struct giveaway *g = arg;
    key_t key = (key_t)fc_sysv_key(g->name);
    struct shmid_ds ds;
    unsigned char *p;
    int id = shmget(key, SQ_SIZE, IPC_CREAT | IPC_EXCL | 0666);

    (void)path;
    if (id < 0) {
        snprintf(why, len, "shmget(%s, key %#x): %s", g->name, (unsigned)key, strerror(errno));
        return 1;
    }
    p = shmat(id, NULL, 0);
    if (p == (void *)-1) {
        snprintf(why, len, "shmat: %s", strerror(errno));
        return 1;
    }
    memcpy(p, "squatter", 8);
    shmdt(p);
    if (shmctl(id, IPC_STAT, &ds) != 0) {
        snprintf(why, len, "IPC_STAT: %s", strerror(errno));
        return 1;
    }
    ds.shm_perm.uid = g->victim;
    if (shmctl(id, IPC_SET, &ds) != 0) {
        snprintf(why, len, "IPC_SET uid %ld: %s", (long)g->victim, strerror(errno));
        return 1;
    }
    return 0;
}

/* The victim's side, as whoever this process is. */
static int giveaway_victim(const struct giveaway *g, char *msg, size_t len)
{
    int id = shmget((key_t)fc_sysv_key(g->name), 0, 0);
    struct shmid_ds ds;
    char how[320];
    ushm_t *h = DUMMY;
    int rc;

    CHILD_EXPECT(id >= 0, "the given-away segment %s is not there: %s", g->name, strerror(errno));
    CHILD_EXPECT(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_perm.uid == g->victim &&
                 ds.shm_perm.cuid == nobody_uid(),
                 "the give-away did not take: uid %ld cuid %ld", (long)ds.shm_perm.uid,
                 (long)ds.shm_perm.cuid);
    for (int excl = 0; excl < 2; excl++) {
        for (size_t size = 0; size <= SQ_SIZE; size += SQ_SIZE) {
            int flags = USHM_CREATE | (excl ? USHM_EXCL : 0);

            h = DUMMY;
            snprintf(how, sizeof how, "uid %ld: ushm_open(%s, %zu, USHM_CREATE%s) on a segment "
                     "nobody made and gave away", (long)geteuid(), g->name, size,
                     excl ? "|USHM_EXCL" : "");
            rc = CALL_UNDER(10, ushm_open(&h, g->name, size, flags, 0600), "%s", how);
            if (failed_right(how, rc, excl ? -EEXIST : -EPERM, h == DUMMY ? NULL : h, g->name,
                             NULL, msg, len)) {
                if (rc == 0 && h != NULL && h != DUMMY)
                    ushm_close(h);
                return 2;
            }
            CHILD_EXPECT(shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 0,
                         "%s: nattach is %ld, want 0 (nothing mapped)", how,
                         (long)ds.shm_nattch);
        }
    }
    /* Joining on purpose is documented: without USHM_CREATE. */
    rc = CALL_UNDER(10, ushm_open(&h, g->name, 0, 0, 0), "ushm_open(%s, 0, 0) to join", g->name);
    CHILD_EXPECT(rc == 0, "uid %ld: ushm_open(%s) without USHM_CREATE = %d (%s): %s",
                 (long)geteuid(), g->name, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0 && ushm_size(h) == SQ_SIZE &&
                 memcmp(ushm_addr(h), "squatter", 8) == 0,
                 "joining %s: created %d, size %zu, or the squatter's bytes are not there",
                 g->name, ushm_created(h), ushm_size(h));
    ushm_close(h);
    return 0;
}

static int child_giveaway(void *arg, char *msg, size_t len)
{
    int unprivileged = *(const int *)arg;
    struct giveaway g;
    struct squatter sq;
    int rc, status;
    pid_t pid;

    NEW_NAME(g.name);
    /* An unprivileged victim: a uid of its own, neither root nor nobody. */
    g.victim = unprivileged ? nobody_uid() - 7 : geteuid();
    rc = squat_begin(&sq, make_giveaway, g.name, &g, 0, msg, len);
    if (rc != 0)
        return rc;
    if (!unprivileged) {
        rc = giveaway_victim(&g, msg, len);
    } else {
        int p[2];
        ssize_t n;

        CHILD_EXPECT(pipe(p) == 0, "pipe: %s", strerror(errno));
        pid = guard_fork();
        CHILD_EXPECT(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            char why[512] = "";
            int r = 0;

            close(p[0]);
            if (setgroups(0, NULL) != 0 || setgid(g.victim) != 0 || setuid(g.victim) != 0) {
                snprintf(why, sizeof why, "could not become uid %ld: %s", (long)g.victim,
                         strerror(errno));
                r = 3;
            } else {
                guard_here(p[1]);
                r = giveaway_victim(&g, why, sizeof why);
            }
            n = write(p[1], why, strlen(why));
            (void)n;
            _exit(r);
        }
        close(p[1]);
        deadline_begin(40, "the unprivileged victim (uid %ld) on %s", (long)g.victim, g.name);
        n = read(p[0], msg, len - 1);
        msg[n > 0 ? n : 0] = '\0';
        waitpid(pid, &status, 0);
        deadline_end();
        close(p[0]);
        rc = WIFEXITED(status) ? WEXITSTATUS(status) : 256 + WTERMSIG(status);
        if (rc != 0 && strstr(msg, "uid") == NULL) {
            size_t l = strlen(msg);
            snprintf(msg + l, len - l, " (victim uid %ld, status %d)", (long)g.victim, rc);
        }
    }
    shmctl(shmget((key_t)fc_sysv_key(g.name), 0, 0), IPC_RMID, NULL);
    return rc;
}

START_TEST(test_sysv_giveaway)
{
    int unprivileged = _i;

    if (skip_unless_root(unprivileged ? "test_sysv_giveaway (unprivileged victim)"
                                      : "test_sysv_giveaway (root victim)"))
        return;
    RUN_GUARDED(child_giveaway, &unprivileged, GUARD_PRIVATE_ROOT);
}
END_TEST

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
    CHILD_EXPECT(ushm_size(h) == FOREIGN_SIZE, "ushm_size = %zu, want the foreign size %d",
                 ushm_size(h), FOREIGN_SIZE);
    CHILD_EXPECT(((unsigned char *)ushm_addr(h))[FOREIGN_SIZE - 1] == 0x4f,
                 "the foreign creator's byte is not in our mapping");
    CHILD_EXPECT(fc_touch_all(ushm_addr(h), FOREIGN_SIZE, 0, why, sizeof why) == 0,
                 "touching the joined segment: %s", why);
    CHILD_EXPECT(ushm_stat(name, &st) == 0 && st.mode == 0600 && st.size == FOREIGN_SIZE,
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
        else if (ushm_size(h) != FOREIGN_SIZE)
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

/* ------------------------------------------------------------------ */
/* Exact modes (the umask not applied), as any user and as nobody       */

/* mode asked for under umask: want, exactly ("mode == 0 means 0600"). */
static const struct {
    mode_t umask, mode, want;
} mode_cases[] = {
    { 022, 0666, 0666 }, { 022, 0644, 0644 }, { 022, 0640, 0640 }, { 022, 0600, 0600 },
    { 022, 0400, 0400 }, { 022, 0777, 0777 }, { 022, 0, 0600 },    { 022, 0660, 0660 },
    { 077, 0666, 0666 }, { 077, 0644, 0644 }, { 077, 0640, 0640 }, { 077, 0600, 0600 },
    { 077, 0400, 0400 }, { 077, 0, 0600 },    { 077, 0604, 0604 }, { 077, 0444, 0444 },
    { 077, 0200, 0200 }, { 0777, 0666, 0666 }, { 0777, 0, 0600 },  { 0, 0640, 0640 },
};

struct proc_mode { uint32_t key; long mode; };

static int proc_mode_row(const struct seglist_sysv *row, void *arg)
{
    struct proc_mode *m = arg;

    if ((uint32_t)row->key == m->key)
        m->mode = (long)(row->perms & 0777);
    return 0;
}

/* The permission bits of the SysV segment of name, from /proc/sysvipc/shm
 * (which anyone may read); -1 if it is not there. */
static long sysv_proc_mode(const char *name)
{
    struct proc_mode m = { fc_sysv_key(name), -1 };

    seglist_sysv_each(proc_mode_row, &m, NULL, 0);
    return m.mode;
}

static int create_modes(char *msg, size_t len)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    struct ushm_stat st;
    struct stat sb;

    for (size_t i = 0; i < sizeof mode_cases / sizeof *mode_cases; i++) {
        const mode_t um = mode_cases[i].umask, mode = mode_cases[i].mode;
        const mode_t want = mode_cases[i].want;
        ushm_t *h = NULL, *r = DUMMY;
        struct probe p0, p1;
        char why[128];
        int rc;

        NEW_NAME(name);
        umask(um);
        rc = CALL_UNDER(10, ushm_open(&h, name, 5000, USHM_CREATE | USHM_EXCL, mode),
                        "ushm_open(%s, CREATE|EXCL, 0%o) under umask 0%o as uid %ld", name,
                        (unsigned)mode, (unsigned)um, (long)geteuid());
        CHILD_EXPECT(rc == 0, "uid %ld, umask 0%o: ushm_open(CREATE|EXCL, 0%o) = %d (%s): %s",
                     (long)geteuid(), (unsigned)um, (unsigned)mode, rc, rcstr(rc), last_err());
        CHILD_EXPECT(ushm_created(h) == 1, "mode 0%o: created = %d", (unsigned)mode,
                     ushm_created(h));
        /* The creator maps it read-write whatever the mode. */
        ((volatile unsigned char *)ushm_addr(h))[4999] = 0x21;
        CHILD_EXPECT(((unsigned char *)ushm_addr(h))[4999] == 0x21,
                     "mode 0%o: the creator's write did not stick", (unsigned)mode);
        rc = ushm_stat(name, &st);
        if (rc == -EACCES && geteuid() != 0 && !(want & 0400)) {
            /* Documented (ushm_stat(3)): inspecting needs read permission
             * on both backends.  The system's own view says the mode. */
            devshm_path(name, path, sizeof path);
            if (is_sysv())
                CHILD_EXPECT(sysv_proc_mode(name) == (long)want,
                             "uid %ld, created with 0%o: /proc/sysvipc/shm says 0%lo",
                             (long)geteuid(), (unsigned)want, sysv_proc_mode(name));
            else if (path[0])
                CHILD_EXPECT(stat(path, &sb) == 0 && (sb.st_mode & 07777) == want,
                             "uid %ld, created with 0%o: %s has mode 0%o", (long)geteuid(),
                             (unsigned)want, path, (unsigned)(sb.st_mode & 07777));
            st.mode = want;
            st.size = 5000;
            st.uid = geteuid();
            st.gid = getegid();
        } else {
            CHILD_EXPECT(rc == 0, "uid %ld: ushm_stat(%s) of its own 0%o segment = %d (%s): %s",
                         (long)geteuid(), name, (unsigned)want, rc, rcstr(rc), last_err());
        }
        if (is_sysv())
            CHILD_EXPECT(sysv_proc_mode(name) == (long)want,
                         "created with 0%o: /proc/sysvipc/shm says 0%lo", (unsigned)want,
                         sysv_proc_mode(name));
        CHILD_EXPECT(st.mode == want && st.size == 5000 && st.uid == geteuid() &&
                     st.gid == getegid(),
                     "uid %ld, umask 0%o, mode 0%o: ushm_stat says mode 0%o (want 0%o), size "
                     "%zu, uid %ld, gid %ld", (long)geteuid(), (unsigned)um, (unsigned)mode,
                     (unsigned)st.mode, (unsigned)want, st.size, (long)st.uid, (long)st.gid);
        devshm_path(name, path, sizeof path);
        if (is_posix() && path[0]) {
            CHILD_EXPECT(stat(path, &sb) == 0 && (sb.st_mode & 07777) == want &&
                         sb.st_uid == geteuid(),
                         "%s has mode 0%o and uid %ld, want 0%o and %ld", path,
                         (unsigned)(sb.st_mode & 07777), (long)sb.st_uid, (unsigned)want,
                         (long)geteuid());
        }
        /* Without write permission on its own segment a user cannot map it
         * read-write, nor open-or-create it; without read permission, not
         * even read-only.  Root passes the permission bits. */
        probe_take(&p0);
        if (geteuid() != 0 && !(want & 0200)) {
            rc = ushm_open(&r, name, 0, 0, 0);
            if (failed_right("read-write open of its own segment", rc, -EACCES, r, name, NULL,
                             msg, len))
                return 2;
            r = DUMMY;
            rc = ushm_open(&r, name, 0, USHM_CREATE, want);
            if (failed_right("open-or-create of its own segment", rc, -EACCES, r, name, NULL,
                             msg, len))
                return 3;
        }
        if (geteuid() != 0 && !(want & 0400)) {
            r = DUMMY;
            rc = ushm_open(&r, name, 0, USHM_RDONLY, 0);
            if (failed_right("read-only open of its own segment", rc, -EACCES, r, name, NULL,
                             msg, len))
                return 4;
        } else {
            r = NULL;
            rc = ushm_open(&r, name, 0, USHM_RDONLY, 0);
            CHILD_EXPECT(rc == 0 && ((unsigned char *)ushm_addr(r))[4999] == 0x21,
                         "uid %ld: read-only open of its own 0%o segment = %d (%s), or it "
                         "does not show the creator's byte: %s", (long)geteuid(),
                         (unsigned)want, rc, rcstr(rc), last_err());
            ushm_close(r);
        }
        probe_take(&p1);
        CHILD_EXPECT(!probe_differs(&p0, &p1, why, sizeof why),
                     "the opens of a 0%o segment left: %s", (unsigned)want, why);
        ushm_close(h);
        CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink(%s): %s", name, last_err());
    }
    return 0;
}

static int child_modes(void *arg, char *msg, size_t len)
{
    int rc;

    if (*(const int *)arg) {
        rc = drop_to_nobody(msg, len);
        if (rc != 0)
            return rc;
    }
    return create_modes(msg, len);
}

/* _i 0: as whoever runs the suite; 1: as nobody (root drops to it). */
START_TEST(test_modes_exact)
{
    int as_nobody = _i;

    if (as_nobody && skip_unless_root("test_modes_exact (as nobody)"))
        return;
    RUN_GUARDED(child_modes, &as_nobody, as_nobody ? GUARD_PRIVATE_ROOT : 0);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_neighbours(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "neighbours", 60);
    if (is_posix())
        tcase_add_loop_test(tc, test_squatters, 0, (int)(sizeof squats / sizeof *squats));
    else
        printf("NOTE test_squatters: FIFOs, directories, symlinks, sockets and empty objects "
               "in /dev/shm do not apply to the sysv backend\n");
    if (is_sysv())
        tcase_add_loop_test(tc, test_sysv_giveaway, 0, 2);
    else
        printf("NOTE test_sysv_giveaway: a SysV give-away does not apply to the posix backend\n");
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
    tcase_add_loop_test(tc, test_modes_exact, 0, 2);
}
