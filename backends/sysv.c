/* SPDX-License-Identifier: MIT */
/*
 * The System V backend: shmget + shmat.
 *
 * A name becomes a key by ushm__name_key() (lib/name.c), never ftok() and
 * never IPC_PRIVATE.  shmget(IPC_CREAT | IPC_EXCL) is atomic, so exactly one
 * racing process creates; the others attach the segment it made.
 */
#define _GNU_SOURCE /* SHM_INFO, to tell which limit a failed shmget() hit */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "backend.h"
#include "name.h"

#if HAVE_DECL_SHM_HUGETLB
#define SYSV_HUGETLB(flags) (((flags) & USHM_HUGEPAGES) ? SHM_HUGETLB : 0)
#else
#define SYSV_HUGETLB(flags) 0
#endif


static key_t sysv_key(const char *name)
{
    return (key_t)ushm__name_key(name);
}

/* Why shmget() could not create: the per-segment or the system-wide limit. */
static int sysv_create_fail(const char *name, key_t key, size_t size,
                            int flags, int err)
{
    unsigned long long shmmax, shmmni, shmall;
    long page = sysconf(_SC_PAGESIZE);
    char what[96];

    if (name[0] != '\0')
        snprintf(what, sizeof what, "%s, key 0x%08x", name, (unsigned)key);
    else
        snprintf(what, sizeof what, "(anonymous), IPC_PRIVATE");
    if ((flags & USHM_HUGEPAGES) && (err == ENOMEM || err == EPERM))
        return ushm__fail(err, "shmget(%s, %zu bytes, SHM_HUGETLB): %s: %s",
                          what, size, ushm_strerror(err), err == ENOMEM ?
                          ushm__hugepage_hint() : "the caller needs "
                          "CAP_IPC_LOCK or the group in vm.hugetlb_shm_group");
    if (err == EINVAL &&
        ushm__read_sysctl("/proc/sys/kernel/shmmax", &shmmax) == 0 &&
        size > shmmax)
        return ushm__fail(EINVAL, "shmget(%s, %zu bytes): %s: larger than "
                          "kernel.shmmax (%llu)", what, size,
                          ushm_strerror(EINVAL), shmmax);
    if (err == ENOSPC) {
        int have_mni = ushm__read_sysctl("/proc/sys/kernel/shmmni", &shmmni) == 0;
        int have_all = ushm__read_sysctl("/proc/sys/kernel/shmall", &shmall) == 0;
#if HAVE_DECL_SHM_INFO
        struct shm_info info;

        if (shmctl(0, SHM_INFO, (struct shmid_ds *)(void *)&info) >= 0) {
            if (have_mni && (unsigned long long)info.used_ids >= shmmni)
                return ushm__fail(ENOSPC, "shmget(%s, %zu bytes): %s: all "
                                  "kernel.shmmni (%llu) segments are in use",
                                  what, size, ushm_strerror(ENOSPC), shmmni);
            if (have_all)
                return ushm__fail(ENOSPC, "shmget(%s, %zu bytes): %s: "
                                  "kernel.shmall (%llu pages of %ld bytes) "
                                  "would be exceeded: %lu pages in use",
                                  what, size, ushm_strerror(ENOSPC), shmall,
                                  page, (unsigned long)info.shm_tot);
        }
#endif
        if (have_mni && have_all)
            return ushm__fail(ENOSPC, "shmget(%s, %zu bytes): %s: "
                              "kernel.shmmni (%llu segments) or kernel.shmall "
                              "(%llu pages of %ld bytes) is used up", what,
                              size, ushm_strerror(ENOSPC), shmmni, shmall,
                              page);
    }
    if (err == ENOMEM)
        return ushm__fail(ENOMEM, "shmget(%s, %zu bytes): %s: the kernel "
                          "would not commit that much memory", what, size,
                          ushm_strerror(ENOMEM));
    return ushm__fail(err, "shmget(%s, %zu bytes): %s", what, size,
                      ushm_strerror(err));
}

static int sysv_hugepages_supported(const char *name, int flags)
{
#if HAVE_DECL_SHM_HUGETLB
    (void)name;
    (void)flags;
    return 0;
#else
    if (!(flags & USHM_HUGEPAGES))
        return 0;
    return ushm__fail(ENOTSUP, "ushm_open(%s, USHM_HUGEPAGES): %s: built "
                      "without SHM_HUGETLB", ushm__label(name),
                      ushm_strerror(ENOTSUP));
#endif
}

