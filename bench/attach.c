/* SPDX-License-Identifier: MIT */
/*
 * attach: map + unmap an existing 4 KiB segment that its creator keeps
 * mapped, libushm against the raw system calls of its backend and against
 * apr_shm.
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
#include <sys/stat.h>
#include <unistd.h>

#include <ushm.h>

#include "apr-shm.h"
#include "harness.h"
#include "list.h"

static char at_lib[NAME_LEN], at_raw[NAME_LEN];
static key_t at_raw_key;

/* ---- libushm ---- */

static ushm_t *at_lib_owner; /* kept mapped: attach joins a segment in use */

static int lib_attach_prepare(void)
{
    int err = ushm_open(&at_lib_owner, at_lib, SMALL_SEG,
                        USHM_CREATE | USHM_EXCL, 0600);

    return err < 0 ? bench_fail_ushm("ushm_open", at_lib, err) : 0;
}

static int lib_attach(long n)
{
    for (long i = 0; i < n; i++) {
        ushm_t *shm;
        int err = ushm_open(&shm, at_lib, 0, 0, 0);

        if (err < 0)
            return bench_fail_ushm("ushm_open", at_lib, err);
        if ((err = ushm_close(shm)) < 0)
            return bench_fail_ushm("ushm_close", at_lib, err);
    }
    return 0;
}

static void lib_attach_finish(void)
{
    ushm_close(at_lib_owner);
    at_lib_owner = NULL;
    ushm_unlink(at_lib);
}

/* ---- raw POSIX ---- */

static void *at_raw_owner;
static int at_raw_id = -1;

static int posix_attach_prepare(void)
{
    int fd = shm_open(at_raw, O_CREAT | O_EXCL | O_RDWR, 0600), err;

    if (fd == -1)
        return bench_fail_errno("shm_open", at_raw, errno);
    if ((err = bench_reserve(fd, SMALL_SEG)) != 0) {
        close(fd);
        return bench_fail_errno("posix_fallocate", at_raw, err);
    }
    at_raw_owner = mmap(NULL, SMALL_SEG, PROT_READ | PROT_WRITE, MAP_SHARED,
                        fd, 0);
    err = errno;
    close(fd);
    if (at_raw_owner == MAP_FAILED) {
        at_raw_owner = NULL;
        return bench_fail_errno("mmap", at_raw, err);
    }
    return 0;
}

static int posix_attach(long n)
{
    for (long i = 0; i < n; i++) {
        int fd = shm_open(at_raw, O_RDWR, 0);
        struct stat st;
        void *addr;

        if (fd == -1)
            return bench_fail_errno("shm_open", at_raw, errno);
        if (fstat(fd, &st) == -1) {
            close(fd);
            return bench_fail_errno("fstat", at_raw, errno);
        }
        addr = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED, fd, 0);
        if (addr == MAP_FAILED) {
            close(fd);
            return bench_fail_errno("mmap", at_raw, errno);
        }
        close(fd);
        munmap(addr, (size_t)st.st_size);
    }
    return 0;
}

static void posix_attach_finish(void)
{
    if (at_raw_owner != NULL)
        munmap(at_raw_owner, SMALL_SEG);
    at_raw_owner = NULL;
    shm_unlink(at_raw);
}

/* ---- raw SysV ---- */

static int sysv_attach_prepare(void)
{
    at_raw_id = shmget(at_raw_key, SMALL_SEG, IPC_CREAT | IPC_EXCL | 0600);
    if (at_raw_id == -1)
        return bench_fail_errno("shmget", at_raw, errno);
    at_raw_owner = shmat(at_raw_id, NULL, 0);
    if (at_raw_owner == (void *)-1) {
        int err = errno;

        at_raw_owner = NULL;
        shmctl(at_raw_id, IPC_RMID, NULL);
        at_raw_id = -1;
        return bench_fail_errno("shmat", at_raw, err);
    }
    return 0;
}

static int sysv_attach(long n)
{
    for (long i = 0; i < n; i++) {
        int id = shmget(at_raw_key, 0, 0);
        void *addr;

        if (id == -1)
            return bench_fail_errno("shmget", at_raw, errno);
        addr = shmat(id, NULL, 0);
        if (addr == (void *)-1)
            return bench_fail_errno("shmat", at_raw, errno);
        shmdt(addr);
    }
    return 0;
}

static void sysv_attach_finish(void)
{
    if (at_raw_owner != NULL)
        shmdt(at_raw_owner);
    at_raw_owner = NULL;
    if (at_raw_id != -1)
        shmctl(at_raw_id, IPC_RMID, NULL);
    at_raw_id = -1;
}

/* ---- APR ---- */

#ifdef HAVE_APR
static apr_shm_t *at_apr_owner;

static int apr_attach_prepare(void)
{
    apr_status_t st = apr_shm_create(&at_apr_owner, SMALL_SEG, bench_apr_at,
                                     bench_apr_root);

    return st != APR_SUCCESS
               ? bench_apr_fail("apr_shm_create", bench_apr_at, st) : 0;
}

static int apr_attach(long n)
{
    for (long i = 0; i < n; i++) {
        apr_shm_t *shm;
        apr_status_t st = apr_shm_attach(&shm, bench_apr_at, bench_apr_batch);

        if (st != APR_SUCCESS)
            return bench_apr_fail("apr_shm_attach", bench_apr_at, st);
        if ((st = apr_shm_detach(shm)) != APR_SUCCESS)
            return bench_apr_fail("apr_shm_detach", bench_apr_at, st);
    }
    return 0;
}

static void apr_attach_finish(void)
{
    if (at_apr_owner != NULL)
        apr_shm_destroy(at_apr_owner);
    at_apr_owner = NULL;
}
#endif /* HAVE_APR */

void bench_attach(void)
{
    struct contender c[] = {
        { .name = "raw",
          .prepare = bench_is_sysv ? sysv_attach_prepare
                                   : posix_attach_prepare,
          .batch = bench_is_sysv ? sysv_attach : posix_attach,
          .finish = bench_is_sysv ? sysv_attach_finish
                                  : posix_attach_finish },
        { .name = "libushm", .prepare = lib_attach_prepare,
          .batch = lib_attach, .finish = lib_attach_finish },
#ifdef HAVE_APR
        { .name = "apr_shm", .prepare = apr_attach_prepare,
          .batch = apr_attach, .after_batch = bench_apr_after_batch,
          .finish = apr_attach_finish },
#endif
    };
    int nc = (int)(sizeof c / sizeof c[0]);

    bench_name(at_lib, "at-lib");
    bench_name(at_raw, "at-raw");
    /* As in lifecycle: the raw program's key is ready beforehand. */
    at_raw_key = bench_key(at_raw);

    bench_run_contenders("attach", c, nc, bench_opt.iterations, SMALL_SEG);
    bench_report("attach", c, nc, "raw");
    bench_goal_ratio("attach", c, nc, "libushm", "raw", 1, 1.05, 1, "");
    bench_goal_ratio("attach", c, nc, "apr_shm", "libushm", 0, 1.0, 1,
                     ": libushm faster");
    fflush(stdout);
}
