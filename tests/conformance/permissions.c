/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: Access as another user (root only) and the owner check.
 * (A user's access to its own segments by their mode: neighbours.c's exact
 * modes.)
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Access as another user (root only) and the owner check               */

struct perm_names {
    char n600[NAMEBUF], n644[NAMEBUF], n666[NAMEBUF];
};

static int child_permissions(void *arg, char *msg, size_t len)
{
    struct perm_names *a = arg;
    struct ushm_stat st;
    ushm_t *h;
    int rc;

    /* 0600, root's: no access at all, whatever is asked. */
    static const int tries[] = { 0, USHM_RDONLY, USHM_CREATE };
    for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
        h = DUMMY;
        rc = ushm_open(&h, a->n600, 4096, tries[i], 0600);
        CHILD_EXPECT(rc == -EACCES && h == NULL, "ushm_open(%s, flags %#x) as nobody = %d (%s), "
                     "handle %p; want -EACCES and NULL", a->n600, (unsigned)tries[i], rc, rcstr(rc), (void *)h);
        CHILD_EXPECT(strstr(last_err(), a->n600) != NULL, "last error \"%s\" does not name %s",
                     last_err(), a->n600);
    }
    rc = ushm_stat(a->n600, &st);
    CHILD_EXPECT(rc == -EACCES, "ushm_stat(%s) as nobody = %d (%s), want -EACCES", a->n600, rc, rcstr(rc));

    /* 0644, root's: read-only access only. */
    h = DUMMY;
    rc = ushm_open(&h, a->n644, 0, USHM_RDONLY, 0);
    CHILD_EXPECT(rc == 0, "ushm_open(%s, RDONLY) as nobody = %d (%s): %s", a->n644, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0 && ushm_size(h) == 4096 &&
                 ((unsigned char *)ushm_addr(h))[4095] == 0x44, "read-only view of %s is wrong", a->n644);
    ushm_close(h);
    h = DUMMY;
    rc = ushm_open(&h, a->n644, 0, 0, 0);
    CHILD_EXPECT(rc == -EACCES && h == NULL, "ushm_open(%s, RW) as nobody = %d (%s), want -EACCES",
                 a->n644, rc, rcstr(rc));
    h = DUMMY;
    rc = ushm_open(&h, a->n644, 4096, USHM_CREATE, 0600);
    CHILD_EXPECT(rc == -EACCES && h == NULL, "ushm_open(%s, CREATE) as nobody = %d (%s), want -EACCES "
                 "(checked before the owner check)", a->n644, rc, rcstr(rc));
    rc = ushm_stat(a->n644, &st);
    CHILD_EXPECT(rc == 0, "ushm_stat(%s) as nobody = %d (%s)", a->n644, rc, rcstr(rc));
    CHILD_EXPECT(st.mode == 0644 && st.uid == 0 && st.size == 4096,
                 "ushm_stat(%s): mode %04o uid %ld size %zu", a->n644, (unsigned)st.mode, (long)st.uid, st.size);

    /* 0666, root's: joinable, but CREATE must not adopt it. */
    h = DUMMY;
    rc = ushm_open(&h, a->n666, 4096, USHM_CREATE, 0600);
    CHILD_EXPECT(rc == -EPERM && h == NULL, "ushm_open(%s, CREATE) on root's 0666 segment as nobody = %d (%s), "
                 "want -EPERM", a->n666, rc, rcstr(rc));
    CHILD_EXPECT(strstr(last_err(), a->n666) != NULL, "last error \"%s\" does not name %s", last_err(), a->n666);
    h = DUMMY;
    rc = ushm_open(&h, a->n666, 4096, USHM_CREATE | USHM_EXCL, 0600);
    CHILD_EXPECT(rc == -EEXIST && h == NULL, "ushm_open(%s, CREATE|EXCL) as nobody = %d (%s), want -EEXIST",
                 a->n666, rc, rcstr(rc));
    h = DUMMY;
    rc = ushm_open(&h, a->n666, 0, 0, 0);
    CHILD_EXPECT(rc == 0, "ushm_open(%s) as nobody = %d (%s): %s", a->n666, rc, rcstr(rc), last_err());
    CHILD_EXPECT(ushm_created(h) == 0, "joining %s says created", a->n666);
    ((unsigned char *)ushm_addr(h))[0] = 0x99;
    ushm_close(h);
    return 0;
}

