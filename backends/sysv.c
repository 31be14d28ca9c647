/* SPDX-License-Identifier: MIT */
/*
 * The System V backend: shmget + shmat.
 *
 * A name becomes a key by ushm__name_key() (lib/name.c), never ftok() and
 * never IPC_PRIVATE; ushm_open_key() gives the key itself.
 * shmget(IPC_CREAT | IPC_EXCL) is atomic, so exactly one racing process
 * creates; the core has the others join the segment it made.
 */
#define _GNU_SOURCE /* SHM_HUGETLB */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "name.h"
#include "sysv.h"

struct sysv_handle {
    struct ushm base;
    int shmid;              /* what find() found, or the attached segment */
};

static struct sysv_handle *sysv_of(struct ushm *h)
{
    return (struct sysv_handle *)(void *)h;
}

static key_t sysv_key(const struct ushm__id *id)
{
    return id->by == USHM__BY_KEY ? id->key
                                  : (key_t)ushm__name_key(id->name);
}

/* "NAME, key 0x..." or "key 0x..." for messages. */
static const char *sysv_what(const struct ushm__id *id, char *buf,
                             size_t len)
{
    if (id->by == USHM__BY_NAME)
        snprintf(buf, len, "%s, key 0x%08x", id->name,
                 (unsigned)sysv_key(id));
    else if (id->by == USHM__BY_KEY)
        snprintf(buf, len, "%s", id->label);
    else
        snprintf(buf, len, "(anonymous), IPC_PRIVATE");
    return buf;
}

#if HAVE_DECL_SHM_HUGETLB
#define SYSV_HUGETLB(flags) (((flags) & USHM_HUGEPAGES) ? SHM_HUGETLB : 0)
static int sysv_hugepages_supported(const struct ushm__id *id, int flags)
{
    (void)id;
    (void)flags;
    return 0;
}
#else
#define SYSV_HUGETLB(flags) 0
static int sysv_hugepages_supported(const struct ushm__id *id, int flags)
{
    if (!(flags & USHM_HUGEPAGES))
        return 0;
    return ushm__fail(ENOTSUP, "ushm_open(%s, USHM_HUGEPAGES): %s: built "
                      "without SHM_HUGETLB", ushm__label(id),
                      ushm_strerror(ENOTSUP));
}
#endif

/* Why shmget() could not create: the per-segment or the system-wide limit,
 * under the name this system gives it (sysv.h). */
static int sysv_create_fail(const struct ushm__id *id, size_t size,
                            int flags, int err)
{
    unsigned long long shmmax, shmmni, shmall, used, pages;
    const char *max_name, *mni_name, *all_name;
    long page = sysconf(_SC_PAGESIZE);
    char what[96];

    sysv_what(id, what, sizeof what);
    if ((flags & USHM_HUGEPAGES) && (err == ENOMEM || err == EPERM))
        return ushm__fail(err, "shmget(%s, %zu bytes, SHM_HUGETLB): %s: %s",
                          what, size, ushm_strerror(err), err == ENOMEM ?
                          ushm__hugepage_hint() : "the caller needs "
                          "CAP_IPC_LOCK or the group in vm.hugetlb_shm_group");
    if (err == EINVAL &&
        ushm__sysv_limit(USHM__SHMMAX, &max_name, &shmmax) == 0 &&
        size > shmmax)
        return ushm__fail(EINVAL, "shmget(%s, %zu bytes): %s: larger than "
                          "%s (%llu)", what, size, ushm_strerror(EINVAL),
                          max_name, shmmax);
    if (err == ENOSPC) {
        int have_mni = ushm__sysv_limit(USHM__SHMMNI, &mni_name, &shmmni) == 0;
        int have_all = ushm__sysv_limit(USHM__SHMALL, &all_name, &shmall) == 0;

        if (ushm__sysv_usage(&used, &pages) == 0) {
            if (have_mni && used >= shmmni)
                return ushm__fail(ENOSPC, "shmget(%s, %zu bytes): %s: all "
                                  "%s (%llu) segments are in use", what, size,
                                  ushm_strerror(ENOSPC), mni_name, shmmni);
            if (have_all)
                return ushm__fail(ENOSPC, "shmget(%s, %zu bytes): %s: "
                                  "%s (%llu pages of %ld bytes) "
                                  "would be exceeded: %llu pages in use",
                                  what, size, ushm_strerror(ENOSPC), all_name,
                                  shmall, page, pages);
        }
        if (have_mni && have_all)
            return ushm__fail(ENOSPC, "shmget(%s, %zu bytes): %s: "
                              "%s (%llu segments) or %s (%llu pages of %ld "
                              "bytes) is used up", what, size,
                              ushm_strerror(ENOSPC), mni_name, shmmni,
                              all_name, shmall, page);
    }
    if (err == ENOMEM)
        return ushm__fail(ENOMEM, "shmget(%s, %zu bytes): %s: the kernel "
                          "would not commit that much memory", what, size,
                          ushm_strerror(ENOMEM));
    return ushm__fail(err, "shmget(%s, %zu bytes): %s", what, size,
                      ushm_strerror(err));
}

