/* SPDX-License-Identifier: MIT */
/*
 * What the apr_shm contenders of lifecycle and attach share: APR's set-up,
 * its pools, the file names it is given and the POSIX names it makes of
 * them, and their sweep.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apr-shm.h"
#include "harness.h"

#ifdef HAVE_APR
#include <apr_general.h>
#include <apr_hash.h>
#include <apr_version.h>

apr_pool_t *bench_apr_root, *bench_apr_batch;
char bench_apr_lc[NAME_LEN], bench_apr_at[NAME_LEN];

static const char *apr_impl(void)
{
#if APR_USE_SHMEM_MMAP_SHM
    return "APR_USE_SHMEM_MMAP_SHM: shm_open + ftruncate + mmap of a POSIX "
           "object named /ShM.<hash of the file name>; no posix_fallocate";
#elif APR_USE_SHMEM_SHMGET
    return "APR_USE_SHMEM_SHMGET: a file for ftok() + shmget + shmat";
#elif APR_USE_SHMEM_MMAP_TMP
    return "APR_USE_SHMEM_MMAP_TMP: an ordinary file, ftruncate + mmap";
#else
    return "unknown APR_USE_SHMEM_* implementation";
#endif
}

int bench_apr_fail(const char *what, const char *name, apr_status_t st)
{
    char text[256];

    return bench_fail("%s(%s): %s", what, name,
                      apr_strerror(st, text, sizeof text));
}

/* APR 1.7 hashes the file name into a POSIX name; the signal-handler sweep
 * needs that name ready, so it is worked out here the way APR does. */
static unsigned rshash(const char *p)
{
    unsigned b = 378551, a = 63689, h = 0;

    for (; *p; p++) {
        h = h * a + (unsigned char)*p;
        a *= b;
    }
    return h;
}

static void use_apr_name(char *buf, const char *tag)
{
    snprintf(buf, NAME_LEN, "/tmp/ushmb%ld-%s", (long)getpid(), tag);
#if APR_USE_SHMEM_MMAP_SHM
    {
        apr_ssize_t len = (apr_ssize_t)strlen(buf);
        unsigned h1 = apr_hashfunc_default(buf, &len) & 0xffffffffu;
        char posix[NAME_LEN];

        snprintf(posix, sizeof posix, "/ShM.%xH%x", h1,
                 rshash(buf) & 0xffffffffu);
        bench_track_posix(posix);
    }
#endif
}

void bench_apr_sweep(void)
{
    if (bench_apr_root == NULL || bench_swept())
        return;
    apr_shm_remove(bench_apr_lc, bench_apr_root);
    apr_shm_remove(bench_apr_at, bench_apr_root);
    unlink(bench_apr_lc);
    unlink(bench_apr_at);
}

int bench_apr_setup(void)
{
    apr_status_t st = apr_initialize();

    if (st != APR_SUCCESS)
        return bench_apr_fail("apr_initialize", "", st);
    atexit(apr_terminate);
    if ((st = apr_pool_create(&bench_apr_root, NULL)) != APR_SUCCESS)
        return bench_apr_fail("apr_pool_create", "", st);
    if ((st = apr_pool_create(&bench_apr_batch, bench_apr_root))
        != APR_SUCCESS)
        return bench_apr_fail("apr_pool_create", "", st);
    use_apr_name(bench_apr_lc, "lc-apr");
    use_apr_name(bench_apr_at, "at-apr");
    /* Registered after apr_terminate, so it runs before it. */
    atexit(bench_apr_sweep);
    return 0;
}

/* Pools only grow: give the memory back between batches, untimed. */
void bench_apr_after_batch(void)
{
    apr_pool_clear(bench_apr_batch);
}

void bench_apr_describe(void)
{
    printf("  %-28s APR %s: %s\n", "apr_shm (named)", apr_version_string(),
           apr_impl());
}

#else /* !HAVE_APR */

int bench_apr_setup(void)
{
    return 0;
}

void bench_apr_sweep(void)
{
}

void bench_apr_describe(void)
{
    printf("  %-28s skipped: built without APR (HAVE_APR undefined: "
           "configure found no apr-1 through pkg-config; on Debian, install "
           "libapr1-dev and configure again)\n", "apr_shm");
}
#endif /* HAVE_APR */
