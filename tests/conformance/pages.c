/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: Pages: a big prefaulted segment, huge pages.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* A big prefaulted segment                                             */

static int big_fits(size_t size)
{
    struct statvfs vf;
    unsigned long long max = 0, all = 0;
    FILE *f;

    if (is_posix()) {
        if (statvfs("/dev/shm", &vf) == 0 && vf.f_blocks > 0 &&
            (unsigned long long)vf.f_bavail * vf.f_frsize < size + 32 * MiB)
            return 0;
        return 1;
    }
    if ((f = fopen("/proc/sys/kernel/shmmax", "r"))) {
        if (fscanf(f, "%llu", &max) != 1)
            max = 0;
        fclose(f);
    }
    if ((f = fopen("/proc/sys/kernel/shmall", "r"))) {
        if (fscanf(f, "%llu", &all) != 1)
            all = 0;
        fclose(f);
    }
    return (max == 0 || max >= size) && (all == 0 || all >= size / page_size());
}

START_TEST(test_big_populate)
{
    const size_t size = 256 * MiB, page = page_size();
    char name[NAMEBUF];
    volatile unsigned char *p;
    ushm_t *h;

    if (!big_fits(size))
        SKIP_CASE("the system allows less than 256 MiB");
    NEW_NAME(name);
    h = OPEN_OK(name, size, USHM_CREATE | USHM_EXCL | USHM_POPULATE, 0600);
    ck_assert_int_eq(ushm_created(h), 1);
    ck_assert_uint_eq(ushm_size(h), size);
    p = ushm_addr(h);
    for (size_t off = 0; off < size; off += page) {
        size_t at = off + (off / page * 64) % page;
        if (p[off] != 0 || p[at] != 0 || p[off + page - 1] != 0)
            ck_abort_msg("page at %zu of a new 256 MiB segment is not zero", off);
    }
    p[0] = 0xf0;
    p[size - 1] = 0x0f;
    ck_assert_uint_eq(p[0], 0xf0);
    ck_assert_uint_eq(p[size - 1], 0x0f);
    CLOSE_OK(h);
    h = OPEN_OK(name, 0, USHM_RDONLY, 0);
    ck_assert_uint_eq(ushm_size(h), size);
    ck_assert_uint_eq(((unsigned char *)ushm_addr(h))[size - 1], 0x0f);
    CLOSE_OK(h);
    ASSERT_RC(ushm_unlink(name), 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Huge pages: both outcomes                                            */

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define HUGE_LOCK "/tmp/ushm-tests-hugepages.lock"

static long meminfo_value(const char *key)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[160];
    size_t n = strlen(key);
    long v = -1;

    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':') {
            v = strtol(line + n + 1, NULL, 10);
            break;
        }
    if (f)
        fclose(f);
    return v;
}

