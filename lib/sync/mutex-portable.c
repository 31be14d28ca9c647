/* SPDX-License-Identifier: MIT */
/*
 * ushm_mutex_t where the system has no robust process-shared pthread mutex
 * (macOS; configure --with-mutex=portable forces it anywhere): libushm's
 * own lock behind mutex.c's state word, with every promise of the mutex
 * section.  The bytes after the 8-byte head:
 *   owner   64 bits: the holder's pid (0: free; PID_ENDED: its thread ended
 *           holding it), a WAITERS bit, and a 31-bit count of acquisitions,
 *           gen.  Taken, stolen and marked only by compare-and-swap.
 *   start   the gen of the acquisition and a stamp of the start time of the
 *           holder's process, stored by the holder right after taking it.
 *   thread  the holder's serial among its process's threads, and image, a
 *           random number of the program its process runs (new at each
 *           exec), both stored before start: a reader that finds start's
 *           gen equal to owner's, and owner unchanged after reading them,
 *           read that holder's (-EDEADLK and unlock through a second
 *           mapping, and a holder that exec'd).
 *   wake    the 32-bit word waiters sleep on (futex, or polling), bumped by
 *           an unlock that finds WAITERS set.
 *   magic   written at set-up: a body zeroed behind a good state word is
 *           -EPROTO, never a free mutex.
 * At offset 56: the address it was locked through, as in mutex-pthread.c.
 *
 * Why a holder's death never leaves it stuck, nor makes two holders:
 *   - taking and stealing are one compare-and-swap from the exact owner
 *     word seen, gen included: of the lockers that find a holder dead one
 *     wins, and a verdict on an old holder cannot take the mutex from a
 *     newer one, whose gen differs;
 *   - a holder's process that died (SIGKILL included) is told by its pid:
 *     no such process, a zombie, or a process that started at another time
 *     than the one stored with this gen (the pid was reused).  A start
 *     stored for another gen is not compared: its holder is between its
 *     compare-and-swap and its store, a few instructions;
 *   - a holder's process that called exec() runs another program, which
 *     finds its own pid in the owner word with another image and takes
 *     the mutex as its holder's death;
 *   - a holder's thread that ends marks what it holds (held.c's thread-end
 *     destructor calls ushm__mutex_thread_ended): owner becomes PID_ENDED
 *     with the same gen, and the waiters are woken;
 *   - a waiter looks at the holder at least every LOOK_MS, so a holder
 *     killed without waking anyone is noticed within LOOK_MS (README);
 *   - a process killed anywhere else leaves at most WAITERS set: one
 *     spurious wake-up.
 * What it cannot tell: a process killed between its compare-and-swap and
 * its store of start, whose pid a new process takes before anyone looks,
 * is taken for alive until that process ends too; so is any reused pid
 * where the start time cannot be asked (proc-pid.c); and other processes
 * wait for a holder that exec'd until its new program locks the mutex or
 * ends.  A pid means
 * something in one PID namespace only: -EXDEV from any other, as in
 * mutex-pthread.c.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "sync.h"

/* Inline cmpxchg8b on i386 counts as "sometimes" (1); configure checked
 * that it links without libatomic. */
#if ATOMIC_LLONG_LOCK_FREE == 0
#error "the portable mutex needs a lock-free 64-bit compare-and-swap: configure --with-mutex=none"
#endif

#define WAITERS ((uint64_t)0x80000000u)
#define GEN_MASK ((uint64_t)0x7fffffffu)
#define PID_ENDED 0xffffffffu
#define PID_PLAUSIBLE_MAX 0x3fffffffu /* above: not a pid, overwritten */
#define PORTABLE_MAGIC 0x6d687375u   /* "ushm" */
#define LOOK_MS 10                     /* README: how soon a dead holder is seen */
#define SPINS 200                      /* before a contended lock sleeps */

struct portable_lock {
    _Atomic uint64_t owner;
    _Atomic uint64_t start;
    atomic_uint thread;
    atomic_uint wake;
    atomic_uint magic;
    atomic_uint image;
};

struct portable_box {
    struct ushm__mutex_head head;
    struct portable_lock lk;
};

#define LOCKED_AT_OFFSET 56
_Static_assert(sizeof(struct portable_box) <= LOCKED_AT_OFFSET,
               "the portable lock does not fit in ushm_mutex_t");
