/* SPDX-License-Identifier: MIT */
/*
 * The internal contract between the core (lib/) and a backend (backends/).
 *
 * The core decides every rule of the contract (API.md): arguments, names,
 * create-or-join, sizes, owners, USHM_EXCL, USHM_RDONLY, USHM_POPULATE and
 * the sentences that name the rule.  A backend only talks to the system: it
 * says what holds a segment's name or key (struct ushm__facts), makes a
 * whole segment, maps and unmaps, removes, and reports the system's errors
 * with the call that failed.  Each backend file keeps its functions static;
 * one of them defines the table, ushm__backend.
 *
 * A backend's handle is its own struct whose first member is struct ushm
 * (SQLite's unixFile and sqlite3_file); the core allocates handle_size
 * bytes and only ever touches the struct ushm part.
 */
#ifndef USHM_BACKEND_H
#define USHM_BACKEND_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ushm.h"

#if defined(__GNUC__) && __GNUC__ >= 4
#define USHM__HIDDEN __attribute__((visibility("hidden")))
#define USHM__PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define USHM__HIDDEN
#define USHM__PRINTF(f, a)
#endif

#define USHM__FLAGS_ALL \
    (USHM_CREATE | USHM_EXCL | USHM_RDONLY | USHM_POPULATE | USHM_HUGEPAGES)

/* How a segment is called: by name, by SysV key, or not at all. */
enum ushm__by { USHM__BY_NAME, USHM__BY_KEY, USHM__ANONYMOUS };

struct ushm__id {
    enum ushm__by by;
    key_t key;                      /* USHM__BY_KEY */
    char name[USHM_NAME_MAX + 1];   /* canonical; "" unless USHM__BY_NAME */
    char label[USHM_NAME_MAX + 16]; /* for messages: the name, "key 0x%08x"
                                       or "(anonymous)" */
};

/* The label of a segment in messages. */
static inline const char *ushm__label(const struct ushm__id *id)
{
    return id->by == USHM__BY_NAME ? id->name : id->label;
}

/* The generic part of every handle. */
struct ushm {
    void *addr;
    /* Bytes of the segment, not rounded; 0 until measured, where the
     * backend joined without measuring (join_unmeasured), for whichever
     * thread asks first (ushm_size() takes a const handle). */
    _Atomic size_t size;
    int created;
    int rdonly;                     /* mapped USHM_RDONLY (lib/rdonly.c) */
    int left_behind;                /* create() failed and could not remove
                                       the name it had made: what holds the
                                       name is its own, not a racer's */
    struct ushm__id id;
};

/* What holds a segment's name or key. */
enum ushm__kind {
    USHM__SEGMENT,                  /* a shared memory segment (maybe empty) */
    USHM__OTHER                     /* something else: what says what */
};

struct ushm__facts {
    enum ushm__kind kind;
    uintmax_t size;                 /* bytes; 0: an object nobody sized yet */
    uintmax_t allocated;            /* bytes with memory behind them */
    mode_t mode;                    /* permission bits */
    uid_t uid;                      /* owner */
    uid_t cuid;                     /* creator (the owner where untracked) */
    gid_t gid;
    long nattach;                   /* -1: the system cannot tell */
    long nlink;                     /* names it has; 0: removed meanwhile */
    char what[96];                  /* USHM__OTHER: "<where> is a FIFO" */
};

/* Answers of a backend beside 0 and a negative errno. */
#define USHM__RETRY 1   /* removed or made again meanwhile: look again */
#define USHM__EXISTS 2  /* create: the name or key is taken */
#define USHM__TRIES 10000 /* each try that fails is another process's progress */
#define USHM__MEASURE 3 /* join_unmeasured: take the measured way */

struct ushm__backend {
    const char *name;
    size_t handle_size;             /* its handle, struct ushm first */
    int by_key;                     /* whether it can reach SysV keys */
    /*
     * Take hold of what holds h->id, for reading or for reading and writing,
     * and describe it.  0 (then release() or map() follows), -ENOENT when
     * nothing holds it, USHM__RETRY, or another negative errno; every
     * failure with last_error written.  Something that is not a segment is
     * 0 with kind USHM__OTHER: it is described, never opened as a segment.
     */
    int (*find)(struct ushm *h, int rdonly, struct ushm__facts *f);
    /* Describe again what find() holds (a size being given meanwhile). */
    int (*refresh)(struct ushm *h, struct ushm__facts *f);
    /* Map what find() holds, size bytes: 0, USHM__RETRY or -errno. */
    int (*map)(struct ushm *h, size_t size, int rdonly);
    /* Let go of what find() holds; the mapping, if any, stays. */
    void (*release)(struct ushm *h);
    /*
     * Optional (NULL where a join always measures).  For a plain join (no
     * flag) of what holds h->id: map it read-write if it is a segment of at
     * least size bytes, without a call to measure it, leaving h->size 0:
     * 0, or USHM__MEASURE with nothing mapped, last_error untouched and
     * nothing learnt, for the core to go the measured way (find(), its
     * rules, map()), which also says what went wrong.  Only a backend
     * whose segments are never empty nor have a second name offers it.
     */
    int (*join_unmeasured)(struct ushm *h, size_t size);
    /* The exact size of what h maps, joined unmeasured: 0 or -errno said. */
    int (*measure)(const struct ushm *h, size_t *size);
    /*
     * Make a new segment called h->id, whole (size bytes, zero-filled, its
     * memory reserved, mode exactly), and map it: 0, USHM__EXISTS when the
     * name or key is taken, or a negative errno with nothing left behind;
     * where the name it made could not be removed again, it sets
     * left_behind and says so in last_error.  h->id may be anonymous: then
     * flags say USHM_CREATE and size > 0.
     */
    int (*create)(struct ushm *h, size_t size, int flags, mode_t mode);
    int (*unmap)(struct ushm *h);
    /* Remove the name or key of a segment; something else there is left
     * alone and described in f (kind USHM__OTHER), with 0. */
    int (*remove)(const struct ushm__id *id, struct ushm__facts *f);
    /* Describe what holds id without taking hold of it for long. */
    int (*stat)(const struct ushm__id *id, struct ushm__facts *f);
    /* Where the segment's memory comes from and how much of it is free,
     * for messages; 0, or -1 where it comes from plain memory. */
    int (*space)(const struct ushm *h, const char **where, uintmax_t *free);
    /* Whether segments are being built there unnamed right now (1), or
     * not, or it cannot tell (0); NULL where nothing is built unnamed. */
    int (*building)(const struct ushm *h);
};

USHM__HIDDEN extern const struct ushm__backend ushm__backend;

/* Record "<text>" as this thread's last error; returns -err. */
USHM__HIDDEN int ushm__fail(int err, const char *fmt, ...) USHM__PRINTF(2, 3);

/* " (RLIMIT_AS is N bytes)" and the like, for ENOMEM/EMFILE; "" otherwise. */
USHM__HIDDEN const char *ushm__rlimit_hint(int err);

/* Read a number from a /proc/sys file; 0 on success. */
USHM__HIDDEN int ushm__read_sysctl(const char *path, unsigned long long *value);

/* The huge page size in bytes (Hugepagesize in /proc/meminfo), or 0. */
USHM__HIDDEN size_t ushm__hugepage_size(void);

/* Why a huge page allocation failed and how to allow it, for last_error. */
USHM__HIDDEN const char *ushm__hugepage_hint(void);

#endif /* USHM_BACKEND_H */
