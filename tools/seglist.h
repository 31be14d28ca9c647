/* SPDX-License-Identifier: MIT */
/*
 * The system's lists of shared memory segments: the entries of /dev/shm and
 * the rows of /proc/sysvipc/shm, read in one place for the ushm command and
 * the tests.  Internal: linked from a convenience library, never installed,
 * nothing of it in libushm.
 *
 * The numbers have fixed-width types, not off_t or ino_t, so that a caller
 * built without large-file support sees the same structs as seglist.c,
 * which has it (a 32-bit build lists segments of 2 GiB and more).
 */
#ifndef USHM_SEGLIST_H
#define USHM_SEGLIST_H

#include <stddef.h>
#include <sys/ipc.h> /* key_t, whatever the feature macros */
#include <sys/types.h>

#define SEGLIST_POSIX_DIR "/dev/shm"
#define SEGLIST_SYSV_FILE "/proc/sysvipc/shm"

/* One entry of /dev/shm ("." and ".." left out), as lstat(2) sees it. */
struct seglist_posix {
    const char *name;           /* as in the directory, without a slash */
    int err;                    /* lstat's errno (ENOENT: gone since readdir),
                                   and then the numbers below are 0; or 0 */
    unsigned mode;              /* st_mode: file type and permission bits */
    unsigned long long size, dev, ino, nlink;
    long long uid, gid;
};

/* One row of /proc/sysvipc/shm. */
struct seglist_sysv {
    key_t key;                  /* 0 (IPC_PRIVATE): an anonymous segment */
    int shmid;
    unsigned perms;             /* with 01000 (SHM_DEST) once removed */
    unsigned long long size;
    long long cpid, lpid;       /* creator, last shmat or shmdt */
    long long nattch;
    long long uid, gid, cuid, cgid;
};

typedef int seglist_posix_fn(const struct seglist_posix *entry, void *arg);
typedef int seglist_sysv_fn(const struct seglist_sysv *row, void *arg);

/*
 * Call fn for each entry (row) until it returns non-zero, and return that
 * value; else 0 once all are seen, or a negative errno when the list cannot
 * be read, with a sentence in why (when given) that names the file.  A fn
 * that fails with a positive value keeps its failure apart from those.
 */
int seglist_posix_each(seglist_posix_fn *fn, void *arg, char *why, size_t len);
int seglist_sysv_each(seglist_sysv_fn *fn, void *arg, char *why, size_t len);

#endif
