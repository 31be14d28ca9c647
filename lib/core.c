/* SPDX-License-Identifier: MIT */
/* The backend-agnostic core: argument checks, handles, dispatch. */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "name.h"
#include "prefault.h"
#include "sync.h"

static int check_name(const char *func, const char *name,
                      char canon[USHM_NAME_MAX + 1])
{
    int err;

    if (name == NULL)
        return ushm__fail(EINVAL, "%s: name is NULL", func);
    err = ushm__name_canon(name, canon);
    if (err == -ENAMETOOLONG)
        return ushm__fail(ENAMETOOLONG,
                          "%s(%.40s...): name longer than %d bytes "
                          "(USHM_NAME_MAX, slash included)",
                          func, name, USHM_NAME_MAX);
    if (err < 0 && ushm__name_is_semaphore(name[0] == '/' ? name + 1 : name))
        return ushm__fail(EINVAL,
                          "%s(%.40s): invalid name: names beginning with "
                          "\"sem.\" are POSIX semaphores' (sem_open)",
                          func, name);
    if (err < 0)
        return ushm__fail(EINVAL,
                          "%s(%.40s): invalid name: want an optional '/' and "
                          "1 to %d characters from [A-Za-z0-9._-], not . or ..",
                          func, name, USHM_NAME_MAX - 1);
    return 0;
}

static int check_open_args(const char *name, size_t size, int flags,
                           mode_t mode)
{
    const char *label = ushm__label(name);

    if (flags & ~USHM__FLAGS_ALL)
        return ushm__fail(EINVAL, "ushm_open(%s): unknown flag bits 0x%x",
                          label, (unsigned)(flags & ~USHM__FLAGS_ALL));
    if ((flags & USHM_EXCL) && !(flags & USHM_CREATE))
        return ushm__fail(EINVAL, "ushm_open(%s): USHM_EXCL needs USHM_CREATE",
                          label);
    if ((flags & USHM_RDONLY) && (flags & USHM_CREATE))
        return ushm__fail(EINVAL, "ushm_open(%s): USHM_RDONLY cannot create: "
                          "a segment is created read-write", label);
    if (mode & ~(mode_t)0777)
        return ushm__fail(EINVAL, "ushm_open(%s): mode 0%o has bits outside "
                          "0777", label, (unsigned)mode);
    if (name == NULL && !(flags & USHM_CREATE))
        return ushm__fail(EINVAL, "ushm_open(%s): an anonymous segment needs "
                          "USHM_CREATE", label);
    if (name == NULL && size == 0)
        return ushm__fail(EINVAL, "ushm_open(%s): size 0: an anonymous "
                          "segment needs a size", label);
    return 0;
}

int ushm_open(ushm_t **shmp, const char *name, size_t size, int flags,
              mode_t mode)
{
    struct ushm *shm;
    char canon[USHM_NAME_MAX + 1] = "";
    int err;

    if (shmp == NULL)
        return ushm__fail(EINVAL, "ushm_open(%s): shm is NULL",
                          name != NULL ? name : "(anonymous)");
    *shmp = NULL;
    if (name != NULL && (err = check_name("ushm_open", name, canon)) < 0)
        return err;
    if ((err = check_open_args(name != NULL ? canon : NULL, size, flags,
                               mode)) < 0)
        return err;

    shm = calloc(1, sizeof *shm);
    if (shm == NULL)
        return ushm__fail(ENOMEM, "ushm_open(%s): out of memory for the "
                          "handle", ushm__label(canon));
    memcpy(shm->name, canon, sizeof canon);

    for (int tries = 1;; tries++) {
        err = ushm__backend.open(shm, size, flags, mode != 0 ? mode : 0600);
        if (err != USHM__RETRY)
            break;
        if (tries == USHM__TRIES) {
            err = ushm__fail(EAGAIN, "ushm_open(%s): the segment was removed "
                             "and made again %d times while opening it",
                             canon, USHM__TRIES);
            break;
        }
    }
    if (err == 0 && (flags & USHM_POPULATE)) {
        err = ushm__prefault(shm->addr, shm->size, !(flags & USHM_RDONLY),
                             ushm__label(shm->name), shm->name[0] != '\0' ?
                             ushm__backend.space_dir : NULL);
        if (err < 0) {
            char why[256];

            /* Undo what was made, keeping the prefault's message. */
            snprintf(why, sizeof why, "%s", ushm_last_error());
            ushm__backend.close(shm);
            if (shm->created && shm->name[0] != '\0')
                ushm__backend.unlink(shm->name);
            ushm__fail(-err, "%s", why);
        }
    }
    if (err < 0) {
        free(shm);
        return err;
    }
    *shmp = shm;
    return 0;
}

int ushm_close(ushm_t *shm)
{
    const void *held;
    int err;

    if (shm == NULL)
        return 0;
    /* A holder's mutex must stay mapped: the kernel marks it when the holder
     * dies, in memory that would by then be gone or reused. */
    if (ushm__sync_held_in(shm->addr, shm->map_len > shm->size ?
                           shm->map_len : shm->size, &held))
        return ushm__fail(EBUSY, "ushm_close(%s): the calling thread holds "
                          "the mutex at %p inside this mapping: unlock it "
                          "first", ushm__label(shm->name), held);
    err = ushm__backend.close(shm);
    free(shm);
    return err;
}

int ushm_unlink(const char *name)
{
    char canon[USHM_NAME_MAX + 1];
    int err = check_name("ushm_unlink", name, canon);

    return err < 0 ? err : ushm__backend.unlink(canon);
}

int ushm_stat(const char *name, struct ushm_stat *st)
{
    char canon[USHM_NAME_MAX + 1];
    int err = check_name("ushm_stat", name, canon);

    if (err < 0)
        return err;
    if (st == NULL)
        return ushm__fail(EINVAL, "ushm_stat(%s): st is NULL", canon);
    return ushm__backend.stat(canon, st);
}

int ushm_key(const char *name, key_t *key)
{
    char canon[USHM_NAME_MAX + 1];
    int err = check_name("ushm_key", name, canon);

    if (err < 0)
        return err;
    if (key == NULL)
        return ushm__fail(EINVAL, "ushm_key(%s): key is NULL", canon);
    *key = (key_t)ushm__name_key(canon);
    return 0;
}

void *ushm_addr(const ushm_t *shm)
{
    return shm != NULL ? shm->addr : NULL;
}

size_t ushm_size(const ushm_t *shm)
{
    return shm != NULL ? shm->size : 0;
}

const char *ushm_name(const ushm_t *shm)
{
    return shm != NULL && shm->name[0] != '\0' ? shm->name : NULL;
}

int ushm_created(const ushm_t *shm)
{
    return shm != NULL ? shm->created : 0;
}

const char *ushm_backend(void)
{
    return ushm__backend.name;
}

const char *ushm_version(void)
{
    return USHM_VERSION_STRING;
}
