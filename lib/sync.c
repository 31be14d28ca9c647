/* SPDX-License-Identifier: MIT */
/*
 * ushm_mutex_t: a robust, process-shared, error-checking pthread mutex, or
 * nothing (every mutex call is then -ENOTSUP).  The rest of the
 * synchronisation is in lib/sync/.
 */
#define _GNU_SOURCE /* pthread_mutex_clocklock() on glibc */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync.h"
#include "sync/internal.h"

/* ---- the mutex ---------------------------------------------------------- */

#if USHM_HAVE_ROBUST_MUTEX

/* ---- the mutexes this thread holds (for -EDEADLK, -EPERM, ushm_close) --- */

#define HELD_INLINE 16

struct held_list {
    const void **v;                  /* NULL: inline_ */
    size_t n, cap;                   /* cap 0 means HELD_INLINE */
    const void *inline_[HELD_INLINE];
};

/* Heap storage is only used past HELD_INLINE mutexes held at once, and is
 * given back as soon as the count falls to HELD_INLINE again. */
#if defined(__GLIBC__) && defined(__GNUC__)
/* Each lock and unlock consults it: the initial-exec model spares them a
 * __tls_get_addr() call each, for 152 bytes of glibc's static TLS, which it
 * keeps spare for libraries that are dlopen()ed too. */
#define HELD_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define HELD_TLS_MODEL
#endif
static _Thread_local struct held_list held HELD_TLS_MODEL;

/* Each call takes &held once: in a shared library every access to a
 * thread-local costs a call. */
static const void **held_items(const struct held_list *hl)
{
    return hl->v != NULL ? hl->v : (const void **)hl->inline_;
}

/* The child of fork() holds none of its parent's mutexes. */
static void held_forget(void)
{
    held.n = 0;
}

static pthread_once_t held_once = PTHREAD_ONCE_INIT;
static atomic_int held_forgets_at_fork;

static void held_setup(void)
{
    pthread_atfork(NULL, NULL, held_forget);
    atomic_store_explicit(&held_forgets_at_fork, 1, memory_order_release);
}

/* Where m is in the list, or -1. */
static long held_index(const struct held_list *hl, const void *m)
{
    const void **v = held_items(hl);

    for (size_t i = hl->n; i-- > 0;)
        if (v[i] == m)
            return (long)i;
    return -1;
}

/* Room for one more entry, made before locking so that pushing cannot fail. */
static int held_reserve(struct held_list *hl, const char *func, const void *m)
{
    size_t cap = hl->v != NULL ? hl->cap : HELD_INLINE;
    const void **v;

    if (!atomic_load_explicit(&held_forgets_at_fork, memory_order_acquire))
        pthread_once(&held_once, held_setup);
    if (hl->n < cap)
        return 0;
    v = malloc(2 * cap * sizeof *v);
    if (v == NULL)
        return ushm__fail(ENOMEM, "%s(%p): out of memory to record the %zu "
                          "mutexes this thread holds", func, m, hl->n + 1);
    memcpy(v, held_items(hl), hl->n * sizeof *v);
    free(hl->v);
    hl->v = v;
    hl->cap = 2 * cap;
    return 0;
}

static void held_push(struct held_list *hl, const void *m)
{
    held_items(hl)[hl->n++] = m;
}

static void held_remove(struct held_list *hl, size_t i)
{
    const void **v = held_items(hl);

    if (i + 1 < hl->n) /* not the last one locked */
        memmove(&v[i], &v[i + 1], (hl->n - i - 1) * sizeof *v);
    hl->n--;
    if (hl->v != NULL && hl->n <= HELD_INLINE) {
        memcpy(hl->inline_, hl->v, hl->n * sizeof *v);
        free(hl->v);
        hl->v = NULL;
        hl->cap = 0;
    }
}

int ushm__sync_held_in(const void *addr, size_t len, const void **found)
{
    const struct held_list *hl = &held;
    const void **v = held_items(hl);
    uintptr_t lo = (uintptr_t)addr;

    for (size_t i = 0; i < hl->n; i++) {
        uintptr_t p = (uintptr_t)v[i];

        if (p >= lo && p - lo < len) {
            if (found != NULL)
                *found = v[i];
            return 1;
        }
    }
    return 0;
}


/*
 * The 64 bytes: a state word, then the pthread mutex.  The state is
 *   0                  never used: unlocked and ready (a zero-filled segment)
 *   INITING | pid      process pid is initialising the pthread mutex
 *   the ABI tag        initialised by a program of that ABI
 * A process killed while INITING is found dead by the next user, which takes
 * the initialisation over with a compare-and-swap.  Nobody locks before the
 * tag is published, so an initialisation run twice never meets a holder.
 */
