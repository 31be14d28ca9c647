/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: the sweep of what the cases left, the test cases and
 * their results as TAP for automake, and conf_main().  See common.h.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* The sweep                                                            */

/* Unlinks every logged name from index from on; returns how many still existed. */
static unsigned sweep_names(unsigned long from, const char *when)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);
    unsigned found = 0;

    if (n > LOG_MAX)
        n = LOG_MAX;
    for (unsigned long i = from; i < n; i++) {
        struct log_entry *e = &name_log->e[i];
        int rc;

        if (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE) || e->name[0] == '\0')
            continue;
        rc = ushm_unlink(e->name);
        if (rc == -ENOENT || rc == -ENAMETOOLONG)
            continue;
        found++;
        if (rc == 0)
            fprintf(stderr, "LEAK %s: %s (named by %s, pid %ld) still existed; removed\n",
                    when, e->name, e->who, (long)e->pid);
        else
            fprintf(stderr, "LEAK %s: %s (named by %s, pid %ld): ushm_unlink = %d (%s)\n",
                    when, e->name, e->who, (long)e->pid, rc, rcstr(rc));
    }
    return found;
}

void sweep_teardown(void)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);

    umask(saved_umask);
    close_leftover_handles();
    leaks += sweep_names(swept_upto, "after test case");
    swept_upto = n > LOG_MAX ? LOG_MAX : n;
}

static int devshm_leftover_entry(const struct seglist_posix *e, void *arg)
{
    /* Ours, or a semaphore of ours (sem.<name>: test_sem_names). */
    const char *body = strncmp(e->name, "sem.", 4) == 0 ? e->name + 4 : e->name;
    char path[512];

    if (strncmp(body, prefix, strlen(prefix)) != 0)
        return 0;
    fprintf(stderr, "LEAK at exit: /dev/shm/%s; removed\n", e->name);
    snprintf(path, sizeof path, "/dev/shm/%s", e->name);
    unlink(path);
    ++*(unsigned *)arg;
    return 0;
}

static unsigned devshm_leftovers(void)
{
    unsigned n = 0;

    seglist_posix_each(devshm_leftover_entry, &n, NULL, 0);
    return n;
}

static int pid_is_ours(long pid)
{
    unsigned long n = __atomic_load_n(&name_log->next, __ATOMIC_SEQ_CST);

    if (pid == (long)getpid())
        return 1;
    if (n > LOG_MAX)
        n = LOG_MAX;
    for (unsigned long i = 0; i < n; i++)
        if (name_log->e[i].ready && (long)name_log->e[i].pid == pid)
            return 1;
    return 0;
}

static void sysv_leftover_row(long key, long shmid, long cpid, void *arg)
{
    if (!pid_is_ours(cpid))
        return;
    /* Every process of ours but this one is reaped by now: a live process
     * with that pid is someone else's that reused it. */
    if (cpid != (long)getpid() && (kill((pid_t)cpid, 0) == 0 || errno == EPERM))
        return;
    fprintf(stderr, "LEAK at exit: SysV segment key %#lx shmid %ld made by pid %ld; removed\n",
            (unsigned long)key & 0xffffffffUL, shmid, cpid);
    shmctl((int)shmid, IPC_RMID, NULL);
    ++*(unsigned *)arg;
}

static unsigned sysv_leftovers(void)
{
    unsigned n = 0;
    sysv_each(sysv_leftover_row, &n);
    return n;
}

/* ------------------------------------------------------------------ */
/* Test cases, and their results for automake                            */

/* A checked fixture: runs first in every case, in the case's process. */
static void case_begin(void)
{
    __atomic_fetch_add(&name_log->cases, 1, __ATOMIC_SEQ_CST);
}

TCase *add_tcase_fixture(Suite *s, const char *name, double timeout,
                         void (*setup)(void), void (*teardown)(void))
{
    TCase *tc = tcase_create(name);

    tcase_set_timeout(tc, timeout);
    tcase_add_checked_fixture(tc, case_begin, NULL);
    tcase_add_unchecked_fixture(tc, setup, teardown);
    suite_add_tcase(s, tc);
    return tc;
}

TCase *add_tcase(Suite *s, const char *name, double timeout)
{
    return add_tcase_fixture(s, name, timeout, NULL, sweep_teardown);
}

/* The reason case seq (from 1) gave for skipping, or NULL. */
static const char *skip_reason(unsigned long seq)
{
    unsigned long n = __atomic_load_n(&name_log->nskips, __ATOMIC_SEQ_CST);

    for (unsigned long k = 0; k < n && k < MAX_SKIPS; k++)
        if (name_log->skips[k].seq == seq)
            return name_log->skips[k].why;
    return NULL;
}

/* One line of Check's TAP log: "ok 3 - file:tcase:test: message". */
struct tap_line {
    int ok;
    char name[160];   /* "tcase:test" */
    char *message;
};

static void tap_parse(char *line, struct tap_line *t)
{
    char *rest = strstr(line, " - "), *file_end, *tc_end, *name_end;

    line[strcspn(line, "\n")] = '\0';
    t->ok = strncmp(line, "ok ", 3) == 0;
    rest = rest ? rest + 3 : line;
    file_end = strchr(rest, ':');
    tc_end = file_end ? strchr(file_end + 1, ':') : NULL;
    name_end = tc_end ? strchr(tc_end + 1, ':') : NULL;
    if (name_end == NULL) {
        snprintf(t->name, sizeof t->name, "%.*s", (int)sizeof t->name - 1, rest);
        t->message = strdup("");
        return;
    }
    snprintf(t->name, sizeof t->name, "%.*s",
             (int)((size_t)(name_end - file_end - 1) < sizeof t->name - 1 ?
                   (size_t)(name_end - file_end - 1) : sizeof t->name - 1), file_end + 1);
    rest = name_end + 1;
    t->message = strdup(rest + (*rest == ' '));
}

