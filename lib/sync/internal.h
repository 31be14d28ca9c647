/* SPDX-License-Identifier: MIT */
/*
 * What the files of lib/sync/ share: ushm_mutex_t and ushm_event_t live in
 * memory, not in a segment, so they are the same for every backend.  Each
 * alternative is a file that configure picks (Makefile.am):
 *   - the mutex (configure --with-mutex): mutex-pthread.c, over a robust
 *     process-shared pthread mutex (its trylock: trylock-glibc.c, which
 *     repairs glibc's, or trylock-posix.c; its timed wait:
 *     timedlock-clock.c or timedlock-slices.c; its uncontended lock and
 *     unlock done inline as 64-bit glibc does, pm-fast-glibc.h and .c, or
 *     always glibc's calls, pm-fast-none.h: --with-mutex-fast-path);
 *     mutex-portable.c, libushm's own, where the
 *     system has no robust pthread mutex (macOS); or mutex-none.c where
 *     even 64-bit atomics are missing (every call -ENOTSUP);
 *   - waiting on a 32-bit word: wait-futex.c or wait-poll.c;
 *   - whether another process is alive, and since when: proc-linux.c,
 *     proc-sysctl-macos.c, proc-sysctl-freebsd.c or proc-pid.c.
 * deadline.c, held.c, mutex.c and event.c are the same everywhere.
 *
 * A mutex implementation defines ushm_mutex_lock, _trylock, _timedlock and
 * _unlock.  One that can lock keeps its lock behind mutex.c's state word
 * (struct ushm__mutex_kind says what it is) and records what each thread
 * holds in held.c's list; its uncontended path stays in its own file, with
 * what it shares inline here, so that it calls nothing it need not.
 */
#ifndef USHM_SYNC_INTERNAL_H
#define USHM_SYNC_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "backend.h"

#if ATOMIC_INT_LOCK_FREE != 2
#error "ushm_mutex_t and ushm_event_t need a lock-free 32-bit atomic"
#endif

_Static_assert(sizeof(ushm_mutex_t) == 64, "ushm_mutex_t is 64 bytes (ABI)");
_Static_assert(sizeof(ushm_event_t) == 16, "ushm_event_t is 16 bytes (ABI)");
#ifdef __GNUC__
_Static_assert(_Alignof(ushm_mutex_t) == 8 && _Alignof(ushm_event_t) == 8,
               "the header aligns both to 8, in structs too (i386)");
#endif

#if defined(__GNUC__)
/* For the few lines of an uncontended lock that compilers would otherwise
 * call out of line. */
#define USHM__ALWAYS_INLINE inline __attribute__((always_inline))
/* For the full path behind such a fast one, so that the fast one saves no
 * registers it does not use. */
#define USHM__NOINLINE __attribute__((noinline))
#else
#define USHM__ALWAYS_INLINE inline
#define USHM__NOINLINE
#endif

#define USHM__SYNC_ALIGN 8 /* both objects: documented in API.md and the man pages */

/* Whether p can be a mutex or an event: not NULL, and aligned. */
static inline int ushm__sync_ok(const void *p)
{
    return p != NULL && ((uintptr_t)p & (USHM__SYNC_ALIGN - 1)) == 0;
}

/* 0, or -EINVAL for a NULL or misaligned object ("mutex", "event"). */
static inline int ushm__sync_check(const char *func, const void *p,
                                   const char *what)
{
    if (ushm__sync_ok(p))
        return 0;
    if (p == NULL)
        return ushm__fail(EINVAL, "%s: the %s is NULL", func, what);
    if (((uintptr_t)p & (USHM__SYNC_ALIGN - 1)) != 0)
        return ushm__fail(EINVAL, "%s(%p): the %s is not %d-byte aligned",
                          func, p, what, USHM__SYNC_ALIGN);
    return 0;
}

/* ---- deadlines on CLOCK_MONOTONIC (deadline.c) ------------------------- */

USHM__HIDDEN struct timespec ushm__mono_now(void);
USHM__HIDDEN struct timespec ushm__deadline_after(long ms);
/* The time left until deadline in *left; 0 once it has passed. */
USHM__HIDDEN int ushm__time_left(const struct timespec *deadline,
                                 struct timespec *left);
USHM__HIDDEN int ushm__deadline_passed(const struct timespec *deadline);
/* A short nap, never past deadline (NULL: none), for the rare waits that
 * have no primitive to sleep on.  A signal ends it early. */