struct sync_mutex {
    atomic_uint state;
    uint32_t unused_;
    pthread_mutex_t pm;
};

_Static_assert(sizeof(struct sync_mutex) <= sizeof(ushm_mutex_t),
               "pthread_mutex_t does not fit in ushm_mutex_t");
_Static_assert(_Alignof(struct sync_mutex) <= USHM__SYNC_ALIGN,
               "pthread_mutex_t needs more than 8-byte alignment");

#define INITING 0x80000000u
#define TAG_MAGIC 0x55u

/* The C library, part of the tag: each lays out pthread_mutex_t its own way. */
#define LIBC_GLIBC 1u
#define LIBC_MUSL 2u
#define LIBC_OTHER 3u
#if defined(__GLIBC__) && !defined(__UCLIBC__)
#define THIS_LIBC LIBC_GLIBC
#elif defined(__linux__) && !defined(__UCLIBC__) && !defined(__BIONIC__) && \
      !defined(__ANDROID__)
#define THIS_LIBC LIBC_MUSL /* the other C library of Linux; it has no macro */
#else
#define THIS_LIBC LIBC_OTHER
#endif

/* magic | C library | pointer bytes | sizeof(pthread_mutex_t): never 0 and
 * never has INITING's bit. */
#define ABI_TAG ((TAG_MAGIC << 24) | (THIS_LIBC << 16) | \
                 ((unsigned)sizeof(void *) << 8) | \
                 (unsigned)sizeof(pthread_mutex_t))

static const char *libc_name(unsigned id)
{
    return id == LIBC_GLIBC ? "glibc" : id == LIBC_MUSL ? "musl" :
           id == LIBC_OTHER ? "another C library" : "an unknown C library";
}

static void abi_text(char *buf, size_t len, unsigned tag)
{
    snprintf(buf, len, "a %u-bit %s program (pthread_mutex_t of %u bytes)",
             ((tag >> 8) & 0xffu) * 8, libc_name((tag >> 16) & 0xffu),
             tag & 0xffu);
}

static int abi_mismatch(const char *func, const void *m, unsigned tag)
{
    char theirs[96], ours[96], what[96] = "";

    if (tag >> 24 != TAG_MAGIC)
        return ushm__fail(EPROTO, "%s(%p): these bytes are not a "
                          "ushm_mutex_t (state word 0x%08x): memory that was "
                          "not zero-filled, or overwritten", func, m, tag);
    abi_text(theirs, sizeof theirs, tag);
    abi_text(ours, sizeof ours, ABI_TAG);
    if (((tag >> 8) & 0xffu) != sizeof(void *))
        strcat(what, ", word size");
    if (((tag >> 16) & 0xffu) != THIS_LIBC)
        strcat(what, ", C library");
    if ((tag & 0xffu) != sizeof(pthread_mutex_t))
        strcat(what, ", size of pthread_mutex_t");
    return ushm__fail(EPROTO, "%s(%p): the mutex was initialised by %s and "
                      "this is %s: they differ in %s", func, m, theirs, ours,
                      what[0] != '\0' ? what + 2 : "layout");
}

/*
 * 1 when process pid is gone: no such process, or a zombie that nobody has
 * reaped yet (it will never run again).  0 when it may still be running.
 */
static int process_gone(pid_t pid)
{
    char path[48], buf[256];
    const char *p;
    ssize_t n;
    int fd;

    if (kill(pid, 0) == -1 && errno == ESRCH)
        return 1;
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold anything */
    return p != NULL && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static int prim_init(pthread_mutex_t *pm)
{
    pthread_mutexattr_t attr;
    int err = pthread_mutexattr_init(&attr);

    if (err != 0)
        return err;
    if ((err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) == 0 &&
        (err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) == 0 &&
        (err = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK)) == 0)
        err = pthread_mutex_init(pm, &attr);
    pthread_mutexattr_destroy(&attr);
    return err;
}

#if HAVE_PTHREAD_MUTEX_CLOCKLOCK

/* Wait for the mutex until deadline on CLOCK_MONOTONIC. */
static int prim_timedlock(pthread_mutex_t *pm, const struct timespec *deadline)
{
    return pthread_mutex_clocklock(pm, CLOCK_MONOTONIC, deadline);
}

#else