_Static_assert(offsetof(struct portable_box, lk.owner) == 8,
               "the owner word follows the 8-byte head");
_Static_assert(sizeof(pid_t) <= 4, "a pid fits the owner word's 32 bits");

static atomic_uintptr_t *locked_at(ushm_mutex_t *m)
{
    return (atomic_uintptr_t *)(void *)(m->opaque_ + LOCKED_AT_OFFSET);
}

/* ---- who this is ------------------------------------------------------ */

/* The pid (0: not asked since start or fork: getpid() is a system call),
 * the stamp of the process's start time (0: unknown), and this program's
 * image number (never 0; static storage starts again at each exec). */
static atomic_uint self_pid, self_stamp, self_image;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;
static atomic_uint thread_serials;
static _Thread_local unsigned self_thread USHM__HELD_TLS_MODEL;

static void self_forget(void)
{
    atomic_store_explicit(&self_pid, 0, memory_order_relaxed);
}

static void self_setup(void)
{
    pthread_atfork(NULL, NULL, self_forget);
}

/* 32 bits of a start time, never 0 (0 means "cannot tell"). */
static unsigned stamp_of(uint64_t start)
{
    unsigned s = (unsigned)(start ^ (start >> 32));

    return start == 0 ? 0 : s != 0 ? s : 1;
}

static unsigned self_slow(void)
{
    pid_t pid = getpid();
    uint64_t start;

    pthread_once(&self_once, self_setup);
    if (atomic_load_explicit(&self_image, memory_order_relaxed) == 0) {
        struct timespec t = ushm__mono_now();
        unsigned img = (unsigned)t.tv_nsec ^ (unsigned)t.tv_sec * 2654435761u ^
                       (unsigned)(uintptr_t)&self_image ^ (unsigned)pid;

        atomic_store_explicit(&self_image, img != 0 ? img : 1, memory_order_relaxed);
    }
    ushm__process_gone(pid, &start);
    atomic_store_explicit(&self_stamp, stamp_of(start), memory_order_relaxed);
    atomic_store_explicit(&self_pid, (unsigned)pid, memory_order_release);
    return (unsigned)pid;
}

static inline unsigned self(void)
{
    unsigned pid = atomic_load_explicit(&self_pid, memory_order_acquire);

    return pid != 0 ? pid : self_slow();
}

static inline unsigned self_serial(void)
{
    while (self_thread == 0)
        self_thread = atomic_fetch_add_explicit(&thread_serials, 1,
                                                memory_order_relaxed) + 1;
    return self_thread;
}

/* ---- the owner word --------------------------------------------------- */

/* Take a mutex whose owner word was o: the new word, gen counted on; then
 * say who holds it.  0 when somebody else changed o first. */
static inline int take(struct portable_lock *lk, uint64_t o, uint64_t flags)
{
    uint64_t gen = (o + 1) & GEN_MASK;
    uint64_t n = ((uint64_t)self() << 32) | flags | gen;

    if (!atomic_compare_exchange_strong_explicit(&lk->owner, &o, n,
                                                 memory_order_acquire,
                                                 memory_order_relaxed))
        return 0;
    /* A reader that sees what follows sees the owner word changed too
     * (same_acquisition()); x86: no instruction. */
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&lk->thread, self_serial(), memory_order_relaxed);
    atomic_store_explicit(&lk->image, atomic_load_explicit(&self_image,
                                                           memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&lk->start,
                          ((uint64_t)atomic_load_explicit(&self_stamp,
                                                          memory_order_relaxed)
                           << 32) | gen,
                          memory_order_release);
    return 1;
}

/* Whether acquisition o still holds the mutex (WAITERS aside), so that
 * thread and image read since o are its holder's: a later holder stores
 * its own after its compare-and-swap and before its start, so a start
 * that names o's gen does not prove them o's. */
static int same_acquisition(struct portable_lock *lk, uint64_t o)
{
    atomic_thread_fence(memory_order_acquire);
    return ((atomic_load_explicit(&lk->owner, memory_order_relaxed) ^ o) &
            ~WAITERS) == 0;
}

/* Whether the acquisition o is this thread's (through any mapping).  A
 * thread of a process forked from the same program has our image and may
 * have our serial: without the last check, a thread of ours that let the
 * mutex go and such a thread that took it made -EDEADLK here. */
