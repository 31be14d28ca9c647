/* SPDX-License-Identifier: MIT */
/*
 * Targeted cases of the SysV backend: which limit shmget hit, and
 * shmat/shmctl answers that mean the segment was removed meanwhile.
 */
#include "syscall-faults.h"

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
        "hook: segment removed before shmctl(IPC_STAT) #1",
        I_hook(F_SHMCTL, 1, hook_unlink));
    RUN(sc_open_or_create, OK(1),
        "hook: segment removed before shmctl(IPC_STAT) #1 (made again)",
        I_hook(F_SHMCTL, 1, hook_unlink));
    RUN(sc_open, ERR(ENOENT, "shmget"), "hook: segment removed before shmat #1",
        I_hook(F_SHMAT, 1, hook_unlink));
    RUN(sc_open, OK(0), "shmat #1 -> EIDRM once (retried)",
        I(F_SHMAT, 1, 1, EIDRM));
    RUN(sc_open, OK(0), "shmctl(IPC_STAT) #1 -> EINVAL once (retried)",
        I_match(F_SHMCTL, -1, IPC_STAT, 1, EINVAL));
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
}