USHM__HIDDEN void ushm__nap(long us, const struct timespec *deadline);
/* Spinning only pays when another CPU can change the word meanwhile. */
USHM__HIDDEN int ushm__spin_worthwhile(void);

/* One turn of a spin loop.  Inline, so that a call does not change the
 * loop's pace; the #if only names each architecture's pause instruction. */
static inline void ushm__cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#else
    sched_yield();
#endif
}

/* ---- waiting on a 32-bit word (wait-futex.c or wait-poll.c) ------------ */

/* Sleep while *word == seen, until woken, a signal or the deadline (NULL:
 * none).  *backoff_us, 0 at first, paces a waiter that has to nap. */
USHM__HIDDEN void ushm__wait_on_word(atomic_uint *word, unsigned seen,
                                     const struct timespec *deadline,
                                     long *backoff_us);
/* Wake every waiter on word (nothing to do where waiters poll). */
USHM__HIDDEN void ushm__wake_word(atomic_uint *word);

/* ---- the mutexes each thread holds (held.c) ---------------------------- */
/* For -EDEADLK and -EPERM, and for ushm_close()'s -EBUSY while any thread
 * of the process holds a mutex in the mapping: each thread's list is its
 * own to change, and is registered with the process so that ushm_close()
 * can read them all.  Every lock and unlock consults the caller's, so what
 * they use is inline here; held.c has the rest. */

#define USHM__HELD_INLINE 16

struct ushm__held_list {
    atomic_uintptr_t *v;             /* NULL: inline_ */
    atomic_size_t n;                 /* entries; the owner alone changes it */
    size_t cap;                      /* 0 means USHM__HELD_INLINE */
    int registered;                  /* in the process's list of lists */
    struct ushm__held_list *next, **prevp;
    atomic_uintptr_t inline_[USHM__HELD_INLINE];
};

#if defined(__GLIBC__) && defined(__GNUC__)
/* The initial-exec model spares each lock and unlock a __tls_get_addr()
 * call, for a little of glibc's static TLS, which it keeps spare for
 * libraries that are dlopen()ed too. */
#define USHM__HELD_TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define USHM__HELD_TLS_MODEL
#endif
USHM__HIDDEN extern _Thread_local struct ushm__held_list ushm__held
    USHM__HELD_TLS_MODEL;

/* The slow paths of ushm__held_reserve() and ushm__held_remove(). */
USHM__HIDDEN int ushm__held_grow(struct ushm__held_list *hl, const char *func,
                                 const void *m);
USHM__HIDDEN void ushm__held_shrink(struct ushm__held_list *hl);

/* Callers take &ushm__held once: in a shared library every access to a
 * thread-local costs instructions. */
static USHM__ALWAYS_INLINE atomic_uintptr_t *
ushm__held_items(struct ushm__held_list *hl)
{
    return hl->v != NULL ? hl->v : hl->inline_;
}

/* The count, as its owner reads it (relaxed: a plain load). */
static USHM__ALWAYS_INLINE size_t ushm__held_count(struct ushm__held_list *hl)
{
    return atomic_load_explicit(&hl->n, memory_order_relaxed);
}

/* Where m is in the list, or -1. */
static USHM__ALWAYS_INLINE long ushm__held_index(struct ushm__held_list *hl,
                                              const void *m)
{
    atomic_uintptr_t *v = ushm__held_items(hl);

    for (size_t i = ushm__held_count(hl); i-- > 0;)
        if (atomic_load_explicit(&v[i], memory_order_relaxed) == (uintptr_t)m)
            return (long)i;
    return -1;
}

/* Room for one more entry, made before locking so that pushing cannot fail:
 * 0, or -ENOMEM already reported. */
static USHM__ALWAYS_INLINE int ushm__held_room(struct ushm__held_list *hl)
{
    size_t cap = hl->v != NULL ? hl->cap : USHM__HELD_INLINE;

    return hl->registered && ushm__held_count(hl) < cap;
}

static inline int ushm__held_reserve(struct ushm__held_list *hl,
                                     const char *func, const void *m)
{
    if (ushm__held_room(hl))
        return 0;
    return ushm__held_grow(hl, func, m);
}

static USHM__ALWAYS_INLINE void ushm__held_push(struct ushm__held_list *hl,
                                              const void *m)
{
    size_t n = ushm__held_count(hl);

    atomic_store_explicit(&ushm__held_items(hl)[n], (uintptr_t)m,
                          memory_order_relaxed);
    /* Release: a closer that reads the count reads the entry too. */
    atomic_store_explicit(&hl->n, n + 1, memory_order_release);
}

