/* SPDX-License-Identifier: MIT */
/*
 * What the files of the POSIX backend share, and nobody else sees.
 *
 *   posix.c               the table: find, map, remove, stat
 *   posix-create.c        a whole new segment: mode, mapping, memory
 *   posix-publish-link.c  publishing it whole (O_TMPFILE + linkat), or
 *   posix-publish-excl.c  the fallback protocol only (O_EXCL)
 *   posix-anon*.c         anonymous segments (MAP_ANONYMOUS or /dev/zero)
 *   posix-sys.c           where shm_open() keeps its objects, and
 *   posix-sys-<system>.c  what differs by system (Linux, FreeBSD, macOS,
 *                         other): flags, sizing, reserving, fstat
 */
#ifndef USHM_POSIX_H
#define USHM_POSIX_H

#include <sys/stat.h>

#include "backend.h"

/* The POSIX backend's handle. */
struct posix_handle {
    struct ushm base;
    int fd;                 /* what find() holds; -1 otherwise */
    size_t map_len;         /* bytes mapped: size, or more for huge pages */
};

static inline struct posix_handle *posix_of(struct ushm *h)
{
    return (struct posix_handle *)(void *)h;
}

/* shm_open() that never blocks on a FIFO, follows a link or takes a
 * terminal, and retries EINTR. */
USHM__HIDDEN int ushm__posix_shm_open(const char *name, int oflag,
                                      mode_t mode);

/* Describe an open object for the core. */
USHM__HIDDEN void ushm__posix_facts(const struct stat *st,
                                    struct ushm__facts *f);

/* Make a whole named segment: 0, USHM__EXISTS or a negative errno. */
USHM__HIDDEN int ushm__posix_publish(struct ushm *h, size_t size, int flags,
                                     mode_t mode);
/* The way this build publishes it (posix-publish-link.c or -excl.c). */
USHM__HIDDEN int ushm__posix_publish_whole(struct ushm *h, size_t size,
                                           int flags, mode_t mode);
/* The fallback protocol, which ushm__posix_publish() may also take. */
USHM__HIDDEN int ushm__posix_create_excl(struct ushm *h, size_t size,
                                         int flags, mode_t mode);
/* Give the object behind fd (read-write, size 0) its mode, mapping and
 * memory; on failure the mapping is undone, fd is the caller's. */
USHM__HIDDEN int ushm__posix_build(struct ushm *h, int fd, size_t size,
                                   int flags, mode_t mode);

/* An anonymous segment (posix-anon.c or posix-anon-zero.c). */
USHM__HIDDEN int ushm__posix_anon(struct ushm *h, size_t size, int flags);

/* ---- the system (posix-sys-<system>.c; posix-sys.c for what is common) ---- */

struct posix_sys {
    const char *name;       /* the system, for messages */
    const char *dir;        /* where objects are files; NULL: no path reaches them */
    const char *objects;    /* where they are, for messages */
    int oflags;             /* what shm_open() takes beyond O_ACCMODE, O_CREAT,
                               O_EXCL, O_TRUNC and O_CLOEXEC */
    int size_first;         /* an object is sized, once, before it is mapped */
    int reserve;            /* posix_fallocate or writing reserves its memory */
    int types_known;        /* fstat() says S_IFREG of an object */
    int exact_size;         /* fstat() gives the size exactly, not in pages */
    int links_known;        /* fstat()'s st_nlink counts names (FreeBSD's
                               counts references, macOS's is 0) */
    int identity;           /* fstat()'s st_dev and st_ino tell objects
                               apart (macOS's are 0) */
    int chmod_works;        /* fchmod() works on an object (macOS: EINVAL,
                               and shm_open() keeps the mode, no umask) */
};
USHM__HIDDEN extern const struct posix_sys ushm__posix_sys;

/* Where objects are, for messages: the directory, or a description. */
USHM__HIDDEN const char *ushm__posix_where(void);
/* The type of what holds name if it is not an object, else 0 (also when
 * nothing, or nothing knowable, holds it). */
USHM__HIDDEN mode_t ushm__posix_other_type(const char *name);
/* Whether anything at all holds the name: 1 or 0, or a negative errno
 * (said) where only opening it could tell and that failed. */
USHM__HIDDEN int ushm__posix_name_taken(const char *name);
/* Whether what fstat() describes is a shared memory object. */
USHM__HIDDEN int ushm__posix_is_object(const struct stat *st);
/* Free bytes and inodes where objects are kept: 0, or -1. */
USHM__HIDDEN int ushm__posix_room(int fd, unsigned long long *bytes,
                                  unsigned long long *inodes,
                                  unsigned long long *inodes_all);
/* How many objects where objects are kept have no name (being built, or
 * removed and still open): 0 where it cannot tell. */
USHM__HIDDEN long ushm__posix_unnamed(void);
/* "<where>NAME is a FIFO" for the core's message. */
USHM__HIDDEN void ushm__posix_other(const char *name, mode_t type,
                                    struct ushm__facts *f);
/* Whether named objects can have huge pages here: 0, or -ENOTSUP said. */
USHM__HIDDEN int ushm__posix_hugepages_ok(const struct ushm *h);
/* Ask for transparent huge pages behind a new object's mapping. */
USHM__HIDDEN void ushm__posix_advise_huge(void *addr, size_t size);
/* Whether name still leads to the object open as fd (where the system
 * cannot tell objects apart: whether it leads to any). */
USHM__HIDDEN int ushm__posix_still_named(const char *name, int fd);
/* Remove the name; -1 with errno. */
USHM__HIDDEN int ushm__posix_unlink_name(const char *name);
/* Remove the name if an object holds it: 0; 1 when something else holds it
 * (*type says what); -1 with errno, *call naming the call that failed. */
USHM__HIDDEN int ushm__posix_remove_name(const char *name, mode_t *type,
                                         const char **call);
/* Longest path of an object: the directory, then the name. */
#define POSIX_PATH_MAX 64
/* "DIR/NAME" where objects are files: 0, or -1 where they are not. */
USHM__HIDDEN int ushm__posix_path(const char *name, char path[POSIX_PATH_MAX]);

/* ENOSPC and the like: the message names the space left. */
USHM__HIDDEN int ushm__posix_nospace(const char *call, const char *name,
                                     size_t size, int fd, int err);
USHM__HIDDEN int ushm__posix_mmap_fail(const char *label, size_t size,
                                       int err);
/* The system's reason for a failed shm_open() or open(). */
USHM__HIDDEN int ushm__posix_open_fail(const char *call, const char *name,
                                       int err);

#endif /* USHM_POSIX_H */
