/* SPDX-License-Identifier: MIT */
/*
 * The public calls on segments: their arguments checked, the segment's name
 * or key made canonical, the handle allocated and freed.  What happens to
 * the segment is decided in lib/open.c; the backend table does it.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "name.h"
#include "open.h"
#include "queue.h"
#include "sync.h"

#define B ushm__backend

static int check_name(const char *func, const char *name,
                      struct ushm__id *id)
{
    int err;

    if (name == NULL)
        return ushm__fail(EINVAL, "%s: name is NULL", func);
    err = ushm__name_canon(name, id->name);
    if (err == 0) {
        id->by = USHM__BY_NAME;
        return 0;
    }
    if (err == -ENAMETOOLONG)
        return ushm__fail(ENAMETOOLONG,
                          "%s(%.40s...): name longer than %d bytes "
                          "(USHM_NAME_MAX, slash included)",
                          func, name, USHM_NAME_MAX);
    if (ushm__name_is_semaphore(name[0] == '/' ? name + 1 : name))
        return ushm__fail(EINVAL,
                          "%s(%.40s): invalid name: names beginning with "
                          "\"sem.\" are POSIX semaphores' (sem_open)",
                          func, name);
    return ushm__fail(EINVAL,
                      "%s(%.40s): invalid name: want an optional '/' and "
                      "1 to %d characters from [A-Za-z0-9._-], not . or ..",
                      func, name, USHM_NAME_MAX - 1);
}

/* A SysV key names a segment only on a backend that has them. */
static int check_key(const char *func, key_t key, struct ushm__id *id)
{
    id->name[0] = '\0';
    snprintf(id->label, sizeof id->label, "key 0x%08x", (unsigned)key);
    if (!B.by_key)
        return ushm__fail(ENOTSUP, "%s(%s): %s: keys name System V segments, "
                          "and this libushm was built with the %s backend; "
                          "configure it --with-backend=sysv to use keys",
                          func, id->label, ushm_strerror(ENOTSUP), B.name);
    if (key == IPC_PRIVATE)
        return ushm__fail(EINVAL, "%s(%s): IPC_PRIVATE names no segment; "
                          "ushm_open() with name NULL makes an anonymous one",
                          func, id->label);
    id->by = USHM__BY_KEY;
    id->key = key;
    return 0;
}

static int check_open_args(const struct ushm__id *id, size_t size,
                           int flags, mode_t mode)
{
    const char *label = ushm__label(id);
    const char *func = id->by == USHM__BY_KEY ? "ushm_open_key" : "ushm_open";

    if (flags & ~USHM__FLAGS_ALL)
        return ushm__fail(EINVAL, "%s(%s): unknown flag bits 0x%x", func,
                          label, (unsigned)(flags & ~USHM__FLAGS_ALL));
    if ((flags & USHM_EXCL) && !(flags & USHM_CREATE))
        return ushm__fail(EINVAL, "%s(%s): USHM_EXCL needs USHM_CREATE",
                          func, label);
    if ((flags & USHM_RDONLY) && (flags & USHM_CREATE))
        return ushm__fail(EINVAL, "%s(%s): USHM_RDONLY cannot create: "
                          "a segment is created read-write", func, label);
    if (mode & ~(mode_t)0777)
        return ushm__fail(EINVAL, "%s(%s): mode 0%o has bits outside 0777",
                          func, label, (unsigned)mode);
    if (id->by == USHM__ANONYMOUS && !(flags & USHM_CREATE))
        return ushm__fail(EINVAL, "%s(%s): an anonymous segment needs "
                          "USHM_CREATE", func, label);
    if (id->by == USHM__ANONYMOUS && size == 0)
        return ushm__fail(EINVAL, "%s(%s): size 0: an anonymous segment "
                          "needs a size", func, label);
    return 0;
}

/* The handle for id, opened: what ushm_open() and ushm_open_key() share. */
static int open_handle(ushm_t **shmp, const struct ushm__id *id, size_t size,
                       int flags, mode_t mode)
{
    struct ushm *shm;
    int err;

    if ((err = check_open_args(id, size, flags, mode)) < 0)
        return err;
    /* malloc, not calloc: glibc's per-thread cache serves it. */
    shm = malloc(B.handle_size);
    if (shm == NULL)
        return ushm__fail(ENOMEM, "ushm_open(%s): out of memory for the "
                          "handle", ushm__label(id));
    shm->addr = NULL;
    shm->size = 0;
    shm->created = 0;
    shm->rdonly = (flags & USHM_RDONLY) != 0;
    shm->left_behind = 0;
    shm->id = *id;
    err = ushm__open(shm, size, flags, mode != 0 ? mode : 0600);
    if (err == 0 && shm->rdonly && ushm__rdonly_add(shm->addr, shm->size) < 0) {
        ushm__backend.unmap(shm);
        err = ushm__fail(ENOMEM, "ushm_open(%s): out of memory to record a "
                         "read-only mapping", ushm__label(id));
    }
    if (err < 0) {
        free(shm);
        return err;
    }
    *shmp = shm;
    return 0;
}

int ushm_open(ushm_t **shmp, const char *name, size_t size, int flags,
              mode_t mode)
{
    struct ushm__id id;
    int err;

    if (shmp == NULL)
        return ushm__fail(EINVAL, "ushm_open(%s): shm is NULL",
                          name != NULL ? name : "(anonymous)");
    *shmp = NULL;
    if (name == NULL) {
        id.by = USHM__ANONYMOUS;
        id.name[0] = '\0';
        memcpy(id.label, "(anonymous)", sizeof "(anonymous)");
    } else if ((err = check_name("ushm_open", name, &id)) < 0) {
        return err;
    }
    return open_handle(shmp, &id, size, flags, mode);
}