static int held_by_me(struct portable_lock *lk, uint64_t o)
{
    uint64_t slot = atomic_load_explicit(&lk->start, memory_order_acquire);

    return (unsigned)(o >> 32) == self() && (slot & GEN_MASK) == (o & GEN_MASK) &&
           (unsigned)(slot >> 32) == atomic_load_explicit(&self_stamp,
                                                          memory_order_relaxed) &&
           atomic_load_explicit(&lk->image, memory_order_relaxed) ==
               atomic_load_explicit(&self_image, memory_order_relaxed) &&
           atomic_load_explicit(&lk->thread, memory_order_relaxed) == self_serial() &&
           same_acquisition(lk, o);
}

/* Whether the holder of acquisition o is gone: its thread ended holding it,
 * or its process is dead, or its pid now names a later process. */
static int holder_gone(struct portable_lock *lk, uint64_t o)
{
    unsigned pid = (unsigned)(o >> 32), stamp, stored;
    uint64_t slot, start = 0;

    if (pid == PID_ENDED)
        return 1;
    slot = atomic_load_explicit(&lk->start, memory_order_acquire);
    if (pid == self()) {
        /* Our threads mark what they hold as they end; what this process
         * held before an exec() is dead to this program. */
        if ((slot & GEN_MASK) == (o & GEN_MASK) &&
            atomic_load_explicit(&lk->image, memory_order_relaxed) !=
                atomic_load_explicit(&self_image, memory_order_relaxed) &&
            same_acquisition(lk, o))
            return 1;
        stamp = atomic_load_explicit(&self_stamp, memory_order_relaxed);
    } else if (ushm__process_gone((pid_t)pid, &start))
        return 1;
    else
        stamp = stamp_of(start);
    stored = (unsigned)(slot >> 32);
    if ((slot & GEN_MASK) != (o & GEN_MASK) || stamp == 0 || stored == 0)
        return 0; /* not stored yet, or nothing to compare */
    return stored != stamp;
}

/* ---- set-up and checks ------------------------------------------------ */

/* The bytes may hold anything a set-up cut short left there. */
static int pt_init(void *lock)
{
    struct portable_lock *lk = lock;

    atomic_store_explicit(&lk->owner, 0, memory_order_relaxed);
    atomic_store_explicit(&lk->start, 0, memory_order_relaxed);
    atomic_store_explicit(&lk->thread, 0, memory_order_relaxed);
    atomic_store_explicit(&lk->wake, 0, memory_order_relaxed);
    atomic_store_explicit(&lk->magic, PORTABLE_MAGIC, memory_order_relaxed);
    atomic_store_explicit(&lk->image, 0, memory_order_relaxed);
    return 0;
}

/* Whether bytes behind a state word of 0 show a holder: a program that
 * zeroes the mutex was killed half-way (mutex.c sets up again what does
 * not).  Held, or marked by a thread that ended holding it: a pid in the
 * owner word; and thread is 0 only while nobody holds it. */
static int pt_looks_held(const void *lock)
{
    const struct portable_lock *lk = lock;

    return atomic_load_explicit(&lk->owner, memory_order_relaxed) >> 32 != 0 ||
           atomic_load_explicit(&lk->thread, memory_order_relaxed) != 0;
}

static const struct ushm__mutex_kind pt_kind = {
    .tag = USHM__MUTEX_TAG_OF(USHM__MUTEX_MAGIC_PORTABLE,
                              sizeof(struct portable_lock)),
    .lock_type = "libushm's portable mutex",
    .holder_id = "process id",
    .init_call = "the portable mutex's set-up",
    .init = pt_init,
    .looks_held = pt_looks_held,
};

static int pt_overwritten(const char *func, const void *m)
{
    return ushm__fail(EPROTO, "%s(%p): the mutex's bytes were overwritten: "
                      "they no longer hold libushm's portable mutex", func, m);
}

static int pt_rdonly(const char *func, const void *m)
{
    return ushm__fail(EACCES, "%s(%p): the mutex is in a USHM_RDONLY "
                      "mapping: locking and unlocking write it", func, m);
}

