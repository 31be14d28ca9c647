/* SPDX-License-Identifier: MIT */
/*
 * What targeted cases are written with (injections, expectations, the
 * hooks that play another process, the scenarios), and both backends' cases.
 */
#include "syscall-faults.h"

/* ------------------------------------------------------------------ */
/* Targeted cases.                                                      */

struct inj I(int fn, int nth, int count, int err)
{
    struct inj i = { 0 };

    i.fn = fn;
    i.nth = nth;
    i.count = count;
    i.err = err;
    i.act = ACT_FAIL;
    return i;
}

struct inj I_match(int fn, long mask, long value, int count, int err)
{
    struct inj i = I(fn, 1, count, err);

    i.mask = mask;
    i.value = value;
    return i;
}

struct inj I_hook(int fn, int nth, void (*hook)(void))
{
    struct inj i = I(fn, nth, 1, 0);

    i.act = ACT_HOOK;
    i.hook = hook;
    return i;
}

struct inj I_fopen(const char *path, const char *text, int err)
{
    struct inj i = I(F_FOPEN, 1, -1, err);

    i.path = path;
    if (text != NULL) {
        i.act = ACT_FAKE;
        i.text = text;
    }
    return i;
}

struct inj I_count(int fn, long mask, long value)
{
    struct inj i = I_match(fn, mask, value, -1, 0);

    i.act = ACT_COUNT;
    return i;
}

struct expect OK(int created)
{
    struct expect e = { 0 };

    e.created = created;
    return e;
}

struct expect ERR(int err, const char *kw)
{
    struct expect e = { 0 };

    e.rc = -err;
    e.kw = kw;
    e.created = -1;
    return e;
}

/* Hooks: what another process does just before the library's call. */
void hook_unlink(void)
{
    remove_name(cur.name);
    cur.gone = 1;
    snap_sets(cur.before);
}

/* Another program gives the empty object its size (shm_open + ftruncate,
 * the usual way), or the fallback's creator finishes. */
void hook_complete(void)
{
    int fd = __real_shm_open(cur.name, O_RDWR, 0);

    if (fd != -1) {
        __real_ftruncate(fd, (sf_off_t)seg_size);
        __real_close(fd);
    }
    snap_sets(cur.before);
}

/* The name is removed, and another process makes a whole new segment. */
void hook_replace(void)
{
    int fd;

    __real_shm_unlink(cur.name);
    fd = __real_shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd != -1) {
        __real_ftruncate(fd, (sf_off_t)seg_size);
        __real_close(fd);
    }
    snap_sets(cur.before);
}

#if USHM_ATOMIC_PUBLISH
/* Another program has just made the name with shm_open() and not yet
 * given it a size. */
void hook_make_empty(void)
{
    int fd = __real_shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0600);

    if (fd != -1)
        __real_close(fd);
    snap_sets(cur.before);
}
#endif

const struct scen sc_create = {
    "create named", OP_OPEN, S_NONE, 0, 1, USHM_CREATE | USHM_EXCL, 0640, 0 };
const struct scen sc_create_0400 = {
    "create named 0400", OP_OPEN, S_NONE, 0, 1, USHM_CREATE | USHM_EXCL,
    0400, 0 };
const struct scen sc_create_noexcl = {
    "create named (no EXCL)", OP_OPEN, S_NONE, 0, 1, USHM_CREATE, 0640, 0 };
const struct scen sc_open = {
    "open existing", OP_OPEN, S_EXISTING, 0, 0, 0, 0, 0 };
const struct scen sc_open_ro = {
    "open existing RDONLY", OP_OPEN, S_EXISTING, 0, 0, USHM_RDONLY, 0, 0 };
const struct scen sc_open_or_create = {
    "open-or-create existing", OP_OPEN, S_EXISTING, 0, 1, USHM_CREATE, 0640, 0 };
const struct scen sc_half = {
    "open-or-create size-0 object", OP_OPEN, S_HALF, 0, 1, USHM_CREATE, 0640,
    1 };
const struct scen sc_anon = {
    "anonymous", OP_OPEN, S_NONE, 1, 1, USHM_CREATE, 0640, 0 };
const struct scen sc_populate = {
    "create POPULATE", OP_OPEN, S_NONE, 0, 1,
    USHM_CREATE | USHM_EXCL | USHM_POPULATE, 0640, 0 };
const struct scen sc_anon_populate = {
    "anonymous POPULATE", OP_OPEN, S_NONE, 1, 1,
    USHM_CREATE | USHM_POPULATE, 0640, 0 };
