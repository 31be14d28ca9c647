/* SPDX-License-Identifier: MIT */
/*
 * lifecycle: create + map + unmap + remove a 4 KiB segment, libushm against
 * the raw system calls of its backend (with the same guarantees, by hand)
 * and against apr_shm.
 */
#define _XOPEN_SOURCE 700 /* SysV IPC */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <ushm.h>

#include "apr-shm.h"
#include "harness.h"
#include "list.h"

static char lc_lib[NAME_LEN], lc_raw[NAME_LEN];
static key_t lc_raw_key;

static int lib_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        ushm_t *shm;
        int err = ushm_open(&shm, lc_lib, SMALL_SEG, USHM_CREATE | USHM_EXCL,
                            0600);

        if (err < 0)
            return bench_fail_ushm("ushm_open", lc_lib, err);
        if ((err = ushm_close(shm)) < 0) {
            ushm_unlink(lc_lib);
            return bench_fail_ushm("ushm_close", lc_lib, err);
        }
        if ((err = ushm_unlink(lc_lib)) < 0)
            return bench_fail_ushm("ushm_unlink", lc_lib, err);
    }
    return 0;
}

static int posix_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = shm_open(lc_raw, O_CREAT | O_EXCL | O_RDWR, 0600), err;
        void *addr;

        if (fd == -1)
            return bench_fail_errno("shm_open", lc_raw, errno);
        if ((err = bench_reserve(fd, SMALL_SEG)) != 0) {
            close(fd);
            shm_unlink(lc_raw);
            return bench_fail_errno("posix_fallocate", lc_raw, err);
        }
        addr = mmap(NULL, SMALL_SEG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED) {
            err = errno;
            close(fd);
            shm_unlink(lc_raw);
            return bench_fail_errno("mmap", lc_raw, err);
        }
        munmap(addr, SMALL_SEG);
        close(fd);
        if (shm_unlink(lc_raw) == -1)
            return bench_fail_errno("shm_unlink", lc_raw, errno);
    }
    return 0;
}

static int sysv_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        int id = shmget(lc_raw_key, SMALL_SEG, IPC_CREAT | IPC_EXCL | 0600);
        void *addr;

        if (id == -1)
            return bench_fail_errno("shmget", lc_raw, errno);
        addr = shmat(id, NULL, 0);
        if (addr == (void *)-1) {
            int err = errno;

            shmctl(id, IPC_RMID, NULL);
            return bench_fail_errno("shmat", lc_raw, err);
        }
        shmdt(addr);
        if (shmctl(id, IPC_RMID, NULL) == -1)
            return bench_fail_errno("shmctl(IPC_RMID)", lc_raw, errno);
    }
    return 0;
}

#ifdef HAVE_APR
static int apr_lifecycle(long n)
{
    for (long i = 0; i < n; i++) {
        apr_shm_t *shm;
        apr_status_t st = apr_shm_create(&shm, SMALL_SEG, bench_apr_lc,
                                         bench_apr_batch);

        if (st != APR_SUCCESS)
            return bench_apr_fail("apr_shm_create", bench_apr_lc, st);
        if ((st = apr_shm_destroy(shm)) != APR_SUCCESS)
            return bench_apr_fail("apr_shm_destroy", bench_apr_lc, st);
    }
    return 0;
}
#endif

void bench_lifecycle(void)
{
    struct contender c[] = {
        { .name = "raw",
          .batch = bench_is_sysv ? sysv_lifecycle : posix_lifecycle },
        { .name = "libushm", .batch = lib_lifecycle },
#ifdef HAVE_APR
        { .name = "apr_shm", .batch = apr_lifecycle,
          .after_batch = bench_apr_after_batch },
#endif
    };
    int nc = (int)(sizeof c / sizeof c[0]);

    bench_name(lc_lib, "lc-lib");
    bench_name(lc_raw, "lc-raw");
    /* A raw SysV program would have its key ready: it is not recomputed
     * inside the timed loop. */
    lc_raw_key = bench_key(lc_raw);

    bench_run_contenders("lifecycle", c, nc, bench_opt.iterations, SMALL_SEG);
    bench_report("lifecycle", c, nc, "raw");
    /* The guarantees' system calls (POSIX: getrlimit, fchmod, linkat, the
     * look before unlinking; SysV: an shmget() to unlink by name) are what
     * they cost: issue 13's goals (issue 8 had 1.25x on POSIX, before the
     * 0.3 checks). */
    bench_goal_ratio("lifecycle", c, nc, "libushm", "raw", 1,
                     bench_is_sysv ? 1.10 : 1.35, 1, "");
    bench_goal_ratio("lifecycle", c, nc, "apr_shm", "libushm", 0, 1.0, 1,
                     ": libushm faster");
    fflush(stdout);
}
