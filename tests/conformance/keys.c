/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: segments reached by name and by SysV key.  The rules
 * of ushm_open/ushm_unlink/ushm_stat hold for ushm_open_key/ushm_unlink_key/
 * ushm_stat_key too (API.md 0.3): each topic below runs once per way of
 * reaching a segment, from one table.  On the POSIX backend the key calls
 * are -ENOTSUP, and that is tested instead.
 */
#include "common.h"

/* A segment as a test calls it: by name, or by key. */
struct seg {
    char name[NAMEBUF];
    key_t key;
    char label[NAMEBUF]; /* what the library's messages call it */
};

struct way {
    const char *what;
    int (*open)(ushm_t **h, const struct seg *s, size_t size, int flags,
                mode_t mode);
    int (*unlink)(const struct seg *s);
    int (*stat)(const struct seg *s, struct ushm_stat *st);
};

static int name_open(ushm_t **h, const struct seg *s, size_t size, int flags,
                     mode_t mode)
{
    return ushm_open(h, s->name, size, flags, mode);
}

static int name_unlink(const struct seg *s)
{
    return ushm_unlink(s->name);
}

static int name_stat(const struct seg *s, struct ushm_stat *st)
{
    return ushm_stat(s->name, st);
}

static int key_open(ushm_t **h, const struct seg *s, size_t size, int flags,
                    mode_t mode)
{
    return ushm_open_key(h, s->key, size, flags, mode);
}

static int key_unlink(const struct seg *s)
{
    return ushm_unlink_key(s->key);
}

static int key_stat(const struct seg *s, struct ushm_stat *st)
{
    return ushm_stat_key(s->key, st);
}

static const struct way ways[] = {
    { "name", name_open, name_unlink, name_stat },
    { "key", key_open, key_unlink, key_stat },
};

/* A fresh segment to call by this way; its pid is logged for the sweep. */
static void new_seg(const struct way *w, struct seg *s, const char *who)
{
    static unsigned counter;

    new_name_(s->name, sizeof s->name, "", 0, who);
    NOTE_PID();
    /* 0x75 ('u') above the pid: far from ftok's keys of small files. */
    s->key = (key_t)(0x75000000u | ((unsigned)getpid() & 0xffffu) << 8 |
                     (++counter & 0xffu));
    if (w->open == key_open)
        snprintf(s->label, sizeof s->label, "key 0x%08x", (unsigned)s->key);
    else
        snprintf(s->label, sizeof s->label, "%s", s->name);
}

/* rc must be want, with nothing left behind and a message naming s. */
static void expect(int line, const struct way *w, const struct seg *s,
                   int rc, int want, const struct probe *before)
{
    struct probe after;
    char why[128];

    ck_assert_msg(rc == want, "line %d, by %s: %d (%s), want %d (%s); last "
                  "error: %s", line, w->what, rc, rcstr(rc), want, rcstr(want),
                  last_err());
    if (want < 0)
        ck_assert_msg(strstr(ushm_last_error(), s->label) != NULL,
                      "line %d, by %s: \"%s\" does not name %s", line, w->what,
                      ushm_last_error(), s->label);
    if (before != NULL) {
        probe_take(&after);
        ck_assert_msg(!probe_differs(before, &after, why, sizeof why),
                      "line %d, by %s: a failure left something: %s", line,
                      w->what, why);
    }
}

#define EXPECT(rc, want) do { \
        struct probe b_; probe_take(&b_); expect(__LINE__, w, &s, (rc), (want), &b_); \
    } while (0)

/* ---- the topics, each run by name and by key ---- */

