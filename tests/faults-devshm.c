/* SPDX-License-Identifier: MIT */
/*
 * POSIX against a small /dev/shm: full, full on a second create, the
 * reservation that holds, no free inodes, size-0 and existing objects.
 */
#include "faults.h"


/* ------------------------------------------------------------------ */
/* POSIX: a small /dev/shm.                                             */

void posix_full(void)
{
    const char *cas = "posix.dev_shm_full";
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG], why[256] = "", needle[96];
    const char *name, *left;
    int rc, ok;

    mount_shm("size=1m");
    take_base(&b);
    name = new_name();
    rc = ushm_open(&h, name, 8 * MiB, USHM_CREATE, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    free_space_needle(needle, sizeof needle);
    ok = failed_as(rc, h, -ENOSPC, msg, needle, why, sizeof why);
    if (ok && shm_free_bytes() != MiB) {
        snprintf(why, sizeof why, "only %llu bytes free afterwards",
                 shm_free_bytes());
        ok = 0;
    }
    if (rc == 0) {
        ushm_close(h);
        ushm_unlink(name);
    }
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    report(cas, "8 MiB create on a 1 MiB tmpfs on /dev/shm",
           "ENOSPC at ushm_open naming '/dev/shm has 1048576 bytes free'",
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

void posix_full_second(void)
{
    const char *cas = "posix.dev_shm_full_second";
    struct base b;
    ushm_t *a = NULL, *h = (ushm_t *)&b;
    char msg[MSG] = "", why[256] = "", needle[96];
    const char *na, *nb, *left;
    int rc = -1, ok = 0;

    mount_shm("size=1m");
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
    free_space_needle(needle, sizeof needle);
    if (!failed_as(rc, h, -ENOSPC, msg, needle, why, sizeof why))
        goto out;
    if (raw_size(na) != (long long)(512 * KiB)) {
        snprintf(why, sizeof why, "first segment no longer 512 KiB");
        goto out;
    }
    ok = stays_whole(na, a, why, sizeof why);
out:
    if (h != NULL && h != (ushm_t *)&b) {
        ushm_close(h);
        ushm_unlink(nb);
    }
    ushm_close(a);
    ushm_unlink(na);
    /* nb is not unlinked: a failed create must not have left it. */
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    report(cas, "512 KiB create then 768 KiB create on a 1 MiB tmpfs",
           "first OK; second ENOSPC naming '/dev/shm has 524288 bytes free'; "
           "first stays whole (every byte read and written)",
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

/* The reservation holds: once created, filling /dev/shm cannot SIGBUS us. */
void posix_reserved(void)
{
    const char *cas = "posix.reserved_then_fs_filled";
    struct base b;
    ushm_t *a = NULL;
    char why[256] = "", buf[65536];
    const char *na, *left;
    int rc, ok = 0, fd = -1;
    long long filled = 0;
    ssize_t w;

    memset(buf, 0x11, sizeof buf);
    mount_shm("size=1m");
    take_base(&b);
    na = new_name();
    if ((rc = ushm_open(&a, na, 512 * KiB, USHM_CREATE, 0600)) != 0) {
        snprintf(why, sizeof why, "512 KiB create: %s: %s", fc_errno_name(rc),
                 ushm_last_error());
        goto out;
    }
    fd = open("/dev/shm/filler", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd == -1) {
        snprintf(why, sizeof why, "filler: %s", strerror(errno));
        goto out;
    }
    while ((w = write(fd, buf, sizeof buf)) > 0)
        filled += w;
    if (w == -1 && errno != ENOSPC) {
        snprintf(why, sizeof why, "filler write: %s", strerror(errno));
        goto out;
    }
    if (shm_free_bytes() != 0) {
        snprintf(why, sizeof why, "tmpfs not full: %llu bytes free",
                 shm_free_bytes());
        goto out;
    }
    if (fc_touch_all(ushm_addr(a), 512 * KiB, 1, why, sizeof why) != 0)
        goto out;
    ok = 1;
out:
    if (fd != -1)
        close(fd);
    unlink("/dev/shm/filler");
    ushm_close(a);
    ushm_unlink(na);
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    snprintf(buf, sizeof buf, "512 KiB create then /dev/shm filled by a "
             "%lld-byte file then every byte touched", filled);
    report(cas, buf, "no SIGBUS: all bytes read 0 and take writes",
           ok ? "success" : "failure", left, ok, NULL, why);
    umount_shm();
}

void posix_inodes(void)
{
    const char *cas = "posix.dev_shm_no_inodes";
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG] = "", why[256] = "", path[64];
    const char *name, *left;
    int rc = -1, ok = 0, nfill = 0;

    mount_shm("size=1m,nr_inodes=4");
    take_base(&b);
    name = new_name();
    for (; nfill < 16; nfill++) {
        int fd;

        snprintf(path, sizeof path, "/dev/shm/filler%d", nfill);
        if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1)
            break;
        close(fd);
    }
    if (nfill == 16 || errno != ENOSPC) {
        snprintf(why, sizeof why, "could not use up the inodes: %s",
                 strerror(errno));
        goto out;
    }
    rc = ushm_open(&h, name, 64 * KiB, USHM_CREATE, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    ok = failed_as(rc, h, -ENOSPC, msg, "/dev/shm has 0 free inodes", why,
                   sizeof why);
    if (rc == 0) {
        ushm_close(h);
        ushm_unlink(name);
    }
out:
    for (int i = 0; i < nfill; i++) {
        snprintf(path, sizeof path, "/dev/shm/filler%d", i);
        unlink(path);
    }
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    snprintf(path, sizeof path, "tmpfs nr_inodes=4 filled by %d files", nfill);
    report(cas, path, "ENOSPC at ushm_open naming '/dev/shm has 0 free inodes'",
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

#ifndef USHM_ATOMIC_PUBLISH
#define USHM_ATOMIC_PUBLISH 0 /* config.h: the fallback creation protocol */
#endif

/* A size-0 object that another program made with shm_open() and never
 * sized (it is still making it, or it died): 0, or -1 with why set. */
static int foreign_empty(const char *name, char *why, size_t len)
{
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);

    if (fd == -1) {
        snprintf(why, len, "shm_open: %s", strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

/* It is still there, size 0, mode 0600: nobody took it over. */
static int still_foreign_empty(const char *name, char *why, size_t len)
{
    struct stat sb;

    /* /dev/shm, or the object itself where objects are no files. */
    if (fc_posix_look(name, &sb) != 0) {
        snprintf(why, len, "the size-0 object was removed");
        return 0;
    }
    if (sb.st_size != 0 || (sb.st_mode & 0777) != 0600) {
        snprintf(why, len, "the size-0 object was changed: size %lld, mode 0%o",
                 (long long)sb.st_size, (unsigned)(sb.st_mode & 0777));
        return 0;
    }
    return 1;
}

/*
 * A size-0 object of another program met by open-or-create on a full
 * /dev/shm.  It is never completed or removed.  The atomic protocol builds
 * the new segment before it looks at the name, so the full /dev/shm answers
 * first (-ENOSPC); the fallback finds the name taken, waits for its size
 * and says -EAGAIN.
 */
void posix_halfmade_full(void)
{
    const char *cas = "posix.half_made_on_full_fs";
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG] = "", why[256] = "", needle[96];
    const char *name, *left;
    int rc = -1, ok = 0, want = -EAGAIN;
    struct ushm_stat st;

    mount_shm("size=1m");
    take_base(&b);
    name = new_name();
    if (foreign_empty(name, why, sizeof why) < 0)
        goto out;
    if ((rc = ushm_stat(name, &st)) != -ENOENT) {
        snprintf(why, sizeof why, "ushm_stat of the size-0 object: %s, want "
                 "ENOENT", fc_errno_name(rc));
        goto out;
    }
    rc = ushm_open(&h, name, 8 * MiB, USHM_CREATE, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    /* Both protocols look at what holds the name before building. */
    snprintf(needle, sizeof needle, "an empty object");
    if (!failed_as(rc, h, want, msg, needle, why, sizeof why))
        goto out;
    if (!still_foreign_empty(name, why, sizeof why))
        goto out;
    if (ushm_stat(name, &st) != -ENOENT) {
        snprintf(why, sizeof why, "after the failure ushm_stat is not ENOENT");
        goto out;
    }
    ok = 1;
out:
    if (rc == 0)
        ushm_close(h);
    ushm_unlink(name);
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    report(cas, "size-0 object left by another program (shm_open, never "
           "sized); 8 MiB open-or-create on a 1 MiB tmpfs",
           "EAGAIN naming 'an empty object' after waiting for its size; "
           "the size-0 object untouched",
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

/*
 * Open-or-create of an existing segment when /dev/shm has no room for a
 * second one: API.md says an existing segment is joined, which needs no
 * room (open-or-create looks for it before building anything).
 */
void posix_existing_full(void)
{
    const char *cas = "posix.open_or_create_existing_on_full_fs";
    struct base b;
    ushm_t *a = NULL, *h = NULL;
    char msg[MSG] = "", why[256] = "";
    const char *name, *left, *expected;
    int rc = -1, ok = 0;

    mount_shm("size=1m");
    take_base(&b);
    name = new_name();
    if ((rc = ushm_open(&a, name, 768 * KiB, USHM_CREATE | USHM_EXCL,
                        0600)) != 0) {
        snprintf(why, sizeof why, "768 KiB create: %s", ushm_last_error());
        goto out;
    }
    memset(ushm_addr(a), 0x5a, 768 * KiB);
    rc = ushm_open(&h, name, 768 * KiB, USHM_CREATE, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    if (rc == 0) {
        ok = !ushm_created(h) && ushm_size(h) == 768 * KiB &&
             ((unsigned char *)ushm_addr(h))[768 * KiB - 1] == 0x5a;
        if (!ok)
            snprintf(why, sizeof why, "joined, but created %d, size %zu",
                     ushm_created(h), ushm_size(h));
    } else {
        snprintf(why, sizeof why, "the existing segment was not joined");
    }
    if (ok && !stays_whole_bytes(name, a, 768 * KiB, 0x5a, why, sizeof why))
        ok = 0;
out:
    ushm_close(h);
    ushm_close(a);
    ushm_unlink(name);
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    expected = "success: the existing segment joined (created 0, its size, "
               "its bytes)";
    report(cas, "768 KiB segment on a 1 MiB tmpfs, then 768 KiB "
           "open-or-create of the same name", expected, fc_errno_name(rc),
           left, ok, msg, why);
    umount_shm();
}