int ushm_open_key(ushm_t **shmp, key_t key, size_t size, int flags,
                  mode_t mode)
{
    struct ushm__id id;
    int err;

    if (shmp == NULL)
        return ushm__fail(EINVAL, "ushm_open_key(key 0x%08x): shm is NULL",
                          (unsigned)key);
    *shmp = NULL;
    if ((err = check_key("ushm_open_key", key, &id)) < 0)
        return err;
    return open_handle(shmp, &id, size, flags, mode);
}

/*
 * The size of the segment, read now where it was joined unmeasured
 * (lib/open.c): every thread that reads it stores the same.  0 when it
 * could not be read, with last_error saying why.
 */
static size_t measured_size(const struct ushm *shm)
{
    size_t size = atomic_load_explicit(&shm->size, memory_order_relaxed);

    if (size == 0 && B.measure != NULL && B.measure(shm, &size) == 0)
        atomic_store_explicit(&((struct ushm *)shm)->size, size,
                              memory_order_relaxed);
    return size;
}

/*
 * How far ushm_close() looks for held mutexes and attached queues: the
 * mapping's size; 0 where none lies above the start of a mapping joined
 * unmeasured, which is then not measured (nothing can lie inside it); or
 * SIZE_MAX, with last_error written, where one does and the size could not
 * be read: close must then keep the mapping.
 */
static size_t close_reach(const struct ushm *shm)
{
    size_t len = atomic_load_explicit(&shm->size, memory_order_relaxed);
    size_t above = (size_t)(UINTPTR_MAX - (uintptr_t)shm->addr);
    char why[256];

    if (len != 0 || (!ushm__queue_attached_in(shm->addr, above) &&
                     !ushm__sync_held_in(shm->addr, above, NULL)))
        return len;
    if ((len = measured_size(shm)) != 0)
        return len;
    snprintf(why, sizeof why, "%s", ushm_last_error());
    ushm__fail(EBUSY, "ushm_close(%s): %s: a mutex is held or a queue "
               "attached in this process above the mapping's start, and "
               "its size, which says whether they lie inside it, could not "
               "be read (%s): it stays mapped", ushm__label(&shm->id),
               ushm_strerror(EBUSY), why);
    return SIZE_MAX;
}

int ushm_close(ushm_t *shm)
{
    const void *held;
    size_t len;
    int err;

    if (shm == NULL)
        return 0;
    if ((len = close_reach(shm)) == SIZE_MAX)
        return -EBUSY;
    if (len != 0 && ushm__queue_attached_in(shm->addr, len))
        return ushm__fail(EBUSY, "ushm_close(%s): this process has a "
                          "ushm_queue_t attached inside this mapping: detach "
                          "it first", ushm__label(&shm->id));
    /* A holder's mutex must stay mapped: the kernel marks it when the holder
     * dies, in memory that would by then be gone or reused, and stops
     * there, leaving the holder's other mutexes stuck. */
    if (len != 0 && ushm__sync_held_in(shm->addr, len, &held))
        return ushm__fail(EBUSY, "ushm_close(%s): a thread of this process "
                          "holds the mutex at %p inside this mapping: unlock "
                          "it first", ushm__label(&shm->id), held);
    if (shm->rdonly)
        ushm__rdonly_remove(shm->addr);
    err = B.unmap(shm);
    free(shm);
    return err;
}

int ushm_unlink(const char *name)
{
    struct ushm__id id;
    int err = check_name("ushm_unlink", name, &id);

    return err < 0 ? err : ushm__unlink(&id);
}

int ushm_unlink_key(key_t key)
{
    struct ushm__id id;
    int err = check_key("ushm_unlink_key", key, &id);

    return err < 0 ? err : ushm__unlink(&id);
}

int ushm_stat(const char *name, struct ushm_stat *st)
{
    struct ushm__id id;
    int err = check_name("ushm_stat", name, &id);

    if (err < 0)
        return err;
    if (st == NULL)
        return ushm__fail(EINVAL, "ushm_stat(%s): st is NULL", id.name);
    return ushm__stat(&id, st);
}

int ushm_stat_key(key_t key, struct ushm_stat *st)
{
    struct ushm__id id;
    int err = check_key("ushm_stat_key", key, &id);

    if (err < 0)
        return err;
    if (st == NULL)
        return ushm__fail(EINVAL, "ushm_stat_key(%s): st is NULL", id.label);
    return ushm__stat(&id, st);
}

int ushm_key(const char *name, key_t *key)
{
    struct ushm__id id;
    int err = check_name("ushm_key", name, &id);

    if (err < 0)
        return err;
    if (key == NULL)
        return ushm__fail(EINVAL, "ushm_key(%s): key is NULL", id.name);
    *key = (key_t)ushm__name_key(id.name);
    return 0;
}

void *ushm_addr(const ushm_t *shm)
{
    return shm != NULL ? shm->addr : NULL;
}

size_t ushm_size(const ushm_t *shm)
{
    return shm != NULL ? measured_size(shm) : 0;
}

const char *ushm_name(const ushm_t *shm)
{
    return shm != NULL && shm->id.by == USHM__BY_NAME ? shm->id.name : NULL;
}

int ushm_created(const ushm_t *shm)
{
    return shm != NULL ? shm->created : 0;
}

const char *ushm_backend(void)
{
    return B.name;
}

const char *ushm_version(void)
{
    return USHM_VERSION_STRING;
}
