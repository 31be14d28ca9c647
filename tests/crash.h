/* SPDX-License-Identifier: MIT */
/*
 * What the files of the crash test share (tests/crash.c says what it
 * does): the names and their states, the control page, the kill timer.
 */
#ifndef CRASH_H
#define CRASH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <grp.h>
#include <pwd.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "fault-common.h"

#define NNAMES 6
#define BAD_STATE 3

enum { MISSING, HALF_MADE, WHOLE };

/* crash-harness.c */
extern size_t sizes[NNAMES];
/* SysV: the sizes halved until they fit the system's limits. */
void fit_sizes(void);
extern char names[NNAMES][USHM_NAME_MAX + 1];
extern char prefix[24];
extern uint64_t create_ns[NNAMES];

struct control {
    int phase; /* 0 forked, 1 calling ushm_open, 2 returned 0, 3 failed */
    int rc;
    int created;
    uint64_t start; /* CLOCK_MONOTONIC when the call began */
    uint64_t ns;    /* how long it took */
};
extern struct control *ctl;
extern unsigned fails;   /* problems so far: problem() prints the first 10 */

void problem(const char *fmt, ...) FC_PRINTF(1, 2);
int ours(long key, long cpid, void *arg);
int kill_creator(const char *name, size_t size, mode_t mode,
                 int wait_start, uint64_t us);
void calibrate(void);

/* crash-recovery.c */
/* Each -EAGAIN costs the library's 1 s wait for a size: checked this many
 * times, after that a size-0 name is only removed (CI stays fast). */
#define EMPTY_CHECKS 3

struct recovery {
    unsigned created, empty_eagain, empty_removed;
};

int raw_state(int k);
int check_library_view(int k, int state);
int recover_name(int k, int state, struct recovery *rv);

/* crash-modes.c, crash-mutex.c: the other rows. */
void unprivileged_modes(int rounds, uint64_t seed);
void mutex_holders(int rounds, uint64_t seed);
/* Holders killed while another process sleeps in the lock: how soon the
 * sleeper hears it (sigkill_mutex_sleeper). */
void mutex_notice(int rounds);

#endif /* CRASH_H */