/*
 * Check's TAP log printed again with each skip marked, a loop test's rounds
 * numbered ("test[2]") and the plan last.  The lines are in the order the
 * cases ran, so line n is the case that case_begin() counted as n; if the
 * counts differ no skip can be trusted to its line, which is a failure.
 */
static void print_tap(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    struct tap_line *t = NULL;
    unsigned long n = 0, cap = 0, cases = __atomic_load_n(&name_log->cases, __ATOMIC_SEQ_CST);

    if (f == NULL) {
        printf("not ok 1 - cannot read Check's TAP log %s: %s\n1..1\n", path, strerror(errno));
        return;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "ok ", 3) != 0 && strncmp(line, "not ok ", 7) != 0)
            continue;
        if (n == cap) {
            struct tap_line *more = realloc(t, (cap = cap ? 2 * cap : 256) * sizeof *t);
            if (more == NULL)
                break;
            t = more;
        }
        tap_parse(line, &t[n++]);
    }
    fclose(f);
    for (unsigned long i = 0, round = 0; i < n; i++) {
        int loop = (i > 0 && strcmp(t[i].name, t[i - 1].name) == 0) ||
                   (i + 1 < n && strcmp(t[i].name, t[i + 1].name) == 0);
        const char *why = i < cases ? skip_reason(i + 1) : NULL;
        char name[200];

        round = i > 0 && strcmp(t[i].name, t[i - 1].name) == 0 ? round + 1 : 0;
        snprintf(name, sizeof name, loop ? "%s[%lu]" : "%s", t[i].name, round);
        if (!t[i].ok)
            printf("not ok %lu - %s: %s\n", i + 1, name, t[i].message ? t[i].message : "");
        else if (why != NULL)
            printf("ok %lu - %s # SKIP %s\n", i + 1, name, why);
        else
            printf("ok %lu - %s\n", i + 1, name);
        free(t[i].message);
    }
    free(t);
    if (n != cases) {
        printf("not ok %lu - %lu cases begun, Check reported %lu: the skips cannot be "
               "placed\n", n + 1, cases, n);
        n++;
    }
    printf("1..%lu\n", n);
    fflush(stdout);
}

/* The program's topics, run; each case's result as TAP; the leftovers swept. */
int conf_main(const char *title, void (*add_topics)(Suite *s, int forking))
{
    Suite *s;
    SRunner *sr;
    int failed, forking, overflow, tap_fd;
    unsigned exit_leaks;
    char tap[64];
    const char *tmp = getenv("TMPDIR");

    /* Check's forked children leave by exit(): nothing may wait in a buffer. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(prefix, sizeof prefix, "u%ldx", (long)getpid());
    saved_umask = umask(022);
    umask(saved_umask);
    name_log = mmap(NULL, sizeof *name_log, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (name_log == MAP_FAILED) {
        perror("mmap name log");
        return EXIT_FAILURE;
    }
    name_log->nr_hugepages_saved = -1;
    if (is_sysv()) {
        FILE *f = fopen("/proc/sys/kernel/shm_rmid_forced", "r");
        int forced = 0;
        if (f) {
            if (fscanf(f, "%d", &forced) != 1)
                forced = 0;
            fclose(f);
        }
        if (forced)
            printf("NOTE kernel.shm_rmid_forced=1: SysV segments vanish when the last "
                   "user detaches, so the reopen-after-close tests will fail here\n");
    }
    /* Check's TAP log goes to a file of ours, read back with the skips. */
    snprintf(tap, sizeof tap, "%s/ushm-tap-XXXXXX", tmp && strlen(tmp) < 40 ? tmp : "/tmp");
    tap_fd = mkstemp(tap);
    if (tap_fd < 0) {
        perror("mkstemp for Check's TAP log");
        return EXIT_FAILURE;
    }
    close(tap_fd);
    unsetenv("CK_TAP_LOG_FILE_NAME");

    s = suite_create(title);
    sr = srunner_create(s);
    srunner_set_tap(sr, tap);
    forking = srunner_fork_status(sr) != CK_NOFORK;
    add_topics(s, forking);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    print_tap(tap);
    unlink(tap);

    exit_leaks = sweep_names(0, "at exit");
    exit_leaks += devshm_leftovers();
    exit_leaks += sysv_leftovers();
    overflow = name_log->overflow;
    if (overflow)
        fprintf(stderr, "the name log overflowed (%d entries): some names were not swept\n", LOG_MAX);
    if (name_log->nskips > MAX_SKIPS)
        fprintf(stderr, "%lu cases skipped: only the first %d are marked\n",
                name_log->nskips, MAX_SKIPS);
    if (leaks + exit_leaks > 0)
        fprintf(stderr, "%u segment(s) were left behind by the tests (see LEAK lines)\n",
                leaks + exit_leaks);
    munmap(name_log, sizeof *name_log);
    return failed == 0 && leaks + exit_leaks == 0 && !overflow ? EXIT_SUCCESS : EXIT_FAILURE;
}
