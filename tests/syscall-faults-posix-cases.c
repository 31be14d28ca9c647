/* SPDX-License-Identifier: MIT */
/*
 * Targeted cases of the POSIX backend: the creation protocol (atomic or
 * fallback), posix_fallocate, limits, joining, size-0 objects, huge pages.
 */
#include "syscall-faults.h"

#if USHM_ATOMIC_PUBLISH
/* Did the last creation link with AT_EMPTY_PATH (the privileged route)? */
static int route_empty_path;

/*
 * The atomic protocol's choices that stick for the rest of a process: the
 * first creation finds out which linkat() route the kernel allows, and an
 * O_TMPFILE that the mount refuses sends the process to the fallback.  Each
 * case runs in a child forked before this program has created anything.
 */
void targeted_fresh_process(void)
{
    static const int no_tmpfile[] = { EOPNOTSUPP, EISDIR, EINVAL };
    static const char *const no_tmpfile_name[] = { "EOPNOTSUPP", "EISDIR",
                                                   "EINVAL" };

    for (size_t i = 0; i < sizeof no_tmpfile / sizeof no_tmpfile[0]; i++) {
        char desc[120];

        snprintf(desc, sizeof desc, "open(O_TMPFILE) -> %s (the fallback: "
                 "shm_open(O_EXCL))", no_tmpfile_name[i]);
        RUN_FORKED(sc_create, OK(1), desc,
                   I_match(F_OPEN, O_TMPFILE, O_TMPFILE, 1, no_tmpfile[i]),
                   I_count(F_SHM_OPEN, O_EXCL, O_EXCL));
    }
    RUN_FORKED(sc_create, OK(1),
               "linkat(AT_EMPTY_PATH) -> ENOENT (unprivileged): "
               "linkat(/proc/self/fd) links it",
               I_match(F_LINKAT, AT_EMPTY_PATH, AT_EMPTY_PATH, 1, ENOENT),
               I_count(F_LINKAT, AT_EMPTY_PATH, 0));
    RUN_FORKED(sc_create_noexcl, OK(1),
               "linkat(AT_EMPTY_PATH) -> ENOENT, linkat(/proc/self/fd) -> "
               "EEXIST, name missing when joined (retried: made)",
               I_match(F_LINKAT, AT_EMPTY_PATH, AT_EMPTY_PATH, 1, ENOENT),
               I_match(F_LINKAT, AT_EMPTY_PATH, 0, 1, EEXIST));
    RUN_FORKED(sc_create, ERR(EIO, "linkat"),
               "linkat(AT_EMPTY_PATH) -> ENOENT, linkat(/proc/self/fd) -> EIO",
               I_match(F_LINKAT, AT_EMPTY_PATH, AT_EMPTY_PATH, 1, ENOENT),
               I_match(F_LINKAT, AT_EMPTY_PATH, 0, 1, EIO));
    RUN_FORKED(sc_create, ERR(ENOENT, "linkat"),
               "linkat -> ENOENT on both routes, /proc/self/fd there",
               I(F_LINKAT, 1, 2, ENOENT), I_count(F_ACCESS, 0, 0));
    RUN_FORKED(sc_create, OK(1),
               "linkat -> ENOENT on both routes, access(/proc/self/fd) -> "
               "ENOENT (no /proc: the fallback)",
               I(F_LINKAT, 1, 2, ENOENT), I(F_ACCESS, 1, 1, ENOENT),
               I_count(F_SHM_OPEN, O_EXCL, O_EXCL));
}

/* Create once, counting, to learn which linkat() route this process uses. */
void settle_link_route(void)
{
    ushm_t *h = NULL;
    const char *name = new_name();

    nplan = 0;
    nseq = 0;
    armed = 1;
    ushm_open(&h, name, seg_size, USHM_CREATE | USHM_EXCL, 0600);
    armed = 0;
    ushm_close(h);
    remove_name(name);
    for (int i = 0; i < nseq; i++)
        if (seq[i].fn == F_LINKAT)
            route_empty_path = (seq[i].detail & AT_EMPTY_PATH) != 0;
    printf("# linkat route: %s\n", route_empty_path ? "AT_EMPTY_PATH"
           : "/proc/self/fd");
}

