/* SPDX-License-Identifier: MIT */
/* The system's lists of shared memory segments (see seglist.h). */
#define _POSIX_C_SOURCE 200809L

/* First: it turns on large-file support, so that lstat() describes objects
 * of 2 GiB and more in a 32-bit build instead of failing with EOVERFLOW. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seglist.h"

#ifdef USHM_POSIX_UNLISTED
/* No directory to read, rather than a missing one. */
int seglist_posix_each(seglist_posix_fn *fn, void *arg, char *why, size_t len)
{
    (void)fn;
    (void)arg;
    if (why)
        snprintf(why, len, "cannot list POSIX segments: %s", USHM_POSIX_UNLISTED);
    return -ENOTSUP;
}
#else
int seglist_posix_each(seglist_posix_fn *fn, void *arg, char *why, size_t len)
{
    DIR *dir = opendir(SEGLIST_POSIX_DIR);
    struct dirent *d;
    int rc = 0;

    if (!dir) {
        rc = -errno;
        if (why)
            snprintf(why, len, "cannot list POSIX segments: %s: %s",
                     SEGLIST_POSIX_DIR, strerror(errno));
        return rc;
    }
    while (rc == 0 && (d = readdir(dir)) != NULL) {
        struct seglist_posix e = { 0 };
        struct stat st;

        if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
            continue;
        e.name = d->d_name;
        /* Never follows a symlink: what is listed is what holds the name. */
        if (fstatat(dirfd(dir), d->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            e.err = errno;
        } else {
            e.mode = (unsigned)st.st_mode;
            e.size = (unsigned long long)st.st_size;
            e.dev = (unsigned long long)st.st_dev;
            e.ino = (unsigned long long)st.st_ino;
            e.nlink = (unsigned long long)st.st_nlink;
            e.uid = (long long)st.st_uid;
            e.gid = (long long)st.st_gid;
        }
        rc = fn(&e, arg);
    }
    closedir(dir);
    return rc;
}
#endif

/* The columns used, found by name in the header line: the kernel has added
 * columns over the years, so their positions are not relied on. */
enum { KEY, SHMID, PERMS, SIZE, CPID, LPID, NATTCH, UID, GID, CUID, CGID, NCOLS };
static const char *const colname[NCOLS] = {
    "key", "shmid", "perms", "size", "cpid", "lpid", "nattch", "uid", "gid",
    "cuid", "cgid"
};

static int sysv_header(char *line, int col[NCOLS], char *why, size_t len)
{
    char *tok, *save;
    int i = 0;

    for (int c = 0; c < NCOLS; c++)
        col[c] = -1;
    for (tok = strtok_r(line, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save), i++)
        for (int c = 0; c < NCOLS; c++)
            if (strcmp(tok, colname[c]) == 0)
                col[c] = i;
    for (int c = 0; c < NCOLS; c++)
        if (col[c] < 0) {
            if (why)
                snprintf(why, len, "%s: no '%s' column", SEGLIST_SYSV_FILE,
                         colname[c]);
            return -EPROTO;
        }
    return 0;
}

/* One line into *s; -1 if it is not a segment's line (a field missing). */
static int sysv_row(char *line, const int col[NCOLS], struct seglist_sysv *s)
{
    const char *v[NCOLS] = { 0 };
    char *tok, *save;
    int i = 0;

    for (tok = strtok_r(line, " \t\n", &save); tok;
         tok = strtok_r(NULL, " \t\n", &save), i++)
        for (int c = 0; c < NCOLS; c++)
            if (col[c] == i)
                v[c] = tok;
    for (int c = 0; c < NCOLS; c++)
        if (!v[c])
            return -1;
    /* The kernel prints the key as a signed int: keep its 32 bits. */
    s->key = (key_t)(uint32_t)strtoll(v[KEY], NULL, 10);
    s->shmid = (int)strtol(v[SHMID], NULL, 10);
    s->perms = (unsigned)strtoul(v[PERMS], NULL, 8);
    s->size = strtoull(v[SIZE], NULL, 10);
    s->cpid = strtoll(v[CPID], NULL, 10);
    s->lpid = strtoll(v[LPID], NULL, 10);
    s->nattch = strtoll(v[NATTCH], NULL, 10);
    s->uid = strtoll(v[UID], NULL, 10);
    s->gid = strtoll(v[GID], NULL, 10);
    s->cuid = strtoll(v[CUID], NULL, 10);
    s->cgid = strtoll(v[CGID], NULL, 10);
    return 0;
}

int seglist_sysv_each(seglist_sysv_fn *fn, void *arg, char *why, size_t len)
{
    int col[NCOLS], rc = 0, fd = open(SEGLIST_SYSV_FILE, O_RDONLY | O_CLOEXEC);
    char *line = NULL;
    size_t cap = 0;
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

    if (!f) {
        rc = -errno;
        if (why)
            snprintf(why, len, "cannot list SysV segments: %s: %s",
                     SEGLIST_SYSV_FILE, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    if (getline(&line, &cap, f) <= 0) {
        rc = -EPROTO;
        if (why)
            snprintf(why, len, "%s: no header line", SEGLIST_SYSV_FILE);
    } else if ((rc = sysv_header(line, col, why, len)) == 0) {
        while (rc == 0 && getline(&line, &cap, f) > 0) {
            struct seglist_sysv s;

            if (sysv_row(line, col, &s) == 0)
                rc = fn(&s, arg);
        }
    }
    free(line);
    fclose(f);
    return rc;
}