START_TEST(test_perm_other_user)
{
    static struct perm_names names;
    struct perm_names *n = &names;
    ushm_t *h600, *h644, *h666;
    struct ushm_stat st;
    char cmsg[1024];
    int cst, src;
    unsigned char mark;

    if (skip_unless_root("test_perm_other_user"))
        return;
    NEW_NAME(n->n600);
    NEW_NAME(n->n644);
    NEW_NAME(n->n666);
    h600 = OPEN_OK(n->n600, 4096, USHM_CREATE | USHM_EXCL, 0600);
    h644 = OPEN_OK(n->n644, 4096, USHM_CREATE | USHM_EXCL, 0644);
    h666 = OPEN_OK(n->n666, 4096, USHM_CREATE | USHM_EXCL, 0666);
    ((unsigned char *)ushm_addr(h644))[4095] = 0x44;

    cst = run_child(child_permissions, n, 1, cmsg, sizeof cmsg);
    mark = ((unsigned char *)ushm_addr(h666))[0];
    src = ushm_stat(n->n666, &st);
    /* Clean up first: the verdict comes after. */
    CLOSE_OK(h600);
    CLOSE_OK(h644);
    CLOSE_OK(h666);
    ASSERT_RC(ushm_unlink(n->n600), 0);
    ASSERT_RC(ushm_unlink(n->n644), 0);
    ASSERT_RC(ushm_unlink(n->n666), 0);
    ck_assert_msg(cst == 0, "child (as nobody) failed (status %d): %s", cst, cmsg);
    ck_assert_uint_eq(mark, 0x99);
    ck_assert_int_eq(src, 0);
    ck_assert_uint_eq(st.uid, 0);
    ck_assert_uint_eq(st.mode, 0666);
}
END_TEST

static int child_squat(void *arg, char *msg, size_t len)
{
    const char *name = arg;
    ushm_t *h = DUMMY;
    int rc = ushm_open(&h, name, 8192, USHM_CREATE | USHM_EXCL, 0666);

    CHILD_EXPECT(rc == 0, "nobody: ushm_open(%s, CREATE|EXCL, 0666) = %d (%s): %s", name, rc, rcstr(rc), last_err());
    ((unsigned char *)ushm_addr(h))[8191] = 0x5c;
    CHILD_EXPECT(ushm_close(h) == 0, "nobody: ushm_close failed");
    return 0;
}

START_TEST(test_owner_check)
{
    char name[NAMEBUF];
    struct ushm_stat st;
    ushm_t *h;

    if (skip_unless_root("test_owner_check"))
        return;
    NEW_NAME(name);
    RUN_CHILD(child_squat, name, 1);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.uid, nobody_uid());
    ck_assert_uint_eq(st.mode, 0666);

    /* A creator must not be handed a squatter's segment. */
    EXPECT_OPEN_FAIL(name, 8192, USHM_CREATE, 0600, -EPERM, name, 0);
    EXPECT_OPEN_FAIL(name, 0, USHM_CREATE, 0600, -EPERM, name, 0);
    EXPECT_OPEN_FAIL(name, 8192, USHM_CREATE | USHM_EXCL, 0600, -EEXIST, name, 1);
    ASSERT_RC(ushm_stat(name, &st), 0);
    ck_assert_uint_eq(st.uid, nobody_uid());
    ck_assert_uint_eq(st.mode, 0666);
    ck_assert_uint_eq(st.size, 8192);
    if (is_sysv())
        ck_assert_int_eq(st.nattach, 0);

    /* Joining on purpose works. */
    h = OPEN_OK(name, 0, 0, 0);
    ck_assert_int_eq(ushm_created(h), 0);
    ck_assert_uint_eq(ushm_size(h), 8192);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(h))[8191], 0x5c);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_permissions(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;

    tc = add_tcase(s, "permissions", 60);
    tcase_add_test(tc, test_perm_other_user);
    tcase_add_test(tc, test_owner_check);
}