/* Only CLOCK_REALTIME is on offer (musl): wait in slices of at most 50 ms of
 * it, so that a step of the wall clock can neither end the wait early (the
 * caller checks the monotonic deadline) nor stretch it much. */
static int prim_timedlock(pthread_mutex_t *pm, const struct timespec *deadline)
{
    struct timespec left, rt;
    int err;

    if (!ushm__time_left(deadline, &left)) {
        err = pthread_mutex_trylock(pm);
        return err == EBUSY ? ETIMEDOUT : err;
    }
    if (left.tv_sec > 0 || left.tv_nsec > 50000000L) {
        left.tv_sec = 0;
        left.tv_nsec = 50000000L;
    }
    clock_gettime(CLOCK_REALTIME, &rt);
    rt.tv_sec += left.tv_sec;
    rt.tv_nsec += left.tv_nsec;
    if (rt.tv_nsec >= 1000000000L) {
        rt.tv_sec++;
        rt.tv_nsec -= 1000000000L;
    }
    return pthread_mutex_timedlock(pm, &rt);
}

#endif

/* 0, EOWNERDEAD, EBUSY, ETIMEDOUT or another errno; never EINTR. */
static int prim_lock(pthread_mutex_t *pm, long ms, const struct timespec *deadline)
{
    int err;

    if (ms < 0) {
        do
            err = pthread_mutex_lock(pm);
        while (err == EINTR);
        return err;
    }
    if (ms == 0)
        return pthread_mutex_trylock(pm);
    do
        err = prim_timedlock(pm, deadline);
    while (err == EINTR || (err == ETIMEDOUT && !ushm__deadline_passed(deadline)));
    return err;
}

/* Initialisations under way in this process, to tell a claim of ours from
 * a stale one left by a dead process that had the same pid. */
static atomic_int initialising_here;

/* Claim a fresh mutex, or one whose initialiser died, and initialise it. */
static int mutex_claim(struct sync_mutex *mx, const char *func, unsigned seen,
                       unsigned self)
{
    int err;

    atomic_fetch_add_explicit(&initialising_here, 1, memory_order_seq_cst);
    if (!atomic_compare_exchange_strong_explicit(&mx->state, &seen, self,
                                                 memory_order_acquire,
                                                 memory_order_relaxed)) {
        atomic_fetch_sub_explicit(&initialising_here, 1, memory_order_seq_cst);
        return 1; /* somebody else did: look again */
    }
    err = prim_init(&mx->pm);
    atomic_store_explicit(&mx->state, err == 0 ? ABI_TAG : 0,
                          memory_order_release);
    atomic_fetch_sub_explicit(&initialising_here, 1, memory_order_seq_cst);
    if (err != 0)
        return ushm__fail(err, "%s(%p): pthread_mutex_init: %s", func,
                          (void *)mx, ushm_strerror(-err));
    return 0;
}

/*
 * Make the mutex ready to lock: 0, or a negative errno already reported.
 * Waits while another live process or thread initialises it: a matter of
 * microseconds, bounded by the deadline of a timed lock; a trylock does not
 * wait (busy: EBUSY, or ETIMEDOUT for a timed lock of 0 ms).
 */
static int mutex_ready(struct sync_mutex *mx, const char *func, long ms,
                       const struct timespec *deadline, int busy)
{
    unsigned self = 0;

    for (long rounds = 0;; rounds++) {
        unsigned s = atomic_load_explicit(&mx->state, memory_order_acquire);
        int err;

        if (s == ABI_TAG)
            return 0;
        if (s != 0 && !(s & INITING))
            return abi_mismatch(func, mx, s);
        if (self == 0)
            self = INITING | (unsigned)getpid();
        if (s == 0 ||
            (s == self && atomic_load_explicit(&initialising_here,
                                               memory_order_seq_cst) == 0) ||
            (s != self && process_gone((pid_t)(s & ~INITING)))) {
            if ((err = mutex_claim(mx, func, s, self)) <= 0)
                return err;
            continue;
        }
        if (ms == 0 || (ms > 0 && ushm__deadline_passed(deadline)))
            return ushm__fail(busy, "%s(%p): process %u is initialising the "
                              "mutex", func, (void *)mx, s & ~INITING);
        if (rounds < 100)
            sched_yield();
        else
            ushm__nap(50, ms > 0 ? deadline : NULL);
    }
}