static USHM__ALWAYS_INLINE void ushm__held_remove(struct ushm__held_list *hl,
                                                size_t i)
{
    atomic_uintptr_t *v = ushm__held_items(hl);
    size_t n = ushm__held_count(hl);

    for (; i + 1 < n; i++) /* not the last one locked: close the gap */
        atomic_store_explicit(&v[i], atomic_load_explicit(&v[i + 1],
                                                          memory_order_relaxed),
                              memory_order_relaxed);
    atomic_store_explicit(&hl->n, n - 1, memory_order_release);
    if (hl->v != NULL && n - 1 <= USHM__HELD_INLINE)
        ushm__held_shrink(hl);
}

/* Whether the calling thread holds m (locked at this address). */
USHM__HIDDEN int ushm__mutex_held_here(const ushm_mutex_t *m);

/* held.c calls it for each mutex that a thread still holds as it ends:
 * the mutex implementation marks m so that its next locker gets
 * USHM_OWNERDEAD (mutex-portable.c), or has nothing to do because the
 * system does it (mutex-pthread.c: the kernel's robust list). */
USHM__HIDDEN void ushm__mutex_thread_ended(void *m);

/* A 32-bit word of m that the system itself changes when the thread holding
 * m ends (the lock word of a glibc robust mutex, which the kernel marks
 * FUTEX_OWNER_DIED), for a watcher that wants to notice a holder's end
 * without a call; NULL where the implementation knows of none (then the
 * watcher must try the lock, as lib/queue-places.c's scan does). */
USHM__HIDDEN const atomic_uint *ushm__mutex_end_word(const ushm_mutex_t *m);

/* ---- other processes (proc-*.c: what the system can tell) -------------- */

/*
 * 1 when process pid is gone: no such process, or a zombie whose threads
 * have all ended (it will never run again).  0 when it may still run; then
 * *start (if not NULL) is when it started, in the system's own unit, or 0
 * where the system cannot tell (proc-pid.c), so that a pid reused by a
 * newer process can be told from the one that was there before.
 */
USHM__HIDDEN int ushm__process_gone(pid_t pid, uint64_t *start);
/* What ushm__process_gone() knows, for sentences and README: "the start
 * time in /proc/PID/stat", or "the pid alone". */
USHM__HIDDEN extern const char ushm__process_identity[];

/* ---- the state word in front of every mutex (mutex.c) ------------------- */
/*
 * A ushm_mutex_t is a state word, then the lock of the implementation that
 * set it up.  The state is
 *   0                  never used: unlocked and ready (a zero-filled segment)
 *   INITING | pid      process pid (in the PID namespace of the second
 *                      word, once written) is setting up the lock
 *   a tag              set up by a program of that ABI (USHM__MUTEX_TAG)
 * A process killed while INITING is found dead by the next user, which takes
 * the set-up over with a compare-and-swap.  Nobody locks before the tag is
 * published, so a set-up run twice never meets a holder.  An implementation
 * locks only behind its own tag, and refuses any other with -EPROTO.
 */
#define USHM__MUTEX_INITING 0x80000000u
#define USHM__MUTEX_MAGIC 0x55u          /* a robust pthread mutex follows */
#define USHM__MUTEX_MAGIC_PORTABLE 0x56u /* libushm's portable mutex follows */

/* The C library, part of the tag: each lays out pthread_mutex_t its own way. */
#define USHM__LIBC_GLIBC 1u
#define USHM__LIBC_MUSL 2u
#define USHM__LIBC_OTHER 3u
#if defined(__GLIBC__) && !defined(__UCLIBC__)
#define USHM__THIS_LIBC USHM__LIBC_GLIBC
#elif defined(__linux__) && !defined(__UCLIBC__) && !defined(__BIONIC__) && \
      !defined(__ANDROID__)
#define USHM__THIS_LIBC USHM__LIBC_MUSL /* the other C library of Linux; it has no macro */
#else
#define USHM__THIS_LIBC USHM__LIBC_OTHER
#endif

/* magic (the kind of lock) | C library | pointer bytes | bytes of the
 * lock: never 0 and never has INITING's bit. */
#define USHM__MUTEX_TAG_OF(magic, lock_size) \
    (((unsigned)(magic) << 24) | (USHM__THIS_LIBC << 16) | \
     ((unsigned)sizeof(void *) << 8) | (unsigned)(lock_size))
