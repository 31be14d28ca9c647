/* SPDX-License-Identifier: MIT */
/*
 * What every case of the limit tests stands on: names and the final sweep,
 * namespaces, tmpfs and sysctls, baselines, leftovers and the FAULT line.
 */
#include "faults.h"


#define MAX_NAMES 256
char prefix[24];                 /* "f<pid>_": our /dev/shm entries */
static char used_names[MAX_NAMES][USHM_NAME_MAX + 1];
static int nused;

/* A fresh name "/f<pid>_<n>", remembered for the final sweep. */
const char *new_name(void)
{
    char *n = used_names[nused < MAX_NAMES ? nused : MAX_NAMES - 1];

    snprintf(n, USHM_NAME_MAX + 1, "/%s%d", prefix, nused);
    if (nused < MAX_NAMES)
        nused++;
    return n;
}

void sweep(void)
{
    for (int i = 0; i < nused; i++)
        ushm_unlink(used_names[i]);
}

void die(const char *what)
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

int as_root = 1; /* 0: in a user namespace of our own */

void enter_namespaces(void)
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

void mount_shm(const char *opts)
{
    if (mount("ushm-faults", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV,
              opts) == -1) {
        printf("# mount -t tmpfs -o %s on /dev/shm failed\n", opts);
        die("mount tmpfs");
    }
}

void umount_shm(void)
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

unsigned long long shm_free_bytes(void)
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

void save_sysctls(void)
{
    for (int i = 0; i < 3; i++) {
        FILE *f = fopen(sysctl_path[i], "re");

        if (f == NULL || fgets(sysctl_saved[i], sizeof sysctl_saved[i], f) == NULL)
            die(sysctl_path[i]);
        fclose(f);
    }
}

void restore_sysctls(void)
{
    for (int i = 0; i < 3; i++)
        if (write_file(sysctl_path[i], sysctl_saved[i]) < 0)
            die(sysctl_path[i]);
}

void set_sysctl(int which, unsigned long long value)
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

void take_base(struct base *b)
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
const char *leftovers(const struct base *b, long long used)
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

void report(const char *cas, const char *how, const char *expected,
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
int failed_as(int rc, ushm_t *h, int want, const char *msg,
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

/* The free space that a -ENOSPC message names: measured before the call
 * (with or without posix_fallocate), which a failed call leaves as it was. */
void free_space_needle(char *needle, size_t len)
{
    snprintf(needle, len, "/dev/shm has %llu bytes free", shm_free_bytes());
}

/* Size of /dev/shm/<name> by stat(2); -1 when missing. */
long long raw_size(const char *canon)
{
    char path[64];
    struct stat sb;

    /* Where objects are no files: the object's own fstat(). */
    if (!fc_objects_are_files())
        return fc_posix_look(canon, &sb) == 0 ? (long long)sb.st_size : -1;
    snprintf(path, sizeof path, "/dev/shm%s", canon);
    return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

/* Segment name (a mapped) still has len bytes, all of value v. */
int stays_whole_bytes(const char *name, ushm_t *a, size_t len, int v,
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
int stays_whole(const char *name, ushm_t *a, char *why, size_t len)
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
