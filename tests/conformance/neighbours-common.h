/* SPDX-License-Identifier: MIT */
/* neighbours-*.c: the helpers they share (deadlines, snapshots, failed_right, squatters). */
#ifndef USHM_CONFORMANCE_NEIGHBOURS_COMMON_H
#define USHM_CONFORMANCE_NEIGHBOURS_COMMON_H

#include "common.h"

/* One call under a deadline of secs, described by the rest. */
#define CALL_UNDER(secs, call, ...) \
    (deadline_begin((secs), __VA_ARGS__), neighbour_end_call(call))

/* ------------------------------------------------------------------ */
/* What is under a path, to see that nothing changed it.               */

struct snap {
    int exists;
    dev_t dev;
    ino_t ino;
    mode_t mode; /* type and permission bits */
    uid_t uid;
    off_t size;
    char link[256];
};

/* ------------------------------------------------------------------ */
/* A hostile nobody: a grandchild that makes something under a path.    */

struct squatter {
    pid_t pid;
    int release; /* write end: closing it lets a holding squatter go */
};

typedef int (*squat_fn)(const char *path, const void *arg, char *why, size_t len);

/*
 * Forks a child that becomes nobody (or, with SQ_SAME_USER, stays this
 * process's user: another program of ours), runs make(path, arg) and
 * reports; with SQ_HOLD, it then stays (keeping whatever it holds) until
 * squat_end().  0, or a status with why in msg.
 */
#define SQ_HOLD 1
#define SQ_SAME_USER 2

#define SQ_SIZE 8192

int neighbour_end_call(int rc);
void snap_take(const char *path, struct snap *s);
int snap_same(const struct snap *a, const struct snap *b, const char *after, char *msg,
              size_t len);
int failed_right(const char *what, int rc, int want, ushm_t *h, const char *canon,
                 const char *words, char *msg, size_t len);
int squat_begin(struct squatter *sq, squat_fn make, const char *path, const void *arg, int how,
                char *msg, size_t len);
void squat_end(struct squatter *sq);

/* The cases of each file, added to the neighbours TCase by conf_add_neighbours(). */
void neighbours_add_squatters(TCase *tc);
void neighbours_add_giveaway(TCase *tc);
void neighbours_add_foreign(TCase *tc);
void neighbours_add_modes(TCase *tc);

#endif
