/* SPDX-License-Identifier: MIT */
/*
 * The tests' children leave by _exit(): in a build for make coverage
 * (configure --enable-coverage defines USHM_COVERAGE) they write their
 * counts first, or what they ran would not count.  Included after
 * <unistd.h>.
 */
#ifndef USHM_TEST_GCOV_EXIT_H
#define USHM_TEST_GCOV_EXIT_H

#if USHM_COVERAGE
void __gcov_dump(void);
#define _exit(rc) (__gcov_dump(), _exit(rc))
#endif

#endif
