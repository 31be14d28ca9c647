/* SPDX-License-Identifier: MIT */
/*
 * The internal contract between the core (lib/) and a backend (backends/).
 *
 * The core checks every argument, canonicalises the name and owns the
 * handle; a backend only talks to the system.  Each backend file keeps its
 * functions static and defines exactly one table, ushm__backend.
 */
#ifndef USHM_BACKEND_H
#define USHM_BACKEND_H

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

/* Where shm_open() keeps its objects on Linux (glibc and musl alike; configure
 * checks it): the POSIX backend creates and inspects them there. */
#define USHM__POSIX_DIR "/dev/shm"

struct ushm {
    void *addr;
    size_t size;                    /* bytes of the segment, not rounded */
    size_t map_len;                 /* bytes mapped: size, or more for huge pages */
    int created;
    intptr_t backend_state;         /* the backend's own (SysV: the shmid) */
    char name[USHM_NAME_MAX + 1];   /* canonical; "" when anonymous */
};

#define USHM__RETRY 1
#define USHM__TRIES 10000 /* each try that fails is another process's progress */

struct ushm__backend {
    const char *name;
    /* Where named segments take their memory from, for messages about
     * running out of it (a directory for statvfs), or NULL. */
    const char *space_dir;
    /*
     * Map the segment shm->name (anonymous when it is "") and fill addr,
     * size and created.  flags and mode are already valid, mode is never 0,
     * and size > 0 for an anonymous segment.  On failure nothing may be left:
     * no segment made, no mapping, no descriptor.  USHM__RETRY asks the
     * core to call again: the segment was removed or made again meanwhile.
     */
    int (*open)(struct ushm *shm, size_t size, int flags, mode_t mode);
    int (*close)(struct ushm *shm);
    int (*unlink)(const char *name);
    int (*stat)(const char *name, struct ushm_stat *st);
};

USHM__HIDDEN extern const struct ushm__backend ushm__backend;

/* Record "<text>" as this thread's last error; returns -err. */
USHM__HIDDEN int ushm__fail(int err, const char *fmt, ...) USHM__PRINTF(2, 3);

/* The label of a segment in messages: its name, or "(anonymous)". */
USHM__HIDDEN const char *ushm__label(const char *name);

/* " (RLIMIT_AS is N bytes)" and the like, for ENOMEM/EMFILE; "" otherwise. */
USHM__HIDDEN const char *ushm__rlimit_hint(int err);

/* Read a number from a /proc/sys file; 0 on success. */
USHM__HIDDEN int ushm__read_sysctl(const char *path, unsigned long long *value);

/* The huge page size in bytes (Hugepagesize in /proc/meminfo), or 0. */
USHM__HIDDEN size_t ushm__hugepage_size(void);

/* Why a huge page allocation failed and how to allow it, for last_error. */
USHM__HIDDEN const char *ushm__hugepage_hint(void);

#endif /* USHM_BACKEND_H */