static void topic_create_join(const struct way *w)
{
    size_t page = page_size();
    struct ushm_stat st;
    ushm_t *a = NULL, *b = NULL;
    struct seg s;

    new_seg(w, &s, __func__);
    EXPECT(w->open(&a, &s, page, 0, 0), -ENOENT);
    ck_assert_ptr_null(a);
    EXPECT(w->open(&a, &s, 0, USHM_CREATE, 0600), -EINVAL);
    EXPECT(w->stat(&s, &st), -ENOENT);
    EXPECT(w->unlink(&s), -ENOENT);

    umask(077); /* the mode is exact all the same */
    ASSERT_RC(w->open(&a, &s, page + 100, USHM_CREATE, 0644), 0);
    umask(saved_umask);
    ck_assert_int_eq(ushm_created(a), 1);
    ck_assert_uint_eq(ushm_size(a), page + 100);
    ck_assert_uint_eq(first_nonzero(ushm_addr(a), page + 100), NONE);
    if (w->open == key_open)
        ck_assert_ptr_null(ushm_name(a));
    else
        ck_assert_str_eq(ushm_name(a), s.name);
    ASSERT_RC(w->stat(&s, &st), 0);
    ck_assert_uint_eq(st.size, fc_size_seen(page + 100));
    ck_assert_uint_eq(st.mode, 0644);
    ck_assert_uint_eq(st.uid, geteuid());
    ck_assert_int_eq(st.nattach, is_sysv() ? 1 : -1);
    fill_pattern(ushm_addr(a), page + 100, 7);

    /* Joined whole, whatever size up to its own was asked. */
    ASSERT_RC(w->open(&b, &s, 10, USHM_CREATE, 0600), 0);
    ck_assert_int_eq(ushm_created(b), 0);
    ck_assert_uint_eq(ushm_size(b), fc_size_seen(page + 100));
    ck_assert_uint_eq(pattern_mismatch(ushm_addr(b), page + 100, 7), NONE);
    ASSERT_RC(ushm_close(b), 0);
    EXPECT(w->open(&b, &s, fc_size_seen(page + 100) + 1, 0, 0), -EINVAL);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "has only"));
    EXPECT(w->open(&b, &s, page, USHM_CREATE | USHM_EXCL, 0600), -EEXIST);

    /* Read-only: mapped, and a write would fault (pages.c tests that). */
    ASSERT_RC(w->open(&b, &s, 0, USHM_RDONLY, 0), 0);
    ck_assert_uint_eq(pattern_mismatch(ushm_addr(b), page + 100, 7), NONE);
    ASSERT_RC(ushm_close(b), 0);

    ASSERT_RC(ushm_close(a), 0);
    ASSERT_RC(w->unlink(&s), 0);
    EXPECT(w->open(&a, &s, 0, 0, 0), -ENOENT);
    EXPECT(w->unlink(&s), -ENOENT);
}

static void topic_arguments(const struct way *w)
{
    struct ushm_stat st;
    ushm_t *h = DUMMY;
    struct seg s;

    new_seg(w, &s, __func__);
    EXPECT(w->open(&h, &s, 4096, USHM_CREATE | 0x100, 0600), -EINVAL);
    ck_assert_ptr_null(h);
    EXPECT(w->open(&h, &s, 4096, USHM_CREATE, 01600), -EINVAL);
    EXPECT(w->open(&h, &s, 4096, USHM_CREATE | USHM_RDONLY, 0600), -EINVAL);
    EXPECT(w->open(&h, &s, 4096, USHM_EXCL, 0600), -EINVAL);
    ck_assert_int_lt(w->open(NULL, &s, 4096, USHM_CREATE, 0600), 0);
    ck_assert_int_lt(w->stat(&s, NULL), 0);
    EXPECT(w->stat(&s, &st), -ENOENT);
}

/* N processes open-or-create one missing segment: one creates, all join. */
static void topic_racers(const struct way *w)
{
    enum { N = 6 };
    size_t size = 3 * page_size();
    int created = 0, p[2];
    pid_t pids[N];
    struct seg s;

    new_seg(w, &s, __func__);
    ck_assert_int_eq(pipe(p), 0);
    for (int i = 0; i < N; i++) {
        pids[i] = fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0) {
            ushm_t *h;
            char c = 'x';
            int rc = w->open(&h, &s, size, USHM_CREATE, 0600);

            if (rc == 0 && ushm_size(h) == size)
                c = ushm_created(h) ? 'c' : 'j';
            if (write(p[1], &c, 1) != 1)
                _exit(2);
            _exit(rc == 0 ? 0 : 1);
        }
    }
    close(p[1]);
    for (int i = 0; i < N; i++) {
        char c;
        int status;

        ck_assert_int_eq(read(p[0], &c, 1), 1);
        ck_assert_msg(c == 'c' || c == 'j', "a racer by %s failed", w->what);
        created += c == 'c';
        ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
    }
    close(p[0]);
    ck_assert_msg(created == 1, "%d racers by %s created the segment", created,
                  w->what);
    ASSERT_RC(w->unlink(&s), 0);
}