/* busy: what a mutex held elsewhere gives when ms == 0. */
static int mutex_acquire(ushm_mutex_t *m, const char *func, long ms, int busy)
{
    struct sync_mutex *mx = (struct sync_mutex *)(void *)m;
    struct held_list *hl = &held;
    struct timespec deadline = { 0, 0 };
    int err;

    if ((err = ushm__sync_check(func, m, "mutex")) < 0)
        return err;
    if (held_index(hl, m) >= 0)
        return ushm__fail(EDEADLK, "%s(%p): the calling thread already "
                          "holds this mutex", func, (void *)m);
    if (ms > 0)
        deadline = ushm__deadline_after(ms);
    if ((err = held_reserve(hl, func, m)) < 0 ||
        (err = mutex_ready(mx, func, ms, &deadline, busy)) < 0)
        return err;
    err = prim_lock(&mx->pm, ms, &deadline);
    switch (err) {
    case 0:
        held_push(hl, m);
        return 0;
    case EOWNERDEAD:
        /* The holder died: the mutex is made usable again at once, and the
         * caller hears that what it guards may be half-updated. */
        if ((err = pthread_mutex_consistent(&mx->pm)) != 0) {
            pthread_mutex_unlock(&mx->pm);
            return ushm__fail(err, "%s(%p): pthread_mutex_consistent: %s",
                              func, (void *)m, ushm_strerror(-err));
        }
        held_push(hl, m);
        return USHM_OWNERDEAD;
    case EBUSY:
        return ushm__fail(busy, "%s(%p%s): another thread holds the mutex",
                          func, (void *)m, busy == EBUSY ? "" : ", 0 ms");
    case ETIMEDOUT:
        return ushm__fail(ETIMEDOUT, "%s(%p, %ld ms): another thread still "
                          "held the mutex after %ld ms", func, (void *)m, ms,
                          ms);
    case EDEADLK:
        return ushm__fail(EDEADLK, "%s(%p): the calling thread already "
                          "holds this mutex", func, (void *)m);
    case ENOTRECOVERABLE:
        /* Only a program that locks these bytes without libushm can leave
         * them so: libushm makes an owner-dead mutex consistent at once. */
        return ushm__fail(EPROTO, "%s(%p): the mutex was left not "
                          "recoverable by a program that does not use "
                          "libushm on it", func, (void *)m);
    default:
        return ushm__fail(err, "%s(%p): %s", func, (void *)m,
                          ushm_strerror(-err));
    }
}

static int mutex_release(ushm_mutex_t *m)
{
    struct sync_mutex *mx = (struct sync_mutex *)(void *)m;
    struct held_list *hl = &held;
    long i = held_index(hl, m);
    int err;

    if (i < 0)
        return ushm__fail(EPERM, "ushm_mutex_unlock(%p): the calling thread "
                          "does not hold this mutex", (void *)m);
    if ((err = pthread_mutex_unlock(&mx->pm)) != 0)
        return ushm__fail(err, "ushm_mutex_unlock(%p): pthread_mutex_unlock: "
                          "%s", (void *)m, ushm_strerror(-err));
    held_remove(hl, (size_t)i);
    return 0;
}

#else /* no robust process-shared mutex */

static int mutex_acquire(ushm_mutex_t *m, const char *func, long ms,
                         int busy)
{
    int err = ushm__sync_check(func, m, "mutex");

    (void)ms;
    (void)busy;
    if (err < 0)
        return err;
    return ushm__fail(ENOTSUP, "%s(%p): this system has no robust "
                      "process-shared mutex (configure found no "
                      "pthread_mutexattr_setrobust, "
                      "pthread_mutexattr_setpshared or "
                      "pthread_mutex_consistent)", func, (void *)m);
}

static int mutex_release(ushm_mutex_t *m)
{
    return mutex_acquire(m, "ushm_mutex_unlock", 0, EPERM);
}

int ushm__sync_held_in(const void *addr, size_t len, const void **found)
{
    (void)addr;
    (void)len;
    (void)found;
    return 0; /* no mutex can be held */
}

#endif

int ushm_mutex_lock(ushm_mutex_t *m)
{
    return mutex_acquire(m, "ushm_mutex_lock", -1, EBUSY);
}

int ushm_mutex_trylock(ushm_mutex_t *m)
{
    return mutex_acquire(m, "ushm_mutex_trylock", 0, EBUSY);
}

int ushm_mutex_timedlock(ushm_mutex_t *m, long timeout_ms)
{
    return mutex_acquire(m, "ushm_mutex_timedlock", timeout_ms, ETIMEDOUT);
}

int ushm_mutex_unlock(ushm_mutex_t *m)
{
    int err = ushm__sync_check("ushm_mutex_unlock", m, "mutex");

    return err < 0 ? err : mutex_release(m);
}
