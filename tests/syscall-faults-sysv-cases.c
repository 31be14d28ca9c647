/* SPDX-License-Identifier: MIT */
/*
 * Targeted cases of the SysV backend: which limit shmget hit, and
 * shmat/shmctl answers that mean the segment was removed meanwhile.
 */
#include "syscall-faults.h"

#if USHM_SYSV_SIZE_LAZY
/* A plain join is first tried unmeasured, without IPC_STAT; its attach
 * failing sends it the measured way, which these cases are about. */
#define MEASURED I(F_SHMAT, 1, 1, ENOMEM),
#define MEASURED_DESC "unmeasured shmat #1 -> ENOMEM, "
#else
#define MEASURED
#define MEASURED_DESC ""
#endif

#if USHM_SYSV_SIZE_LAZY
/* A plain join's size, read when first asked, whatever happened since the
 * attach (sysv-size-lazy.c); and ushm_close(), which needs it only where
 * a mutex held lies above the mapping's start. */
static void targeted_lazy_size(void)
{
    struct inj proc = I(F_FOPEN, 1, -1, ENOENT);

    proc.path = "/proc/sysvipc/shm";
    RUN0(sc_size, OK(-1), "none: IPC_STAT reads it");
#if HAVE_DECL_SHM_STAT_ANY
    RUN(sc_size, OK(-1),
        "shmctl(IPC_STAT) -> EACCES (read permission taken away): "
        "SHM_STAT_ANY reads it",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES),
        I_count(F_SHMCTL, -1, SHM_STAT_ANY));
    RUN(sc_size, OK(-1),
        "shmctl(IPC_STAT) -> EACCES, shmctl(SHM_STAT_ANY) -> EINVAL (before "
        "Linux 4.17): /proc/sysvipc/shm says it",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES),
        I_match(F_SHMCTL, -1, SHM_STAT_ANY, -1, EINVAL));
    RUN(sc_size, ERR(ENODATA, "nor /proc/sysvipc/shm"),
        "shmctl(IPC_STAT) -> EACCES, SHM_STAT_ANY -> EINVAL, "
        "fopen(/proc/sysvipc/shm) -> ENOENT: 0, said",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES),
        I_match(F_SHMCTL, -1, SHM_STAT_ANY, -1, EINVAL), proc);
    RUN(sc_close_held, ERR(EBUSY, "could not be read"),
        "shmctl(IPC_STAT) -> EACCES, SHM_STAT_ANY -> EINVAL, "
        "fopen(/proc/sysvipc/shm) -> ENOENT: kept mapped",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES),
        I_match(F_SHMCTL, -1, SHM_STAT_ANY, -1, EINVAL), proc);
#else
    RUN(sc_size, OK(-1),
        "shmctl(IPC_STAT) -> EACCES (read permission taken away; built "
        "without SHM_STAT_ANY): /proc/sysvipc/shm says it",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES));
    RUN(sc_size, ERR(ENODATA, "nor /proc/sysvipc/shm"),
        "shmctl(IPC_STAT) -> EACCES, fopen(/proc/sysvipc/shm) -> ENOENT "
        "(built without SHM_STAT_ANY): 0, said",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES), proc);
    RUN(sc_close_held, ERR(EBUSY, "could not be read"),
        "shmctl(IPC_STAT) -> EACCES, fopen(/proc/sysvipc/shm) -> ENOENT "
        "(built without SHM_STAT_ANY): kept mapped",
        I_match(F_SHMCTL, -1, IPC_STAT, -1, EACCES), proc);
#endif
    RUN(sc_close_held, ERR(EBUSY, "holds the mutex"),
        "none: measured, the mutex is inside",
        I_count(F_SHMCTL, -1, IPC_STAT));
}
#endif

void targeted_sysv(void)
{
    /* shmget: which limit a creation hit. */
#if HAVE_DECL_SHM_INFO
    RUN(sc_create, ERR(ENOSPC, "kernel.shmmni"),
        "shmget(IPC_EXCL) -> ENOSPC, shmctl(SHM_INFO) -> EINVAL",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, ENOSPC),
        I_match(F_SHMCTL, -1, SHM_INFO, 1, EINVAL));