void targeted_atomic(void)
{
    /* The unnamed object: open(O_TMPFILE) and its limits. */
    RUN(sc_create, ERR(ENOSPC, "free inodes"), "open(O_TMPFILE) -> ENOSPC",
        I(F_OPEN, 1, -1, ENOSPC));
    RUN(sc_create, ERR(ENOSPC, NULL), "open(O_TMPFILE) -> ENOSPC, statvfs -> EIO",
        I(F_OPEN, 1, -1, ENOSPC), I(F_STATVFS, 1, -1, EIO));
    RUN(sc_create, ERR(EMFILE, "O_TMPFILE"), "open(O_TMPFILE) -> EMFILE",
        I(F_OPEN, 1, 1, EMFILE));
    RUN(sc_create_noexcl, ERR(ENFILE, "O_TMPFILE"), "open(O_TMPFILE) -> ENFILE",
        I(F_OPEN, 1, 1, ENFILE));
    RUN(sc_create, ERR(EACCES, "O_TMPFILE"), "open(O_TMPFILE) -> EACCES",
        I(F_OPEN, 1, 1, EACCES));

    /* Linking it into place. */
    RUN(sc_create, ERR(ENOSPC, "bytes free"), "linkat -> ENOSPC",
        I(F_LINKAT, 1, -1, ENOSPC));
    RUN(sc_create, ERR(EEXIST, NULL), "linkat -> EEXIST (another's name)",
        I(F_LINKAT, 1, 1, EEXIST));
    RUN(sc_create_noexcl, OK(1),
        "linkat -> EEXIST once, name missing when joined (retried: made)",
        I(F_LINKAT, 1, 1, EEXIST));
    RUN(sc_create_noexcl, ERR(EAGAIN, "made again"),
        "linkat -> EEXIST, shm_open(O_RDWR) -> ENOENT, always",
        I(F_LINKAT, 1, -1, EEXIST), I(F_SHM_OPEN, 1, -1, ENOENT));

    /* Races: another process takes the name while the segment is built. */
    RUN(sc_create_noexcl, OK(0),
        "hook: another process makes it whole before linkat #1 (joins)",
        I_hook(F_LINKAT, 1, hook_replace));
    RUN(sc_create, ERR(EEXIST, NULL),
        "hook: another process makes it whole before linkat #1",
        I_hook(F_LINKAT, 1, hook_replace));
    RUN(sc_create_noexcl, ERR(EAGAIN, "empty object"),
        "hook: another program's shm_open makes it (size 0) before linkat #1, "
        "never sized (waits 1 s; left alone)",
        I_hook(F_LINKAT, 1, hook_make_empty));
    RUN(sc_create_noexcl, OK(0),
        "hook: another program's shm_open makes it (size 0) before linkat #1, "
        "sized before fstat #2 (joins)",
        I_hook(F_LINKAT, 1, hook_make_empty), I_hook(F_FSTAT, 2, hook_complete));
}
#else
static struct expect ERR_ALLOW(int err, const char *kw, int allow)
{
    struct expect e = ERR(err, kw);

    e.allow = allow;
    return e;
}

void targeted_fallback(void)
{
    /* The name made with O_EXCL, and its limits. */
    RUN(sc_create, ERR(ENOSPC, ROOM("free inodes", "shm_open")), "shm_open(O_EXCL) -> ENOSPC",
        I(F_SHM_OPEN, 1, -1, ENOSPC));
    RUN_FILES(sc_create, ERR(ENOSPC, "shm_open"),
        "shm_open(O_EXCL) -> ENOSPC, statvfs -> EIO",
        I(F_SHM_OPEN, 1, -1, ENOSPC), I(F_STATVFS, 1, -1, EIO));
    RUN(sc_create, ERR(ENFILE, "shm_open"), "shm_open(O_EXCL) -> ENFILE",
        I(F_SHM_OPEN, 1, 1, ENFILE));
    RUN(sc_create_noexcl, ERR(EAGAIN, "made again"),
        "shm_open(O_EXCL) -> EEXIST, shm_open(O_RDWR) -> ENOENT, always",
        I_match(F_SHM_OPEN, O_EXCL, O_EXCL, -1, EEXIST),
        I_match(F_SHM_OPEN, O_EXCL, 0, -1, ENOENT));

    /* A failed creation removes its name, and only while it is its own. */
#if HAVE_POSIX_FALLOCATE
    /* Its own leftover, which it could not remove, is nobody's to wait
     * for: the -ENOSPC stands.  A creation short of room that finds
     * another's whole segment at the name is a racer that lost: it joins,
     * or with USHM_EXCL it is -EEXIST (as the atomic protocol answers). */
    RUN(sc_create_noexcl,
        ERR_ALLOW(ENOSPC, ROOM("bytes free", "posix_fallocate"), ALLOW_ZERO_LEFT),
        "posix_fallocate -> ENOSPC, removing the name -> EACCES",
        I(F_FALLOCATE, 1, -1, ENOSPC),
        I(fc_objects_are_files() ? F_UNLINK : F_SHM_UNLINK, 1, 1, EACCES));
    RUN(sc_create, ERR(EEXIST, NULL),
        "hook: name replaced by another's before posix_fallocate #1, "
        "posix_fallocate -> ENOSPC (the other's must stay)",
        I_hook(F_FALLOCATE, 1, hook_replace), I(F_FALLOCATE, 1, -1, ENOSPC));
    RUN(sc_create_noexcl, OK(0),
        "hook: name replaced by another's before posix_fallocate #1, "
        "posix_fallocate -> ENOSPC (joins the other's)",
        I_hook(F_FALLOCATE, 1, hook_replace), I(F_FALLOCATE, 1, -1, ENOSPC));
#endif
    RUN_NOT_MACOS("gives the mode to shm_open, never fchmod",
        sc_create_noexcl, ERR_ALLOW(EIO, "fchmod", ALLOW_ZERO_LEFT),
        "fchmod -> EIO, the look at the name (shm_open #3) -> EIO "
        "(cannot tell it is its own: kept)",
        I(F_FCHMOD, 1, 1, EIO), I(F_SHM_OPEN, 3, 1, EIO));
    RUN_NOT_MACOS("gives the mode to shm_open, never fchmod",
        sc_create, ERR(EIO, "fchmod"),
        "hook: name replaced by another's before fchmod #1, fchmod -> EIO "
        "(the other's must stay)",
        I_hook(F_FCHMOD, 1, hook_replace), I(F_FCHMOD, 1, 1, EIO));
    RUN_NOT_MACOS("gives the mode to shm_open, never fchmod",
        sc_create, OK(1), "hook: name removed before fchmod #1 (made it: goes on)",
        I_hook(F_FCHMOD, 1, hook_unlink));
}
#endif

