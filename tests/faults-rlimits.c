/* SPDX-License-Identifier: MIT */
/*
 * Both backends against a process's limits: RLIMIT_NOFILE, and
 * RLIMIT_AS in a child.
 */
#include "faults.h"


/* ------------------------------------------------------------------ */
/* Both backends: RLIMIT_NOFILE, RLIMIT_AS.                             */

void nofile_case(const char *cas, int kind)
{
    struct base b;
    struct rlimit old, lim;
    ushm_t *h = NULL;
    char msg[MSG] = "", why[256] = "", needle[96], how[128];
    const char *name = NULL, *left, *expected = "";
    /* An anonymous POSIX segment needs a descriptor only without
     * MAP_ANONYMOUS: a shared mapping of /dev/zero then. */
    int rc = -1, ok = 0, fd = -1,
        posix_fd = fc_is_posix() && (kind != ANONYMOUS || !HAVE_DECL_MAP_ANONYMOUS);

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

        /* The message names the limit and the segment. */
        ok = failed_as(rc, h, -EMFILE, msg, needle, why, sizeof why) &&
             failed_as(rc, h, -EMFILE, msg, name != NULL ? name : "(anonymous)", why,
                       sizeof why);
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
        expected = kind == ANONYMOUS ?
                   "EMFILE (built without MAP_ANONYMOUS: /dev/zero is opened) naming "
                   "'(anonymous)' and 'RLIMIT_NOFILE is N descriptors'" :
                   "EMFILE naming the segment and 'RLIMIT_NOFILE is N descriptors'";
    } else {
        /* No descriptor needed: it must work and be whole. */
        ok = rc == 0 && ushm_size(h) == MiB &&
             fc_touch_all(ushm_addr(h), MiB, kind != NAMED_EXISTING, why,
                          sizeof why) == 0;
        if (rc != 0)
            snprintf(why, sizeof why, "needs no descriptor, yet failed");
        expected = kind == ANONYMOUS ? "success (an anonymous mapping needs "
                   "no descriptor)" : "success (sysv needs no descriptor)";
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
void as_case(const char *cas, int anonymous)
{
    int pfd[2], status;
    pid_t pid;
    struct child_result r;
    char why[256] = "", needle[96], how[160];
    int ok;
    const char *name;
    ssize_t got;

    if (!fc_rlimit_as_enforced()) {
        printf("# SKIP %s: RLIMIT_AS is not enforced here (an emulator?)\n", cas);
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