#else
    RUN(sc_create, ERR(ENOSPC, "kernel.shmmni"),
        "shmget(IPC_EXCL) -> ENOSPC (built without SHM_INFO)",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, ENOSPC));
#endif
    RUN(sc_create, ERR(ENOSPC, "shmget"),
        "shmget(IPC_EXCL) -> ENOSPC, fopen(/proc/sys) -> ENOENT",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, ENOSPC),
        I_fopen("/proc/sys/kernel", NULL, ENOENT));
    RUN(sc_create, ERR(EINVAL, "shmget"), "shmget(IPC_EXCL) -> EINVAL (under shmmax)",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, EINVAL));
    RUN(sc_create, ERR(EACCES, "shmget"), "shmget(IPC_EXCL) -> EACCES",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, 1, EACCES));
    RUN(sc_anon, ERR(ENOMEM, "shmget"), "shmget(IPC_PRIVATE) -> ENOMEM",
        I(F_SHMGET, 1, 1, ENOMEM));

    /* shmat/shmctl answers that mean "removed meanwhile", real and faked. */
    RUN(sc_create, OK(1), "hook: segment removed before shmat #1 (retried)",
        I_hook(F_SHMAT, 1, hook_unlink));
    RUN(sc_create, ERR(EINVAL, "shmat"), "shmat #1 -> EINVAL (segment still there)",
        I(F_SHMAT, 1, 1, EINVAL));
    /* Only a mode without owner rw is made 0600 and set by IPC_SET. */
    RUN(sc_create_0400, OK(1),
        "hook: segment removed before shmctl(IPC_STAT) #1 -> EIDRM (retried)",
        I_hook(F_SHMCTL, 1, hook_unlink),
        I_match(F_SHMCTL, -1, IPC_STAT, 1, EIDRM));
    RUN(sc_create_0400, OK(1),
        "hook: segment removed before shmctl(IPC_SET) (made it: goes on)",
        (struct inj){ .fn = F_SHMCTL, .mask = -1, .value = IPC_SET, .nth = 1,
                      .count = 1, .act = ACT_HOOK, .hook = hook_unlink });
    RUN(sc_open, ERR(ENOENT, "shmget"),
        MEASURED_DESC "hook: segment removed before shmctl(IPC_STAT) #1",
        MEASURED I_hook(F_SHMCTL, 1, hook_unlink));
    RUN(sc_open_or_create, OK(1),
        "hook: segment removed before shmctl(IPC_STAT) #1 (made again)",
        I_hook(F_SHMCTL, 1, hook_unlink));
    RUN(sc_open, ERR(ENOENT, "shmget"), "hook: segment removed before shmat #1",
        I_hook(F_SHMAT, 1, hook_unlink));
    RUN(sc_open, OK(0), "shmat #1 -> EIDRM once (retried)",
        I(F_SHMAT, 1, 1, EIDRM));
    RUN(sc_open, OK(0),
        MEASURED_DESC "shmctl(IPC_STAT) #1 -> EINVAL once (retried)",
        MEASURED I_match(F_SHMCTL, -1, IPC_STAT, 1, EINVAL));
    RUN(sc_create_noexcl, ERR(EAGAIN, "made again"),
        "shmget(IPC_EXCL) -> EEXIST, shmget(lookup) -> ENOENT, always",
        I_match(F_SHMGET, IPC_EXCL, IPC_EXCL, -1, EEXIST),
        I_match(F_SHMGET, IPC_EXCL, 0, -1, ENOENT));
    RUN(sc_unlink, ERR(ENOENT, "shmctl"), "shmctl(IPC_RMID) -> EIDRM",
        I_match(F_SHMCTL, -1, IPC_RMID, 1, EIDRM));
    RUN(sc_stat, ERR(ENOENT, "shmctl"), "shmctl(IPC_STAT) -> EINVAL",
        I_match(F_SHMCTL, -1, IPC_STAT, 1, EINVAL));
    RUN(sc_open_or_create, ERR(EPERM, "belongs to uid"),
        "geteuid -> another uid (existing segment of another user)",
        I_fake_euid());
#if USHM_SYSV_SIZE_LAZY
    targeted_lazy_size();
#endif
}
