/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: other programs and other users in the way of a name
 * (API.md 0.2, "Other programs and other users in the way", "Creation is
 * atomic", "SysV modes" and the `sem.` rule): issue 8's cases.  The topics
 * tested here and nowhere else in the suite: the empty object that libushm
 * did not make (the squatters SQ_EMPTY*), and exact modes, the umask not
 * applied (test_modes_exact).
 *
 * Every call that someone else could make hang runs in a guarded child
 * (run_guarded(), common.h) under a deadline, so that a hang is a failure
 * that says which call hung.  The cases with another user run as root: the
 * guarded child makes new IPC and mount namespaces with a fresh 1777 tmpfs
 * on /dev/shm, and the hostile user is a grandchild dropped to nobody.  The
 * cases that need only a /dev/shm of their own run as any user (in a user
 * namespace when not root).
 */
#include "common.h" /* first: it asks for _GNU_SOURCE */

#include "neighbours-common.h"

/* ------------------------------------------------------------------ */

void conf_add_neighbours(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;
    tc = add_tcase(s, "neighbours", 60);
    neighbours_add_squatters(tc);
    neighbours_add_giveaway(tc);
    neighbours_add_foreign(tc);
    neighbours_add_modes(tc);
}
