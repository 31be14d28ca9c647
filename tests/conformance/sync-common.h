/* SPDX-License-Identifier: MIT */
/*
 * What the mutex and event tests share (sync-common.c): a test segment that
 * starts with struct shared, child processes that map it (by name, at an
 * address of their own, or inherited across fork for an anonymous one) and
 * report through it, pipes to step them, and a holder that locks and waits.
 * Used by sync.c (per backend), by sync-mutex.c, sync-robust.c and
 * sync-event.c (tests/conformance-sync) and by tests/sync-internal.c.
 * Processes wait for each other through pipes, waitpid and the objects
 * under test, never by sleeping.
 */
#ifndef USHM_CONFORMANCE_SYNC_COMMON_H
#define USHM_CONFORMANCE_SYNC_COMMON_H

#include "common.h"

#include <stdatomic.h>

/* What every test segment starts with. */
struct shared {
    ushm_mutex_t m;
    ushm_mutex_t m2;
    ushm_event_t ev[4];
    atomic_int inside;          /* holders of m right now: never above 1 */
    atomic_int violations;      /* times a holder found another inside */
    atomic_long entries;        /* critical sections entered */
    atomic_long ownerdead;      /* USHM_OWNERDEAD seen */
    atomic_int errors;          /* unexpected results in children */
    atomic_int started;         /* kill storm walkers under way */
    long counter;               /* guarded by m, deliberately not atomic */
    char msg[512];              /* the first child error */
};

#define SEG_SIZE 65536

/* A test segment: named (anon 0) or anonymous (anon 1). */
struct ctx {
    ushm_t *h;
    struct shared *sh;
    int anon;
    char name[NAMEBUF];
};

void ctx_open(struct ctx *c, int anon);
void ctx_close(struct ctx *c);
const char *ctx_kind(const struct ctx *c);

double now_ms(void);
int under_valgrind(void);
double late_ms(void); /* how late a timeout may end here */

/* A child records the first thing that went wrong, for the parent to print. */
void child_error(struct shared *sh, const char *fmt, ...) FC_PRINTF(2, 3);

#define ASSERT_NO_CHILD_ERRORS(sh)                                              \
    ck_assert_msg(atomic_load(&(sh)->errors) == 0, "%d child error(s); first: %s", \
                  atomic_load(&(sh)->errors), (sh)->msg)

/* Fork a child that runs fn on its own view of the segment and exits with
 * its result; it dies with the test process. */
typedef int (*sync_child_fn)(struct ctx *c, struct shared *sh, long arg);
pid_t spawn(struct ctx *c, sync_child_fn fn, long arg);

/* Reap pid; its exit code, or 256 + signal. */
int reap(pid_t pid);

#define ASSERT_EXITED_0(pid)                                                     \
    do {                                                                          \
        int st_ = reap(pid);                                                      \
        ck_assert_msg(st_ == 0, "child exited with %d%s; first child error: %s",   \
                      st_, st_ > 256 ? " (256 + signal)" : "", c.sh->msg);         \
    } while (0)

/* One byte through a pipe, retried on EINTR; 1 on success. */
int put_byte(int fd, char b);
int get_byte(int fd, char *b);
void pipe_ok(int p[2]);
void close_pipe(int p[2]);

/* Pipes between the test and its children: down to them, up from them. */
struct chan {
    int down[2];
    int up[2];
};
extern struct chan chan;
void chan_open(void);
void chan_close(void);

/*
 * Where the system has no robust process-shared mutex every mutex call is
 * -ENOTSUP (API.md): checked, and the case that needs one is skipped.
 */
int no_mutex(const char *test);
#define SKIP_WITHOUT_MUTEX()        \
    do {                            \
        if (no_mutex(__func__))     \
            return;                 \
    } while (0)

/* And where a dead holder is never noticed (qemu-user: no robust list). */
int no_death_notice(const char *test);
#define SKIP_WITHOUT_DEATH_NOTICE()      \
    do {                                 \
        if (no_death_notice(__func__))   \
            return;                      \
    } while (0)

/* A child that locks m (which 0) or m2 (1), sets counter to 12345 ("half
 * updated"), says 'l' and holds it until told to unlock ('u' back) or killed. */
int hold_child(struct ctx *c, struct shared *sh, long which);
pid_t start_holder(struct ctx *c, long which); /* opens chan; returns once it holds */
void release_holder(struct ctx *c, pid_t pid);  /* unlock, reap, close chan */

/* A child that says 'w', waits on ev[0] with no limit while it reads seen,
 * and exits 0 when woken for a real change. */
int wait_forever_child(struct ctx *c, struct shared *sh, long seen);

#endif /* USHM_CONFORMANCE_SYNC_COMMON_H */
