/* SPDX-License-Identifier: MIT */
/*
 * What every mutex implementation shares, off the uncontended path: the
 * state word in front of its lock (internal.h), with its ABI tag and the
 * set-up on first use that survives a set-up cut short; and the sentences
 * of a lock that failed.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* This process's PID namespace (the inode of /proc/self/ns/pid, which the
 * kernel keeps below 2^32), USHM__PIDNS_UNKNOWN without /proc; 0 until
 * asked, and again in the child of fork(), which unshare(CLONE_NEWPID) may
 * have put in another one. */
atomic_uint ushm__pidns_cache;
static pthread_once_t pidns_once = PTHREAD_ONCE_INIT;

static void pidns_forget(void)
{
    atomic_store_explicit(&ushm__pidns_cache, 0, memory_order_relaxed);
}

static void pidns_setup(void)
{
    pthread_atfork(NULL, NULL, pidns_forget);
}

unsigned ushm__pidns_slow(void)
{
    struct stat st;
    unsigned ns = USHM__PIDNS_UNKNOWN;

    pthread_once(&pidns_once, pidns_setup);
    if (stat("/proc/self/ns/pid", &st) == 0 && (unsigned)st.st_ino > 1)
        ns = (unsigned)st.st_ino;
    atomic_store_explicit(&ushm__pidns_cache, ns, memory_order_relaxed);
    return ns;
}

int ushm__mutex_other_pidns(const char *func, const void *m, unsigned theirs,
                            const struct ushm__mutex_kind *kind)
{
    return ushm__fail(EXDEV, "%s(%p): the mutex was set up in PID namespace "
                      "%u and this process is in %u: %s knows its holder by "
                      "%s, and those repeat across PID namespaces, so "
                      "libushm refuses rather than risk two holders (README: "
                      "PID namespaces)", func, m, theirs, ushm__pidns(),
                      kind->lock_type, kind->holder_id);
}

static const char *libc_name(unsigned id)
{
    return id == USHM__LIBC_GLIBC ? "glibc" : id == USHM__LIBC_MUSL ? "musl" :
           id == USHM__LIBC_OTHER ? "another C library" : "an unknown C library";
}

/* The kinds of lock a tag may name (configure --with-mutex): whichever
 * this program has, it can name the other's. */
static const char *lock_type_of(unsigned tag)
{
    return tag >> 24 == USHM__MUTEX_MAGIC ? "pthread_mutex_t"
                                          : "libushm's portable mutex";
}

static void abi_text(char *buf, size_t len, unsigned tag)
{
    snprintf(buf, len, "a %u-bit %s program (%s of %u bytes)",
             ((tag >> 8) & 0xffu) * 8, libc_name((tag >> 16) & 0xffu),
             lock_type_of(tag), tag & 0xffu);
}

static int abi_mismatch(const char *func, const void *m, unsigned tag,
                        const struct ushm__mutex_kind *kind)
{
    char theirs[112], ours[112], what[128] = "";

    if (tag >> 24 != USHM__MUTEX_MAGIC && tag >> 24 != USHM__MUTEX_MAGIC_PORTABLE)
        return ushm__fail(EPROTO, "%s(%p): these bytes are not a "
                          "ushm_mutex_t (state word 0x%08x): memory that was "
                          "not zero-filled, or overwritten", func, m, tag);
    abi_text(theirs, sizeof theirs, tag);
    abi_text(ours, sizeof ours, kind->tag);
    if (tag >> 24 != kind->tag >> 24)
        strcat(what, ", kind of lock (configure --with-mutex)");
    if (((tag >> 8) & 0xffu) != ((kind->tag >> 8) & 0xffu))
        strcat(what, ", word size");
    if (((tag >> 16) & 0xffu) != ((kind->tag >> 16) & 0xffu))
        strcat(what, ", C library");
    if (tag >> 24 == kind->tag >> 24 && (tag & 0xffu) != (kind->tag & 0xffu))
        snprintf(what + strlen(what), sizeof what - strlen(what),
                 ", size of %s", kind->lock_type);
    return ushm__fail(EPROTO, "%s(%p): the mutex was initialised by %s and "
                      "this is %s: they differ in %s", func, m, theirs, ours,
                      what[0] != '\0' ? what + 2 : "layout");
}

/* Set-ups under way in this process, to tell a claim of ours from a stale
 * one left by a dead process that had the same pid. */
static atomic_int initialising_here;

/* Whether the bytes after the state word are all zero, as in a mutex that
 * was never used. */
static int body_is_zero(const struct ushm__mutex_head *head)
{
    const unsigned char *p = (const unsigned char *)head + sizeof head->state;

    for (size_t i = sizeof head->state; i < sizeof(ushm_mutex_t); i++, p++)
        if (*p != 0)
            return 0;
    return 1;
}

/* Claim a fresh mutex, or one whose initialiser died, and set up its lock:
 * 0, 1 when somebody else claimed it first, or a negative errno. */
