/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: Text, version, backend.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Text, version, backend                                               */

START_TEST(test_strerror)
{
    static const int errs[] = { ENOENT, EEXIST, EINVAL, ENAMETOOLONG, EACCES, EPERM, ENOSPC, ENOMEM };

    for (size_t i = 0; i < sizeof errs / sizeof *errs; i++) {
        const char *got = ushm_strerror(-errs[i]);
        ck_assert_msg(got != NULL, "ushm_strerror(-%d) is NULL", errs[i]);
        ck_assert_str_eq(got, strerror(errs[i]));
    }
    ck_assert_ptr_nonnull(ushm_strerror(0));
    ck_assert_ptr_nonnull(ushm_strerror(-123456));
    ck_assert_ptr_nonnull(ushm_strerror(7));
}
END_TEST

START_TEST(test_version)
{
    char built[32];

    ck_assert_ptr_nonnull(ushm_version());
    ck_assert_str_eq(ushm_version(), USHM_VERSION_STRING);
    snprintf(built, sizeof built, "%d.%d.%d", USHM_VERSION_MAJOR, USHM_VERSION_MINOR, USHM_VERSION_PATCH);
    ck_assert_str_eq(built, USHM_VERSION_STRING);
#ifdef PACKAGE_VERSION
    ck_assert_str_eq(ushm_version(), PACKAGE_VERSION);
#endif
}
END_TEST

START_TEST(test_backend)
{
    const char *b = ushm_backend(), *want = USHM_TEST_BACKEND;

    ck_assert_ptr_nonnull(b);
    ck_assert_msg(strcmp(b, "posix") == 0 || strcmp(b, "sysv") == 0, "ushm_backend() = \"%s\"", b);
    ck_assert_msg(want != NULL, "the build did not define USHM_TEST_BACKEND");
    ck_assert_str_eq(b, want);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_info(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;

    tc = add_tcase(s, "info", 60);
    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_backend);
}