/* What a lock checks before it touches the lock: 0 or -errno. */
static inline int pt_usable(ushm_mutex_t *m, const char *func)
{
    struct portable_box *mx = (struct portable_box *)(void *)m;
    unsigned ns = atomic_load_explicit(&mx->head.pidns, memory_order_relaxed);

    if (ns != 0 && ns != ushm__pidns() && ushm__pidns() != USHM__PIDNS_UNKNOWN)
        return ushm__mutex_other_pidns(func, m, ns, &pt_kind);
    if (atomic_load_explicit(&mx->lk.magic, memory_order_relaxed) != PORTABLE_MAGIC)
        return pt_overwritten(func, m);
    return 0;
}

/* ---- lock ------------------------------------------------------------- */

/* The earlier of deadline (NULL: none) and t. */
static const struct timespec *earlier(const struct timespec *deadline,
                                      const struct timespec *t)
{
    if (deadline != NULL && (deadline->tv_sec < t->tv_sec ||
                             (deadline->tv_sec == t->tv_sec &&
                              deadline->tv_nsec < t->tv_nsec)))
        return deadline;
    return t;
}

/* The mutex was not free at first sight: 0, USHM_OWNERDEAD or -errno. */
static int lock_slow(ushm_mutex_t *m, const char *func, long ms,
                     const struct timespec *deadline, int busy)
{
    struct portable_lock *lk = &((struct portable_box *)(void *)m)->lk;
    struct timespec look_at = ushm__mono_now(); /* look at the holder at once */
    unsigned spins = ms != 0 && ushm__spin_worthwhile() ? SPINS : 0;
    uint64_t slept = 0; /* WAITERS once we slept: others may sleep too */
    long backoff = 0;

    for (;;) {
        uint64_t o = atomic_load_explicit(&lk->owner, memory_order_acquire);
        unsigned pid = (unsigned)(o >> 32), seen;

        if (pid == 0) {
            if (take(lk, o, slept))
                return 0;
            continue;
        }
        if (pid != PID_ENDED && pid > PID_PLAUSIBLE_MAX)
            return pt_overwritten(func, m);
        if (held_by_me(lk, o)) /* through another mapping */
            return ushm__mutex_held_already(func, m);
        if (spins > 0 && pid != PID_ENDED) {
            spins--;
            ushm__cpu_relax();
            continue;
        }
        if (pid == PID_ENDED || ushm__deadline_passed(&look_at)) {
            if (holder_gone(lk, o)) {
                /* Its waiters may sleep: whoever unlocks next wakes them. */
                if (take(lk, o, WAITERS))
                    return USHM_OWNERDEAD;
                continue;
            }
            look_at = ushm__deadline_after(LOOK_MS);
        }
        if (ms == 0)
            return ushm__mutex_lock_failed(func, m, ms, busy, EBUSY);
        if (ms > 0 && ushm__deadline_passed(deadline))
            return ushm__mutex_lock_failed(func, m, ms, busy, ETIMEDOUT);
        /* Read before WAITERS is set: an unlock after that bumps it. */
        seen = atomic_load_explicit(&lk->wake, memory_order_seq_cst);
        if (!(o & WAITERS) &&
            !atomic_compare_exchange_strong_explicit(&lk->owner, &o, o | WAITERS,
                                                     memory_order_seq_cst,
                                                     memory_order_relaxed))
            continue;
        slept = WAITERS;
        /* Signals end the sleep early; the loop goes on. */
        ushm__wait_on_word(&lk->wake, seen,
                           earlier(ms > 0 ? deadline : NULL, &look_at),
                           &backoff);
    }
}

