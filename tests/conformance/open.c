/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: ushm_open (missing, creating, reopening), read-only
 * mappings, unlink, close, descriptors, ushm_stat.  (Exact modes are
 * neighbours.c's, where they also run as another user.)
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* ushm_open: missing, creating, reopening                               */

START_TEST(test_open_missing)
{
    char name[NAMEBUF];

    NEW_NAME(name);
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name, 4096, 0, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name + 1, 4096, USHM_RDONLY, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name, 4096, USHM_POPULATE, 0, -ENOENT, name, 1);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_UNLINK_FAIL(name, -ENOENT, name);
}
END_TEST

START_TEST(test_open_size0_missing)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    struct stat sb;

    NEW_NAME(name);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE | USHM_POPULATE, 0600, -EINVAL, name, 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    devshm_path(name, path, sizeof path);
    if (is_posix() && path[0])
        ck_assert_msg(stat(path, &sb) != 0 && errno == ENOENT, "%s exists", path);
}
END_TEST

static const size_t open_sizes[] = { 1, 100, 4095, 4096, 4097, 12345, 3 * 65536 + 3 };

START_TEST(test_open_sizes)
{
    const size_t size = open_sizes[_i];
    const size_t asks[] = { 0, 1, size / 2, size };
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *a, *b;
    unsigned char *pa, *pb;
    size_t bad;

    NEW_NAME(name);
    /* USHM_CREATE without USHM_EXCL on a missing name creates it. */
    a = OPEN_OK(name, size, USHM_CREATE, 0600);
    ck_assert_int_eq(ushm_created(a), 1);
    ck_assert_uint_eq(ushm_size(a), size);
    ck_assert_pstr_eq(ushm_name(a), name);
    pa = ushm_addr(a);
    bad = first_nonzero(pa, size);
    ck_assert_msg(bad == NONE, "byte %zu of a new %zu-byte segment is %#x", bad, size, pa[bad]);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, fc_size_seen(size));
    fill_pattern(pa, size, (unsigned)size);

    for (size_t k = 0; k < sizeof asks / sizeof *asks; k++) {
        static const int how[] = { 0, USHM_CREATE, USHM_RDONLY, USHM_POPULATE, USHM_CREATE | USHM_POPULATE };
        for (size_t f = 0; f < sizeof how / sizeof *how; f++) {
            b = OPEN_OK(name, asks[k], how[f], 0600);
            ck_assert_msg(ushm_created(b) == 0, "reopen (size %zu, flags %#x) says created",
                          asks[k], (unsigned)how[f]);
            ck_assert_msg(ushm_size(b) == fc_size_seen(size),
                          "reopen (size %zu, flags %#x): size %zu, want %zu",
                          asks[k], (unsigned)how[f], ushm_size(b), fc_size_seen(size));
            ck_assert_pstr_eq(ushm_name(b), name);
            bad = pattern_mismatch(ushm_addr(b), size, (unsigned)size);
            ck_assert_msg(bad == NONE, "reopen (flags %#x): byte %zu differs", (unsigned)how[f], bad);
            CLOSE_OK(b);
        }
    }

    /* Asking for more than exists: -EINVAL, with or without CREATE. */
    /* (On macOS what exists is known to the page.) */
    EXPECT_OPEN_FAIL(name, fc_size_seen(size) + 1, 0, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, fc_size_seen(size) + 1, USHM_CREATE, 0600, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, size + page_size(), USHM_RDONLY, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(name, size, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(name, 1, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);

    /* Two handles, one segment: a write through one is seen through the other. */
    b = OPEN_OK(name, 0, 0, 0);
    pb = ushm_addr(b);
    pb[size - 1] = (unsigned char)~pattern_byte(size - 1, (unsigned)size);
    pa[0] = (unsigned char)~pattern_byte(0, (unsigned)size);
    ck_assert_uint_eq(pa[size - 1], (unsigned char)~pattern_byte(size - 1, (unsigned)size));
    ck_assert_uint_eq(pb[0], (unsigned char)~pattern_byte(0, (unsigned)size));

    CLOSE_OK(a);
    CLOSE_OK(b);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, fc_size_seen(size));
    ASSERT_RC(ushm_unlink(name), 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Read-only mappings                                                   */

START_TEST(test_rdonly_read)
{
    char name[NAMEBUF];
    ushm_t *w, *r;
    unsigned char *pw;
    const unsigned char *pr;

    NEW_NAME(name);
    w = OPEN_OK(name, 9999, USHM_CREATE | USHM_EXCL, 0644);
    pw = ushm_addr(w);
    fill_pattern(pw, 9999, 3);
    r = OPEN_OK(name, 0, USHM_RDONLY, 0);
    ck_assert_int_eq(ushm_created(r), 0);
    ck_assert_uint_eq(ushm_size(r), fc_size_seen(9999));
    pr = ushm_addr(r);
    ck_assert_msg(pattern_mismatch(pr, 9999, 3) == NONE, "read-only view differs");
    pw[9998] = (unsigned char)~pw[9998];
    ck_assert_uint_eq(pr[9998], pw[9998]);
    CLOSE_OK(r);
    r = OPEN_OK(name, 9999, USHM_RDONLY | USHM_POPULATE, 0);
    ck_assert_uint_eq(ushm_size(r), fc_size_seen(9999));
    ck_assert_uint_eq(((const unsigned char *)ushm_addr(r))[9998], pw[9998]);
    CLOSE_OK(r);
    CLOSE_OK(w);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* Made in the main process: the faulting test cannot clean up after itself. */
static char rdonly_name[NAMEBUF];
static ushm_t *rdonly_keep;
static int rdonly_setup_rc = -1;
static const size_t rdonly_size = 3 * 4096 + 5;

static void rdonly_setup(void)
{
    NEW_NAME(rdonly_name);
    rdonly_setup_rc = ushm_open(&rdonly_keep, rdonly_name, rdonly_size,
                                USHM_CREATE | USHM_EXCL, 0644);
    if (rdonly_setup_rc == 0)
        memset(ushm_addr(rdonly_keep), 0x42, rdonly_size);
}


static void rdonly_teardown(void)
{
    if (rdonly_setup_rc == 0) {
        ushm_close(rdonly_keep);
        ushm_unlink(rdonly_name);
    }
    rdonly_keep = NULL;
    sweep_teardown();
}

START_TEST(test_rdonly_write_faults)
{
    const size_t offs[] = { 0, 4096, rdonly_size - 1 };
    volatile unsigned char *p;
    ushm_t *h;

    ck_assert_msg(rdonly_setup_rc == 0, "fixture: ushm_open(%s) = %d", rdonly_name, rdonly_setup_rc);
    h = OPEN_OK(rdonly_name, 0, USHM_RDONLY, 0);
    ck_assert_uint_eq(ushm_size(h), fc_size_seen(rdonly_size));
    p = ushm_addr(h);
    ck_assert_uint_eq(p[offs[_i]], 0x42);
    p[offs[_i]] = 1; /* must raise SIGSEGV */
    ck_abort_msg("writing byte %zu of a USHM_RDONLY mapping of %s did not fault", offs[_i], rdonly_name);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Unlink                                                               */

START_TEST(test_unlink_keeps_mapping)
{
    char name[NAMEBUF], path[NAMEBUF + 16];
    ushm_t *old, *fresh;
    unsigned char *po, *pn;
    struct stat sb;
    size_t bad;

    NEW_NAME(name);
    old = OPEN_OK(name, 20000, USHM_CREATE | USHM_EXCL, 0600);
    po = ushm_addr(old);
    fill_pattern(po, 20000, 11);
    ASSERT_RC(ushm_unlink(name), 0);

    devshm_path(name, path, sizeof path);
    if (is_posix() && path[0])
        ck_assert_msg(stat(path, &sb) != 0 && errno == ENOENT, "%s still exists after unlink", path);
    ck_assert_msg(pattern_mismatch(po, 20000, 11) == NONE, "contents changed by unlink");
    po[19999] = 0xee;
    ck_assert_uint_eq(po[19999], 0xee);
    po[19999] = pattern_byte(19999, 11);

    EXPECT_OPEN_FAIL(name, 0, 0, 0, -ENOENT, name, 1);
    EXPECT_OPEN_FAIL(name, 0, USHM_RDONLY, 0, -ENOENT, name, 1);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_UNLINK_FAIL(name, -ENOENT, name);

    fresh = OPEN_OK(name, 20000, USHM_CREATE | USHM_EXCL, 0600);
    ck_assert_int_eq(ushm_created(fresh), 1);
    pn = ushm_addr(fresh);
    ck_assert_ptr_ne(pn, po);
    bad = first_nonzero(pn, 20000);
    ck_assert_msg(bad == NONE, "re-created segment: byte %zu is %#x", bad, pn[bad]);
    memset(pn, 0xab, 20000);
    ck_assert_msg(pattern_mismatch(po, 20000, 11) == NONE, "writing the new segment changed the old one");
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(old);
    ck_assert_uint_eq(pn[0], 0xab);
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(fresh);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Close                                                                */

START_TEST(test_close_two_handles)
{
    char name[NAMEBUF];
    ushm_t *a, *b, *c;
    volatile unsigned char *pb;

    NEW_NAME(name);
    a = OPEN_OK(name, 4097, USHM_CREATE | USHM_EXCL, 0600);
    ASSERT_NATTACH(name, 1);
    b = OPEN_OK(name, 0, 0, 0);
    ASSERT_NATTACH(name, 2);
    ((unsigned char *)ushm_addr(a))[4096] = 0x17;
    pb = ushm_addr(b);
    ck_assert_uint_eq(pb[4096], 0x17);

    CLOSE_OK(a);
    ASSERT_NATTACH(name, 1);
    ck_assert_uint_eq(pb[4096], 0x17);
    pb[0] = 0x71;
    ck_assert_uint_eq(pb[0], 0x71);
    ck_assert_uint_eq(ushm_size(b), fc_size_seen(4097));
    ck_assert_pstr_eq(ushm_name(b), name);

    c = OPEN_OK(name, 0, 0, 0);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(c))[0], 0x71);
    CLOSE_OK(b);
    CLOSE_OK(c);
    ASSERT_NATTACH(name, 0);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Descriptors                                                          */

START_TEST(test_no_descriptor_left)
{
    char name[NAMEBUF], missing[NAMEBUF];
    int base_inh, inh, base, n;
    ushm_t *h[4];

    base = count_fds(&base_inh);
    if (base < 0)
        SKIP_CASE("no /proc/self/fd to count descriptors");
    NEW_NAME(name);
    NEW_NAME(missing);
    /* A descriptor may only survive ushm_open() if it is close-on-exec. */
    h[0] = OPEN_OK(name, 4096, USHM_CREATE | USHM_EXCL, 0600);
    h[1] = OPEN_OK(name, 0, 0, 0);
    h[2] = OPEN_OK(name, 0, USHM_RDONLY | USHM_POPULATE, 0);
    h[3] = OPEN_OK(NULL, 4096, USHM_CREATE, 0600);
    n = count_fds(&inh);
    ck_assert_msg(inh == base_inh, "inheritable descriptors %d -> %d with 4 segments open", base_inh, inh);

    /* Failures leave nothing at all (EXPECT_OPEN_FAIL counts descriptors too). */
    EXPECT_OPEN_FAIL(missing, 0, 0, 0, -ENOENT, missing, 1);
    EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    EXPECT_OPEN_FAIL(name, 8192, 0, 0, -EINVAL, name, 0);
    EXPECT_OPEN_FAIL(missing, 0, USHM_CREATE, 0600, -EINVAL, missing, 0);
    EXPECT_OPEN_FAIL(NULL, 0, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    ck_assert_int_eq(count_fds(NULL), n);

    for (int i = 0; i < 4; i++)
        CLOSE_OK(h[i]);
    ck_assert_msg(count_fds(&inh) == base && inh == base_inh,
                  "descriptors %d -> %d after closing every segment", base, count_fds(NULL));
    ASSERT_RC(ushm_unlink(name), 0);
    ck_assert_int_eq(count_fds(NULL), base);
}
END_TEST

/* ------------------------------------------------------------------ */
/* ushm_stat                                                            */

START_TEST(test_stat_fields)
{
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *a, *b;

    NEW_NAME(name);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    a = OPEN_OK(name, 7777, USHM_CREATE | USHM_EXCL, 0640);
    memset(&st, 0x55, sizeof st);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.size, fc_size_seen(7777));
    ck_assert_uint_eq(st.mode, 0640);
    ck_assert_uint_eq(st.uid, geteuid());
    ck_assert_uint_eq(st.gid, getegid());
    ck_assert_int_eq(st.nattach, is_sysv() ? 1 : -1);
    /* ushm_stat does not attach. */
    ASSERT_NATTACH(name, 1);

    b = OPEN_OK(name + 1, 0, USHM_RDONLY, 0);
    ASSERT_RC(ushm_stat(name + 1, &st), 0);
    ck_assert_int_eq(st.nattach, is_sysv() ? 2 : -1);
    ck_assert_uint_eq(st.size, fc_size_seen(7777));
    CLOSE_OK(a);
    ASSERT_NATTACH(name, 1);
    CLOSE_OK(b);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_int_eq(st.nattach, is_sysv() ? 0 : -1);
    ck_assert_uint_eq(st.size, fc_size_seen(7777));
    ck_assert_uint_eq(st.mode, 0640);
    ASSERT_RC(ushm_unlink(name), 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    EXPECT_STAT_FAIL(name + 1, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_open(Suite *s, int forking)
{
    TCase *tc;

    tc = add_tcase(s, "open", 60);
    tcase_add_test(tc, test_open_missing);
    tcase_add_test(tc, test_open_size0_missing);
    tcase_add_loop_test(tc, test_open_sizes, 0, (int)(sizeof open_sizes / sizeof *open_sizes));

    tc = add_tcase(s, "rdonly", 60);
    tcase_add_test(tc, test_rdonly_read);
    if (forking) {
        tc = add_tcase_fixture(s, "rdonly_fault", 60, rdonly_setup, rdonly_teardown);
        tcase_add_loop_test_raise_signal(tc, test_rdonly_write_faults, SIGSEGV, 0, 3);
    } else {
        printf("NOTE test_rdonly_write_faults: not run: a SIGSEGV test needs CK_FORK=yes\n");
    }

    tc = add_tcase(s, "unlink", 60);
    tcase_add_test(tc, test_unlink_keeps_mapping);

    tc = add_tcase(s, "close", 60);
    tcase_add_test(tc, test_close_two_handles);

    tc = add_tcase(s, "descriptors", 60);
    tcase_add_test(tc, test_no_descriptor_left);

    tc = add_tcase(s, "stat", 60);
    tcase_add_test(tc, test_stat_fields);
}