static long read_long(const char *path)
{
    FILE *f = fopen(path, "r");
    long v = -1;

    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static int write_long(const char *path, long v)
{
    FILE *f = fopen(path, "w");
    int ok;

    if (!f)
        return -1;
    ok = fprintf(f, "%ld\n", v) > 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* Does this process's /dev/shm hand out transparent huge pages? */
static int devshm_thp(void)
{
    FILE *f = fopen("/proc/self/mounts", "r");
    char line[512], dir[256], opts[256], mode[128] = "";
    int on = 0;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%*s %255s %*s %255s", dir, opts) == 2 && strcmp(dir, "/dev/shm") == 0)
            on = strstr(opts, "huge=always") || strstr(opts, "huge=within_size");
    if (f)
        fclose(f);
    if ((f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r"))) {
        if (fgets(mode, sizeof mode, f) && strstr(mode, "[force]"))
            on = 1;
        if (strstr(mode, "[deny]"))
            on = 0;
        fclose(f);
    }
    return on;
}

/* valgrind hands huge-page mappings to the kernel its own way (seen: a
 * MAP_HUGETLB mapping granted from an empty pool): no verdict there. */
static int skip_under_valgrind(const char *what)
{
    if (getenv("USHM_UNDER_VALGRIND") == NULL)
        return 0;
    skip_case(what, "valgrind does not pass huge-page mappings through faithfully");
    return 1;
}

/* Segments backed by the hugetlb pool: SysV always, POSIX when anonymous. */
static int uses_hugetlb_pool(const char *name)
{
    return is_sysv() || name == NULL;
}

/* Whether this build can ask for pool pages (configure may have found, or
 * been told, that MAP_HUGETLB / SHM_HUGETLB is not there). */
static int built_with_hugetlb(void)
{
    return is_sysv() ? HAVE_DECL_SHM_HUGETLB
                     : HAVE_DECL_MAP_HUGETLB && HAVE_DECL_MAP_ANONYMOUS;
}

/* The pool has too few pages, or this build cannot ask it at all. */
START_TEST(test_hugepages_pool_unavailable)
{
    long huge_kb = meminfo_value("Hugepagesize"), free_pages;
    char name[NAMEBUF];
    int lock;

    if (huge_kb <= 0)
        SKIP_CASE("this kernel has no huge pages");
    if (skip_under_valgrind(__func__))
        return;
    /* test_hugepages_available of the other program may be growing the
     * pool meanwhile: the pool is looked at under the same lock.  (Held
     * until this process ends.) */
    lock = open(HUGE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_msg(lock >= 0 && flock(lock, LOCK_EX) == 0, "lock %s: %s", HUGE_LOCK, strerror(errno));
    free_pages = meminfo_value("HugePages_Free");
    NEW_NAME(name);
    if (!built_with_hugetlb()) {
        /* The pool cannot be asked for at all: -ENOTSUP, saying why. */
        EXPECT_OPEN_FAIL(NULL, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600, -ENOTSUP, NULL, 0);
        ck_assert_msg(strstr(ushm_last_error(), "built without") != NULL,
                      "the message does not say what the build lacks: %s", last_err());
        if (is_sysv())
            EXPECT_OPEN_FAIL(name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600, -ENOTSUP, NULL, 0);
    } else if (!fc_hugetlb_supported((size_t)huge_kb * 1024)) {
        SKIP_CASE("this system does not know MAP_HUGETLB (an emulator?)");
    } else if (read_long("/proc/sys/vm/nr_overcommit_hugepages") > 0) {
        SKIP_CASE("vm.nr_overcommit_hugepages lets the kernel add pages on demand");
    } else {
        /* One page more than the pool has free. */
        size_t size = (size_t)(free_pages + 1) * (size_t)huge_kb * 1024;
        /* SysV first asks whether the caller may have huge pages at all. */
        int refused = is_sysv() && geteuid() != 0 &&
                      (long)getegid() != read_long("/proc/sys/vm/hugetlb_shm_group");
        int want = refused ? -EPERM : -ENOMEM;
        const char *hint = refused ? "hugetlb_shm_group" : "vm.nr_hugepages";

        EXPECT_OPEN_FAIL(NULL, size, USHM_CREATE | USHM_HUGEPAGES, 0600, want, NULL, 1);
        ck_assert_msg(strstr(ushm_last_error(), hint) != NULL,
                      "the message does not name %s: %s", hint, last_err());
        if (is_sysv()) {
            EXPECT_OPEN_FAIL(name, size, USHM_CREATE | USHM_HUGEPAGES, 0600, want, name, 1);
            ck_assert_msg(strstr(ushm_last_error(), hint) != NULL,
                          "the message does not name %s: %s", hint, last_err());
        }
    }
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    close(lock);
}
END_TEST

/* POSIX: a named segment gets huge pages only from a /dev/shm that gives THP. */
START_TEST(test_hugepages_tmpfs_without_thp)
{
    char name[NAMEBUF];

    /* FreeBSD and macOS give named objects no huge pages at all (FreeBSD's
     * are shm_create_largepage()'s, another call): -ENOTSUP, saying so. */
    if (!fc_objects_are_files()) {
        char want[128];

        snprintf(want, sizeof want, "named POSIX segments get no huge pages on %s", fc_system());
        NEW_NAME(name);
        EXPECT_OPEN_FAIL(name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600, -ENOTSUP, name, 0);
        ck_assert_msg(strstr(ushm_last_error(), want) != NULL,
                      "the message does not say \"%s\": %s", want, last_err());
        EXPECT_STAT_FAIL(name, -ENOENT, name);
        return;
    }
    if (meminfo_value("Hugepagesize") <= 0)
        SKIP_CASE("this kernel has no huge pages");
    if (skip_under_valgrind(__func__))
        return;
    if (devshm_thp())
        SKIP_CASE("this /dev/shm hands out transparent huge pages");
    NEW_NAME(name);
    EXPECT_OPEN_FAIL(name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600, -ENOTSUP, name, 0);
    ck_assert_msg(strstr(ushm_last_error(), "huge=within_size") != NULL,
                  "the message does not say how to enable huge pages: %s", last_err());
    EXPECT_STAT_FAIL(name, -ENOENT, name);
}
END_TEST

/* Opens a huge-page segment of 3 pages + 5 bytes, checks it and that the huge pages
 * were used; in the caller's process. */
static int huge_roundtrip(const char *name, char *msg, size_t len)
{
    size_t huge = (size_t)meminfo_value("Hugepagesize") * 1024, size = 3 * huge + 5;
    long free0 = meminfo_value("HugePages_Free"), shmem0 = meminfo_value("ShmemHugePages");
    ushm_t *h = NULL, *again = NULL;
    unsigned char *p;
    int rc = ushm_open(&h, name, size, USHM_CREATE | USHM_EXCL | USHM_HUGEPAGES, 0640);
    struct ushm_stat st;

    CHILD_EXPECT(rc == 0, "ushm_open(%s, HUGEPAGES) = %d: %s", name ? name : "NULL", rc,
                 ushm_last_error());
    CHILD_EXPECT(ushm_size(h) == size && ushm_created(h) == 1, "size %zu created %d",
                 ushm_size(h), ushm_created(h));
    p = ushm_addr(h);
    for (size_t i = 0; i < size; i++)
        CHILD_EXPECT(p[i] == 0, "byte %zu of a new huge-page segment is %u", i, p[i]);
    memset(p, 0xa5, size);
    if (uses_hugetlb_pool(name)) {
        long used = free0 - meminfo_value("HugePages_Free");
        CHILD_EXPECT(used == 4, "HugePages_Free fell by %ld, want 4", used);
    } else {
        long grew = meminfo_value("ShmemHugePages") - shmem0;
        CHILD_EXPECT(grew >= 3 * (long)(huge / 1024), "ShmemHugePages grew by %ld kB, want >= %zu",
                     grew, 3 * huge / 1024);
    }
    if (name) {
        CHILD_EXPECT(ushm_stat(name, &st) == 0 && st.size == size && st.mode == 0640,
                     "stat: %s size %zu mode %o", ushm_last_error(), st.size, (unsigned)st.mode);
        /* Joining needs no flag, and keeps the contents. */
        rc = ushm_open(&again, name, 0, 0, 0);
        CHILD_EXPECT(rc == 0 && ushm_size(again) == size &&
                     ((unsigned char *)ushm_addr(again))[size - 1] == 0xa5,
                     "reopen: %d %s", rc, ushm_last_error());
        CHILD_EXPECT(ushm_close(again) == 0, "close: %s", ushm_last_error());
    }
    CHILD_EXPECT(ushm_close(h) == 0, "close: %s", ushm_last_error());
    if (name)
        CHILD_EXPECT(ushm_unlink(name) == 0, "unlink: %s", ushm_last_error());
    if (uses_hugetlb_pool(name))
        CHILD_EXPECT(meminfo_value("HugePages_Free") == free0, "huge pages not given back: %ld free, had %ld",
                     meminfo_value("HugePages_Free"), free0);
    return 0;
}

static int child_huge_named(void *arg, char *msg, size_t len)
{
    const char *name = arg;

    if (is_posix()) {
        /* A private /dev/shm: first without huge pages, then with them. */
        ushm_t *h = NULL;
        int rc;

        CHILD_EXPECT(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS): %s", strerror(errno));
        CHILD_EXPECT(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "mount private: %s",
                     strerror(errno));
        CHILD_EXPECT(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,huge=never") == 0,
                     "mount tmpfs huge=never: %s", strerror(errno));
        rc = ushm_open(&h, name, 4 * MiB, USHM_CREATE | USHM_HUGEPAGES, 0600);
        CHILD_EXPECT(rc == -ENOTSUP && h == NULL, "huge=never: ushm_open = %d: %s", rc,
                     ushm_last_error());
        CHILD_EXPECT(ushm_unlink(name) == -ENOENT, "huge=never: the failed open left %s", name);
        CHILD_EXPECT(umount("/dev/shm") == 0, "umount: %s", strerror(errno));
        CHILD_EXPECT(mount("tmpfs", "/dev/shm", "tmpfs", 0, "size=64m,huge=within_size") == 0,
                     "mount tmpfs huge=within_size: %s", strerror(errno));
    }
    return huge_roundtrip(name, msg, len);
}

static int child_huge_anon(void *arg, char *msg, size_t len)
{
    (void)arg;
    return huge_roundtrip(NULL, msg, len);
}

/* Restores vm.nr_hugepages if a test that raised it did not. */
static void hugepages_teardown(void)
{
    long saved = __atomic_exchange_n(&name_log->nr_hugepages_saved, -1, __ATOMIC_SEQ_CST);

    if (saved >= 0 && write_long(NR_HUGEPAGES, saved) != 0)
        fprintf(stderr, "could not restore vm.nr_hugepages to %ld\n", saved);
    sweep_teardown();
}

START_TEST(test_hugepages_available)
{
    char name[NAMEBUF];
    long old, huge_kb = meminfo_value("Hugepagesize");
    int lock;

    if (geteuid() != 0)
        SKIP_CASE("needs root to reserve huge pages (vm.nr_hugepages)");
    if (skip_under_valgrind(__func__))
        return;
    if (huge_kb <= 0 || read_long(NR_HUGEPAGES) < 0)
        SKIP_CASE("this kernel has no huge pages");
    if (is_posix() && !fc_objects_are_files() && !built_with_hugetlb())
        SKIP_CASE("named POSIX segments get no huge pages on %s (-ENOTSUP: "
                  "test_hugepages_tmpfs_without_thp) and this build has no MAP_HUGETLB for "
                  "anonymous ones", fc_system());
    /* The posix and sysv programs may run at once: one changes the pool at a time. */
    lock = open(HUGE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ck_assert_msg(lock >= 0 && flock(lock, LOCK_EX) == 0, "lock %s: %s", HUGE_LOCK, strerror(errno));
    old = read_long(NR_HUGEPAGES);
    __atomic_store_n(&name_log->nr_hugepages_saved, old, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(write_long(NR_HUGEPAGES, old + 8), 0);
    if (meminfo_value("HugePages_Free") < 8 || !fc_hugetlb_supported((size_t)huge_kb * 1024)) {
        write_long(NR_HUGEPAGES, old);
        __atomic_store_n(&name_log->nr_hugepages_saved, -1, __ATOMIC_SEQ_CST);
        close(lock);
        SKIP_CASE("the kernel could not reserve 8 huge pages, or does not know MAP_HUGETLB "
                  "(an emulator?)");
    }
    NEW_NAME(name);
    if (is_posix() && !fc_objects_are_files())
        /* Named objects get none there: test_hugepages_tmpfs_without_thp
         * asserts the -ENOTSUP. */
        printf("NOTE test_hugepages_available: named POSIX segments get no huge pages on %s "
               "(-ENOTSUP: test_hugepages_tmpfs_without_thp)\n", fc_system());
    if (built_with_hugetlb()) {
        RUN_CHILD(child_huge_anon, NULL, 0);
        if (is_sysv() || fc_objects_are_files())
            RUN_CHILD(child_huge_named, name, 0);
    } else {
        /* Pool pages are out of this build's reach (test_hugepages_unavailable
         * checks the error); named POSIX segments still get THP. */
        if (is_posix() && fc_objects_are_files())
            RUN_CHILD(child_huge_named, name, 0);
        printf("NOTE test_hugepages_available: built without %s: the pool-backed "
               "cases are -ENOTSUP\n", is_sysv() ? "SHM_HUGETLB" : "MAP_HUGETLB");
    }
    EXPECT_STAT_FAIL(name, -ENOENT, name);
    ck_assert_int_eq(write_long(NR_HUGEPAGES, old), 0);
    __atomic_store_n(&name_log->nr_hugepages_saved, -1, __ATOMIC_SEQ_CST);
    ck_assert_int_eq(read_long(NR_HUGEPAGES), old);
    close(lock);
}
END_TEST

/* ------------------------------------------------------------------ */

void conf_add_pages(Suite *s, int forking)
{
    TCase *tc;

    (void)forking;

    tc = add_tcase(s, "big", 300);
    tcase_add_test(tc, test_big_populate);

    tc = add_tcase_fixture(s, "hugepages", 120, NULL, hugepages_teardown);
    tcase_add_test(tc, test_hugepages_pool_unavailable);
    if (is_posix())
        tcase_add_test(tc, test_hugepages_tmpfs_without_thp);
    tcase_add_test(tc, test_hugepages_available);
}