#define USHM__MUTEX_TAG(lock_size) USHM__MUTEX_TAG_OF(USHM__MUTEX_MAGIC, lock_size)

/* What an implementation tells mutex.c about the lock behind the word. */
struct ushm__mutex_kind {
    unsigned tag;              /* USHM__MUTEX_TAG(bytes of its lock) */
    const char *lock_type;     /* in -EPROTO's sentence: "pthread_mutex_t" */
    const char *holder_id;     /* in -EXDEV's: how it knows its holder */
    const char *init_call;     /* in a failed set-up's: "pthread_mutex_init" */
    int (*init)(void *lock);   /* make the bytes an unlocked lock: 0 or an errno */
    /* Whether the bytes of the lock show a holder (a state word zeroed
     * under it), or NULL where that cannot be told: then never set up
     * again. */
    int (*looks_held)(const void *lock);
};

/* The first 8 bytes of every mutex: the state word, and the PID namespace
 * of the process that set it up (0: not yet, or a program of 0.2). */
struct ushm__mutex_head {
    atomic_uint state;
    atomic_uint pidns;
};

/* This process's PID namespace: an inode number, or USHM__PIDNS_UNKNOWN
 * where /proc cannot tell. */
#define USHM__PIDNS_UNKNOWN 1u
USHM__HIDDEN extern atomic_uint ushm__pidns_cache; /* 0: not asked yet */
USHM__HIDDEN unsigned ushm__pidns_slow(void);
static inline unsigned ushm__pidns(void)
{
    unsigned ns = atomic_load_explicit(&ushm__pidns_cache, memory_order_relaxed);

    return ns != 0 ? ns : ushm__pidns_slow();
}
/* -EXDEV: the mutex was set up in the PID namespace theirs. */
USHM__HIDDEN int ushm__mutex_other_pidns(const char *func, const void *m,
                                         unsigned theirs,
                                         const struct ushm__mutex_kind *kind);

/* The slow path of ushm__mutex_ready(). */
USHM__HIDDEN int ushm__mutex_setup(struct ushm__mutex_head *head, void *lock,
                                   const struct ushm__mutex_kind *kind,
                                   const char *func, long ms,
                                   const struct timespec *deadline, int busy);

/*
 * Make the mutex ready to lock: 0, or a negative errno already reported.
 * Waits while another live process or thread sets it up: a matter of
 * microseconds, bounded by the deadline of a timed lock (ms > 0); a trylock
 * (ms == 0) does not wait: -busy.
 */
static inline int ushm__mutex_ready(struct ushm__mutex_head *head, void *lock,
                                    const struct ushm__mutex_kind *kind,
                                    const char *func, long ms,
                                    const struct timespec *deadline, int busy)
{
    if (atomic_load_explicit(&head->state, memory_order_acquire) == kind->tag)
        return 0;
    return ushm__mutex_setup(head, lock, kind, func, ms, deadline, busy);
}

/* The sentences every implementation gives, each returning its -errno:
 * the caller already holds m (-EDEADLK); it does not hold m (-EPERM, from
 * ushm_mutex_unlock); the lock of m failed with err, an errno of the
 * pthread mutex calls: EBUSY (-busy when ms == 0), ETIMEDOUT, EDEADLK,
 * ENOTRECOVERABLE (-EPROTO) or another. */
USHM__HIDDEN int ushm__mutex_held_already(const char *func, const void *m);
USHM__HIDDEN int ushm__mutex_not_held(const void *m);
USHM__HIDDEN int ushm__mutex_lock_failed(const char *func, const void *m,
                                         long ms, int busy, int err);

/* ---- the trylock of mutex-pthread.c (trylock-glibc.c or -posix.c) ------- */

/* pthread_mutex_trylock, with glibc's not-recoverable case repaired. */
USHM__HIDDEN int ushm__pthread_trylock(pthread_mutex_t *pm);

/* ---- the timed wait of mutex-pthread.c (timedlock-clock.c or -slices.c) - */

/* pthread_mutex_timedlock until deadline on CLOCK_MONOTONIC; may return
 * EINTR, or ETIMEDOUT before the deadline: the caller checks and retries. */
USHM__HIDDEN int ushm__pthread_timedlock(pthread_mutex_t *pm,
                                         const struct timespec *deadline);

#endif /* USHM_SYNC_INTERNAL_H */
