/* SPDX-License-Identifier: MIT */
/*
 * APR's apr_shm as a contender of lifecycle and attach, when configure
 * found APR (HAVE_APR); without it, setup, sweep and describe still exist
 * and the report says why apr_shm is missing.
 */
#ifndef USHM_BENCH_APR_SHM_H
#define USHM_BENCH_APR_SHM_H

int bench_apr_setup(void);
void bench_apr_sweep(void);
void bench_apr_describe(void);

#ifdef HAVE_APR
#include <apr.h>
#include <apr_pools.h>
#include <apr_shm.h>

extern apr_pool_t *bench_apr_root, *bench_apr_batch;

/* APR takes file names: lifecycle's and attach's (NAME_LEN bytes). */
extern char bench_apr_lc[], bench_apr_at[];
int bench_apr_fail(const char *what, const char *name, apr_status_t st);
void bench_apr_after_batch(void);
#endif

#endif
