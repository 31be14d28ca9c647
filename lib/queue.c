/* SPDX-License-Identifier: MIT */
/*
 * ushm_queue_t: a message queue in a region of shared memory, many producers
 * and many consumers (API.md 0.3, "A message queue inside a segment").
 *
 * Layout (offsets from mem; every part on its own 64-byte line):
 *     0  header: tag (0 = never set up), bytes, the probe word
 *    64  the producers' line: their lock (see lease_lock), p_last, sent
 *   128  the consumers' line: their lock, c_last, received
 *   192  head, last                                  (under the producers' lock)
 *   256  tail                                       (under the consumers' lock)
 *   320  c_wait, p_wait (the words waiters sleep on), gen, ever
 *   384  role[places]: what the handle in each place is (32-bit words)
 *     .  place[places]: a ushm_mutex_t per attached handle
 *     .  the ring: cells of 64 bytes
 *     .  desc[cells]: a 64-bit header word per cell
 * places (4, 16 or 64), the ring's size and the number of cells follow from
 * bytes alone, so no size is read from the shared bytes but bytes itself: a
 * scribbled header can make a queue -EPROTO, never make us read outside the
 * region.  head and tail count bytes since the set-up (64-bit: they never
 * wrap), in whole cells.  A message of len bytes is a record of whole
 * cells (at least one) at head % ring, which may wrap around the end; its
 * header is the desc word of its first cell: len, and in the upper half its
 * complement XORed with the record's position / 64 (so that a header of an
 * earlier lap, which a head scribbled forward would expose, reads as
 * overwritten, not as a message).
 *
 * Why cells and a header array: a ring is as fast as the cache lines a
 * message takes from one CPU to the other.  A 64-byte message with its
 * header in front spans two lines, in a cell of its own one; and a
 * consumer that keeps up (one record between tail and head) does not read
 * the header array at all: the producers' line, which it reads for head
 * anyway, holds last, the newest record's length keyed by the head after
 * it.  A header read from desc costs a line per 8 records, those the
 * consumer is behind by.
 *
 * Claim and publish.  A producer holds the producers' lock while it writes
 * its record past head and then stores head once (release; a lone producer
 * keeps that lock between its sends: "Solo" in queue-io.c); a consumer holds
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
 * A batch (ushm_queue_sendv/recvv) is the same with several records
 * between two positions: its messages are written, or copied out, and then
 * head, or tail, moves past all of them in one store.  A producer killed
 * inside sendv sent all of them or none; a consumer killed inside recvv
 * after its store lost that call's messages, as ushm_queue_send(3) says.
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

#include "queue-internal.h"

/* ---- the shared layout -------------------------------------------------- */

static void layout_of(size_t bytes, struct q_layout *l)
{
    size_t cells;

    l->places = bytes < 4096 ? 4 : bytes < 65536 ? 16 : 64;
    l->role_off = sizeof(struct q_fixed);
    l->place_off = l->role_off + ((l->places * 4 + LINE - 1) / LINE) * LINE;
    l->ring_off = l->place_off + (size_t)l->places * LINE;
    /* each cell of the ring (LINE bytes) has a header word (8) */
    cells = (bytes - l->ring_off) / (LINE + 8);
    l->ring = (uint64_t)cells * LINE;
    l->desc_off = l->ring_off + (size_t)l->ring;
}

/* ---- the handle, and the handles of this process ------------------------ */

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
/* Set for good by the first attach: until then ushm_close() has no handle
 * to look for, and takes no lock to find none. */
static atomic_int registry_used;
atomic_uint ushm__queue_fork_gen;    /* + 1 in every child of fork() */

static void before_fork(void) { pthread_mutex_lock(&registry_lock); }
static void after_fork_parent(void) { pthread_mutex_unlock(&registry_lock); }

/* A child holds none of its parent's places: its copies of the handles
 * are not attached, and do not keep its mappings from closing. */
static void after_fork_child(void)
{
    registry = NULL;
    pending = NULL; /* the parent's: freed with this process */
    atomic_fetch_add_explicit(&ushm__queue_fork_gen, 1, memory_order_relaxed);
    ushm__solo_forget();
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
    atomic_store_explicit(&registry_used, 1, memory_order_relaxed);
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

    if (!atomic_load_explicit(&registry_used, memory_order_relaxed))
        return 0;
    pthread_mutex_lock(&registry_lock);
    release_pending(); /* so that a place's mutex keeps no mapping busy */
    for (const struct ushm_queue *q = registry; q != NULL && !found; q = q->next) {
        uintptr_t m = (uintptr_t)q->f;

        found = m < lo + len && lo < m + q->bytes;
    }
    pthread_mutex_unlock(&registry_lock);
    return found;
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
    q->desc = (_Atomic uint64_t *)(void *)((unsigned char *)mem + l->desc_off);
    q->ring_size = l->ring;
    q->bytes = bytes;
    q->msg_max = (size_t)l->ring;
    q->places = l->places;
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
    q->fork_gen = atomic_load_explicit(&ushm__queue_fork_gen, memory_order_relaxed);
    if ((err = ushm__queue_take_place(q, flags)) < 0) {
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
    if (q->fork_gen == atomic_load_explicit(&ushm__queue_fork_gen, memory_order_relaxed)) {
        mine = q->my_role;
        if (pthread_equal(q->owner, pthread_self())) {
            unsigned solo = lock_word_of(q) | LOCK_SOLO;

            /* A solo producer gives its lock back (queue-io.c, "Solo"):
             * this thread is in no send. */
            atomic_compare_exchange_strong_explicit(&q->f->plock, &solo, 0,
                                                    memory_order_release,
                                                    memory_order_relaxed);
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
        if (ushm__queue_role_bad(r))
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
            return ushm__queue_mutex_failed(e, "ushm_queue_stat", mem, "a place of the queue");
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
