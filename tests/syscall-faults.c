/* SPDX-License-Identifier: MIT */
/*
 * System call faults: every call libushm makes to the system fails in turn,
 * on the backend this program is linked with (tests/syscall-faults-posix,
 * tests/syscall-faults-sysv).
 *
 * Mechanism.  The program links the core and one backend statically (the
 * convenience library tests/libushm-<backend>.la) and wraps the library's
 * calls at link time with ld --wrap: __wrap_fstat() (syscall-faults-wrap.c)
 * counts each call
 * and fails the one an injection plan names, else calls __real_fstat().
 * Both names of each large-file function are wrapped (fstat and fstat64,
 * mmap and mmap64, lstat and lstat64, ...): which one the library
 * references depends on _FILE_OFFSET_BITS, and the unused wrapper is
 * harmless.  open() is counted only when it is the library's own (the
 * O_TMPFILE segment, /dev/zero): everything else passes through.
 *
 * The calls are those of tests/syscall-list.h, which declares the wrappers
 * and makes the --wrap flags the program is linked with
 * (Makefile.am): a wrapper missing from it has no __real_X to call and
 * does not link.  A call that is not wrapped, because the library
 * references another symbol for it (e.g. __shmctl64 with _TIME_BITS=64, or
 * __lxstat for lstat before glibc 2.33), shows up as "injection not
 * reached" and fails the case.
 *
 * Method.  For each public operation (create, create with a mode lacking
 * owner write, open, open read-only, open-or-create, anonymous, POPULATE,
 * HUGEPAGES, close, unlink, stat) the program runs it once with counting
 * only, to learn the sequence of wrapped calls it makes, then once per
 * position in that sequence with that call failing with a plausible errno,
 * and once per call the library promises to retry on EINTR (shm_open,
 * posix_fallocate, ftruncate, pwrite, madvise populate) with that call
 * interrupted three times.  Targeted cases follow, for the creation
 * protocol this build has (config.h's USHM_ATOMIC_PUBLISH: the segment
 * built unnamed with O_TMPFILE and linked into place, or the fallback's
 * shm_open(O_EXCL)): its odd answers (no O_TMPFILE on the mount, the
 * unprivileged linkat route, a name taken meanwhile), the messages that
 * name a limit, a size-0 object of another program (never taken over: it
 * is waited for, a bounded time), the retry loops run to their end, races
 * (a hook does "another process's" action just before a call), huge page
 * detection.  The atomic protocol remembers per process which linkat()
 * route works and whether O_TMPFILE does, so the cases about those run
 * first, each in a child forked before anything was created.
 *
 * Each case checks the return value; on failure that *shm is NULL, that
 * ushm_last_error() is fresh and names the failed call and the segment, and
 * that nothing is left: no /dev/shm entry, no SysV segment made by this
 * process, no descriptor, no shared mapping; on success that what was made
 * has exactly the size and mode asked; always that the signal mask is
 * unchanged.  A failure of a call that is only a hint or a clean-up (close,
 * munmap of the unnamed segment that lost the race, madvise MADV_HUGEPAGE,
 * sysconf, getrlimit, lstat before an unlink, reading /proc) must not
 * change the outcome.
 *
 * One line per case:
 *   INJECT|<backend>|<scenario>|<injection>|<got>|<leftovers>|<PASS/FAIL>
 * then "N passed, M failed"; exit status 0 or 1.
 *
 * Files: syscall-faults.h (what they share), -wrap.c (the wrappers and the
 * injection plan), -left.c (names, the final sweep, snapshots), -run.c (one
 * case, run and checked), -sweep.c (the systematic sweep), -cases.c (what
 * targeted cases are made of, and both backends' own), -posix-cases.c,
 * -sysv-cases.c, and this file: the scenarios swept, and main().
 */
#include "syscall-faults.h"

/* The size-0 cases wait for a size (a second each when none comes), so
 * they are targeted rather than swept. */
static const struct scen *const sweeps[] = {
    &sc_create, &sc_create_0400, &sc_open, &sc_open_ro, &sc_open_or_create,
    &sc_anon, &sc_populate, &sc_anon_populate, &sc_ro_populate, &sc_huge,
    &sc_anon_huge, &sc_close, &sc_close_anon, &sc_unlink, &sc_stat,
};

int main(void)
{
    struct sigaction sa;
    static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGALRM, SIGSEGV,
                                SIGBUS, SIGABRT };

    fc_check_backend("syscall-faults");
    main_pid = getpid();
    posix = fc_is_posix();
    snprintf(prefix, sizeof prefix, "sf%ld_", (long)main_pid);
    page = (size_t)sysconf(_SC_PAGESIZE);
    seg_size = 3 * page + 100;      /* not a whole number of pages */
    exist_size = 5 * page + 7;
    /* shm_open() applies the umask; the library must fchmod() to the mode. */
    umask(077);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    atexit(sweep_all);
    alarm(300);

    printf("# syscall-faults: backend %s, pid %ld, segments of %zu bytes, "
           "POSIX creation protocol: %s\n", ushm_backend(), (long)main_pid,
           seg_size, USHM_ATOMIC_PUBLISH ? "atomic (O_TMPFILE + linkat)"
           : "fallback (shm_open O_EXCL)");
#if USHM_ATOMIC_PUBLISH
    if (posix) {
        /* Before this process creates anything. */
        targeted_fresh_process();
        settle_link_route();
    }
#endif
    for (size_t i = 0; i < sizeof sweeps / sizeof sweeps[0]; i++) {
        sweep_scenario(sweeps[i]);
    }
    if (posix) {
#if USHM_ATOMIC_PUBLISH
        targeted_atomic();
#else
        targeted_fallback();
#endif
        targeted_posix();
    } else {
        targeted_sysv();
    }
    targeted_common();

    sweep_all();
    {
        char list[256];

        if (fc_count_devshm(prefix, list, sizeof list) != 0) {
            printf("# left in /dev/shm: %s\n", list);
            fc_failed++;
        }
        if (sysv_rows((struct sv_row[4]){ { 0 } }, 4) != 0) {
            printf("# SysV segments of this process left\n");
            fc_failed++;
        }
    }
    return fc_finish();
}