/* EMFILE from shmat() is the per-process limit where there is one (macOS's
 * kern.sysv.shmseg is 8 by default). */
static int sysv_attach_fail(const struct ushm__id *id, int shmid, int err)
{
    unsigned long long shmseg;
    const char *seg_name;

    if (err == EMFILE &&
        ushm__sysv_limit(USHM__SHMSEG, &seg_name, &shmseg) == 0)
        return ushm__fail(err, "shmat(%s, id %d): %s: a process can have "
                          "at most %s (%llu) segments attached",
                          ushm__label(id), shmid, ushm_strerror(err),
                          seg_name, shmseg);
    return ushm__fail(err, "shmat(%s, id %d): %s%s", ushm__label(id), shmid,
                      ushm_strerror(err), ushm__rlimit_hint(err));
}

/* Did the segment go away (another process's ushm_unlink)? */
static int sysv_gone(int shmid, int err)
{
    struct shmid_ds ds;

    return err == EIDRM ||
           (err == EINVAL && shmctl(shmid, IPC_STAT, &ds) == -1 &&
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
 * Attach the segment this call has just made, and give it its mode if it
 * was made with another (sysv_create_mode).  On failure the segment is
 * removed; USHM__RETRY when another process removed it first.
 */
static int sysv_attach_new(struct ushm *h, int shmid, size_t size,
                           mode_t mode)
{
    int named = h->id.by != USHM__ANONYMOUS, err;
    void *addr = shmat(shmid, NULL, 0);
    struct shmid_ds ds;

    if (addr == (void *)-1) {
        err = errno;
        if (named && sysv_gone(shmid, err))
            return USHM__RETRY;
        shmctl(shmid, IPC_RMID, NULL);
        return sysv_attach_fail(&h->id, shmid, err);
    }
    if (sysv_create_mode(mode) != mode) {
        if (shmctl(shmid, IPC_STAT, &ds) == 0) {
            ds.shm_perm.mode = (ds.shm_perm.mode & ~0777u) | mode;
            if (shmctl(shmid, IPC_SET, &ds) == 0)
                goto done;
        }
        err = errno;
        shmdt(addr);
        if (named && sysv_gone(shmid, err))
            return USHM__RETRY;
        shmctl(shmid, IPC_RMID, NULL);
        return ushm__fail(err, "shmctl(%s, id %d, IPC_SET mode 0%o): %s",
                          ushm__label(&h->id), shmid, (unsigned)mode,
                          ushm_strerror(err));
    }
done:
    h->addr = addr;
    h->size = size;
    sysv_of(h)->shmid = shmid;
    return 0;
}

static int sysv_create(struct ushm *h, size_t size, int flags, mode_t mode)
{
    int anon = h->id.by == USHM__ANONYMOUS, shmid, err;

    if ((err = sysv_hugepages_supported(&h->id, flags)) < 0)
        return err;
    shmid = shmget(anon ? IPC_PRIVATE : sysv_key(&h->id), size,
                   IPC_CREAT | (anon ? 0 : IPC_EXCL) | SYSV_HUGETLB(flags) |
                   (int)sysv_create_mode(mode));
    if (shmid == -1)
        return errno == EEXIST && !anon ? USHM__EXISTS
                                        : sysv_create_fail(&h->id, size,
                                                           flags, errno);
    if ((err = sysv_attach_new(h, shmid, size, mode)) != 0 || !anon)
        return err;
    /* Marked for removal at once: it goes away with its last attachment. */
    if (shmctl(shmid, IPC_RMID, NULL) == -1) {
        err = errno;
        shmdt(h->addr);
        h->addr = NULL;
        return ushm__fail(err, "shmctl((anonymous), id %d, IPC_RMID): %s",
                          shmid, ushm_strerror(err));
    }
    return 0;
}

/* The id behind a name or key: >= 0, or a negative errno said. */
static int sysv_lookup(const struct ushm__id *id)
{
    char what[64];
    int shmid = shmget(sysv_key(id), 0, 0);

    if (shmid == -1)
        return ushm__fail(errno, "shmget(%s): %s",
                          sysv_what(id, what, sizeof what),
                          ushm_strerror(errno));
    return shmid;
}

/* Describe segment shmid: 0, USHM__RETRY when it is gone, or -errno. */
static int sysv_describe(const struct ushm__id *id, int shmid,
                         struct ushm__facts *f)
{
    struct shmid_ds ds;

    /* IPC_STAT needs read permission, as any attach does. */
    if (shmctl(shmid, IPC_STAT, &ds) == -1) {
        int err = errno;

        if (err == EIDRM || err == EINVAL)
            return USHM__RETRY;
        return ushm__fail(err, "shmctl(%s, id %d, IPC_STAT): %s",
                          ushm__label(id), shmid, ushm_strerror(err));
    }
    f->kind = USHM__SEGMENT;
    f->size = (uintmax_t)ds.shm_segsz;
    f->allocated = f->size;
    f->mode = ds.shm_perm.mode & 0777;
    f->uid = ds.shm_perm.uid;
    f->cuid = ds.shm_perm.cuid;
    f->gid = ds.shm_perm.gid;
    f->nattach = (long)ds.shm_nattch;
    f->nlink = 1;
    return 0;
}

static int sysv_find(struct ushm *h, int rdonly, struct ushm__facts *f)
{
    int shmid = sysv_lookup(&h->id);

    (void)rdonly; /* the attach checks the access */
    if (shmid < 0)
        return shmid;
    sysv_of(h)->shmid = shmid;
    return sysv_describe(&h->id, shmid, f);
}

static int sysv_refresh(struct ushm *h, struct ushm__facts *f)
{
    int err = sysv_describe(&h->id, sysv_of(h)->shmid, f);

    if (err == USHM__RETRY) {
        f->nlink = 0;
        err = 0;
    }
    return err;
}

static int sysv_map(struct ushm *h, size_t size, int rdonly)
{
    int shmid = sysv_of(h)->shmid, err;
    void *addr = shmat(shmid, NULL, rdonly ? SHM_RDONLY : 0);

    if (addr == (void *)-1) {
        err = errno;
        if (sysv_gone(shmid, err))
            return USHM__RETRY; /* removed meanwhile: maybe made again */
        return sysv_attach_fail(&h->id, shmid, err);
    }
    h->addr = addr;
    h->size = size;
    return 0;
}

/* A plain join without IPC_STAT (backend.h): shmget() with the least size
 * the caller wants is EINVAL for a smaller segment, and the attach checks
 * the access, so nothing is left to learn before it but the size, which
 * sysv_measure() reads when it is first asked for, where it always can
 * (sysv-size-lazy.c). */
static int sysv_join_unmeasured(struct ushm *h, size_t size)
{
    void *addr;
    int shmid;

    if (ushm__sysv_size_again == NULL ||
        (shmid = shmget(sysv_key(&h->id), size, 0)) == -1 ||
        (addr = shmat(shmid, NULL, 0)) == (void *)-1)
        return USHM__MEASURE;
    h->addr = addr;
    sysv_of(h)->shmid = shmid;
    return 0;
}

static int sysv_measure(const struct ushm *h, size_t *size)
{
    int shmid = ((const struct sysv_handle *)(const void *)h)->shmid, err;
    struct shmid_ds ds;

    if (shmctl(shmid, IPC_STAT, &ds) == 0) {
        *size = ds.shm_segsz;
        return 0;
    }
    err = errno;
    if (ushm__sysv_size_again(shmid, size) == 0)
        return 0;
    return ushm__fail(err, "shmctl(%s, id %d, IPC_STAT): %s, and neither "
                      "SHM_STAT_ANY nor /proc/sysvipc/shm said its size",
                      ushm__label(&h->id), shmid, ushm_strerror(err));
}

static void sysv_release(struct ushm *h)
{
    (void)h; /* a shmid holds nothing */
}

static int sysv_unmap(struct ushm *h)
{
    if (shmdt(h->addr) == -1)
        return ushm__fail(errno, "shmdt(%s, id %d): %s", ushm__label(&h->id),
                          sysv_of(h)->shmid, ushm_strerror(errno));
    return 0;
}

static int sysv_remove(const struct ushm__id *id, struct ushm__facts *f)
{
    int shmid = sysv_lookup(id);

    f->kind = USHM__SEGMENT;
    if (shmid < 0)
        return shmid;
    if (shmctl(shmid, IPC_RMID, NULL) == -1) {
        int err = errno == EIDRM || errno == EINVAL ? ENOENT : errno;

        return ushm__fail(err, "shmctl(%s, id %d, IPC_RMID): %s",
                          ushm__label(id), shmid, ushm_strerror(err));
    }
    return 0;
}

static int sysv_stat(const struct ushm__id *id, struct ushm__facts *f)
{
    int shmid = sysv_lookup(id), err;

    if (shmid < 0)
        return shmid;
    err = sysv_describe(id, shmid, f);
    if (err == USHM__RETRY)
        return ushm__fail(ENOENT, "shmctl(%s, id %d, IPC_STAT): %s",
                          ushm__label(id), shmid, ushm_strerror(ENOENT));
    return err;
}

const struct ushm__backend ushm__backend = {
    .name = "sysv",
    .handle_size = sizeof(struct sysv_handle),
    .by_key = 1,
    .find = sysv_find,
    .refresh = sysv_refresh,
    .map = sysv_map,
    .release = sysv_release,
    .join_unmeasured = sysv_join_unmeasured,
    .measure = sysv_measure,
    .create = sysv_create,
    .unmap = sysv_unmap,
    .remove = sysv_remove,
    .stat = sysv_stat,
    .space = NULL,
};
