/* SPDX-License-Identifier: MIT */
/*
 * Fault injection: libushm against the system's limits, on the backend this
 * program is linked with (tests/faults-posix, tests/faults-sysv).
 *
 * The program moves itself into new IPC and mount namespaces first, so it
 * can mount small tmpfs instances on /dev/shm and lower kernel.shm* without
 * touching the host; everything goes away when it exits.  It skips (77)
 * only when no namespace can be made: not root and no user namespaces.
 *
 * Each case checks the exact negative errno, that ushm_last_error() names
 * the limit and its value, and that nothing is left: no /dev/shm entry, no
 * SysV segment, no extra descriptor, no extra line in /proc/self/maps.
 * One FAULT|... line per case; see tests/fault-common.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/statvfs.h>
#include <sys/time.h>

#include "fault-common.h"

#define MAX_NAMES 256
#define MSG 512

static char prefix[24];                 /* "f<pid>_": our /dev/shm entries */
static char used_names[MAX_NAMES][USHM_NAME_MAX + 1];
static int nused;

/* A fresh name "/f<pid>_<n>", remembered for the final sweep. */
static const char *new_name(void)
{
    char *n = used_names[nused < MAX_NAMES ? nused : MAX_NAMES - 1];

    snprintf(n, USHM_NAME_MAX + 1, "/%s%d", prefix, nused);
    if (nused < MAX_NAMES)
        nused++;
    return n;
}

static void sweep(void)
{
    for (int i = 0; i < nused; i++)
        ushm_unlink(used_names[i]);
}

static void die(const char *what)
{
    printf("# faults: %s: %s\n", what, strerror(errno));
    sweep();
    fc_failed++;
    exit(fc_finish());
}

/* ------------------------------------------------------------------ */
/* Namespaces, tmpfs and sysctls.                                       */

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC), ok;

    if (fd == -1)
        return -errno;
    ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    if (!ok) {
        int e = errno;
        close(fd);
        return -e;
    }
    close(fd);
    return 0;
}

static int as_root = 1; /* 0: in a user namespace of our own */

static void enter_namespaces(void)
{
    char why[256];
    int in_userns = 0;
    int rc = fc_enter_namespaces(1, &in_userns, why, sizeof why);

    if (rc == 77) {
        printf("# SKIP: %s\n", why);
        printf("0 passed, 0 failed\n");
        exit(77);
    }
    if (rc != 0) {
        printf("# faults: %s\n", why);
        sweep();
        fc_failed++;
        exit(fc_finish());
    }
    as_root = !in_userns;
    printf("# running in %s\n", why);
}

static void mount_shm(const char *opts)
{
    if (mount("ushm-faults", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
              opts) == -1) {
        printf("# mount -t tmpfs -o %s on /dev/shm failed\n", opts);
        die("mount tmpfs");
    }
}

static void umount_shm(void)
{
    if (umount2("/dev/shm", MNT_DETACH) == -1)
        die("umount /dev/shm");
}

static unsigned long long shm_used_bytes(void)
{
    struct statvfs v;

    if (statvfs("/dev/shm", &v) != 0)
        return 0;
    return (unsigned long long)(v.f_blocks - v.f_bfree) * v.f_frsize;
}

static unsigned long long shm_free_bytes(void)
{
    struct statvfs v;

    if (statvfs("/dev/shm", &v) != 0)
        return 0;
    return (unsigned long long)v.f_bavail * v.f_frsize;
}

static char sysctl_saved[3][64];
static const char *const sysctl_path[3] = {
    "/proc/sys/kernel/shmmax", "/proc/sys/kernel/shmmni",
    "/proc/sys/kernel/shmall",
};

static void save_sysctls(void)
{
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(sysctl_path[i], "re");

        if (f == NULL || fgets(sysctl_saved[i], sizeof sysctl_saved[i], f) == NULL)
            die(sysctl_path[i]);
        fclose(f);
    }
}