void targeted_posix(void)
{
#if HAVE_POSIX_FALLOCATE
    /* posix_fallocate: the memory is reserved, or the creation fails. */
    /* A file system without fallocate: a zero written into every page. */
    RUN(sc_create, OK(1),
        "posix_fallocate -> EOPNOTSUPP (ftruncate and a zero per page instead)",
        I(F_FALLOCATE, 1, 1, EOPNOTSUPP));
    RUN(sc_create, ERR(ENOSPC, ROOM("bytes free", "pwrite")),
        "posix_fallocate -> EOPNOTSUPP, pwrite -> ENOSPC",
        I(F_FALLOCATE, 1, -1, EOPNOTSUPP), I(F_PWRITE, 1, -1, ENOSPC));
    RUN(sc_create, ERR(EINVAL, "posix_fallocate"), "posix_fallocate -> EFBIG",
        I(F_FALLOCATE, 1, 1, EFBIG));
    RUN(sc_create, ERR(ENOSPC, ROOM("bytes free", "posix_fallocate")),
        "posix_fallocate -> ENOSPC", I(F_FALLOCATE, 1, -1, ENOSPC));
    RUN(sc_create_noexcl, ERR(ENOSPC, ROOM("bytes free", "posix_fallocate")),
        "posix_fallocate -> ENOSPC (no EXCL)", I(F_FALLOCATE, 1, -1, ENOSPC));
    RUN_FILES(sc_create, ERR(ENOSPC, "posix_fallocate"),
        "posix_fallocate -> ENOSPC, fstatvfs -> EIO",
        I(F_FALLOCATE, 1, -1, ENOSPC), I(F_FSTATVFS, 1, -1, EIO));
    RUN(sc_create, ERR(ENOMEM, "posix_fallocate"), "posix_fallocate -> ENOMEM",
        I(F_FALLOCATE, 1, 1, ENOMEM));
    RUN(sc_create, OK(1), "posix_fallocate -> EINTR x1",
        I(F_FALLOCATE, 1, 1, EINTR));
#else
    /* Without posix_fallocate: ftruncate, then a zero into every page. */
    RUN_NOT_MACOS("reserves no memory at creation (no write on objects)",
        sc_create, ERR(ENOSPC, ROOM("bytes free", "pwrite")), "pwrite #2 -> ENOSPC",
        I(F_PWRITE, 2, -1, ENOSPC));
    RUN_NOT_MACOS("reserves no memory at creation (no write on objects)",
        sc_create, ERR(EINVAL, "pwrite"), "pwrite #1 -> EFBIG",
        I(F_PWRITE, 1, 1, EFBIG));
    RUN_NOT_MACOS("reserves no memory at creation (no write on objects)",
        sc_create, ERR(EIO, "pwrite"), "pwrite #3 -> EIO",
        I(F_PWRITE, 3, 1, EIO));
    RUN_NOT_MACOS("reserves no memory at creation (no write on objects)",
        sc_create, OK(1), "pwrite #2 -> EINTR x2",
        I(F_PWRITE, 2, 2, EINTR));
#endif
    /* RLIMIT_FSIZE below the size: refused before anything is made. */
    RUN(sc_create, ERR(EINVAL, "RLIMIT_FSIZE"),
        "getrlimit(RLIMIT_FSIZE) -> 4096 bytes (no SIGXFSZ, nothing made)",
        (struct inj){ .fn = F_GETRLIMIT, .mask = -1, .value = RLIMIT_FSIZE,
                      .nth = 1, .count = -1, .act = ACT_FAKE });

    /* Joining: the answers that mean a race. */
    RUN(sc_open_or_create, OK(0),
        "shm_open(O_RDWR) -> ENOENT once (removed meanwhile: retried)",
        I_match(F_SHM_OPEN, O_EXCL, 0, 1, ENOENT));
    RUN(sc_stat, OK(-1), "shm_open(O_RDONLY) -> EINTR x5",
        I(F_SHM_OPEN, 1, 5, EINTR));
    RUN(sc_open_or_create, ERR(EPERM, "belongs to uid"),
        "geteuid -> another uid (existing object of another user)",
        I_fake_euid());

    /* A size-0 object that libushm did not make: never taken over. */
    RUN0(sc_half, ERR(EAGAIN, "empty object"),
         "no injection: never sized (waits 1 s; left alone at size 0)");
    RUN(sc_half, OK(0), "hook: another program sizes it before fstat #2 (joins)",
        I_hook(F_FSTAT, 2, hook_complete), I_count(F_SHM_OPEN, O_EXCL, 0));
    RUN(sc_half, OK(0), "hook: another program sizes it before fstat #4 (joins)",
        I_hook(F_FSTAT, 4, hook_complete));
    RUN(sc_half, OK(1), "hook: removed before fstat #2 (retried: made)",
        I_hook(F_FSTAT, 2, hook_unlink));
    RUN(sc_half, ERR(EIO, "fstat"), "fstat #2 -> EIO (while waiting)",
        I(F_FSTAT, 2, 1, EIO));
    RUN(sc_half, ERR(EPERM, "belongs to uid"),
        "geteuid -> another uid, hook: sized before fstat #2 (another "
        "user's object: not joined)",
        I_hook(F_FSTAT, 2, hook_complete), I_fake_euid());

    /* Huge pages: transparent huge pages on /dev/shm, as /proc tells (Linux's
     * tmpfs; elsewhere named objects get none: conformance asserts it). */
#if HAVE_DECL_MADV_HUGEPAGE
    RUN_FILES(sc_huge, OK(1), "fopen(shmem_enabled) -> \"[force]\"",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never deny [force]\n", 0),
        I_count(F_MADVISE, -1, MADV_HUGEPAGE));
    RUN_FILES(sc_huge, OK(1), "fopen(shmem_enabled) -> \"[force]\", madvise(MADV_HUGEPAGE) -> EINVAL",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never deny [force]\n", 0),
        I_match(F_MADVISE, -1, MADV_HUGEPAGE, 1, EINVAL));
#else
    RUN_FILES(sc_huge, OK(1), "fopen(shmem_enabled) -> \"[force]\" (no MADV_HUGEPAGE)",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never deny [force]\n", 0));
#endif
    RUN_FILES(sc_huge, OK(1), "fopen(mounts) -> \"huge=within_size\", fopen(shmem_enabled) -> ENOENT",
        I_fopen("/proc/self/mounts",
                "proc /proc proc rw 0 0\ntmpfs /dev/shm tmpfs rw,huge=within_size 0 0\n", 0),
        I_fopen("shmem_enabled", NULL, ENOENT));
    RUN_FILES(sc_huge, ERR(ENOTSUP, "huge"),
        "fopen(mounts) -> \"huge=always\", fopen(shmem_enabled) -> \"[deny]\"",
        I_fopen("/proc/self/mounts", "tmpfs /dev/shm tmpfs rw,huge=always 0 0\n", 0),
        I_fopen("shmem_enabled", "always within_size advise never [deny] force\n", 0));
#if HAVE_DECL_MAP_HUGETLB && HAVE_DECL_MAP_ANONYMOUS
    RUN(sc_anon_huge, OK(1), "mmap(MAP_HUGETLB) -> plain pages (as if reserved)",
        (struct inj){ .fn = F_MMAP, .mask = MAP_HUGETLB, .value = MAP_HUGETLB,
                      .nth = 1, .count = 1, .act = ACT_FAKE });
    {
        struct inj hint = I_fopen("/proc/meminfo", NULL, ENOENT);

        hint.nth = 2; /* the first one gives the huge page size */
        RUN(sc_anon_huge, ERR(ENOMEM, "mmap"),
            "mmap(MAP_HUGETLB) -> ENOMEM, fopen(meminfo) #2.. -> ENOENT",
            I_match(F_MMAP, MAP_HUGETLB, MAP_HUGETLB, 1, ENOMEM), hint);
    }
#endif
    RUN(sc_anon, ERR(ENOMEM, "mmap"), "mmap(MAP_ANONYMOUS) -> ENOMEM, getrlimit -> EINVAL",
        I(F_MMAP, 1, 1, ENOMEM), I(F_GETRLIMIT, 1, 1, EINVAL));
}
