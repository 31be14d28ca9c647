/* SPDX-License-Identifier: MIT */
/*
 * ushm_queue_t: a message queue in a region of shared memory, many producers
 * and many consumers (API.md 0.3, "A message queue inside a segment").
 *
 * Layout (offsets from mem; every part on its own 64-byte line):
 *     0  header: tag (0 = never set up), bytes, the probe word
 *    64  the producers' lock word (see lease_lock)
 *   128  the consumers' lock word
 *   192  producers' line: head, sent                    (under the lock)
 *   256  consumers' line: tail, received                (under the lock)
 *   320  c_wait, p_wait (the words waiters sleep on), gen, ever
 *   384  role[places]: what the handle in each place is (32-bit words)
 *     .  place[places]: a ushm_mutex_t per attached handle
 *     .  the ring, to the end of the region
 * places (4, 16 or 64) and the ring's size follow from bytes alone, so no
 * size is read from the shared bytes but bytes itself: a scribbled header
 * can make a queue -EPROTO, never make us read outside the region. head and
 * tail count bytes since the set-up (64-bit: they never wrap). A message is
 * a record at head % ring: 4 bytes of length, 4 of its complement, the
 * bytes, padding to 8; a record may wrap around the end.
 *
 * Claim and publish.  A producer holds the producers' lock while it writes
 * its record past head and then stores head once (release); a consumer holds
 * the consumers' lock while it copies the record at tail out and then stores
 * tail once.  head and tail are the only shared state that a message
 * changes, each written by one store, so a process killed anywhere leaves
 * the queue as it was before its call or as it is after it:
 *  - nothing torn: a record is visible only after head moved past it;
 *  - nothing twice: tail moves past a record in the store that completes
 *    its receive, under the lock;
 *  - a producer killed before its head store sent nothing, after it sent
 *    the whole message: no message lost that a send returned 0 for;
 *  - a consumer killed after its tail store took one message with it: at
 *    most one lost per consumer killed, as the contract allows.
 * A lock is a word naming its holder's place (below): a waiter that finds
 * the holder's place dead or given up takes the lock over, and has nothing
 * to repair.  One compare-and-swap to lock and one exchange to unlock, where
 * a robust pthread mutex costs several times that (they were one first: a
 * third of the time per message went to them).  Each handle keeps in its own
 * memory the last tail (producer) or head (consumer) it read, to spare the
 * other side's line a miss per message: a producer reads tail only when head
 * minus its copy says the ring is full.  Both only grow, so a copy is never
 * ahead of the truth, and no other process can spoil it (in the shared
 * bytes, a scribbled copy could let a producer overwrite unread records).
 *
 * Presence.  Each handle holds a place: the place's ushm_mutex_t, locked by
 * the thread that attached, for as long as the handle is attached, and its
 * role word (ROLE_SEND | ROLE_RECV, a ticket against reuse).  When the
 * process dies (or that thread ends: documented) the kernel marks the mutex,
 * so whoever scans next, a waiting peer, an attach, a waiter for a lock it
 * held or ushm_queue_stat(), trylocks it, gets USHM_OWNERDEAD, clears the
 * role and bumps gen: the dead handle is detached.  Another thread's call on
 * a handle whose attaching thread ended is -EBADF (the locks know a holder
 * by its place); the one window left, that thread ending during another's
 * copy, is documented as a misuse.  A scan costs a trylock per occupied
 * place and no system call.  ever records that a producer (consumer) was
 * ever attached: -EPIPE is "ever, and none now".  A consumer scans only when
 * the queue is empty; a producer on every send when gen changed (an attach
 * or detach: -EPIPE at once), else at most every SCAN_EVERY_MS (a death is
 * noticed within that).  A waiter sleeps in slices of SCAN_EVERY_MS and
 * scans between them: -EPIPE within 200 ms of the death, for a cost of about
 * seven wake-ups a second while a live peer stays idle.  Attach and detach
 * wake every waiter.
 *
 * Waiting without CPU.  A consumer that finds the queue empty spins for up
 * to 20 us (on more than one CPU), then stores c_wait = 1, looks again and
 * sleeps on c_wait, expecting 1 (lib/sync/'s wait on a word: the futex,
 * _umtx_op, os_sync_wait_on_address, or polling).  A producer, after its
 * head store, loads c_wait (both sequentially consistent: one of the two
 * sees the other) and only when it is 1 exchanges it to 0 and wakes: a
 * system call only on the transitions that a sleeper waits for, none while
 * the consumer keeps up.  The same with p_wait for a full queue.  A waiter
 * that dies or times out leaves c_wait at 1: one extra wake-up in total.
 *
 * ABI.  The queue's own words have fixed sizes and offsets on every ABI; the
 * ushm_mutex_t of the places may not (a pthread mutex's layout is the C
 * library's), so the tag carries the C library and the pointer size, and a
 * queue set up by another ABI is -EPROTO at attach, naming both.  (Where the
 * mutex's bytes are the same on every ABI, a tag of the mutex's own from
 * lib/sync/ could replace these two.)
 *
 * Read-only memory.  A USHM_RDONLY mapping of this process is known to
 * lib/rdonly.c; any other read-only memory must be found without writing:
 * attach copies the probe word (never used otherwise) onto itself through a
 * pipe, write(2) then read(2): read() of a read-only page fails with EFAULT
 * instead of a SIGSEGV, on every POSIX system.  The same write(2) of the
 * region's last byte finds a region longer than the mapping.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "queue.h"
#include "sync.h"
#include "sync/internal.h" /* ushm__wait_on_word, ushm__wake_word */

#if ATOMIC_INT_LOCK_FREE != 2 || ATOMIC_LLONG_LOCK_FREE != 2
#error "ushm_queue_t needs lock-free 32-bit and 64-bit atomics"
#endif

#define LINE 64
#define ALL_ROLES (USHM_QUEUE_SEND | USHM_QUEUE_RECV)
#define ROLE_GONE 0x4u          /* detached from another thread (see detach) */
#define ROLE_TICKET(r) ((r) >> 8)
#define SCAN_EVERY_MS 150
#define SPIN_NS 20000L
#define MS 1000000L

/* ---- the shared layout -------------------------------------------------- */