static int mutex_claim(struct ushm__mutex_head *head, void *lock,
                       const struct ushm__mutex_kind *kind, const char *func,
                       unsigned seen, unsigned self)
{
    int err;

    atomic_fetch_add_explicit(&initialising_here, 1, memory_order_seq_cst);
    if (!atomic_compare_exchange_strong_explicit(&head->state, &seen, self,
                                                 memory_order_acquire,
                                                 memory_order_relaxed)) {
        atomic_fetch_sub_explicit(&initialising_here, 1, memory_order_seq_cst);
        return 1; /* somebody else did: look again */
    }
    /* The namespace first: whoever finds the claim dead can tell whether
     * its pid means anything in its own. */
    atomic_store_explicit(&head->pidns, ushm__pidns(), memory_order_release);
    err = kind->init(lock);
    if (err != 0) /* back to never used, whole */
        memset((unsigned char *)head + sizeof head->state, 0,
               sizeof(ushm_mutex_t) - sizeof head->state);
    atomic_store_explicit(&head->state, err == 0 ? kind->tag : 0,
                          memory_order_release);
    atomic_fetch_sub_explicit(&initialising_here, 1, memory_order_seq_cst);
    if (err != 0)
        return ushm__fail(err, "%s(%p): %s: %s", func, (void *)head,
                          kind->init_call, ushm_strerror(-err));
    return 0;
}

/*
 * Whether the set-up claimed as s is dead.  Its pid says so in the
 * claimant's own PID namespace only; from another one (or before the
 * claimant wrote its namespace) a claim that stayed the same for
 * USHM__SETUP_STALE_MS is taken for dead: a set-up takes microseconds.
 */
#define USHM__SETUP_STALE_MS 1000
static int claim_dead(const struct ushm__mutex_head *head, unsigned s,
                      unsigned self, struct timespec *first_seen,
                      unsigned *seen_claim)
{
    unsigned ns = atomic_load_explicit(&head->pidns, memory_order_acquire);
    struct timespec now;

    if (s == self)
        return atomic_load_explicit(&initialising_here,
                                    memory_order_seq_cst) == 0;
    if (ns != 0 && ns == ushm__pidns() && ns != USHM__PIDNS_UNKNOWN)
        return ushm__process_gone((pid_t)(s & ~USHM__MUTEX_INITING), NULL);
    now = ushm__mono_now();
    if (*seen_claim != s) {
        *seen_claim = s;
        *first_seen = now;
        return 0;
    }
    return (now.tv_sec - first_seen->tv_sec) * 1000L +
           (now.tv_nsec - first_seen->tv_nsec) / 1000000L >= USHM__SETUP_STALE_MS;
}

int ushm__mutex_setup(struct ushm__mutex_head *head, void *lock,
                      const struct ushm__mutex_kind *kind, const char *func,
                      long ms, const struct timespec *deadline, int busy)
{
    struct timespec first_seen = { 0, 0 };
    unsigned self = 0, seen_claim = 0;

    for (long rounds = 0;; rounds++) {
        unsigned s = atomic_load_explicit(&head->state, memory_order_acquire);
        int err;

        if (s == kind->tag)
            return 0;
        if (s != 0 && !(s & USHM__MUTEX_INITING))
            return abi_mismatch(func, head, s, kind);
        /* A state word of 0 over bytes that are not: overwritten while set
         * up, maybe while held; setting it up again could make two
         * holders. */
        if (s == 0 && !body_is_zero(head) &&
            (kind->looks_held == NULL || kind->looks_held(lock))) {
            /* Or claimed since we looked: the claimant writes the body
             * after its compare-and-swap (release), so this load sees it. */
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&head->state, memory_order_acquire) != 0)
                continue;
            return ushm__fail(EPROTO, "%s(%p): the mutex's state word is 0 "
                              "but its other bytes are not: these bytes were "
                              "overwritten, and libushm will not set them up "
                              "again over a lock that may be held", func,
                              (void *)head);
        }
        if (self == 0)
            self = USHM__MUTEX_INITING | ((unsigned)getpid() & ~USHM__MUTEX_INITING);
        if (s == 0 || claim_dead(head, s, self, &first_seen, &seen_claim)) {
            if ((err = mutex_claim(head, lock, kind, func, s, self)) <= 0)
                return err;
            continue;
        }
        if (ms == 0 || (ms > 0 && ushm__deadline_passed(deadline)))
            return ushm__fail(busy, "%s(%p): process %u is initialising the "
                              "mutex", func, (void *)head,
                              s & ~USHM__MUTEX_INITING);
        if (rounds < 100)
            sched_yield();
        else
            ushm__nap(rounds < 1000 ? 50 : 1000, ms > 0 ? deadline : NULL);
    }
}

int ushm__mutex_held_already(const char *func, const void *m)
{
    return ushm__fail(EDEADLK, "%s(%p): the calling thread already holds "
                      "this mutex", func, m);
}

int ushm__mutex_not_held(const void *m)
{
    return ushm__fail(EPERM, "ushm_mutex_unlock(%p): the calling thread "
                      "does not hold this mutex", m);
}

int ushm__mutex_lock_failed(const char *func, const void *m, long ms, int busy,
                            int err)
{
    switch (err) {
    case EBUSY:
        return ushm__fail(busy, "%s(%p%s): another thread holds the mutex",
                          func, m, busy == EBUSY ? "" : ", 0 ms");
    case ETIMEDOUT:
        return ushm__fail(ETIMEDOUT, "%s(%p, %ld ms): another thread still "
                          "held the mutex after %ld ms", func, m, ms, ms);
    case EDEADLK:
        return ushm__mutex_held_already(func, m);
    case ENOTRECOVERABLE:
        /* Only a program that locks these bytes without libushm can leave
         * them so: libushm makes an owner-dead mutex consistent at once. */
        return ushm__fail(EPROTO, "%s(%p): the mutex was left not "
                          "recoverable by a program that does not use "
                          "libushm on it", func, m);
    default:
        return ushm__fail(err, "%s(%p): %s", func, m, ushm_strerror(-err));
    }
}
