/* SPDX-License-Identifier: MIT */
/*
 * Every benchmark of ushm-bench, in the order it runs them: X(name,
 * shares_sync) for the file bench/NAME.c, which defines bench_NAME().
 * NAME is the benchmark's word in --ops; shares_sync is described at
 * struct bench_entry in harness.h.
 */
#ifndef USHM_BENCH_LIST_H
#define USHM_BENCH_LIST_H

#define BENCH_LIST(X) \
    X(lifecycle, 0)   \
    X(attach, 0)      \
    X(mutex, 1)       \
    X(contended, 1)   \
    X(notify, 1)      \
    X(roundtrip, 1)   \
    X(ring, 1)        \
    X(queue, 0)       \
    X(touch, 0)

#define BENCH_DECLARE(name, shares_sync) void bench_##name(void);
BENCH_LIST(BENCH_DECLARE)
#undef BENCH_DECLARE

#endif
