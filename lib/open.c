/* SPDX-License-Identifier: MIT */
/*
 * Create or join: every rule of ushm_open() and ushm_open_key() about what
 * holds the name or key, decided here once for both backends (API.md,
 * "ushm_open" and "Other programs and other users in the way").
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "open.h"
#include "prefault.h"

#define B ushm__backend

/* How long an opener waits for an empty object to get its size. */
#define EMPTY_WAIT_MS 1000
/* How long a creation without room waits for racers, at most. */
#define ROOM_WAIT_MS 5000

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Something that is not a shared memory object holds the name. */
static int not_a_segment(const char *func, const char *label,
                         const struct ushm__facts *f, int err)
{
    return ushm__fail(err, "%s(%s): %s: %s, not a shared memory object; "
                      "libushm leaves it alone", func, label,
                      ushm_strerror(err), f->what);
}

/*
 * An empty object that libushm did not make (another program between
 * shm_open and ftruncate, or a creator of the fallback protocol that has
 * not finished or died): wait a bounded time for its size, never touching
 * it.  0 with f updated, USHM__RETRY when it was removed, or -EAGAIN.
 */
static int wait_for_size(struct ushm *h, struct ushm__facts *f)
{
    int64_t deadline = now_ms() + EMPTY_WAIT_MS;
    long delay_us = 500;
    int err;

    for (;;) {
        struct timespec ts = { 0, delay_us * 1000 };

        nanosleep(&ts, NULL); /* a signal only makes it look again sooner */
        if ((err = B.refresh(h, f)) < 0)
            return err;
        if (f->nlink == 0)
            return USHM__RETRY;
        if (f->size != 0)
            return 0;
        if (now_ms() >= deadline)
            return ushm__fail(EAGAIN, "ushm_open(%s): %s: an empty object "
                              "of uid %ld holds the name and got no size in "
                              "%d ms (another program is still making it, or "
                              "its creator died); ushm_unlink(\"%s\") removes "
                              "it", h->id.name, ushm_strerror(EAGAIN),
                              (long)f->uid, EMPTY_WAIT_MS, h->id.name);
        if (delay_us < 32000)
            delay_us *= 2;
    }
}

/* The prefault found a page it could not have (what a touch would take as
 * SIGBUS): the memory ran out, measured now. */
static int populate_failed(const struct ushm *h, int writable)
{
    const char *adv = writable ? "WRITE" : "READ", *where;
    uintmax_t avail;

    if (h->id.by != USHM__ANONYMOUS && B.space != NULL &&
        B.space(h, &where, &avail) == 0)
        return ushm__fail(ENOSPC, "madvise(%s, %zu bytes, MADV_POPULATE_%s): "
                          "%s: %s has %ju bytes free", ushm__label(&h->id),
                          h->size, adv, ushm_strerror(ENOSPC), where, avail);
    return ushm__fail(ENOMEM, "madvise(%s, %zu bytes, MADV_POPULATE_%s): %s: "
                      "the kernel could not allocate its pages",
                      ushm__label(&h->id), h->size, adv, ushm_strerror(ENOMEM));
}

/*
 * USHM_POPULATE allocates the pages of a sparse object (another program's,
 * made with ftruncate): where there is no room for them, say so before any
 * page is touched, since a touch that cannot be served is SIGBUS.
 */
static int populate_room(const struct ushm *h, const struct ushm__facts *f)
{
    const char *where;
    uintmax_t avail, need;

    if (f->allocated >= f->size || B.space == NULL ||
        B.space(h, &where, &avail) != 0)
        return 0;
    need = f->size - f->allocated;
    if (avail >= need)
        return 0;
    return ushm__fail(ENOSPC, "ushm_open(%s, USHM_POPULATE): %s: %ju of its "
                      "%ju bytes are not allocated yet and %s has %ju bytes "
                      "free", ushm__label(&h->id), ushm_strerror(ENOSPC), need,
                      f->size, where, avail);
}