struct q_fixed {
    /* 0: written once, at set-up */
    atomic_uint tag;
    uint32_t spare0_;
    _Atomic uint64_t bytes;
    uint64_t probe;             /* only ever copied onto itself */
    unsigned char pad0_[LINE - 24];
    /* 64, 128: the producers' and the consumers' lock (see lease_lock) */
    atomic_uint plock;
    unsigned char pad4_[LINE - 4];
    atomic_uint clock;
    unsigned char pad5_[LINE - 4];
    /* 192: the producers' */
    _Atomic uint64_t head;
    uint64_t spare1_;
    _Atomic uint64_t sent;
    unsigned char pad1_[LINE - 24];
    /* 256: the consumers' */
    _Atomic uint64_t tail;
    uint64_t spare2_;
    _Atomic uint64_t received;
    unsigned char pad2_[LINE - 24];
    /* 320: rarely written */
    atomic_uint c_wait;         /* 1: a consumer may sleep on it */
    atomic_uint p_wait;         /* 1: a producer may sleep on it */
    atomic_uint gen;            /* + 1 on every attach and detach */
    atomic_uint ever;           /* roles ever attached */
    unsigned char pad3_[LINE - 16];
};

_Static_assert(sizeof(struct q_fixed) == 6 * LINE, "the fixed part is 384 bytes");
_Static_assert(sizeof(ushm_mutex_t) == LINE, "a place is a line");
_Static_assert(offsetof(struct q_fixed, head) == 192 &&
               offsetof(struct q_fixed, tail) == 256 &&
               offsetof(struct q_fixed, c_wait) == 320,
               "the same offsets on every ABI");

/* The tag: "UQ", the layout's version, the C library and the pointer size
 * (which fix the ushm_mutex_t inside, a pthread mutex). */
#define TAG_MAGIC 0x5551u
#define TAG_LAYOUT 2u
#define LIBC_GLIBC 1u
#define LIBC_MUSL 2u
#define LIBC_OTHER 3u
#if defined(__GLIBC__) && !defined(__UCLIBC__)
#define THIS_LIBC LIBC_GLIBC
#elif defined(__linux__) && !defined(__UCLIBC__) && !defined(__BIONIC__) && \
      !defined(__ANDROID__)
#define THIS_LIBC LIBC_MUSL
#else
#define THIS_LIBC LIBC_OTHER
#endif
#define Q_TAG ((TAG_MAGIC << 16) | (TAG_LAYOUT << 12) | (THIS_LIBC << 8) | \
               ((unsigned)sizeof(void *) << 4))

/* Where everything is, from bytes alone. */
struct q_layout {
    unsigned places;
    size_t role_off, place_off, ring_off;
    uint64_t ring;
};

static void layout_of(size_t bytes, struct q_layout *l)
{
    l->places = bytes < 4096 ? 4 : bytes < 65536 ? 16 : 64;
    l->role_off = sizeof(struct q_fixed);
    l->place_off = l->role_off + ((l->places * 4 + LINE - 1) / LINE) * LINE;
    l->ring_off = l->place_off + (size_t)l->places * LINE;
    l->ring = (uint64_t)((bytes - l->ring_off) & ~(size_t)7);
}

/* ---- the handle, and the handles of this process ------------------------ */