static void restore_sysctls(void)
{
    for (int i = 0; i < 3; i++)
        if (write_file(sysctl_path[i], sysctl_saved[i]) < 0)
            die(sysctl_path[i]);
}

static void set_sysctl(int which, unsigned long long value)
{
    char buf[32];
    int rc;

    snprintf(buf, sizeof buf, "%llu", value);
    if ((rc = write_file(sysctl_path[which], buf)) < 0) {
        errno = -rc;
        die(sysctl_path[which]);
    }
}

/* ------------------------------------------------------------------ */
/* Baselines and leftovers.                                             */

struct base {
    int fds, maps, sysv;
};

static void take_base(struct base *b)
{
    b->fds = fc_count_fds();
    b->maps = fc_count_maps();
    b->sysv = fc_count_sysv(NULL, NULL);
}

/*
 * "none", or what is left compared with b: our /dev/shm entries, SysV
 * segments (the namespace is ours: every row counts), descriptors, mapping
 * lines, and with used >= 0, tmpfs bytes still in use beyond used.
 */
static const char *leftovers(const struct base *b, long long used)
{
    static char out[512];
    char list[256], part[320];
    int n;

    out[0] = '\0';
    if ((n = fc_count_devshm(prefix, list, sizeof list)) > 0) {
        snprintf(part, sizeof part, "%d /dev/shm entries (%s); ", n, list);
        strcat(out, part);
    }
    if ((n = fc_count_sysv(NULL, NULL) - b->sysv) != 0) {
        snprintf(part, sizeof part, "%d SysV segments; ", n);
        strcat(out, part);
    }
    if ((n = fc_count_fds() - b->fds) != 0) {
        snprintf(part, sizeof part, "%d descriptors; ", n);
        strcat(out, part);
    }
    if ((n = fc_count_maps() - b->maps) != 0) {
        snprintf(part, sizeof part, "%d mappings; ", n);
        strcat(out, part);
    }
    if (used >= 0 && shm_used_bytes() > (unsigned long long)used) {
        snprintf(part, sizeof part, "tmpfs uses %llu bytes (want %lld); ",
                 shm_used_bytes(), used);
        strcat(out, part);
    }
    if (out[0] == '\0')
        return "none";
    out[strlen(out) - 2] = '\0';
    return out;
}

static void report(const char *cas, const char *how, const char *expected,
                   const char *got, const char *left, int ok,
                   const char *detail, const char *why)
{
    fc_line("FAULT", ok, 5, cas, how, expected, got, left);
    if (detail != NULL && detail[0] != '\0')
        printf("#   last_error: %s\n", detail);
    if (!ok && why != NULL && why[0] != '\0')
        printf("#   why: %s\n", why);
}

/* The call failed as wanted: rc == want, no handle, msg has needle. */
static int failed_as(int rc, ushm_t *h, int want, const char *msg,
                     const char *needle, char *why, size_t len)
{
    if (rc != want)
        snprintf(why, len, "returned %d (%s), want %d (%s)", rc,
                 fc_errno_name(rc), want, fc_errno_name(want));
    else if (h != NULL)
        snprintf(why, len, "failed but *shm is not NULL");
    else if (needle != NULL && strstr(msg, needle) == NULL)
        snprintf(why, len, "last_error does not contain \"%s\"", needle);
    else
        return 1;
    return 0;
}

/*
 * The free space that a -ENOSPC message names.  Without posix_fallocate the
 * library reserves by writing a zero into every page and measures the free
 * space after those writes (0 then): a known library gap, so only
 * "bytes free" is asked for there, and the line says so.
 */
static void free_space_needle(char *needle, size_t len)
{
#if HAVE_POSIX_FALLOCATE
    snprintf(needle, len, "/dev/shm has %llu bytes free", shm_free_bytes());
#else
    snprintf(needle, len, "bytes free");
#endif
}

#if HAVE_POSIX_FALLOCATE
#define FREE_SPACE_GAP ""
#else
#define FREE_SPACE_GAP " (built without posix_fallocate: any free figure, " \
    "KNOWN library gap: it is measured after the pages written)"