/* The rules for a segment that exists; what find() holds is let go. */
static int join(struct ushm *h, size_t size, int flags,
                struct ushm__facts *f)
{
    const char *label = ushm__label(&h->id);
    int create = flags & USHM_CREATE, excl = flags & USHM_EXCL;
    int rdonly = flags & USHM_RDONLY, err = 0;
    uid_t me;

    if (f->kind == USHM__OTHER) {
        err = not_a_segment("ushm_open", label, f, excl ? EEXIST : EINVAL);
        goto out;
    }
    if (excl) {
        err = ushm__fail(EEXIST, "ushm_open(%s): %s", label,
                         ushm_strerror(EEXIST));
        goto out;
    }
    if (f->size == 0) {
        if (!create) {
            err = ushm__fail(ENOENT, "ushm_open(%s): %s: the object is empty "
                             "(another program is making it, or its creator "
                             "died); ushm_unlink() removes it", label,
                             ushm_strerror(ENOENT));
            goto out;
        }
        if (size == 0) {
            err = ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot create "
                             "a segment of 0 bytes", label);
            goto out;
        }
        if ((err = wait_for_size(h, f)) != 0)
            goto out;
    }
    /* Another name for the object may be anybody's way in: a user who
     * can write a world-writable segment can link it under the name that
     * its owner is about to create as private. */
    if (f->nlink > 1) {
        err = ushm__fail(EPERM, "ushm_open(%s): %s: the object has %ld names "
                         "(hard links), so others may reach it under another "
                         "one; libushm joins only an object with one name",
                         label, ushm_strerror(EPERM), f->nlink);
        goto out;
    }
    if (f->size > SIZE_MAX) {
        err = ushm__fail(EOVERFLOW, "ushm_open(%s): %s: its %ju bytes do not "
                         "fit this process's address space", label,
                         ushm_strerror(EOVERFLOW), f->size);
        goto out;
    }
    /* Mapped before the owner and size are judged, so that a caller without
     * permission for the access it asks hears -EACCES first (SysV checks
     * the access only when attaching). */
    if ((err = B.map(h, (size_t)f->size, rdonly)) != 0)
        goto out;
    /* A segment made by another user and given away (SysV IPC_SET of its
     * uid) stays in its creator's control: both must be the caller.  (Only
     * open-or-create asks: a plain join makes no call for it.) */
    if (create && ((me = geteuid()) != f->uid || f->cuid != me)) {
        if (f->cuid != f->uid)
            err = ushm__fail(EPERM, "ushm_open(%s): %s: it belongs to uid %ld "
                             "and was made by uid %ld, not this process's uid "
                             "%ld; open it without USHM_CREATE to join it",
                             label, ushm_strerror(EPERM), (long)f->uid,
                             (long)f->cuid, (long)me);
        else
            err = ushm__fail(EPERM, "ushm_open(%s): %s: it belongs to uid %ld, "
                             "not this process's uid %ld; open it without "
                             "USHM_CREATE to join it", label,
                             ushm_strerror(EPERM), (long)f->uid, (long)me);
    } else if (f->size < (uintmax_t)size) {
        err = ushm__fail(EINVAL, "ushm_open(%s, %zu bytes): %s: the segment "
                         "has only %ju bytes", label, size,
                         ushm_strerror(EINVAL), f->size);
    } else if (flags & USHM_POPULATE) {
        err = populate_room(h, f);
    }
    if (err < 0)
        B.unmap(h);
out:
    B.release(h);
    return err;
}

/* USHM_EXCL and the name or key is taken: say by what. */
static int taken(const struct ushm *h)
{
    struct ushm__facts f;

    if (B.stat(&h->id, &f) == 0 && f.kind == USHM__OTHER)
        return not_a_segment("ushm_open", ushm__label(&h->id), &f, EEXIST);
    return ushm__fail(EEXIST, "ushm_open(%s): %s", ushm__label(&h->id),
                      ushm_strerror(EEXIST));
}

