/* SPDX-License-Identifier: MIT */
/*
 * SysV against kernel.shmmax, shmmni and shmall, lowered in the
 * program's own IPC namespace.
 */
#include "faults.h"


/* ------------------------------------------------------------------ */
/* SysV: kernel.shmmax, shmmni, shmall in our own IPC namespace.        */

static void sysv_expect_fail(const char *cas, const char *how,
                             const char *expected, const char *name,
                             size_t size, int want, const char *needle)
{
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG], why[256] = "";
    const char *left;
    int rc, ok;

    take_base(&b);
    rc = ushm_open(&h, name, size, USHM_CREATE, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    ok = failed_as(rc, h, want, msg, needle, why, sizeof why);
    if (rc == 0) {
        ushm_close(h);
        if (name != NULL)
            ushm_unlink(name);
    }
    left = leftovers(&b, -1);
    ok = ok && strcmp(left, "none") == 0;
    report(cas, how, expected, fc_errno_name(rc), left, ok, msg, why);
}

void sysv_shmmax(void)
{
    struct base b;
    ushm_t *h = NULL;
    char why[256] = "";
    const char *name, *left;
    int rc, ok;

    set_sysctl(0, MiB);
    sysv_expect_fail("sysv.shmmax", "kernel.shmmax=1048576; 2 MiB create",
                     "EINVAL naming 'kernel.shmmax (1048576)'", new_name(),
                     2 * MiB, -EINVAL, "kernel.shmmax (1048576)");
    sysv_expect_fail("sysv.shmmax_anonymous",
                     "kernel.shmmax=1048576; 2 MiB anonymous create",
                     "EINVAL naming 'kernel.shmmax (1048576)'", NULL, 2 * MiB,
                     -EINVAL, "kernel.shmmax (1048576)");

    /* The limit is inclusive: exactly shmmax bytes works. */
    take_base(&b);
    name = new_name();
    rc = ushm_open(&h, name, MiB, USHM_CREATE, 0600);
    ok = rc == 0 && ushm_size(h) == MiB;
    if (!ok)
        snprintf(why, sizeof why, "%s: %s", fc_errno_name(rc),
                 ushm_last_error());
    if (rc == 0 && fc_touch_all(ushm_addr(h), MiB, 1, why, sizeof why) != 0)
        ok = 0;
    ushm_close(h);
    ushm_unlink(name);
    left = leftovers(&b, -1);
    ok = ok && strcmp(left, "none") == 0;
    report("sysv.shmmax_boundary", "kernel.shmmax=1048576; 1 MiB create",
           "success (the limit is inclusive)", fc_errno_name(rc), left, ok,
           NULL, why);
    restore_sysctls();
}

void sysv_shmmni(void)
{
    struct base b;
    const char *names[3];
    char why[256] = "";
    int ok = 1;

    take_base(&b);
    set_sysctl(1, 3);
    for (int i = 0; i < 3; i++) {
        ushm_t *h = NULL;
        int rc;

        names[i] = new_name();
        if ((rc = ushm_open(&h, names[i], 64 * KiB, USHM_CREATE, 0600)) != 0) {
            snprintf(why, sizeof why, "segment %d of 3: %s: %s", i + 1,
                     fc_errno_name(rc), ushm_last_error());
            ok = 0;
        }
        ushm_close(h);
    }
    if (!ok) {
        report("sysv.shmmni", "kernel.shmmni=3; 3 segments made", "setup",
               "failure", "-", 0, NULL, why);
    } else {
        sysv_expect_fail("sysv.shmmni",
                         "kernel.shmmni=3 with 3 segments in use; 4th create",
                         "ENOSPC naming 'kernel.shmmni (3'", new_name(),
                         64 * KiB, -ENOSPC, "kernel.shmmni (3");
        sysv_expect_fail("sysv.shmmni_anonymous",
                         "kernel.shmmni=3 with 3 segments in use; anonymous "
                         "create", "ENOSPC naming 'kernel.shmmni (3'", NULL,
                         64 * KiB, -ENOSPC, "kernel.shmmni (3");
    }
    for (int i = 0; i < 3; i++)
        ushm_unlink(names[i]);
    restore_sysctls();
    if (strcmp(leftovers(&b, -1), "none") != 0) {
        printf("# sysv.shmmni: left after removing the 3 segments: %s\n",
               leftovers(&b, -1));
        fc_failed++;
    }
}

void sysv_shmall(void)
{
    struct base b;
    ushm_t *a = NULL, *h = NULL;
    char msg[MSG] = "", why[256] = "", needle[96];
    const char *na, *nb, *left;
    int rc, ok = 0;
    unsigned long long pages = 256;

    set_sysctl(2, pages);
    snprintf(needle, sizeof needle, "kernel.shmall (%llu pages", pages);
    sysv_expect_fail("sysv.shmall", "kernel.shmall=256 pages; 2 MiB create",
                     "ENOSPC naming 'kernel.shmall (256 pages'", new_name(),
                     2 * MiB, -ENOSPC, needle);
    sysv_expect_fail("sysv.shmall_anonymous",
                     "kernel.shmall=256 pages; 2 MiB anonymous create",
                     "ENOSPC naming 'kernel.shmall (256 pages'", NULL, 2 * MiB,
                     -ENOSPC, needle);

    /* Half the room used, then a request for more than the rest. */
    take_base(&b);
    na = new_name();
    nb = new_name();
    if ((rc = ushm_open(&a, na, 512 * KiB, USHM_CREATE, 0600)) != 0) {
        snprintf(why, sizeof why, "first 512 KiB create: %s: %s",
                 fc_errno_name(rc), ushm_last_error());
        goto out;
    }
    memset(ushm_addr(a), 0xa5, 512 * KiB);
    rc = ushm_open(&h, nb, 768 * KiB, USHM_CREATE, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    if (!failed_as(rc, h, -ENOSPC, msg, needle, why, sizeof why))
        goto out;
    ok = stays_whole(na, a, why, sizeof why);
out:
    if (h != NULL) {
        ushm_close(h);
        ushm_unlink(nb);
    }
    ushm_close(a);
    ushm_unlink(na);
    left = leftovers(&b, -1);
    ok = ok && strcmp(left, "none") == 0;
    report("sysv.shmall_second", "kernel.shmall=256 pages; 512 KiB create "
           "then 768 KiB create",
           "first OK; second ENOSPC naming 'kernel.shmall (256 pages'; first "
           "stays whole (every byte read and written)", fc_errno_name(rc),
           left, ok, msg, why);
    restore_sysctls();
}