static int sysv_attach_fail(const char *name, int id, int err)
{
    return ushm__fail(err, "shmat(%s, id %d): %s%s", ushm__label(name), id,
                      ushm_strerror(err), ushm__rlimit_hint(err));
}

/* Did the segment id go away (another process's ushm_unlink)? */
static int sysv_gone(int id, int err)
{
    struct shmid_ds ds;

    return err == EIDRM || (err == EINVAL && shmctl(id, IPC_STAT, &ds) == -1 &&
                            (errno == EINVAL || errno == EIDRM));
}

/*
 * The mode a segment is made with.  Its creator must attach it read-write,
 * so a mode without owner read and write is made 0600 and set right after
 * the attach (sysv_attach_new): a creator killed in between leaves a whole
 * segment of mode 0600, as README and ushm_open(3) say.
 */
static mode_t sysv_create_mode(mode_t mode)
{
    return (mode & 0600) == 0600 ? mode : 0600;
}

/*
 * Attach the segment id this call has just made, and give it its mode if
 * it was made with another (sysv_create_mode).  On failure the segment is
 * removed; USHM__RETRY when another process removed it first.
 */
static int sysv_attach_new(struct ushm *shm, int id, size_t size, mode_t mode)
{
    struct shmid_ds ds;
    void *addr = shmat(id, NULL, 0);
    int err;

    if (addr == (void *)-1) {
        err = errno;
        if (shm->name[0] != '\0' && sysv_gone(id, err))
            return USHM__RETRY;
        shmctl(id, IPC_RMID, NULL);
        return sysv_attach_fail(shm->name, id, err);
    }
    if (sysv_create_mode(mode) != mode) {
        if (shmctl(id, IPC_STAT, &ds) == 0) {
            ds.shm_perm.mode = (ds.shm_perm.mode & ~0777u) | mode;
            if (shmctl(id, IPC_SET, &ds) == 0)
                goto done;
        }
        err = errno;
        shmdt(addr);
        if (shm->name[0] != '\0' && sysv_gone(id, err))
            return USHM__RETRY;
        shmctl(id, IPC_RMID, NULL);
        return ushm__fail(err, "shmctl(%s, id %d, IPC_SET mode 0%o): %s",
                          ushm__label(shm->name), id, (unsigned)mode,
                          ushm_strerror(err));
    }
done:
    shm->addr = addr;
    shm->size = size;
    shm->created = 1;
    shm->backend_state = id;
    return 0;
}

static int sysv_open_anon(struct ushm *shm, size_t size, int flags,
                          mode_t mode)
{
    int id, err = sysv_hugepages_supported(shm->name, flags);

    if (err < 0)
        return err;
    id = shmget(IPC_PRIVATE, size, IPC_CREAT | SYSV_HUGETLB(flags) |
                (int)sysv_create_mode(mode));
    if (id == -1)
        return sysv_create_fail("", IPC_PRIVATE, size, flags, errno);
    if ((err = sysv_attach_new(shm, id, size, mode)) < 0)
        return err;
    /* Marked for removal at once: it goes away with its last attachment. */
    if (shmctl(id, IPC_RMID, NULL) == -1) {
        err = errno;
        shmdt(shm->addr);
        shm->addr = NULL;
        return ushm__fail(err, "shmctl((anonymous), id %d, IPC_RMID): %s",
                          id, ushm_strerror(err));
    }
    return 0;
}