/*
 * A creation found no room.  Racers for one missing name each build their
 * segment before one of them publishes it, so the room may be taken only
 * for a moment, or all of them may run out half-way and let go together.
 * Wait, napping a little longer each time and a different while in each
 * process, until the name is there to join, or the room is back for
 * another try: 1.  0 when the free space stayed short and unchanged for
 * QUIET_MS, after ROOM_WAIT_MS, or when tries failed with the room there:
 * then the segment truly does not fit, and the last try's message
 * (measured when it failed) stands.
 */
#define QUIET_MS 500

struct room_wait {
    int64_t deadline;   /* 0 until the first creation without room */
    int with_room;      /* tries that failed though the room was there */
    int saw_racers;     /* others were seen holding room or building */
    long nap_us;        /* the next nap, longer each time */
};

static int wait_for_room(const struct ushm *h, size_t size,
                         struct room_wait *w)
{
    static _Thread_local unsigned jitter;
    struct ushm__facts f;
    const char *where;
    uintmax_t avail, seen = UINTMAX_MAX;
    int64_t now = now_ms(), changed = now;
    char why[256];
    int rc = 0, building;

    if (B.space == NULL)
        return 0;
    snprintf(why, sizeof why, "%s", ushm_last_error());
    if (w->deadline == 0) {
        w->deadline = now + ROOM_WAIT_MS;
        w->nap_us = 200;
    }
    if (jitter == 0)
        jitter = (unsigned)getpid() * 2654435761u | 1u;
    while ((now = now_ms()) < w->deadline && now - changed < QUIET_MS) {
        struct timespec ts;

        jitter ^= jitter << 13;
        jitter ^= jitter >> 17;
        jitter ^= jitter << 5;
        ts.tv_sec = 0;
        ts.tv_nsec = (w->nap_us + (long)(jitter % (unsigned)w->nap_us)) * 1000L;
        nanosleep(&ts, NULL);
        if (w->nap_us < 8000)
            w->nap_us *= 2;
        if (B.stat(&h->id, &f) == 0) { /* there to join, or to refuse */
            rc = 1;
            break;
        }
        if (B.space(h, &where, &avail) != 0) /* nothing to go by */
            break;
        /* Racers still building their copies will let go of them. */
        building = B.building != NULL && B.building(h);
        if (building || avail < (uintmax_t)size)
            w->saw_racers = 1;
        if (avail >= (uintmax_t)size) {
            /* Room now: try again; but where nobody was ever seen taking
             * it, the room was not what was missing (the inodes, say): a
             * few times only (racers that all let go at once look so). */
            rc = w->saw_racers || ++w->with_room <= 8;
            break;
        }
        if (avail != seen || building)
            changed = now_ms();
        seen = avail;
    }
    if (rc == 0)
        ushm__fail(ENOSPC, "%s", why);
    return rc;
}