struct ushm_queue {
    struct q_fixed *f;
    atomic_uint *role;
    ushm_mutex_t *place;
    unsigned char *ring;
    uint64_t ring_size;
    size_t bytes, msg_max;
    unsigned places, slot, my_role;
    int flags;
    unsigned fork_gen;
    pthread_t owner;
    /* What this handle last found of its peers (any of its threads). */
    atomic_uint seen_gen;
    atomic_uint live;           /* ALL_ROLES bits with a live handle */
    _Atomic uint64_t next_scan_ns;
    uint64_t tail_seen;         /* under the producers' lock */
    uint64_t head_stored;       /* the last head this handle stored */
    _Atomic uint64_t head_seen; /* written under the consumers' lock */
    struct ushm_queue *next;    /* the registry */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ushm_queue *registry;

/* Places of handles detached by another thread than the one that attached
 * them (only that thread can unlock a place): unlocked by that thread in
 * its next attach, detach or ushm_close(). */
struct pending_place {
    ushm_mutex_t *place;
    pthread_t owner;
    struct pending_place *next;
};
static struct pending_place *pending;
static pthread_once_t registry_once = PTHREAD_ONCE_INIT;
static atomic_uint fork_gen;    /* + 1 in every child of fork() */

static void before_fork(void) { pthread_mutex_lock(&registry_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&registry_lock); }

/* A child holds none of its parent's places: its copies of the handles
 * are not attached, and do not keep its mappings from closing. */
static void after_fork_child(void)
{
    registry = NULL;
    pending = NULL; /* the parent's: freed with this process */
    atomic_fetch_add_explicit(&fork_gen, 1, memory_order_relaxed);
    pthread_mutex_unlock(&registry_lock);
}

static void registry_setup(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* Unlock the places this thread holds for handles that other threads
 * detached.  Under registry_lock. */
static void release_pending(void)
{
    for (struct pending_place **p = &pending; *p != NULL;) {
        struct pending_place *e = *p;

        if (!pthread_equal(e->owner, pthread_self())) {
            p = &e->next;
            continue;
        }
        /* Nothing but the unlock, which touches the mutex only if this
         * thread holds it (a thread with a reused id does not): the role
         * word says ROLE_GONE until the next attach takes the place. */
        ushm_mutex_unlock(e->place);
        *p = e->next;
        free(e);
    }
}

static void registry_add(struct ushm_queue *q)
{
    pthread_mutex_lock(&registry_lock);
    release_pending();
    q->next = registry;
    registry = q;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(struct ushm_queue *q)
{
    pthread_mutex_lock(&registry_lock);
    release_pending();
    for (struct ushm_queue **p = &registry; *p != NULL; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            break;
        }
    pthread_mutex_unlock(&registry_lock);
}

int ushm__queue_attached_in(const void *addr, size_t len)
{
    uintptr_t lo = (uintptr_t)addr;
    int found = 0;

    pthread_mutex_lock(&registry_lock);
    release_pending(); /* so that a place's mutex keeps no mapping busy */
    for (const struct ushm_queue *q = registry; q != NULL && !found; q = q->next) {
        uintptr_t m = (uintptr_t)q->f;

        found = m < lo + len && lo < m + q->bytes;
    }
    pthread_mutex_unlock(&registry_lock);
    return found;
}

/* ---- time ---------------------------------------------------------------- */

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* For the scans' schedule only: a tick's resolution is enough. */
static uint64_t coarse_ns(void)
{
#ifdef CLOCK_MONOTONIC_COARSE
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) == 0)
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
    return mono_ns();
}

static struct timespec ts_of(uint64_t ns)
{
    struct timespec ts;

    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}

static void cpu_relax(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __asm__ __volatile__("pause");
#elif defined(__GNUC__) && defined(__aarch64__)
    __asm__ __volatile__("yield");
#else
    sched_yield();
#endif
}

static int many_cpus(void)
{
    static atomic_int cpus; /* 0: not asked yet */
    int n = atomic_load_explicit(&cpus, memory_order_relaxed);

    if (n == 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
        atomic_store_explicit(&cpus, n, memory_order_relaxed);
    }
    return n > 1;
}

/* ---- waking ---------------------------------------------------------------- */

static void wake(atomic_uint *w)
{
    if (atomic_exchange_explicit(w, 0, memory_order_seq_cst) != 0)
        ushm__wake_word(w);
}

/* Everyone waiting looks again: at the queue and at who is attached. */
static void wake_all(struct q_fixed *f)
{
    atomic_fetch_add_explicit(&f->gen, 1, memory_order_seq_cst);
    atomic_store_explicit(&f->c_wait, 1, memory_order_relaxed);
    atomic_store_explicit(&f->p_wait, 1, memory_order_relaxed);
    wake(&f->c_wait);
    wake(&f->p_wait);
}

/* ---- presence -------------------------------------------------------------- */

/* A mutex call on a place failed: its sentence, in ours.  What the mutex
 * says of the system (no robust mutex, another PID namespace, read-only
 * memory) is passed on; anything else means the bytes are not right. */
static int mutex_failed(int e, const char *func, const void *mem,
                        const char *what)
{
    char why[400];

    snprintf(why, sizeof why, "%s", ushm_last_error());
    return ushm__fail(e == -ENOTSUP || e == -EXDEV || e == -EACCES ? -e : EPROTO,
                      "%s(%p): %s: %s", func, mem, what, why);
}

static int role_bad(unsigned r)
{
    return (r & ~(ALL_ROLES | ROLE_GONE | 0xffffff00u)) != 0 ||
           ((r & ALL_ROLES) == 0 && r != 0);
}

/* Count the live handles (ALL_ROLES bits in *live); a place whose holder
 * died is freed on the way.  0, or -EPROTO (the bytes were overwritten). */
static int scan(struct ushm_queue *q, const char *func, unsigned *live)
{
    int freed = 0, err = 0;

    *live = 0;
    for (unsigned i = 0; i < q->places; i++) {
        unsigned r = atomic_load_explicit(&q->role[i], memory_order_acquire);
        int e;

        if (r == 0 || (r & ROLE_GONE))
            continue;
        if (role_bad(r)) {
            err = ushm__fail(EPROTO, "%s(%p): place %u of the queue holds "
                             "0x%08x: the queue's bytes were overwritten",
                             func, (void *)q->f, i, r);
            break;
        }
        e = ushm_mutex_trylock(&q->place[i]);
        if (e == -EBUSY || e == -EDEADLK) {
            *live |= r & ALL_ROLES;
            continue;
        }
        if (e < 0) {
            err = mutex_failed(e, func, q->f, "a place of the queue");
            break;
        }
        /* Its holder died (or detached just now): the place is free. */
        if (atomic_load_explicit(&q->role[i], memory_order_relaxed) != 0) {
            atomic_store_explicit(&q->role[i], 0, memory_order_release);
            freed = 1;
        }
        ushm_mutex_unlock(&q->place[i]);
    }
    if (freed)
        wake_all(q->f);
    return err;
}

/*
 * 1 when the other side (want: ROLE bits of the peers this call needs) has
 * had a handle attached and has none now; 0 otherwise; or -EPROTO.  It
 * scans when an attach or detach happened since the last scan, when force
 * is set (a waiter's slice has ended), and at least every SCAN_EVERY_MS.
 */
static int peers_gone(struct ushm_queue *q, const char *func, unsigned want,
                      int force)
{
    struct q_fixed *f = q->f;
    unsigned g = atomic_load_explicit(&f->gen, memory_order_acquire);
    unsigned live;

    if (!force && g == atomic_load_explicit(&q->seen_gen, memory_order_relaxed)) {
        uint64_t now = coarse_ns();

        if (now < atomic_load_explicit(&q->next_scan_ns, memory_order_relaxed)) {
            live = atomic_load_explicit(&q->live, memory_order_relaxed);
            goto decide;
        }
    }
    {
        int err = scan(q, func, &live);

        if (err < 0)
            return err;
    }
    atomic_store_explicit(&q->live, live, memory_order_relaxed);
    atomic_store_explicit(&q->seen_gen, g, memory_order_relaxed);
    atomic_store_explicit(&q->next_scan_ns, coarse_ns() + SCAN_EVERY_MS * (uint64_t)MS,
                          memory_order_relaxed);
decide:
    return (atomic_load_explicit(&f->ever, memory_order_acquire) & want) &&
           !(live & want);
}

/* ---- set-up and attach ---------------------------------------------------------- */

static const char *libc_name(unsigned id)
{
    return id == LIBC_GLIBC ? "glibc" : id == LIBC_MUSL ? "musl" :
           id == LIBC_OTHER ? "another C library" : "an unknown C library";
}

static int not_a_queue(const char *func, const void *mem, unsigned tag)
{
    if (tag >> 16 == TAG_MAGIC && ((tag >> 12) & 0xfu) == TAG_LAYOUT)
        return ushm__fail(EPROTO, "%s(%p): the queue was set up by a %u-bit "
                          "%s program and this is a %u-bit %s one: the "
                          "mutexes inside differ", func, mem,
                          ((tag >> 4) & 0xfu) * 8, libc_name((tag >> 8) & 0xfu),
                          (unsigned)sizeof(void *) * 8, libc_name(THIS_LIBC));
    return ushm__fail(EPROTO, "%s(%p): these bytes are not a ushm_queue_t of "
                      "this library (first word 0x%08x): not zero-filled, or "
                      "overwritten", func, mem, tag);
}

static int zero_from(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* 1 when the header is zero and the rest of the fixed part is not, and no
 * attach has set the queue up meanwhile (it writes only after its tag). */
static int garbage_behind_zero(struct q_fixed *f, const struct q_layout *l)
{
    if (atomic_load_explicit(&f->bytes, memory_order_acquire) != 0 ||
        zero_from((const unsigned char *)f, 16, l->ring_off))
        return 0;
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(&f->tag, memory_order_acquire) == 0;
}

/*
 * -EFAULT for memory that is not all mapped, -EPROTO for bytes that are
 * plainly not a queue, -EACCES for read-only memory: found in that order,
 * without a fault and without writing to memory that is not a queue (see
 * the comment at the top).
 */
static int probe(const char *func, struct q_fixed *f, size_t bytes,
                 const struct q_layout *l)
{
    int fd[2], err = 0;
    unsigned char last;
    unsigned tag;

    if (pipe(fd) != 0)
        return ushm__fail(errno, "%s(%p): pipe() to probe the memory: %s",
                          func, (void *)f, ushm_strerror(errno));
    if (write(fd[1], (unsigned char *)f + bytes - 1, 1) != 1 ||
        read(fd[0], &last, 1) != 1 ||
        write(fd[1], &f->probe, sizeof f->probe) != sizeof f->probe) {
        err = ushm__fail(EFAULT, "%s(%p, %zu bytes): the region is not all "
                         "mapped", func, (void *)f, bytes);
    } else if ((tag = atomic_load_explicit(&f->tag, memory_order_acquire)) != 0 &&
               tag != Q_TAG) {
        err = not_a_queue(func, f, tag);
    } else if (tag == 0 && garbage_behind_zero(f, l)) {
        err = ushm__fail(EPROTO, "%s(%p): these bytes are not a ushm_queue_t: "
                         "its first bytes are zero and the rest is not", func,
                         (void *)f);
    } else if (read(fd[0], &f->probe, sizeof f->probe) != sizeof f->probe) {
        err = ushm__fail(EACCES, "%s(%p): the region is mapped read-only "
                         "(USHM_RDONLY): a queue's users write to it", func,
                         (void *)f);
    }
    close(fd[0]);
    close(fd[1]);
    return err;
}

/* The header made ours: set up if all zero, else checked. */
static int set_up(const char *func, struct q_fixed *f, size_t bytes,
                  const struct q_layout *l)
{
    unsigned tag = atomic_load_explicit(&f->tag, memory_order_acquire);
    uint64_t b;

    if (tag == 0) {
        b = atomic_load_explicit(&f->bytes, memory_order_acquire);
        if (b == 0 && !zero_from((const unsigned char *)f, 8 + 8, l->ring_off)) {
            /* Another attach may have finished the set-up meanwhile. */
            atomic_thread_fence(memory_order_seq_cst);
            tag = atomic_load_explicit(&f->tag, memory_order_acquire);
            if (tag != Q_TAG)
                return tag != 0 ? not_a_queue(func, f, tag) :
                       ushm__fail(EPROTO, "%s(%p): these bytes are not a "
                                  "ushm_queue_t: its first bytes are zero "
                                  "and the rest is not", func, (void *)f);
        }
        if (tag == 0) {
            b = 0;
            atomic_compare_exchange_strong_explicit(&f->bytes, &b, bytes,
                                                    memory_order_acq_rel,
                                                    memory_order_acquire);
            if (b != 0 && b != bytes)
                goto size;
            tag = 0;
            if (!atomic_compare_exchange_strong_explicit(&f->tag, &tag, Q_TAG,
                                                         memory_order_acq_rel,
                                                         memory_order_acquire) &&
                tag != Q_TAG)
                return not_a_queue(func, f, tag);
            tag = Q_TAG;
        }
        /* Nothing of ours is written before the tag is visible. */
        atomic_thread_fence(memory_order_seq_cst);
    }
    if (tag != Q_TAG)
        return not_a_queue(func, f, tag);
    b = atomic_load_explicit(&f->bytes, memory_order_acquire);
    if (b == bytes)
        return 0;
size:
    if (b < USHM_QUEUE_BYTES_MIN || b > USHM_QUEUE_BYTES_MAX)
        return ushm__fail(EPROTO, "%s(%p): the queue's size word says %llu "
                          "bytes: overwritten", func, (void *)f,
                          (unsigned long long)b);
    return ushm__fail(EINVAL, "%s(%p, %zu bytes): the queue there has %llu "
                      "bytes: attach it with that size", func, (void *)f,
                      bytes, (unsigned long long)b);
}

static int check_region(const char *func, const void *mem, size_t bytes)
{
    if (mem == NULL)
        return ushm__fail(EINVAL, "%s: mem is NULL", func);
    if ((uintptr_t)mem % LINE != 0)
        return ushm__fail(EINVAL, "%s(%p): mem is not %d-byte aligned", func,
                          mem, LINE);
    if (bytes < USHM_QUEUE_BYTES_MIN || bytes > USHM_QUEUE_BYTES_MAX)
        return ushm__fail(EINVAL, "%s(%p, %zu bytes): a queue takes %d to %zu "
                          "bytes", func, mem, bytes, USHM_QUEUE_BYTES_MIN,
                          (size_t)USHM_QUEUE_BYTES_MAX);
    if ((uintptr_t)mem + bytes < (uintptr_t)mem)
        return ushm__fail(EINVAL, "%s(%p, %zu bytes): past the end of the "
                          "address space", func, mem, bytes);
    return 0;
}

static void handle_init(struct ushm_queue *q, void *mem, size_t bytes,
                        const struct q_layout *l)
{
    memset(q, 0, sizeof *q);
    q->f = mem;
    q->role = (atomic_uint *)(void *)((unsigned char *)mem + l->role_off);
    q->place = (ushm_mutex_t *)(void *)((unsigned char *)mem + l->place_off);
    q->ring = (unsigned char *)mem + l->ring_off;
    q->ring_size = l->ring;
    q->bytes = bytes;
    q->msg_max = (size_t)l->ring - 8;
    q->places = l->places;
}

/* Take a free place (or one whose holder died) and hold it. */
static int take_place(struct ushm_queue *q, int flags)
{
    struct q_fixed *f = q->f;

    for (unsigned i = 0; i < q->places; i++) {
        int e = ushm_mutex_trylock(&q->place[i]);
        unsigned r, ticket;

        if (e == -EBUSY || e == -EDEADLK)
            continue;
        if (e < 0)
            return mutex_failed(e, "ushm_queue_attach", f, "a place of the queue");
        r = atomic_load_explicit(&q->role[i], memory_order_relaxed);
        if (r != 0 && role_bad(r)) {
            ushm_mutex_unlock(&q->place[i]);
            return ushm__fail(EPROTO, "ushm_queue_attach(%p): place %u holds "
                              "0x%08x: the queue's bytes were overwritten",
                              (void *)f, i, r);
        }
        ticket = atomic_fetch_add_explicit(&f->gen, 1, memory_order_relaxed) + 1;
        q->slot = i;
        q->my_role = (ticket << 8) | (unsigned)flags;
        atomic_store_explicit(&q->role[i], q->my_role, memory_order_release);
        atomic_fetch_or_explicit(&f->ever, (unsigned)flags, memory_order_release);
        q->owner = pthread_self();
        wake_all(f);
        return 0;
    }
    return ushm__fail(EAGAIN, "ushm_queue_attach(%p): all %u places of the "
                      "queue are taken (a %zu-byte queue has %u; detach a "
                      "handle, or make the queue larger)", (void *)f,
                      q->places, q->bytes, q->places);
}

int ushm_queue_attach(ushm_queue_t **qp, void *mem, size_t bytes, int flags)
{
    struct ushm_queue *q;
    struct q_layout l;
    int err;

    if (qp == NULL)
        return ushm__fail(EINVAL, "ushm_queue_attach(%p): q is NULL", mem);
    *qp = NULL;
    if ((err = check_region("ushm_queue_attach", mem, bytes)) < 0)
        return err;
    if (flags == 0 || (flags & ~ALL_ROLES))
        return ushm__fail(EINVAL, "ushm_queue_attach(%p): flags 0x%x: want "
                          "USHM_QUEUE_SEND, USHM_QUEUE_RECV or both", mem,
                          (unsigned)flags);
    layout_of(bytes, &l);
    if (ushm__rdonly_has(mem, bytes))
        return ushm__fail(EACCES, "ushm_queue_attach(%p): the region is mapped "
                          "read-only (USHM_RDONLY): a queue's users write to it",
                          mem);
    if ((err = probe("ushm_queue_attach", mem, bytes, &l)) < 0)
        return err;
    if ((err = set_up("ushm_queue_attach", mem, bytes, &l)) < 0)
        return err;
    q = malloc(sizeof *q);
    if (q == NULL)
        return ushm__fail(ENOMEM, "ushm_queue_attach(%p): out of memory for "
                          "the handle", mem);
    handle_init(q, mem, bytes, &l);
    q->flags = flags;
    pthread_once(&registry_once, registry_setup);
    q->fork_gen = atomic_load_explicit(&fork_gen, memory_order_relaxed);
    if ((err = take_place(q, flags)) < 0) {
        free(q);
        return err;
    }
    registry_add(q);
    *qp = q;
    return 0;
}

int ushm_queue_detach(ushm_queue_t *q)
{
    unsigned mine;

    if (q == NULL)
        return 0;
    registry_remove(q);
    if (q->fork_gen == atomic_load_explicit(&fork_gen, memory_order_relaxed)) {
        mine = q->my_role;
        if (pthread_equal(q->owner, pthread_self())) {
            /* Ours while this thread lives, even if the role word was
             * overwritten: the mutex is unlocked whatever it says. */
            atomic_compare_exchange_strong_explicit(&q->role[q->slot], &mine, 0,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed);
            ushm_mutex_unlock(&q->place[q->slot]);
        } else {
            /* Only the thread that attached can unlock the place: it counts
             * as detached now, and that thread unlocks it in its next
             * attach, detach or ushm_close(), or the kernel when it ends.
             * The ticket keeps a place that someone else took since alone. */
            struct pending_place *e = malloc(sizeof *e);

            if (atomic_compare_exchange_strong_explicit(&q->role[q->slot], &mine,
                                                        mine | ROLE_GONE,
                                                        memory_order_acq_rel,
                                                        memory_order_relaxed) &&
                e != NULL) {
                e->place = &q->place[q->slot];
                e->owner = q->owner;
                pthread_mutex_lock(&registry_lock);
                e->next = pending;
                pending = e;
                pthread_mutex_unlock(&registry_lock);
            } else {
                free(e);
            }
        }
        wake_all(q->f);
    }
    free(q);
    return 0;
}

size_t ushm_queue_msg_max(const ushm_queue_t *q)
{
    return q != NULL ? q->msg_max : 0;
}

/* ---- send and receive ------------------------------------------------------ */

/* The deadline of a call with timeout_ms (< 0: none, 0), worked out the
 * first time it is needed, from now. */
static uint64_t deadline_of(long timeout_ms, uint64_t now, uint64_t *deadline_ns)
{
    if (timeout_ms <= 0)
        return 0;
    if (*deadline_ns == 0)
        *deadline_ns = now + (uint64_t)timeout_ms * MS;
    return *deadline_ns;
}

/*
 * A call from another thread than the one that attached q: that thread must
 * still hold q's place, or its end has detached q (and the locks, which
 * know holders by their place, could be taken from this one): -EBADF.
 */
static int check_owner(const char *func, const struct ushm_queue *q)
{
    unsigned mine = q->my_role;
    int e = ushm_mutex_trylock(&q->place[q->slot]);

    if (e == -EBUSY)
        return 0;
    if (e < 0)
        return mutex_failed(e, func, q->f, "the handle's place");
    if (atomic_compare_exchange_strong_explicit(&q->role[q->slot], &mine, 0,
                                                memory_order_acq_rel,
                                                memory_order_relaxed))
        wake_all(q->f);
    ushm_mutex_unlock(&q->place[q->slot]);
    return ushm__fail(EBADF, "%s(%p): the thread that attached this handle "
                      "has ended, which detached it", func, (void *)q->f);
}

static int check_handle(const char *func, const struct ushm_queue *q, int role)
{
    if (q == NULL)
        return ushm__fail(EINVAL, "%s: q is NULL", func);
    if (!(q->flags & role))
        return ushm__fail(EBADF, "%s(%p): the handle was attached without %s",
                          func, (void *)q->f, role == USHM_QUEUE_SEND ?
                          "USHM_QUEUE_SEND" : "USHM_QUEUE_RECV");
    if (q->fork_gen != atomic_load_explicit(&fork_gen, memory_order_relaxed))
        return ushm__fail(EBADF, "%s(%p): the handle was attached by the "
                          "parent of this process: a child of fork() attaches "
                          "its own", func, (void *)q->f);
    if (!pthread_equal(q->owner, pthread_self()))
        return check_owner(func, q);
    return 0;
}

/*
 * The producers' and the consumers' locks: a word that holds 0 when free,
 * else who holds it: the holder's place (bits 0-6, place + 1), whether
 * someone sleeps on it (LOCK_WAITERS) and the ticket of the holder's handle
 * (bits 8-31).  Taking it is one compare-and-swap, giving it back one
 * exchange (and a wake only when someone sleeps): a robust pthread mutex
 * costs several times that, twice per message.  A holder that died is
 * found through its place as a scan finds it: a ticket that is no longer
 * the place's, or the place's mutex left OWNERDEAD, and the lock is taken
 * from it with a compare-and-swap.  What the lock guards needs no repair
 * (head and tail move in one store each).  A thread that uses a handle
 * after the thread that attached it ended could lose its lock so while it
 * copies: calls from such a thread say -EBADF (see check_owner).
 */
#define LOCK_PLACE(w) ((w) & 0x7fu)
#define LOCK_WAITERS 0x80u
#define LOCK_TICKET(w) ((w) >> 8)

/* 1 when the holder of lock word w is gone, 0 when it lives, <0: bad word. */
static int holder_gone(struct ushm_queue *q, const char *func, unsigned w)
{
    unsigned i = LOCK_PLACE(w) - 1, r;
    int e;

    if (LOCK_PLACE(w) == 0 || i >= q->places)
        return ushm__fail(EPROTO, "%s(%p): the queue's lock holds 0x%08x: "
                          "the queue's bytes were overwritten", func,
                          (void *)q->f, w);
    r = atomic_load_explicit(&q->role[i], memory_order_acquire);
    if ((r & ROLE_GONE) || ROLE_TICKET(r) != LOCK_TICKET(w))
        return 1; /* its handle was detached, or its place taken since */
    e = ushm_mutex_trylock(&q->place[i]);
    if (e == -EBUSY || e == -EDEADLK)
        return 0;
    if (e < 0)
        return mutex_failed(e, func, q->f, "a place of the queue");
    /* its attaching thread died: detach its handle, as a scan does */
    if (atomic_compare_exchange_strong_explicit(&q->role[i], &r, 0,
                                                memory_order_acq_rel,
                                                memory_order_relaxed))
        wake_all(q->f);
    ushm_mutex_unlock(&q->place[i]);
    return 1;
}

static int lease_lock(struct ushm_queue *q, atomic_uint *lock, const char *func,
                      long timeout_ms, uint64_t *deadline_ns)
{
    unsigned me = (q->slot + 1) | (ROLE_TICKET(q->my_role) << 8), w = 0;
    long backoff = 0;

    if (atomic_compare_exchange_strong_explicit(lock, &w, me, memory_order_acquire,
                                                memory_order_relaxed))
        return 0;
    for (unsigned spin = 0;; spin++) {
        uint64_t now, d, until;
        int gone;

        w = atomic_load_explicit(lock, memory_order_relaxed);
        if (w == 0) {
            if (atomic_compare_exchange_weak_explicit(lock, &w, me,
                                                      memory_order_acquire,
                                                      memory_order_relaxed))
                return 0;
            continue;
        }
        if (spin < 200) { /* a copy under way ends in microseconds */
            cpu_relax();
            continue;
        }
        if ((gone = holder_gone(q, func, w)) < 0)
            return gone;
        if (gone) {
            /* steal it, keeping the sleepers' flag for our release */
            if (atomic_compare_exchange_strong_explicit(lock, &w,
                                                        me | (w & LOCK_WAITERS),
                                                        memory_order_acquire,
                                                        memory_order_relaxed))
                return 0;
            continue;
        }
        now = mono_ns();
        d = deadline_of(timeout_ms == 0 ? 5 : timeout_ms, now, deadline_ns);
        if (timeout_ms >= 0 && now >= d)
            return ushm__fail(ETIMEDOUT, "%s(%p): the queue's lock stayed held "
                              "until the time ran out", func, (void *)q->f);
        if (!(w & LOCK_WAITERS) &&
            !atomic_compare_exchange_strong_explicit(lock, &w, w | LOCK_WAITERS,
                                                     memory_order_relaxed,
                                                     memory_order_relaxed))
            continue;
        /* asleep until a release, at most a scan's slice: a holder that
         * died wakes nobody */
        until = now + SCAN_EVERY_MS * (uint64_t)MS;
        if (timeout_ms >= 0 && d < until)
            until = d;
        {
            struct timespec ts = ts_of(until);

            ushm__wait_on_word(lock, w | LOCK_WAITERS, &ts, &backoff);
        }
    }
}

static void lease_unlock(atomic_uint *lock)
{
    if (atomic_exchange_explicit(lock, 0, memory_order_release) & LOCK_WAITERS)
        ushm__wake_word(lock);
}

static int ready(const struct ushm_queue *q, int consumer, uint64_t need)
{
    uint64_t h = atomic_load_explicit(&q->f->head, memory_order_seq_cst);
    uint64_t t = atomic_load_explicit(&q->f->tail, memory_order_seq_cst);

    return consumer ? h != t : h - t > q->ring_size || q->ring_size - (h - t) >= need;
}

/* Wait until the queue has a message (consumer) or room for need bytes, the
 * other side is gone (-EPIPE), or deadline_ns passes (-ETIMEDOUT). */
static int wait_for(struct ushm_queue *q, const char *func, int consumer,
                    uint64_t need, long ms, uint64_t *deadline_p, int *spun)
{
    struct q_fixed *f = q->f;
    atomic_uint *word = consumer ? &f->c_wait : &f->p_wait;
    unsigned want = consumer ? USHM_QUEUE_SEND : USHM_QUEUE_RECV;
    long backoff = 0;
    int gone;

    if (!*spun && ms != 0 && many_cpus()) {
        uint64_t start = mono_ns();

        *spun = 1;
        for (unsigned i = 1;; i++) {
            cpu_relax();
            if (ready(q, consumer, need))
                return 0;
            if (i % 32 == 0 && mono_ns() - start >= (uint64_t)SPIN_NS)
                break;
        }
    }
    for (int force = 0;;) {
        uint64_t now, until, deadline_ns;

        if (ready(q, consumer, need))
            return 0;
        /* a scan when someone attached or detached, or a slice has passed */
        if ((gone = peers_gone(q, func, want, force)) < 0)
            return gone;
        if (gone) {
            if (ready(q, consumer, need))
                return 0;
            return ushm__fail(EPIPE, "%s(%p): %s", func, (void *)f, consumer ?
                              "the queue is empty and no producer is attached "
                              "any more" : "no consumer is attached any more");
        }
        now = mono_ns();
        deadline_ns = deadline_of(ms, now, deadline_p);
        if (ms == 0 || (deadline_ns != 0 && now >= deadline_ns))
            return ushm__fail(ETIMEDOUT, "%s(%p, %ld ms): the queue stayed %s",
                              func, (void *)f, ms, consumer ? "empty" :
                              "too full for the message");
        atomic_store_explicit(word, 1, memory_order_seq_cst);
        if (ready(q, consumer, need))
            return 0;
        until = now + SCAN_EVERY_MS * (uint64_t)MS;
        if (deadline_ns != 0 && deadline_ns < until)
            until = deadline_ns;
        {
            struct timespec ts = ts_of(until);

            ushm__wait_on_word(word, 1, &ts, &backoff);
        }
        /* the slice ran out (no wake): look at the peers now, whatever
         * the coarse clock of the scans' schedule says */
        force = mono_ns() + MS >= until;
    }
}

/* Copy n bytes into the ring at position pos, wrapping around. */
static void ring_put(const struct ushm_queue *q, uint64_t pos, const void *src,
                     size_t n)
{
    size_t at = (size_t)(pos % q->ring_size), first = (size_t)q->ring_size - at;

    if (n <= first) {
        memcpy(q->ring + at, src, n);
    } else {
        memcpy(q->ring + at, src, first);
        memcpy(q->ring, (const unsigned char *)src + first, n - first);
    }
}

static void ring_get(const struct ushm_queue *q, uint64_t pos, void *dst,
                     size_t n)
{
    size_t at = (size_t)(pos % q->ring_size), first = (size_t)q->ring_size - at;

    if (n <= first) {
        memcpy(dst, q->ring + at, n);
    } else {
        memcpy(dst, q->ring + at, first);
        memcpy((unsigned char *)dst + first, q->ring, n - first);
    }
}

static uint64_t record_size(size_t len)
{
    return 8 + (((uint64_t)len + 7) & ~(uint64_t)7);
}

static int overwritten(const char *func, const struct ushm_queue *q,
                       const char *what, uint64_t a, uint64_t b)
{
    return ushm__fail(EPROTO, "%s(%p): the queue's bytes were overwritten "
                      "(%s: %llu, %llu)", func, (void *)q->f, what,
                      (unsigned long long)a, (unsigned long long)b);
}

int ushm_queue_send(ushm_queue_t *q, const void *msg, size_t len,
                    long timeout_ms)
{
    static const char func[] = "ushm_queue_send";
    uint64_t need = record_size(len), deadline = 0;
    int err, spun = 0;

    if ((err = check_handle(func, q, USHM_QUEUE_SEND)) < 0)
        return err;
    if (msg == NULL && len > 0)
        return ushm__fail(EINVAL, "%s(%p): msg is NULL", func, (void *)q->f);
    if (len > q->msg_max)
        return ushm__fail(EMSGSIZE, "%s(%p, %zu bytes): longer than the "
                          "queue's %zu (ushm_queue_msg_max)", func,
                          (void *)q->f, len, q->msg_max);
    for (;;) {
        struct q_fixed *f = q->f;
        uint64_t h, t;
        uint32_t hdr[2];
        int woke;

        if ((err = peers_gone(q, func, USHM_QUEUE_RECV, 0)) != 0)
            return err < 0 ? err : ushm__fail(EPIPE, "%s(%p): no consumer is "
                                              "attached any more", func,
                                              (void *)f);
        if ((err = lease_lock(q, &f->plock, func, timeout_ms, &deadline)) < 0)
            return err;
        h = atomic_load_explicit(&f->head, memory_order_relaxed);
        t = q->tail_seen;
        if (h - t > q->ring_size || q->ring_size - (h - t) < need)
            q->tail_seen = t = atomic_load_explicit(&f->tail, memory_order_acquire);
        /* head never goes back: one that did was overwritten, and writing
         * there would tear the records after it */
        if (h - t > q->ring_size || (h & 7) != 0 || h < q->head_stored) {
            lease_unlock(&f->plock);
            return overwritten(func, q, "head, tail", h, t);
        }
        if (q->ring_size - (h - t) >= need) {
            hdr[0] = (uint32_t)len;
            hdr[1] = ~(uint32_t)len;
            ring_put(q, h, hdr, sizeof hdr);
            if (len > 0)
                ring_put(q, h + 8, msg, len);
            atomic_store_explicit(&f->sent,
                                  atomic_load_explicit(&f->sent, memory_order_relaxed) + 1,
                                  memory_order_relaxed);
            atomic_store_explicit(&f->head, h + need, memory_order_seq_cst);
            q->head_stored = h + need;
            woke = atomic_load_explicit(&f->c_wait, memory_order_seq_cst) != 0;
            lease_unlock(&f->plock);
            if (woke)
                wake(&f->c_wait);
            return 0;
        }
        lease_unlock(&f->plock);
        if ((err = wait_for(q, func, 0, need, timeout_ms, &deadline, &spun)) < 0)
            return err;
    }
}

int ushm_queue_recv(ushm_queue_t *q, void *buf, size_t cap, size_t *lenp,
                    long timeout_ms)
{
    static const char func[] = "ushm_queue_recv";
    uint64_t deadline = 0;
    int err, spun = 0;

    if ((err = check_handle(func, q, USHM_QUEUE_RECV)) < 0)
        return err;
    if (lenp == NULL)
        return ushm__fail(EINVAL, "%s(%p): len is NULL", func, (void *)q->f);
    if (buf == NULL && cap > 0)
        return ushm__fail(EINVAL, "%s(%p): buf is NULL", func, (void *)q->f);
    for (;;) {
        struct q_fixed *f = q->f;
        uint64_t h, t, need;
        uint32_t hdr[2];
        int woke;

        /* Empty?  The head this handle last read says "no" without a look
         * at the producers' line, which would cost a cache-line transfer
         * per message between two CPUs. */
        t = atomic_load_explicit(&f->tail, memory_order_acquire);
        if (atomic_load_explicit(&q->head_seen, memory_order_relaxed) == t &&
            atomic_load_explicit(&f->head, memory_order_acquire) == t)
            goto wait;
        if ((err = lease_lock(q, &f->clock, func, timeout_ms, &deadline)) < 0)
            return err;
        t = atomic_load_explicit(&f->tail, memory_order_relaxed);
        h = atomic_load_explicit(&q->head_seen, memory_order_relaxed);
        if (h == t || h - t > q->ring_size) {
            h = atomic_load_explicit(&f->head, memory_order_acquire);
            atomic_store_explicit(&q->head_seen, h, memory_order_relaxed);
        }
        if (h == t) {
            lease_unlock(&f->clock);
            goto wait;
        }
        if (h - t > q->ring_size || (t & 7) != 0) {
            lease_unlock(&f->clock);
            return overwritten(func, q, "head, tail", h, t);
        }
        ring_get(q, t, hdr, sizeof hdr);
        need = record_size(hdr[0]);
        if (hdr[1] != ~hdr[0] || hdr[0] > q->msg_max || need > h - t) {
            lease_unlock(&f->clock);
            return overwritten(func, q, "a message's length", hdr[0], h - t);
        }
        *lenp = hdr[0];
        if (hdr[0] > cap) {
            lease_unlock(&f->clock);
            return ushm__fail(EMSGSIZE, "%s(%p, %zu bytes): the next message "
                              "has %u bytes; it stays in the queue", func,
                              (void *)f, cap, (unsigned)hdr[0]);
        }
        if (hdr[0] > 0)
            ring_get(q, t + 8, buf, hdr[0]);
        atomic_store_explicit(&f->received,
                              atomic_load_explicit(&f->received, memory_order_relaxed) + 1,
                              memory_order_relaxed);
        atomic_store_explicit(&f->tail, t + need, memory_order_seq_cst);
        woke = atomic_load_explicit(&f->p_wait, memory_order_seq_cst) != 0;
        lease_unlock(&f->clock);
        if (woke)
            wake(&f->p_wait);
        return 0;
    wait:
        if ((err = wait_for(q, func, 1, 0, timeout_ms, &deadline, &spun)) < 0)
            return err;
    }
}

/* ---- stat --------------------------------------------------------------------- */

int ushm_queue_stat(void *mem, size_t bytes, struct ushm_queue_stat *st)
{
    struct ushm_queue q;
    struct q_layout l;
    unsigned live[2] = { 0, 0 };
    uint64_t h, t;
    int err;

    if (st == NULL)
        return ushm__fail(EINVAL, "ushm_queue_stat(%p): st is NULL", mem);
    if ((err = check_region("ushm_queue_stat", mem, bytes)) < 0)
        return err;
    memset(st, 0, sizeof *st);
    layout_of(bytes, &l);
    if ((err = probe("ushm_queue_stat", mem, bytes, &l)) < 0)
        return err;
    handle_init(&q, mem, bytes, &l);
    st->capacity = l.ring;
    st->msg_max = q.msg_max;
    st->places = l.places;
    if (atomic_load_explicit(&q.f->tag, memory_order_acquire) == 0 &&
        atomic_load_explicit(&q.f->bytes, memory_order_acquire) == 0 &&
        zero_from(mem, 0, l.ring_off))
        return 0; /* all zero: an empty queue, not set up yet */
    if ((err = set_up("ushm_queue_stat", mem, bytes, &l)) < 0)
        return err;
    st->bytes = bytes;
    for (unsigned i = 0; i < l.places; i++) {
        unsigned r = atomic_load_explicit(&q.role[i], memory_order_acquire);
        int e;

        if (r == 0 || (r & ROLE_GONE))
            continue;
        if (role_bad(r))
            return ushm__fail(EPROTO, "ushm_queue_stat(%p): place %u holds "
                              "0x%08x: the queue's bytes were overwritten",
                              mem, i, r);
        e = ushm_mutex_trylock(&q.place[i]);
        if (e == -EBUSY || e == -EDEADLK) {
            live[0] += (r & USHM_QUEUE_SEND) != 0;
            live[1] += (r & USHM_QUEUE_RECV) != 0;
        } else if (e >= 0) {
            if (atomic_load_explicit(&q.role[i], memory_order_relaxed) != 0) {
                atomic_store_explicit(&q.role[i], 0, memory_order_release);
                wake_all(q.f);
            }
            ushm_mutex_unlock(&q.place[i]);
        } else {
            return mutex_failed(e, "ushm_queue_stat", mem, "a place of the queue");
        }
    }
    st->producers = live[0];
    st->consumers = live[1];
    t = atomic_load_explicit(&q.f->tail, memory_order_acquire);
    h = atomic_load_explicit(&q.f->head, memory_order_acquire);
    st->used = h - t <= l.ring ? h - t : 0;
    st->received = atomic_load_explicit(&q.f->received, memory_order_relaxed);
    st->sent = atomic_load_explicit(&q.f->sent, memory_order_relaxed);
    st->depth = st->sent >= st->received ? st->sent - st->received : 0;
    if (st->used == 0)
        st->depth = 0;
    return 0;
}
