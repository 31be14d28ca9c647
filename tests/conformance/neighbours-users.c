/* SPDX-License-Identifier: MIT */
/* Other users: SysV segments given away (IPC_SET uid), a joined segment's size after its
 * owner took every permission away, and exact modes, the umask not applied. */
#include "common.h" /* first: it asks for _GNU_SOURCE */

#include "neighbours-common.h"

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
            st.size = fc_size_seen(5000);
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
        CHILD_EXPECT(st.mode == want && st.size == fc_size_seen(5000) && st.uid == geteuid() &&
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
/* The size of a joined segment after its owner took every permission  */
/* away and removed it (SysV reads a plain join's size when first asked) */

#define REVOKED_SIZE 12345

/* The owner's doing, with the system's calls: mode 0, then removed. */
static int revoke_and_remove(const char *name, char *msg, size_t len)
{
    if (is_sysv()) {
        int id = shmget((key_t)fc_sysv_key(name), 0, 0);
        struct shmid_ds ds;

        CHILD_EXPECT(id >= 0 && shmctl(id, IPC_STAT, &ds) == 0,
                     "the SysV segment of %s: %s", name, strerror(errno));
        ds.shm_perm.mode &= ~0777u;
        CHILD_EXPECT(shmctl(id, IPC_SET, &ds) == 0, "IPC_SET mode 0 on %s: %s", name,
                     strerror(errno));
        CHILD_EXPECT(shmctl(id, IPC_STAT, &ds) == -1 && errno == EACCES,
                     "IPC_STAT of %s after mode 0 did not fail with EACCES: the case "
                     "would not test what it says", name);
        CHILD_EXPECT(shmctl(id, IPC_RMID, NULL) == 0, "IPC_RMID on %s: %s", name,
                     strerror(errno));
    } else {
        int fd = shm_open(name, O_RDONLY, 0);

        CHILD_EXPECT(fd >= 0, "shm_open(%s): %s", name, strerror(errno));
        /* macOS refuses fchmod on an object (EINVAL): then only removed. */
        CHILD_EXPECT(fchmod(fd, 0) == 0 || errno == EINVAL, "fchmod(%s, 0): %s", name,
                     strerror(errno));
        close(fd);
        CHILD_EXPECT(ushm_unlink(name) == 0, "ushm_unlink(%s): %s", name, last_err());
    }
    return 0;
}

static int child_size_revoked(void *arg, char *msg, size_t len)
{
    char name[NAMEBUF];
    ushm_t *h = NULL, *j = NULL;
    int rc;

    (void)arg;
    /* Root passes the permission bits: the owner here is nobody. */
    if (geteuid() == 0 && (rc = drop_to_nobody(msg, len)) != 0)
        return rc;
    NEW_NAME(name);
    rc = ushm_open(&h, name, REVOKED_SIZE, USHM_CREATE | USHM_EXCL, 0666);
    CHILD_EXPECT(rc == 0, "uid %ld: ushm_open(%s, CREATE|EXCL, 0666) = %d (%s): %s",
                 (long)geteuid(), name, rc, rcstr(rc), last_err());
    rc = ushm_open(&j, name, 0, 0, 0);
    CHILD_EXPECT(rc == 0, "ushm_open(%s) to join = %d (%s): %s", name, rc, rcstr(rc),
                 last_err());
    rc = revoke_and_remove(name, msg, len);
    if (rc != 0)
        return rc;
    CHILD_EXPECT(ushm_size(j) == fc_size_seen(REVOKED_SIZE),
                 "ushm_size() of the joined %s after mode 0 and removal = %zu, want %zu: %s",
                 name, ushm_size(j), fc_size_seen(REVOKED_SIZE), last_err());
    CHILD_EXPECT(ushm_size(h) == REVOKED_SIZE, "the creator's ushm_size() = %zu",
                 ushm_size(h));
    ((volatile unsigned char *)ushm_addr(j))[REVOKED_SIZE - 1] = 0x5a;
    CHILD_EXPECT(((unsigned char *)ushm_addr(h))[REVOKED_SIZE - 1] == 0x5a,
                 "the two mappings of %s do not share memory", name);
    CHILD_EXPECT(ushm_close(j) == 0 && ushm_close(h) == 0, "ushm_close: %s", last_err());
    return 0;
}

START_TEST(test_size_after_revoke)
{
    RUN_GUARDED(child_size_revoked, NULL, geteuid() == 0 ? GUARD_PRIVATE_ROOT : 0);
}
END_TEST

void neighbours_add_giveaway(TCase *tc)
{
    tcase_add_test(tc, test_size_after_revoke);
    if (is_sysv())
        tcase_add_loop_test(tc, test_sysv_giveaway, 0, 2);
    else
        printf("NOTE test_sysv_giveaway: a SysV give-away does not apply to the posix backend\n");
}

void neighbours_add_modes(TCase *tc)
{
    tcase_add_loop_test(tc, test_modes_exact, 0, 2);
}