/* Create or join h->id, mapped: 0, or a negative errno with nothing left. */
static int open_named(struct ushm *h, size_t size, int flags, mode_t mode)
{
    int create = flags & USHM_CREATE, excl = flags & USHM_EXCL, err;
    struct room_wait room = { 0, 0, 0, 0 };
    struct ushm__facts f;

    /* A plain join asks nothing of the segment but that it is there with
     * at least size bytes and lets itself be mapped: where the backend can
     * see to that without measuring (SysV, whose raw attach makes no
     * IPC_STAT), the size is read when first asked (ushm_size()).  Any
     * other answer goes the measured way, whose rules say what it is. */
    if (flags == 0 && B.join_unmeasured != NULL &&
        B.join_unmeasured(h, size) == 0)
        return 0;
    for (int tries = 1; tries <= USHM__TRIES; tries++) {
        /* What exists is joined before anything is built for it: building
         * costs the whole size, which a full /dev/shm may lack.  With
         * USHM_EXCL an existing name is an error the creation reports. */
        if (!create || !excl || size == 0) {
            err = B.find(h, flags & USHM_RDONLY, &f);
            if (err == 0)
                err = join(h, size, flags, &f);
            else if (err == -EACCES && excl)
                err = ushm__fail(EEXIST, "ushm_open(%s): %s (and no "
                                 "permission to open it)", ushm__label(&h->id),
                                 ushm_strerror(EEXIST));
            if (err != -ENOENT && err != USHM__RETRY)
                return err;
            if (err == -ENOENT && !create)
                return err;
            if (err == -ENOENT && size == 0)
                return ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot "
                                  "create a segment of 0 bytes",
                                  ushm__label(&h->id));
            if (err == USHM__RETRY)
                continue;
        }
        err = B.create(h, size, flags, mode);
        if (err == 0) {
            h->created = 1;
            return 0;
        }
        /* What holds the name now is what this creation made and could
         * not remove: no racer's, and nobody will finish it.  Another look
         * would wait for it and blame somebody else; the creation's own
         * failure (an -ENOSPC names the room measured then) answers. */
        if (h->left_behind)
            return err;
        if (err == -ENOSPC && wait_for_room(h, size, &room))
            continue;
        if (err != USHM__EXISTS && err != USHM__RETRY)
            return err;
        if (err == USHM__EXISTS && excl)
            return taken(h);
    }
    return ushm__fail(EAGAIN, "ushm_open(%s): the segment was removed and "
                      "made again %d times while opening it",
                      ushm__label(&h->id), USHM__TRIES);
}

int ushm__open(struct ushm *h, size_t size, int flags, mode_t mode)
{
    int err;

    if (h->id.by == USHM__ANONYMOUS) {
        err = B.create(h, size, flags, mode);
        if (err == 0)
            h->created = 1;
    } else {
        err = open_named(h, size, flags, mode);
    }
    if (err == 0 && (flags & USHM_POPULATE) &&
        (err = ushm__prefault(h->addr, h->size, !(flags & USHM_RDONLY),
                              ushm__label(&h->id))) != 0) {
        int rc = err == -EFAULT ? populate_failed(h, !(flags & USHM_RDONLY))
                                : err;

        B.unmap(h);
        if (h->created && h->id.by != USHM__ANONYMOUS) {
            struct ushm__facts f;
            char why[256];

            /* Undo what was made, keeping the prefault's message. */
            snprintf(why, sizeof why, "%s", ushm_last_error());
            B.remove(&h->id, &f);
            ushm__fail(-rc, "%s", why);
        }
        return rc;
    }
    return err;
}

int ushm__stat(const struct ushm__id *id, struct ushm_stat *st)
{
    const char *label = ushm__label(id);
    struct ushm__facts f;
    int err = B.stat(id, &f);

    if (err < 0)
        return err;
    if (f.kind == USHM__OTHER)
        return not_a_segment("ushm_stat", label, &f, EINVAL);
    if (f.size == 0)
        return ushm__fail(ENOENT, "ushm_stat(%s): %s: the object is empty "
                          "(another program is making it, or its creator "
                          "died)", label, ushm_strerror(ENOENT));
    if (f.size > SIZE_MAX)
        return ushm__fail(EOVERFLOW, "ushm_stat(%s): %s: its %ju bytes do not "
                          "fit in size_t in this process", label,
                          ushm_strerror(EOVERFLOW), f.size);
    st->size = (size_t)f.size;
    st->mode = f.mode & 0777;
    st->uid = f.uid;
    st->gid = f.gid;
    st->nattach = f.nattach;
    return 0;
}

int ushm__unlink(const struct ushm__id *id)
{
    struct ushm__facts f;
    int err = B.remove(id, &f);

    if (err == 0 && f.kind == USHM__OTHER)
        return not_a_segment("ushm_unlink", ushm__label(id), &f, EINVAL);
    return err;
}