/* Another user's segment is not joined by open-or-create. */
struct owner_arg {
    const struct way *w;
    struct seg s;
};

static int make_as_nobody(void *arg, char *msg, size_t len)
{
    const struct owner_arg *o = arg;
    ushm_t *h;
    int rc = o->w->open(&h, &o->s, 4096, USHM_CREATE | USHM_EXCL, 0666);

    CHILD_EXPECT(rc == 0, "create as nobody: %d %s", rc, ushm_last_error());
    CHILD_EXPECT(ushm_close(h) == 0, "close: %s", ushm_last_error());
    return 0;
}

static void topic_owner(const struct way *w)
{
    struct owner_arg o = { w, { "", 0, "" } };
    ushm_t *h = DUMMY;
    struct seg s;

    if (skip_unless_root(__func__))
        return;
    new_seg(w, &s, __func__);
    o.s = s;
    RUN_CHILD(make_as_nobody, &o, 1);
    EXPECT(w->open(&h, &s, 4096, USHM_CREATE, 0600), -EPERM);
    ck_assert_ptr_null(h);
    ASSERT_RC(w->open(&h, &s, 4096, 0, 0), 0); /* joined on purpose */
    ck_assert_int_eq(ushm_created(h), 0);
    ASSERT_RC(ushm_close(h), 0);
    ASSERT_RC(w->unlink(&s), 0);
}

/* Another user may not open a 0600 segment at all: -EACCES, before the
 * owner check. */
static int open_as_nobody(void *arg, char *msg, size_t len)
{
    const struct owner_arg *o = arg;
    ushm_t *h = DUMMY;
    int rc = o->w->open(&h, &o->s, 0, 0, 0);

    CHILD_EXPECT(rc == -EACCES && h == NULL, "join as nobody = %d: %s", rc,
                 ushm_last_error());
    CHILD_EXPECT(strstr(ushm_last_error(), o->s.label) != NULL,
                 "\"%s\" does not name %s", ushm_last_error(), o->s.label);
    rc = o->w->open(&h, &o->s, 4096, USHM_CREATE, 0600);
    CHILD_EXPECT(rc == -EACCES, "open-or-create as nobody = %d: %s", rc,
                 ushm_last_error());
    return 0;
}

static void topic_no_access(const struct way *w)
{
    struct owner_arg o = { w, { "", 0, "" } };
    ushm_t *h;

    if (skip_unless_root(__func__))
        return;
    new_seg(w, &o.s, __func__);
    ASSERT_RC(w->open(&h, &o.s, 4096, USHM_CREATE | USHM_EXCL, 0600), 0);
    RUN_CHILD(open_as_nobody, &o, 1);
    ASSERT_RC(ushm_close(h), 0);
    ASSERT_RC(w->unlink(&o.s), 0);
}

static void (*const topics[])(const struct way *) = {
    topic_create_join, topic_arguments, topic_racers, topic_owner,
    topic_no_access,
};
#define N_TOPICS (sizeof topics / sizeof *topics)

/* _i: the topic, by name, then (SysV only) by key. */
START_TEST(test_keys_topic)
{
    topics[_i % N_TOPICS](&ways[_i / N_TOPICS]);
}
END_TEST

/* ---- only keys ---- */

/* A segment made by the raw calls, as a program using ftok(3) makes it. */
START_TEST(test_keys_raw_peer)
{
    struct seg s;
    struct ushm_stat st;
    ushm_t *h;
    int id;
    char *raw;

    new_seg(&ways[1], &s, __func__);
    id = shmget(s.key, 8192, IPC_CREAT | IPC_EXCL | 0644);
    ck_assert_msg(id >= 0, "shmget: %s", strerror(errno));
    raw = shmat(id, NULL, 0);
    ck_assert_ptr_ne(raw, (void *)-1);
    strcpy(raw, "from the raw side");

    ASSERT_RC(ushm_stat_key(s.key, &st), 0);
    ck_assert_uint_eq(st.size, 8192);
    ck_assert_uint_eq(st.mode, 0644);
    ASSERT_RC(ushm_open_key(&h, s.key, 100, USHM_CREATE, 0600), 0);
    ck_assert_int_eq(ushm_created(h), 0);
    ck_assert_uint_eq(ushm_size(h), 8192);
    ck_assert_str_eq(ushm_addr(h), "from the raw side");
    strcpy((char *)ushm_addr(h) + 100, "from libushm");
    ck_assert_str_eq(raw + 100, "from libushm");
    ASSERT_RC(ushm_close(h), 0);

    /* Marked for removal (IPC_RMID) while attached: no longer found. */
    ck_assert_int_eq(shmctl(id, IPC_RMID, NULL), 0);
    ASSERT_RC(ushm_stat_key(s.key, &st), -ENOENT);
    ASSERT_RC(ushm_open_key(&h, s.key, 0, 0, 0), -ENOENT);
    ASSERT_RC(ushm_unlink_key(s.key), -ENOENT);
    shmdt(raw);
}
END_TEST

