/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: Bad arguments.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Bad arguments                                                         */

START_TEST(test_args_null_shm)
{
    char name[NAMEBUF];
    const char *msg;

    NEW_NAME(name);
    ASSERT_RC(ushm_open(NULL, name, 4096, USHM_CREATE, 0600), -EINVAL);
    msg = ushm_last_error();
    ck_assert_msg(msg && msg[0], "no message after ushm_open(NULL, ...)");
    ASSERT_RC(ushm_open(NULL, NULL, 4096, USHM_CREATE, 0600), -EINVAL);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    CLOSE_OK(NULL);
}
END_TEST

START_TEST(test_args_flags_mode)
{
    static const int bad_flags[] = { 0x20, 0x40, 0x80, 0x100, 0x1000, 0x4000000, (int)0x80000000u, -1 };
    static const mode_t bad_modes[] = { 01000, 02000, 04000, 04755, 02700, 01777, 07777, 010000, 0100600 };
    char name[NAMEBUF], other[NAMEBUF];
    ushm_t *h;

    NEW_NAME(name);
    NEW_NAME(other);
    for (size_t i = 0; i < sizeof bad_flags / sizeof *bad_flags; i++) {
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | bad_flags[i], 0600, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL | bad_flags[i], 0600, -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(NULL, 4096, USHM_CREATE | bad_flags[i], 0600, -EINVAL, NULL, 0);
    }
    for (size_t i = 0; i < sizeof bad_modes / sizeof *bad_modes; i++) {
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE, bad_modes[i], -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(name, 4096, USHM_CREATE | USHM_EXCL, bad_modes[i], -EINVAL, NULL, 0);
        EXPECT_OPEN_FAIL(NULL, 4096, USHM_CREATE, bad_modes[i], -EINVAL, NULL, 0);
    }
    /* USHM_EXCL means nothing without USHM_CREATE: refused, not ignored. */
    EXPECT_OPEN_FAIL(name, 4096, USHM_EXCL, 0600, -EINVAL, NULL, 0);
    ASSERT_RC(ushm_stat(name, NULL), -EINVAL);
    EXPECT_STAT_FAIL(name, -ENOENT, name);

    /* The same bad bits on an existing segment: still -EINVAL, still there. */
    h = OPEN_OK(other, 4096, USHM_CREATE | USHM_EXCL, 0600);
    EXPECT_OPEN_FAIL(other, 0, 0x100, 0, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(other, 0, USHM_CREATE | (int)0x80000000u, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(other, 0, USHM_CREATE, 04755, -EINVAL, NULL, 0);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(other), 0);
}
END_TEST

START_TEST(test_args_rdonly_create)
{
    char name[NAMEBUF], other[NAMEBUF];
    ushm_t *h;

    NEW_NAME(name);
    NEW_NAME(other);
    EXPECT_OPEN_FAIL(name, 4096, USHM_RDONLY | USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(name, 4096, USHM_RDONLY | USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, USHM_RDONLY | USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    h = OPEN_OK(other, 4096, USHM_CREATE, 0600);
    EXPECT_OPEN_FAIL(other, 4096, USHM_RDONLY | USHM_CREATE, 0600, -EINVAL, NULL, 0);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(other), 0);
}
END_TEST

START_TEST(test_args_anonymous)
{
    EXPECT_OPEN_FAIL(NULL, 4096, 0, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, USHM_POPULATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 4096, USHM_RDONLY, 0, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 0, USHM_CREATE, 0600, -EINVAL, NULL, 0);
    EXPECT_OPEN_FAIL(NULL, 0, USHM_CREATE | USHM_EXCL, 0600, -EINVAL, NULL, 0);
}
END_TEST

START_TEST(test_args_stat_unlink)
{
    struct ushm_stat st;

    ASSERT_RC(ushm_stat(NULL, &st), -EINVAL);
    ck_assert_msg(last_err()[0] != '\0', "no message after ushm_stat(NULL)");
    ASSERT_RC(ushm_stat("", &st), -EINVAL);
    ASSERT_RC(ushm_stat("/a/b", &st), -EINVAL);
    ASSERT_RC(ushm_stat("/a b", &st), -EINVAL);
    ASSERT_RC(ushm_unlink(NULL), -EINVAL);
    ck_assert_msg(last_err()[0] != '\0', "no message after ushm_unlink(NULL)");
    ASSERT_RC(ushm_unlink("/"), -EINVAL);
    ASSERT_RC(ushm_unlink("/a/b"), -EINVAL);
    ASSERT_RC(ushm_unlink(".."), -EINVAL);
    CLOSE_OK(NULL);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_args(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;

    tc = add_tcase(s, "args", 60);
    tcase_add_test(tc, test_args_null_shm);
    tcase_add_test(tc, test_args_flags_mode);
    tcase_add_test(tc, test_args_rdonly_create);
    tcase_add_test(tc, test_args_anonymous);
    tcase_add_test(tc, test_args_stat_unlink);
}
