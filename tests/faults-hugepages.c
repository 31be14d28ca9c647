/* SPDX-License-Identifier: MIT */
/*
 * Huge pages: an empty or too small pool, and a tmpfs without
 * transparent huge pages.
 */
#include "faults.h"


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
void hugepages_pool(const char *cas, int anonymous)
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
        printf("# SKIP %s: no huge page size in /proc/meminfo\n", cas);
        return;
    }
    if (read_ull("/proc/sys/vm/nr_overcommit_hugepages") != 0) {
        printf("# SKIP %s: vm.nr_overcommit_hugepages is not 0\n", cas);
        return;
    }
    if (!fc_hugetlb_supported((size_t)kb * 1024)) {
        printf("# SKIP %s: this system does not know MAP_HUGETLB (an emulator?)\n", cas);
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
void hugepages_tmpfs(void)
{
    const char *cas = "posix.hugepages_tmpfs_without_thp";
    struct base b;
    ushm_t *h = (ushm_t *)&b;
    char msg[MSG], why[256] = "", line[128] = "", want[96];
    const char *name, *left;
    int rc, ok;
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");

    /* Elsewhere named objects get no huge pages at all: the library says
     * so, naming the system. */
    if (!fc_objects_are_files()) {
        if (f != NULL)
            fclose(f);
        take_base(&b);
        name = new_name();
        rc = ushm_open(&h, name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600);
        snprintf(msg, sizeof msg, "%s", ushm_last_error());
        snprintf(want, sizeof want, "named POSIX segments get no huge pages on %s",
                 fc_system());
        ok = failed_as(rc, h, -ENOTSUP, msg, want, why, sizeof why);
        if (rc == 0) {
            ushm_close(h);
            ushm_unlink(name);
        }
        left = leftovers(&b, 0);
        ok = ok && strcmp(left, "none") == 0;
        report("posix.hugepages_named", "4 MiB create with USHM_HUGEPAGES", want,
               fc_errno_name(rc), left, ok, msg, why);
        return;
    }

    if (f != NULL) {
        if (fgets(line, sizeof line, f) == NULL)
            line[0] = '\0';
        fclose(f);
    }
    if (strstr(line, "[force]") != NULL) {
        printf("# SKIP %s: shmem_enabled is force\n", cas);
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