/* busy: what a mutex held elsewhere gives when ms == 0. */
static int mutex_acquire(ushm_mutex_t *m, const char *func, long ms, int busy)
{
    struct portable_box *mx = (struct portable_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    struct timespec deadline = { 0, 0 };
    uint64_t o;
    int err;

    if ((err = ushm__sync_check(func, m, "mutex")) < 0)
        return err;
    if (ushm__held_index(hl, m) >= 0)
        return ushm__mutex_held_already(func, m);
    if (ms > 0)
        deadline = ushm__deadline_after(ms);
    /* Before the set-up, which writes. */
    if (ushm__rdonly_has(m, sizeof *m))
        return pt_rdonly(func, m);
    if ((err = ushm__held_reserve(hl, func, m)) < 0 ||
        (err = ushm__mutex_ready(&mx->head, &mx->lk, &pt_kind, func, ms,
                                 &deadline, busy)) < 0 ||
        (err = pt_usable(m, func)) < 0)
        return err;
    o = atomic_load_explicit(&mx->lk.owner, memory_order_relaxed);
    if (o >> 32 != 0 || !take(&mx->lk, o, 0))
        if ((err = lock_slow(m, func, ms, &deadline, busy)) < 0)
            return err;
    atomic_store_explicit(locked_at(m), (uintptr_t)m, memory_order_relaxed);
    ushm__held_push(hl, m);
    return err; /* 0 or USHM_OWNERDEAD */
}

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

/* ---- unlock ----------------------------------------------------------- */

/* Free the mutex this thread holds (entry i of its list): 0 or -EPROTO. */
static int release(ushm_mutex_t *m, struct ushm__held_list *hl, size_t i)
{
    struct portable_lock *lk = &((struct portable_box *)(void *)m)->lk;
    uint64_t o = atomic_load_explicit(&lk->owner, memory_order_relaxed);
    int cleared = 0;

    do {
        if ((unsigned)(o >> 32) != self()) {
            /* Ours no more: only bytes written over ours do that. */
            ushm__held_remove(hl, i);
            return pt_overwritten("ushm_mutex_unlock", m);
        }
        if (!cleared) { /* before the owner word lets a new holder in */
            atomic_store_explicit(&lk->thread, 0, memory_order_relaxed);
            cleared = 1;
        }
    } while (!atomic_compare_exchange_weak_explicit(&lk->owner, &o, o & GEN_MASK,
                                                    memory_order_release,
                                                    memory_order_relaxed));
    if (o & WAITERS) {
        atomic_fetch_add_explicit(&lk->wake, 1, memory_order_seq_cst);
        ushm__wake_word(&lk->wake);
    }
    ushm__held_remove(hl, i);
    return 0;
}

/* Not locked at this address by this thread, but maybe through another
 * mapping of the same segment: the holder wrote the address it locked
 * through at the end of the mutex, and the owner word says whose it is. */
static int unlock_elsewhere(ushm_mutex_t *m)
{
    struct portable_box *mx = (struct portable_box *)(void *)m;
    struct ushm__held_list *hl = &ushm__held;
    const char *func = "ushm_mutex_unlock";
    long i;
    int err;

    if (atomic_load_explicit(&mx->head.state, memory_order_acquire) !=
        pt_kind.tag)
        return ushm__mutex_not_held(m);
    if (ushm__rdonly_has(m, sizeof *m))
        return pt_rdonly(func, m);
    if ((err = pt_usable(m, func)) < 0)
        return err;
    i = ushm__held_index(hl, (const void *)atomic_load_explicit(
                                 locked_at(m), memory_order_relaxed));
    if (i < 0 || !held_by_me(&mx->lk, atomic_load_explicit(
                                          &mx->lk.owner, memory_order_acquire)))
        return ushm__mutex_not_held(m);
    return release(m, hl, (size_t)i);
}

int ushm_mutex_unlock(ushm_mutex_t *m)
{
    struct ushm__held_list *hl = &ushm__held;
    long i;
    int err;

    if ((err = ushm__sync_check("ushm_mutex_unlock", m, "mutex")) < 0)
        return err;
    if ((i = ushm__held_index(hl, m)) < 0)
        return unlock_elsewhere(m);
    /* Locked here, so the namespace and the magic were checked then. */
    if (ushm__rdonly_has(m, sizeof *m))
        return pt_rdonly("ushm_mutex_unlock", m);
    return release(m, hl, (size_t)i);
}

/* The calling thread ends holding m: mark it for the next locker, who gets
 * USHM_OWNERDEAD, and wake the waiters so that one takes it now. */
void ushm__mutex_thread_ended(void *mp)
{
    struct portable_lock *lk = &((struct portable_box *)mp)->lk;
    uint64_t o = atomic_load_explicit(&lk->owner, memory_order_relaxed);

    do
        if (!held_by_me(lk, o))
            return;
    while (!atomic_compare_exchange_weak_explicit(
        &lk->owner, &o, ((uint64_t)PID_ENDED << 32) | (o & GEN_MASK),
        memory_order_release, memory_order_relaxed));
    atomic_fetch_add_explicit(&lk->wake, 1, memory_order_seq_cst);
    ushm__wake_word(&lk->wake);
}

/* A process that dies changes nothing here (its end is found by its PID):
 * no word to watch. */
const atomic_uint *ushm__mutex_end_word(const ushm_mutex_t *m)
{
    (void)m;
    return NULL;
}