static int sysv_try_open(struct ushm *shm, size_t size, int flags,
                         mode_t mode)
{
    const char *name = shm->name;
    key_t key = sysv_key(name);
    int create = flags & USHM_CREATE, id, err;
    struct shmid_ds ds;
    void *addr;

    if (create && size > 0) {
        if ((err = sysv_hugepages_supported(shm->name, flags)) < 0)
            return err;
        id = shmget(key, size, IPC_CREAT | IPC_EXCL | SYSV_HUGETLB(flags) |
                    (int)sysv_create_mode(mode));
        if (id >= 0)
            return sysv_attach_new(shm, id, size, mode);
        if (errno != EEXIST)
            return sysv_create_fail(name, key, size, flags, errno);
    }
    id = shmget(key, 0, 0);
    if (id == -1) {
        if (errno == ENOENT && create && size > 0)
            return USHM__RETRY;
        if (errno == ENOENT && create)
            return ushm__fail(EINVAL, "ushm_open(%s): size 0: cannot "
                              "create a segment of 0 bytes", name);
        return ushm__fail(errno, "shmget(%s, key 0x%08x): %s", name,
                          (unsigned)key, ushm_strerror(errno));
    }
    if (create && (flags & USHM_EXCL))
        return ushm__fail(EEXIST, "shmget(%s, key 0x%08x): %s", name,
                          (unsigned)key, ushm_strerror(EEXIST));
    /* IPC_STAT needs read permission, as any attach does. */
    if (shmctl(id, IPC_STAT, &ds) == -1) {
        err = errno;
        if (err == EIDRM || err == EINVAL)
            return USHM__RETRY;
        return ushm__fail(err, "shmctl(%s, id %d, IPC_STAT): %s", name, id,
                          ushm_strerror(err));
    }
    addr = shmat(id, NULL, (flags & USHM_RDONLY) ? SHM_RDONLY : 0);
    if (addr == (void *)-1) {
        err = errno;
        if (sysv_gone(id, err))
            return USHM__RETRY; /* removed meanwhile: maybe made again */
        return sysv_attach_fail(name, id, err);
    }
    /* After the attach, so that no permission is -EACCES first.  A segment
     * made by another user and given away (IPC_SET of its uid) stays in its
     * creator's control: owner and creator must both be the caller. */
    if (create && (ds.shm_perm.uid != geteuid() ||
                   ds.shm_perm.cuid != geteuid())) {
        shmdt(addr);
        return ushm__fail(EPERM, "ushm_open(%s): %s: it belongs to uid %ld "
                          "and was made by uid %ld, not this process's uid "
                          "%ld; open it without USHM_CREATE to join it", name,
                          ushm_strerror(EPERM), (long)ds.shm_perm.uid,
                          (long)ds.shm_perm.cuid, (long)geteuid());
    }
    if ((uintmax_t)ds.shm_segsz < (uintmax_t)size) {
        shmdt(addr);
        return ushm__fail(EINVAL, "ushm_open(%s, %zu bytes): %s: the segment "
                          "has only %ju bytes", name, size,
                          ushm_strerror(EINVAL), (uintmax_t)ds.shm_segsz);
    }
    shm->addr = addr;
    shm->backend_state = id;
    shm->size = (size_t)ds.shm_segsz;
    return 0;
}

static int sysv_open(struct ushm *shm, size_t size, int flags, mode_t mode)
{
    if (shm->name[0] == '\0')
        return sysv_open_anon(shm, size, flags, mode);
    return sysv_try_open(shm, size, flags, mode);
}

static int sysv_close(struct ushm *shm)
{
    if (shmdt(shm->addr) == -1)
        return ushm__fail(errno, "shmdt(%s, id %d): %s",
                          ushm__label(shm->name), (int)shm->backend_state,
                          ushm_strerror(errno));
    return 0;
}

/* The id behind a name, or a negative errno with last_error written. */
static int sysv_lookup(const char *name)
{
    key_t key = sysv_key(name);
    int id = shmget(key, 0, 0);

    if (id == -1)
        return ushm__fail(errno, "shmget(%s, key 0x%08x): %s", name,
                          (unsigned)key, ushm_strerror(errno));
    return id;
}

static int sysv_unlink(const char *name)
{
    int id = sysv_lookup(name);

    if (id < 0)
        return id;
    if (shmctl(id, IPC_RMID, NULL) == -1) {
        int err = errno == EIDRM || errno == EINVAL ? ENOENT : errno;

        return ushm__fail(err, "shmctl(%s, id %d, IPC_RMID): %s", name, id,
                          ushm_strerror(err));
    }
    return 0;
}

static int sysv_stat(const char *name, struct ushm_stat *st)
{
    struct shmid_ds ds;
    int id = sysv_lookup(name);

    if (id < 0)
        return id;
    if (shmctl(id, IPC_STAT, &ds) == -1) {
        int err = errno == EIDRM || errno == EINVAL ? ENOENT : errno;

        return ushm__fail(err, "shmctl(%s, id %d, IPC_STAT): %s", name, id,
                          ushm_strerror(err));
    }
    st->size = (size_t)ds.shm_segsz;
    st->mode = ds.shm_perm.mode & 0777;
    st->uid = ds.shm_perm.uid;
    st->gid = ds.shm_perm.gid;
    st->nattach = (long)ds.shm_nattch;
    return 0;
}

const struct ushm__backend ushm__backend = {
    .name = "sysv",
    .space_dir = NULL,
    .open = sysv_open,
    .close = sysv_close,
    .unlink = sysv_unlink,
    .stat = sysv_stat,
};