/* A segment given away with IPC_SET stays its creator's. */
START_TEST(test_keys_given_away)
{
    struct seg s;
    struct shmid_ds ds;
    ushm_t *h = DUMMY;
    int id;

    if (skip_unless_root(__func__))
        return;
    new_seg(&ways[1], &s, __func__);
    id = shmget(s.key, 4096, IPC_CREAT | IPC_EXCL | 0666);
    ck_assert_int_ge(id, 0);
    ck_assert_int_eq(shmctl(id, IPC_STAT, &ds), 0);
    ds.shm_perm.uid = nobody_uid();
    ck_assert_int_eq(shmctl(id, IPC_SET, &ds), 0);
    ASSERT_RC(ushm_open_key(&h, s.key, 4096, USHM_CREATE, 0600), -EPERM);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), s.label));
    ASSERT_RC(ushm_unlink_key(s.key), 0);
}
END_TEST

START_TEST(test_keys_bad)
{
    unsigned long long shmmax = 0;
    struct ushm_stat st;
    ushm_t *h = DUMMY;
    FILE *f;

    ASSERT_RC(ushm_open_key(&h, IPC_PRIVATE, 4096, USHM_CREATE, 0600), -EINVAL);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "IPC_PRIVATE"));
    ASSERT_RC(ushm_stat_key(IPC_PRIVATE, &st), -EINVAL);
    ASSERT_RC(ushm_unlink_key(IPC_PRIVATE), -EINVAL);
    f = fopen("/proc/sys/kernel/shmmax", "r");
    if (f != NULL && fscanf(f, "%llu", &shmmax) == 1 &&
        shmmax < (unsigned long long)SIZE_MAX / 2) {
        struct seg s;

        new_seg(&ways[1], &s, __func__);
        ASSERT_RC(ushm_open_key(&h, s.key, (size_t)shmmax + 1, USHM_CREATE,
                                0600), -EINVAL);
        ck_assert_ptr_nonnull(strstr(ushm_last_error(), "kernel.shmmax"));
        ck_assert_ptr_nonnull(strstr(ushm_last_error(), s.label));
    }
    if (f != NULL)
        fclose(f);
}
END_TEST

/* The POSIX backend has no keys, and says how to get them. */
START_TEST(test_keys_posix)
{
    struct ushm_stat st;
    ushm_t *h = DUMMY;

    ASSERT_RC(ushm_open_key(&h, 0x1234, 4096, USHM_CREATE, 0600), -ENOTSUP);
    ck_assert_ptr_null(h);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "--with-backend=sysv"));
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "key 0x00001234"));
    ASSERT_RC(ushm_stat_key(0x1234, &st), -ENOTSUP);
    ASSERT_RC(ushm_unlink_key(0x1234), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(ushm_last_error(), "--with-backend=sysv"));
}
END_TEST

void conf_add_keys(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "keys", 60);
    /* Each backend's cases only: a case that does not apply is no case. */
    if (is_sysv()) {
        tcase_add_loop_test(tc, test_keys_topic, 0, (int)(2 * N_TOPICS));
        tcase_add_test(tc, test_keys_raw_peer);
        tcase_add_test(tc, test_keys_given_away);
        tcase_add_test(tc, test_keys_bad);
    } else {
        tcase_add_loop_test(tc, test_keys_topic, 0, (int)N_TOPICS);
        tcase_add_test(tc, test_keys_posix);
        printf("NOTE test_keys_*: segments by key do not apply to the posix backend "
               "(test_keys_posix checks its -ENOTSUP)\n");
    }
}
