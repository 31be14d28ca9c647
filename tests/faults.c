/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: libushm against the system's limits, on the backend this
 * program is linked with (tests/faults-posix, tests/faults-sysv).
 *
 * The program moves itself into new IPC and mount namespaces first, so it
 * can mount small tmpfs instances on /dev/shm and lower kernel.shm* without
 * touching the host; everything goes away when it exits.  It skips (77)
 * only when no namespace can be made: not root and no user namespaces.  A
 * single case this system cannot stage prints "# SKIP <case>: <why>",
 * which make check counts as a skip (tests/case-driver.sh).
 *
 * Each case checks the exact negative errno, that ushm_last_error() names
 * the limit and its value, and that nothing is left: no /dev/shm entry, no
 * SysV segment, no extra descriptor, no extra line in /proc/self/maps.
 * One FAULT|... line per case; see tests/fault-common.h.
 *
 * Files: faults.h, faults-setup.c (names, namespaces, tmpfs, sysctls, what
 * is left), and one per limit: faults-devshm.c, faults-sysv.c,
 * faults-rlimits.c, faults-hugepages.c, faults-signals.c; main() here.
 */
#include "faults.h"

int main(void)
{
    int posix;

    setvbuf(stdout, NULL, _IOLBF, 0);
    fc_check_backend("faults");
    posix = fc_is_posix();
    snprintf(prefix, sizeof prefix, "f%ld_", (long)getpid());
    printf("# faults: backend %s, library %s\n", ushm_backend(),
           ushm_version());

    enter_namespaces();
    save_sysctls();
    /* Our own /dev/shm under everything: the host's is never written. */
    mount_shm("size=1g");
    fc_count_maps(); /* the first stdio use may map; count from here */

    if (posix && !fc_objects_are_files()) {
        /* FreeBSD and macOS keep objects in no file system: no tmpfs of
         * objects to fill, or to run out of inodes. */
        printf("# SKIP posix.dev_shm_full, posix.dev_shm_full_second, "
               "posix.reserved_then_fs_filled, posix.dev_shm_no_inodes: %s has "
               "no /dev/shm file system to fill\n", fc_system());
        posix_halfmade_full();
        posix_existing_full();
    } else if (posix) {
        posix_full();
        posix_full_second();
        posix_reserved();
        posix_inodes();
        posix_halfmade_full();
        posix_existing_full();
    } else {
        sysv_shmmax();
        sysv_shmmni();
        sysv_shmall();
    }
    nofile_case("rlimit_nofile.create", NAMED_CREATE);
    nofile_case("rlimit_nofile.open_existing", NAMED_EXISTING);
    nofile_case("rlimit_nofile.anonymous", ANONYMOUS);
    as_case("rlimit_as.create", 0);
    as_case("rlimit_as.anonymous", 1);
#ifdef USHM_HUGEPAGES
    /* Named POSIX segments take THP from the tmpfs, not from the pool. */
    if (!posix)
        hugepages_pool("hugepages.pool_too_small", 0);
    hugepages_pool("hugepages.pool_too_small_anonymous", 1);
    if (posix)
        hugepages_tmpfs();
#endif
    storm_case("signal_storm.create", 20, 256 * MiB, USHM_CREATE | USHM_EXCL,
               0, 0);
    storm_case("signal_storm.populate", 5, 64 * MiB,
               USHM_CREATE | USHM_EXCL | USHM_POPULATE, 0, 0);
    storm_case("signal_storm.anonymous", 5, 64 * MiB,
               USHM_CREATE | USHM_POPULATE, 1, 0);
    if (posix && !fc_objects_are_files()) {
        printf("# SKIP signal_storm.dev_shm_full: %s has no /dev/shm file system "
               "to fill\n", fc_system());
    } else if (posix) {
        mount_shm("size=1m");
        storm_case("signal_storm.dev_shm_full", 20, 8 * MiB, USHM_CREATE, 0,
                   -ENOSPC);
        umount_shm();
    }

    sweep();
    umount_shm();
    return fc_finish();
}