#endif

/* Size of /dev/shm/<name> by stat(2); -1 when missing. */
static long long raw_size(const char *canon)
{
    char path[64];
    struct stat sb;

    /* -2: unknown, where objects are no files under /dev/shm. */
    if (!fc_objects_are_files())
        return -2;
    snprintf(path, sizeof path, "/dev/shm%s", canon);
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* ------------------------------------------------------------------ */
/* POSIX: a small /dev/shm.                                             */

static void posix_full(void)
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
           "ENOSPC at ushm_open naming '/dev/shm has 1048576 bytes free'"
           FREE_SPACE_GAP,
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

/* Segment name (a mapped) still has len bytes, all of value v. */
static int stays_whole_bytes(const char *name, ushm_t *a, size_t len, int v,
                             char *why, size_t wlen)
{
    struct ushm_stat st;

    if (ushm_stat(name, &st) != 0 || st.size != len) {
        snprintf(why, wlen, "the segment no longer has %zu bytes", len);
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        if (((unsigned char *)ushm_addr(a))[i] != (unsigned char)v) {
            snprintf(why, wlen, "the segment changed at byte %zu", i);
            return 0;
        }
    return 1;
}

/* After a second create failed: the first segment (512 KiB of 0xa5) is
 * still whole, every byte readable and writable.  1, or 0 with why set. */
static int stays_whole(const char *name, ushm_t *a, char *why, size_t len)
{
    struct ushm_stat st;

    if (ushm_stat(name, &st) != 0 || st.size != 512 * KiB) {
        snprintf(why, len, "first segment no longer 512 KiB");
        return 0;
    }
    for (size_t i = 0; i < 512 * KiB; i++)
        if (((unsigned char *)ushm_addr(a))[i] != 0xa5) {
            snprintf(why, len, "first segment changed at byte %zu", i);
            return 0;
        }
    return fc_touch_all(ushm_addr(a), 512 * KiB, 0, why, len) == 0;
}

static void posix_full_second(void)
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
           "first stays whole (every byte read and written)" FREE_SPACE_GAP,
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

/* The reservation holds: once created, filling /dev/shm cannot SIGBUS us. */
static void posix_reserved(void)
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

static void posix_inodes(void)
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
    int fd, got;

    /* Through the object, not /dev/shm: not every system has that. */
    fd = shm_open(name, O_RDONLY, 0);
    got = fd >= 0 && fstat(fd, &sb) == 0;
    if (fd >= 0)
        close(fd);
    if (!got) {
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
static void posix_halfmade_full(void)
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
static void posix_existing_full(void)
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

/*
 * The same size-0 object with room to spare: open-or-create waits a bounded
 * time for its size (about 1 s), then -EAGAIN naming ushm_unlink(); the
 * object is left as it was, and once it is unlinked the create succeeds.
 */
static void posix_foreign_empty(void)
{
    const char *cas = "posix.foreign_empty_object";
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG] = "", why[256] = "", how[160];
    const char *name, *left;
    int rc = -1, ok = 0;
    uint64_t t0, ms = 0;

    mount_shm("size=16m");
    take_base(&b);
    name = new_name();
    if (foreign_empty(name, why, sizeof why) < 0)
        goto out;
    t0 = fc_now_ns();
    rc = ushm_open(&h, name, 64 * KiB, USHM_CREATE, 0600);
    ms = (fc_now_ns() - t0) / 1000000;
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    if (!failed_as(rc, h, -EAGAIN, msg, "ushm_unlink", why, sizeof why))
        goto out;
    if (ms < 900 || ms > 5000) {
        snprintf(why, sizeof why, "it waited %llu ms, want about 1000",
                 (unsigned long long)ms);
        goto out;
    }
    if (!still_foreign_empty(name, why, sizeof why))
        goto out;
    if ((rc = ushm_unlink(name)) != 0) {
        snprintf(why, sizeof why, "ushm_unlink: %s", ushm_last_error());
        goto out;
    }
    h = NULL;
    if ((rc = ushm_open(&h, name, 64 * KiB, USHM_CREATE, 0600)) != 0 ||
        !ushm_created(h)) {
        snprintf(why, sizeof why, "create after the unlink: %s",
                 rc ? ushm_last_error() : "not created");
        goto out;
    }
    ushm_close(h);
    h = NULL;
    rc = -EAGAIN; /* what the line reports */
    ok = 1;
out:
    if (rc == 0 && h != NULL && h != (ushm_t *)&b)
        ushm_close(h);
    ushm_unlink(name);
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    snprintf(how, sizeof how, "size-0 object left by another program; 64 KiB "
             "open-or-create on a 16 MiB tmpfs (waited %llu ms)",
             (unsigned long long)ms);
    report(cas, how, "EAGAIN after about 1 s naming 'ushm_unlink'; the object "
           "untouched (size 0, mode 0600); after ushm_unlink the create "
           "succeeds", fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}

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

static void sysv_shmmax(void)
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

static void sysv_shmmni(void)
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

static void sysv_shmall(void)
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

/* ------------------------------------------------------------------ */
/* Both backends: RLIMIT_NOFILE, RLIMIT_AS.                             */

enum { NAMED_CREATE, NAMED_EXISTING, ANONYMOUS };

static void nofile_case(const char *cas, int kind)
{
    struct base b;
    struct rlimit old, lim;
    ushm_t *h = NULL;
    char msg[MSG] = "", why[256] = "", needle[96], how[128];
    const char *name = NULL, *left, *expected = "";
    int rc = -1, ok = 0, fd = -1, posix_fd = fc_is_posix() && kind != ANONYMOUS;

    take_base(&b);
    if (kind != ANONYMOUS)
        name = new_name();
    if (kind == NAMED_EXISTING) {
        if ((rc = ushm_open(&h, name, MiB, USHM_CREATE, 0600)) != 0) {
            snprintf(why, sizeof why, "setup: %s", ushm_last_error());
            goto out;
        }
        memset(ushm_addr(h), 0x3c, MiB);
        ushm_close(h);
        h = NULL;
    }
    /* The lowest free descriptor becomes the limit: the next open fails. */
    if (getrlimit(RLIMIT_NOFILE, &old) != 0 ||
        (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
        die("RLIMIT_NOFILE setup");
    close(fd);
    lim.rlim_cur = (rlim_t)fd;
    lim.rlim_max = old.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
        die("setrlimit(RLIMIT_NOFILE)");
    rc = ushm_open(&h, name, MiB, kind == NAMED_EXISTING ? 0 : USHM_CREATE,
                   0600);
    snprintf(msg, sizeof msg, "%s", rc == 0 ? "" : ushm_last_error());
    setrlimit(RLIMIT_NOFILE, &old);
    snprintf(needle, sizeof needle, "RLIMIT_NOFILE is %d descriptors", fd);

    if (posix_fd) {
        struct ushm_stat st;

        ok = failed_as(rc, h, -EMFILE, msg, needle, why, sizeof why);
        if (ok && kind == NAMED_EXISTING) {
            ushm_t *x = NULL;

            if (ushm_stat(name, &st) != 0 || st.size != MiB ||
                ushm_open(&x, name, 0, 0, 0) != 0 ||
                ((unsigned char *)ushm_addr(x))[MiB - 1] != 0x3c) {
                snprintf(why, sizeof why, "the existing segment changed");
                ok = 0;
            }
            ushm_close(x);
        }
        expected = "EMFILE naming 'RLIMIT_NOFILE is N descriptors'";
    } else if (rc == 0) {
        /* No descriptor needed: it must work and be whole. */
        ok = ushm_size(h) == MiB &&
             fc_touch_all(ushm_addr(h), MiB, kind != NAMED_EXISTING, why,
                          sizeof why) == 0;
        expected = kind == ANONYMOUS ? "success (an anonymous mapping needs "
                   "no descriptor)" : "success (sysv needs no descriptor)";
    } else {
        /* Without MAP_ANONYMOUS an anonymous POSIX segment opens /dev/zero:
         * failing is then right, if the message names the limit.  (Known
         * library gap: "open(/dev/zero): ..." names neither the limit nor
         * the segment; accepted, and the line says so.) */
        ok = kind == ANONYMOUS && fc_is_posix() &&
             (failed_as(rc, h, -EMFILE, msg, needle, why, sizeof why) ||
              (failed_as(rc, h, -EMFILE, msg, "open(/dev/zero)", why,
                         sizeof why) && strstr(msg, "RLIMIT_NOFILE") == NULL));
        if (!ok && why[0] == '\0')
            snprintf(why, sizeof why, "needs no descriptor, yet failed");
        expected = strstr(msg, "open(/dev/zero)") != NULL
                   ? "EMFILE (built without MAP_ANONYMOUS: /dev/zero is "
                     "opened) naming 'RLIMIT_NOFILE is N descriptors' "
                     "(KNOWN library gap: open(/dev/zero) names no limit)"
                   : "success (no descriptor needed)";
    }
out:
    ushm_close(h);
    /* Only what exists on purpose: a failed create must have left nothing. */
    if (name != NULL && (rc == 0 || kind == NAMED_EXISTING))
        ushm_unlink(name);
    left = leftovers(&b, -1);
    ok = ok && strcmp(left, "none") == 0;
    snprintf(how, sizeof how, "RLIMIT_NOFILE=%d (the lowest free descriptor); "
             "1 MiB %s", fd,
             kind == NAMED_CREATE ? "create" :
             kind == NAMED_EXISTING ? "open of an existing segment" :
             "anonymous create");
    report(cas, how, expected, fc_errno_name(rc), left, ok, msg, why);
}

struct child_result {
    int rc, handle_null;
    unsigned long long limit;
    char msg[MSG];
    char left[256];
};

/* RLIMIT_AS in a child: the parent keeps its address space. */
static void as_case(const char *cas, int anonymous)
{
    int pfd[2], status;
    pid_t pid;
    struct child_result r;
    char why[256] = "", needle[96], how[160];
    int ok;
    const char *name;
    ssize_t got;

    if (!fc_rlimit_as_enforced()) {
        printf("# %s: not run: RLIMIT_AS is not enforced here (an emulator?)\n", cas);
        return;
    }
    name = anonymous ? NULL : new_name();
    memset(&r, 0, sizeof r);
    if (pipe(pfd) != 0)
        die("pipe");
    fflush(stdout);
    if ((pid = fork()) == -1)
        die("fork");
    if (pid == 0) {
        struct base b;
        struct rlimit old, lim;
        unsigned long long vm = 0;
        char line[256];
        ushm_t *h = (ushm_t *)&b;
        FILE *f;

        close(pfd[0]);
        take_base(&b);
        if ((f = fopen("/proc/self/status", "re")) != NULL) {
            while (fgets(line, sizeof line, f) != NULL)
                if (sscanf(line, "VmSize: %llu kB", &vm) == 1)
                    break;
            fclose(f);
        }
        getrlimit(RLIMIT_AS, &old);
        /* Room to spare for the library, none for 256 MiB. */
        r.limit = vm * 1024 + 16 * MiB;
        lim.rlim_cur = (rlim_t)r.limit;
        lim.rlim_max = old.rlim_max;
        if (setrlimit(RLIMIT_AS, &lim) != 0)
            _exit(3);
        r.rc = ushm_open(&h, name, 256 * MiB, USHM_CREATE, 0600);
        r.handle_null = h == NULL;
        snprintf(r.msg, sizeof r.msg, "%s", ushm_last_error());
        setrlimit(RLIMIT_AS, &old);
        if (r.rc == 0) {
            ushm_close(h);
            if (name != NULL)
                ushm_unlink(name);
        }
        snprintf(r.left, sizeof r.left, "%s", leftovers(&b, 0));
        if (write(pfd[1], &r, sizeof r) != (ssize_t)sizeof r)
            _exit(4);
        _exit(0);
    }
    close(pfd[1]);
    got = read(pfd[0], &r, sizeof r);
    close(pfd[0]);
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    snprintf(needle, sizeof needle, "RLIMIT_AS is %llu bytes", r.limit);
    if (got != (ssize_t)sizeof r || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        snprintf(why, sizeof why, "child failed (status 0x%x)", status);
        ok = 0;
        snprintf(r.left, sizeof r.left, "unknown");
    } else {
        ok = failed_as(r.rc, r.handle_null ? NULL : (ushm_t *)&r, -ENOMEM,
                       r.msg, needle, why, sizeof why);
    }
    if (name != NULL)
        ushm_unlink(name);
    ok = ok && strcmp(r.left, "none") == 0;
    snprintf(how, sizeof how, "RLIMIT_AS = VmSize + 16 MiB (%llu) in a child; "
             "256 MiB %s", r.limit, anonymous ? "anonymous create" : "create");
    report(cas, how, "ENOMEM naming 'RLIMIT_AS is N bytes'",
           fc_errno_name(r.rc), r.left, ok, r.msg, why);
}

/* ------------------------------------------------------------------ */
/* Huge pages: an empty (or too small) pool; tmpfs without THP.         */

#ifdef USHM_HUGEPAGES
static unsigned long long meminfo(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[128];
    unsigned long long v = 0;
    size_t len = strlen(key);

    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, len) == 0 && line[len] == ':') {
            v = strtoull(line + len + 1, NULL, 10);
            break;
        }
    if (f != NULL)
        fclose(f);
    return v;
}

static unsigned long long read_ull(const char *path)
{
    FILE *f = fopen(path, "re");
    unsigned long long v = 0;

    if (f != NULL) {
        if (fscanf(f, "%llu", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

/*
 * One huge page more than the pool has free: the reservation fails at
 * once, whatever vm.nr_hugepages is, and nothing global is changed.
 */
static void hugepages_pool(const char *cas, int anonymous)
{
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    unsigned long long free_pages = meminfo("HugePages_Free");
    unsigned long long kb = meminfo("Hugepagesize");
    size_t size = (size_t)((free_pages + 1) * kb * 1024);
    char msg[MSG], why[256] = "", how[160];
    const char *name = anonymous ? NULL : new_name(), *left, *expected;
    int rc, ok;

    if (kb == 0) {
        printf("# %s: not run: no huge page size in /proc/meminfo\n", cas);
        return;
    }
    if (read_ull("/proc/sys/vm/nr_overcommit_hugepages") != 0) {
        printf("# %s: not run: vm.nr_overcommit_hugepages is not 0\n", cas);
        return;
    }
    if (!fc_hugetlb_supported((size_t)kb * 1024)) {
        printf("# %s: not run: this system does not know MAP_HUGETLB (an emulator?)\n", cas);
        return;
    }
    take_base(&b);
    rc = ushm_open(&h, name, size, USHM_CREATE | USHM_HUGEPAGES, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    if (rc == -ENOTSUP && strstr(msg, "built without") != NULL) {
        /* Configured without MAP_HUGETLB / SHM_HUGETLB: said plainly. */
        ok = h == NULL;
        expected = "ENOMEM naming the pool (here: ENOTSUP, built without "
                   "huge pages)";
    } else if (!as_root && !fc_is_posix() && rc == -EPERM) {
        /* SysV huge pages need CAP_IPC_LOCK in the initial namespace. */
        ok = failed_as(rc, h, -EPERM, msg, "CAP_IPC_LOCK", why, sizeof why);
        expected = "EPERM naming CAP_IPC_LOCK (unprivileged)";
    } else {
        ok = failed_as(rc, h, -ENOMEM, msg, "vm.nr_hugepages (", why,
                       sizeof why);
        expected = "ENOMEM naming 'N of vm.nr_hugepages (M) huge pages ... "
                   "are free'";
    }
    if (rc == 0) {
        ushm_close(h);
        if (name != NULL)
            ushm_unlink(name);
    }
    left = leftovers(&b, -1);
    ok = ok && strcmp(left, "none") == 0;
    snprintf(how, sizeof how, "%s create of %llu huge pages of %llu kB with "
             "USHM_HUGEPAGES; HugePages_Free is %llu",
             anonymous ? "anonymous" : "named", free_pages + 1, kb, free_pages);
    report(cas, how, expected, fc_errno_name(rc), left, ok, msg, why);
}

/* A named POSIX segment gets huge pages only from a THP-enabled tmpfs. */
static void hugepages_tmpfs(void)
{
    const char *cas = "posix.hugepages_tmpfs_without_thp";
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG], why[256] = "", line[128] = "";
    const char *name, *left;
    int rc, ok;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");

    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    if (strstr(line, "[force]") != NULL) {
        printf("# %s: not run: shmem_enabled is force\n", cas);
        return;
    }
    mount_shm("size=64m");
    take_base(&b);
    name = new_name();
    rc = ushm_open(&h, name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600);
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    ok = failed_as(rc, h, -ENOTSUP, msg, "huge=within_size", why, sizeof why);
    if (rc == 0) {
        ushm_close(h);
        ushm_unlink(name);
    }
    left = leftovers(&b, 0);
    ok = ok && strcmp(left, "none") == 0;
    report(cas, "tmpfs on /dev/shm mounted without huge=; 4 MiB create with "
           "USHM_HUGEPAGES", "ENOTSUP naming 'huge=within_size'",
           fc_errno_name(rc), left, ok, msg, why);
    umount_shm();
}
#endif

/* ------------------------------------------------------------------ */
/* Both backends: a storm of signals.                                   */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void storm(int on)
{
    struct itimerval it;

    memset(&it, 0, sizeof it);
    if (on) {
        it.it_interval.tv_usec = 50;
        it.it_value.tv_usec = 50;
    }
    setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * count creates of size under SIGALRM every 50 us (no SA_RESTART): every
 * library call must succeed (or fail with want_fail) and never with EINTR,
 * and each segment must have its size at once.
 */
static void storm_case(const char *cas, int count, size_t size, int flags,
                       int anonymous, int want_fail)
{
    struct sigaction sa;
    struct base b;
    char why[256] = "", how[200], got[128], expected[200];
    char msg[MSG] = "";
    const char *left;
    int ok = 1, eintr = 0, wrong = 0, first_rc = 0, hit = 0;
    unsigned long before;
    uint64_t t0 = fc_now_ns();

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* sa_flags 0: no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    take_base(&b);
    before = (unsigned long)alarms;
    for (int i = 0; i < count; i++) {
        const char *name = anonymous ? NULL : new_name();
        ushm_t *h = NULL;
        struct ushm_stat st;
        int rc, rs = 0, rcl, ru = 0;
        long long raw = -2;

        unsigned long at = (unsigned long)alarms;

        storm(1);
        rc = ushm_open(&h, name, size, flags, 0600);
        hit += (unsigned long)alarms != at; /* a signal came during the call */
        if (rc == 0 && name != NULL)
            rs = ushm_stat(name, &st);
        storm(0);
        if (rc != 0)
            snprintf(msg, sizeof msg, "%s", ushm_last_error());
        if (rc == 0 && name != NULL && fc_is_posix())
            raw = raw_size(name);
        if (rc == -EINTR || rs == -EINTR)
            eintr++;
        if (i == 0)
            first_rc = rc;
        if (rc != want_fail) {
            if (!wrong++)
                snprintf(why, sizeof why, "create %d: %s (%s)", i,
                         fc_errno_name(rc), ushm_last_error());
        } else if (rc == 0 &&
                   (ushm_size(h) != size || !ushm_created(h) || rs != 0 ||
                    (name != NULL && st.size != size) ||
                    (raw != -2 && raw != (long long)size))) {
            if (!wrong++)
                snprintf(why, sizeof why, "create %d: size %zu, stat %s size "
                         "%zu, /dev/shm size %lld, want %zu", i, ushm_size(h),
                         fc_errno_name(rs), rs == 0 ? st.size : 0, raw, size);
        } else if (rc == want_fail && rc != 0 &&
                   strstr(msg, "/dev/shm has") == NULL) {
            if (!wrong++)
                snprintf(why, sizeof why, "create %d: last_error does not "
                         "name /dev/shm", i);
        }
        if (rc == 0) {
            volatile unsigned char *p = ushm_addr(h);

            /* First and last byte: the mapping is really there. */
            if (p[0] != 0 || p[size - 1] != 0) {
                if (!wrong++)
                    snprintf(why, sizeof why, "create %d: not zero-filled", i);
            }
            p[0] = 1;
            p[size - 1] = 1;
        }
        storm(1);
        rcl = ushm_close(h);
        if (name != NULL && rc == 0)
            ru = ushm_unlink(name);
        storm(0);
        if (rcl == -EINTR || ru == -EINTR)
            eintr++;
        if ((rcl != 0 || ru != 0) && !wrong++)
            snprintf(why, sizeof why, "create %d: close %s, unlink %s", i,
                     fc_errno_name(rcl), fc_errno_name(ru));
    }
    ok = eintr == 0 && wrong == 0;
    left = leftovers(&b, fc_is_posix() ? 0 : -1);
    ok = ok && strcmp(left, "none") == 0;
    if (wrong == 0 && eintr == 0)
        snprintf(got, sizeof got, "%s x%d (EINTR 0)", fc_errno_name(first_rc),
                 count);
    else
        snprintf(got, sizeof got, "%d wrong results, %d EINTR", wrong, eintr);
    snprintf(how, sizeof how, "SIGALRM every 50 us without SA_RESTART during "
             "%d x %zu MiB %s%s+close+unlink: %lu signals in %.2f s, during "
             "%d of the %d ushm_open calls", count, size / MiB,
             anonymous ? "anonymous create" : "create",
             (flags & USHM_POPULATE) ? " (USHM_POPULATE)" : "",
             (unsigned long)alarms - before, (fc_now_ns() - t0) / 1e9, hit,
             count);
    snprintf(expected, sizeof expected, "%s every time; never EINTR; size "
             "exact at once%s", want_fail ? fc_errno_name(want_fail) :
             "success", want_fail ? "" : "; nothing left");
    report(cas, how, expected, got, left, ok, want_fail ? msg : NULL, why);
    signal(SIGALRM, SIG_IGN);
}

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
        /* Their memory is no file system's to fill: nothing to mount. */
        printf("# SKIP posix.dev_shm_*, posix.reserved_then_fs_filled, "
               "posix.half_made_on_full_fs, posix.open_or_create_existing_on_"
               "full_fs, hugepages.tmpfs, signal_storm.dev_shm_full: objects "
               "are no files on a tmpfs on %s\n", fc_personality());
        posix_foreign_empty();
    } else if (posix) {
        posix_full();
        posix_full_second();
        posix_reserved();
        posix_inodes();
        posix_halfmade_full();
        posix_foreign_empty();
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
    if (posix && fc_objects_are_files())
        hugepages_tmpfs();
#endif
    storm_case("signal_storm.create", 20, 256 * MiB, USHM_CREATE | USHM_EXCL,
               0, 0);
    storm_case("signal_storm.populate", 5, 64 * MiB,
               USHM_CREATE | USHM_EXCL | USHM_POPULATE, 0, 0);
    storm_case("signal_storm.anonymous", 5, 64 * MiB,
               USHM_CREATE | USHM_POPULATE, 1, 0);
    if (posix && fc_objects_are_files()) {
        mount_shm("size=1m");
        storm_case("signal_storm.dev_shm_full", 20, 8 * MiB, USHM_CREATE, 0,
                   -ENOSPC);
        umount_shm();
    }

    sweep();
    umount_shm();
    return fc_finish();
}