const struct scen sc_ro_populate = {
    "open RDONLY POPULATE", OP_OPEN, S_EXISTING, 0, 0,
    USHM_RDONLY | USHM_POPULATE, 0, 0 };
const struct scen sc_huge = {
    "create HUGEPAGES", OP_OPEN, S_NONE, 0, 1,
    USHM_CREATE | USHM_EXCL | USHM_HUGEPAGES, 0640, 0 };
const struct scen sc_anon_huge = {
    "anonymous HUGEPAGES", OP_OPEN, S_NONE, 1, 1,
    USHM_CREATE | USHM_HUGEPAGES, 0640, 0 };
const struct scen sc_close = {
    "close", OP_CLOSE, S_OPEN, 0, 0, 0, 0, 0 };
const struct scen sc_close_anon = {
    "close anonymous", OP_CLOSE, S_OPEN_ANON, 1, 0, 0, 0, 0 };
const struct scen sc_unlink = {
    "unlink", OP_UNLINK, S_EXISTING, 0, 0, 0, 0, 0 };
const struct scen sc_stat = {
    "stat", OP_STAT, S_EXISTING, 0, 0, 0, 0, 0 };
const struct scen sc_size = {
    "size of a plain join", OP_SIZE, S_JOINED, 0, 0, 0, 0, 0 };
const struct scen sc_close_held = {
    "close of a plain join, a mutex held in it", OP_CLOSE, S_JOINED_HELD,
    0, 0, 0, 0, 0 };

struct inj I_fake_euid(void)
{
    struct inj i = I(F_GETEUID, 1, -1, 0);

    i.act = ACT_FAKE;
    return i;
}

void targeted_common(void)
{
    /* USHM_POPULATE: a kernel without MADV_POPULATE_* answers EINVAL, and
     * the pages are touched one by one instead; EFAULT (a page could not
     * be had) is -ENOSPC naming /dev/shm's free space, or -ENOMEM. */
#if HAVE_DECL_MADV_POPULATE_WRITE && HAVE_DECL_MADV_POPULATE_READ
    RUN(sc_populate, OK(1), "madvise(MADV_POPULATE_WRITE) -> EINVAL (page walk)",
        I_match(F_MADVISE, -1, MADV_POPULATE_WRITE, 1, EINVAL));
    RUN(sc_populate, OK(1),
        "madvise(MADV_POPULATE_WRITE) -> EINVAL, sysconf -> EINVAL (page walk)",
        I_match(F_MADVISE, -1, MADV_POPULATE_WRITE, 1, EINVAL),
        I(F_SYSCONF, 1, -1, EINVAL));
    RUN(sc_ro_populate, OK(0), "madvise(MADV_POPULATE_READ) -> EINVAL (page walk)",
        I_match(F_MADVISE, -1, MADV_POPULATE_READ, 1, EINVAL));
    if (posix) {
        RUN(sc_populate, ERR(ENOSPC, "bytes free"),
            "madvise(MADV_POPULATE_WRITE) -> EFAULT (the name is removed)",
            I(F_MADVISE, 1, 1, EFAULT));
        RUN(sc_populate, ERR(ENOMEM, "could not allocate"),
            "madvise(MADV_POPULATE_WRITE) -> EFAULT, statvfs -> EIO",
            I(F_MADVISE, 1, 1, EFAULT), I(F_STATVFS, 1, 1, EIO));
        RUN(sc_ro_populate, ERR(ENOSPC, "bytes free"),
            "madvise(MADV_POPULATE_READ) -> EFAULT (the segment stays)",
            I(F_MADVISE, 1, 1, EFAULT));
    } else {
        RUN(sc_populate, ERR(ENOMEM, "could not allocate"),
            "madvise(MADV_POPULATE_WRITE) -> EFAULT (the segment is removed)",
            I(F_MADVISE, 1, 1, EFAULT));
        RUN(sc_ro_populate, ERR(ENOMEM, "could not allocate"),
            "madvise(MADV_POPULATE_READ) -> EFAULT (the segment stays)",
            I(F_MADVISE, 1, 1, EFAULT));
    }
    RUN(sc_anon_populate, ERR(ENOMEM, "could not allocate"),
        "madvise(MADV_POPULATE_WRITE) -> EFAULT",
        I(F_MADVISE, 1, 1, EFAULT));
#endif
    RUN(sc_anon, ERR(ENOMEM, "out of memory"), "malloc -> ENOMEM",
        I(F_MALLOC, 1, 1, ENOMEM));
}
