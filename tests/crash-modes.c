/* SPDX-License-Identifier: MIT */
/*
 * Unprivileged creators asking for modes without owner write (0400, 0444,
 * 0640), killed as nobody in private namespaces: the sigkill_unprivileged_modes row.
 */
#include "crash.h"

/* ------------------------------------------------------------------ */
/* Unprivileged creators with modes lacking owner write, killed.         */

#define UM_NAMES 3
static const mode_t um_modes[UM_NAMES] = { 0400, 0444, 0640 };
static const size_t um_sizes[UM_NAMES] = { 1 * MiB, 2 * MiB, 4 * MiB };
static char um_names[UM_NAMES][USHM_NAME_MAX + 1];

enum { UM_MISSING, UM_EMPTY, UM_WHOLE, UM_WINDOW, UM_BAD };
static const char *const um_word[] = { "missing", "size 0", "whole", "whole with owner rw (the window)",
                                       "wrong" };

/* What the system holds under um_names[k], looked at directly. */
static int um_raw_state(int k, char *why, size_t len)
{
    unsigned long size, mode;

    if (fc_is_posix()) {
        struct stat sb;

        /* /dev/shm, or the object itself where objects are no files. */
        if (fc_posix_look(um_names[k], &sb) != 0)
            return UM_MISSING;
        size = (unsigned long)sb.st_size;
        mode = sb.st_mode & 0777;
        if (size == 0)
            return UM_EMPTY;
    } else {
        struct shmid_ds ds;
        int id = shmget((key_t)fc_sysv_key(um_names[k]), 0, 0);

        if (id == -1)
            return UM_MISSING;
        if (shmctl(id, IPC_STAT, &ds) != 0) {
            snprintf(why, len, "IPC_STAT of %s: %s", um_names[k], strerror(errno));
            return UM_BAD;
        }
        size = (unsigned long)ds.shm_segsz;
        mode = ds.shm_perm.mode & 0777;
    }
    if (size == um_sizes[k] && mode == um_modes[k])
        return UM_WHOLE;
    /* SysV creates other modes 0600 and sets them right after (API.md); the
     * POSIX fallback protocol keeps owner rw (mode | 0600) until the size is
     * set, so that its empty leftovers can be opened and reported. */
    if (!fc_is_posix() && size == um_sizes[k] && mode == 0600 && !(um_modes[k] & 0200))
        return UM_WINDOW;
    if (fc_is_posix() && !fc_posix_atomic() && size == um_sizes[k] &&
        mode == (um_modes[k] | 0600) && (um_modes[k] & 0600) != 0600)
        return UM_WINDOW;
    snprintf(why, len, "%s has size %lu and mode 0%lo (want %zu and 0%o)", um_names[k], size,
             mode, um_sizes[k], (unsigned)um_modes[k]);
    return UM_BAD;
}

/*
 * After a kill, in a child under a deadline: the library agrees with the
 * raw state, a whole segment is zero-filled, and open-or-create does what
 * the contract says: creates a missing name; joins a whole one it may
 * write; -EACCES for a whole one without owner write; -EAGAIN for a size-0
 * object (the fallback protocol's leftover), which ushm_unlink() removes so
 * that the next USHM_CREATE succeeds.  0, or a line of why in why.
 */
static int um_check(int k, int state, int try_empty, char *why, size_t len)
{
    int p[2], status;
    ssize_t n;
    pid_t pid;

    if (pipe(p) != 0) {
        snprintf(why, len, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    pid = fork();
    if (pid == -1) {
        snprintf(why, len, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        const char *name = um_names[k];
        mode_t mode = state != UM_WINDOW ? um_modes[k] : fc_is_posix() ? (um_modes[k] | 0600) : 0600;
        struct ushm_stat st;
        ushm_t *h = NULL;
        char w[512] = "";
        int rc, bad = 0;

        close(p[0]);
        alarm(10);
        rc = ushm_stat(name, &st);
        if (state == UM_WHOLE || state == UM_WINDOW) {
            if (rc != 0 || st.size != um_sizes[k] || st.mode != mode)
                bad = snprintf(w, sizeof w, "ushm_stat(%s, %s) = %s, size %zu, mode 0%o: %s",
                               name, um_word[state], fc_errno_name(rc), rc ? 0 : st.size,
                               rc ? 0u : (unsigned)st.mode, ushm_last_error());
            else if ((rc = ushm_open(&h, name, 0, USHM_RDONLY, 0)) != 0)
                bad = snprintf(w, sizeof w, "ushm_open(%s, USHM_RDONLY) = %s: %s", name,
                               fc_errno_name(rc), ushm_last_error());
            else {
                const unsigned char *b = ushm_addr(h);
                for (size_t i = 0; i < um_sizes[k] && !bad; i++)
                    if (b[i] != 0)
                        bad = snprintf(w, sizeof w, "%s: byte %zu is not 0", name, i);
                ushm_close(h);
                h = NULL;
            }
        } else if (rc != -ENOENT) {
            bad = snprintf(w, sizeof w, "ushm_stat(%s, %s) = %s, want ENOENT: %s", name,
                           um_word[state], fc_errno_name(rc), ushm_last_error());
        }
        if (!bad) {
            /* A size-0 object costs the library's 1 s wait: after a few,
             * it is only removed and made again (CI stays fast). */
            if (state == UM_EMPTY && !try_empty)
                rc = -EAGAIN;
            else
                rc = ushm_open(&h, name, um_sizes[k], USHM_CREATE, um_modes[k]);
            /* macOS gives the mode to shm_open (its fchmod does not work on
             * objects), so a killed creator's empty object has its final
             * mode: without owner write a read-write open is refused at
             * once, -EACCES (API: no permission), not a wait for a size. */
            if (state == UM_EMPTY && rc == -EACCES && !(um_modes[k] & 0200) && fc_is_macos())
                rc = -EAGAIN;
            if (state == UM_EMPTY) {
                if (rc != -EAGAIN)
                    bad = snprintf(w, sizeof w, "open-or-create of %s (size 0) = %s, want "
                                   "EAGAIN: %s", name, fc_errno_name(rc), ushm_last_error());
                else if ((rc = ushm_unlink(name)) != 0)
                    bad = snprintf(w, sizeof w, "ushm_unlink(%s) (size 0) = %s: %s", name,
                                   fc_errno_name(rc), ushm_last_error());
                else if ((rc = ushm_open(&h, name, um_sizes[k], USHM_CREATE, um_modes[k])) != 0 ||
                         !ushm_created(h))
                    bad = snprintf(w, sizeof w, "open-or-create of %s after unlinking the "
                                   "size-0 object = %s: %s", name, fc_errno_name(rc),
                                   ushm_last_error());
            } else if (state == UM_MISSING) {
                if (rc != 0 || !ushm_created(h))
                    bad = snprintf(w, sizeof w, "open-or-create of the missing %s = %s, "
                                   "created %d: %s", name, fc_errno_name(rc),
                                   rc ? -1 : ushm_created(h), ushm_last_error());
            } else if (mode & 0200) {
                if (rc != 0 || ushm_created(h))
                    bad = snprintf(w, sizeof w, "open-or-create of the whole %s (0%o) = %s, "
                                   "created %d: %s", name, (unsigned)mode, fc_errno_name(rc),
                                   rc ? -1 : ushm_created(h), ushm_last_error());
            } else if (rc != -EACCES) {
                bad = snprintf(w, sizeof w, "open-or-create of the whole %s (0%o, no owner "
                               "write) = %s, want EACCES: %s", name, (unsigned)mode,
                               fc_errno_name(rc), ushm_last_error());
            }
            if (!bad && h != NULL &&
                (ushm_size(h) != um_sizes[k] || fc_touch_here(ushm_addr(h), um_sizes[k],
                                                              ushm_created(h)) != 0))
                bad = snprintf(w, sizeof w, "%s after open-or-create: size %zu, or not zero "
                               "or not writable", name, ushm_size(h));
            ushm_close(h);
        }
        n = write(p[1], w, strlen(w));
        (void)n;
        _exit(bad ? 1 : 0);
    }
    close(p[1]);
    n = read(p[0], why, len - 1);
    why[n > 0 ? n : 0] = '\0';
    close(p[0]);
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    if (WIFSIGNALED(status)) {
        size_t l = strlen(why);
        snprintf(why + l, len - l, "%s%s: checking child killed by signal %d (%s)",
                 l ? "; " : "", um_names[k], WTERMSIG(status), strsignal(WTERMSIG(status)));
        return WTERMSIG(status) == SIGBUS ? -2 : -1;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* The rounds, as nobody in the namespaces; prints the CRASH line and
 * returns what the process exits with. */
static int um_rounds(int rounds, uint64_t seed)
{
    uint64_t ns[UM_NAMES], t0 = fc_now_ns();
    unsigned state_n[5] = { 0 }, landed[4] = { 0 }, not_killed = 0, check_bad = 0;
    unsigned sigbus = 0, creator_errors = 0, empty_checked = 0;
    int atomic = 0, ok;
    char how[512], figures[640], why[512], left[128];

    for (int k = 0; k < UM_NAMES; k++)
        snprintf(um_names[k], sizeof um_names[k], "/%sm%d", prefix, k);
    atomic = fc_posix_atomic();
    for (int k = 0; k < UM_NAMES; k++) {
        ushm_t *h = NULL;
        uint64_t c0 = fc_now_ns();
        int rc = ushm_open(&h, um_names[k], um_sizes[k], USHM_CREATE | USHM_EXCL, um_modes[k]);

        ns[k] = fc_now_ns() - c0;
        if (rc != 0)
            problem("calibrating %s as uid %ld: %s", um_names[k], (long)geteuid(),
                    ushm_last_error());
        ushm_close(h);
        ushm_unlink(um_names[k]);
    }
    for (int r = 0; r < rounds; r++) {
        int k = (int)(fc_rand(&seed) % UM_NAMES), state, status;
        uint64_t us = fc_rand(&seed) % (ns[k] * 5 / 4 / 1000 + 20 + 1);

        ushm_unlink(um_names[k]);
        if ((status = kill_creator(um_names[k], um_sizes[k], um_modes[k], 1,
                                   us)) == -1)
            break;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            not_killed++;
        landed[__atomic_load_n(&ctl->phase, __ATOMIC_SEQ_CST)]++;
        if (__atomic_load_n(&ctl->phase, __ATOMIC_SEQ_CST) == 3) {
            creator_errors++;
            problem("round %d: the creator's ushm_open(%s, 0%o) gave %s", r, um_names[k],
                    (unsigned)um_modes[k], fc_errno_name(ctl->rc));
        }
        why[0] = '\0';
        state = um_raw_state(k, why, sizeof why);
        state_n[state]++;
        if (state == UM_BAD) {
            problem("round %d: %s", r, why);
            continue;
        }
        if (state == UM_EMPTY && atomic)
            problem("round %d: %s (0%o) was left with size 0 by a killed creator, though the "
                    "POSIX backend publishes atomically here", r, um_names[k],
                    (unsigned)um_modes[k]);
        switch (um_check(k, state, state == UM_EMPTY && empty_checked++ < EMPTY_CHECKS,
                         why, sizeof why)) {
        case 0: break;
        case -2: sigbus++; /* fall through */
        default: check_bad++; problem("round %d: %s", r, why); break;
        }
    }
    for (int k = 0; k < UM_NAMES; k++)
        ushm_unlink(um_names[k]);
    snprintf(left, sizeof left, "%d /dev/shm entries, %d SysV segments",
             fc_count_devshm(NULL, NULL, 0), fc_count_sysv(NULL, NULL));
    if (strcmp(left, "0 /dev/shm entries, 0 SysV segments") == 0)
        snprintf(left, sizeof left, "none");
    snprintf(how, sizeof how, "as uid %ld in private namespaces (1777 tmpfs on /dev/shm): "
             "SIGKILL of a creator 0 to 1.25x creation time into ushm_open(USHM_CREATE) with "
             "modes 0400, 0444, 0640 (1, 2, 4 MiB); each name then checked and opened with "
             "USHM_CREATE in a child%s", (long)geteuid(),
             atomic ? "; atomic publication: size 0 never allowed" : "");
    snprintf(figures, sizeof figures, "kills=%d before_call=%u during_call=%u after_return=%u "
             "left_missing=%u left_size0=%u left_whole=%u left_whole_0600_window=%u "
             "wrong=%u not_killed=%u creator_errors=%u check_failures=%u sigbus=%u "
             "size0_checked=%u secs=%.1f",
             rounds, landed[0], landed[1], landed[2], state_n[UM_MISSING], state_n[UM_EMPTY],
             state_n[UM_WHOLE], state_n[UM_WINDOW], state_n[UM_BAD], not_killed,
             creator_errors, check_bad, sigbus,
             empty_checked < EMPTY_CHECKS ? empty_checked : EMPTY_CHECKS,
             (fc_now_ns() - t0) / 1e9);
    ok = state_n[UM_BAD] == 0 && not_killed == 0 && creator_errors == 0 && check_bad == 0 &&
         !(atomic && state_n[UM_EMPTY] > 0) && strcmp(left, "none") == 0;
    fc_line("CRASH", ok, 4, "sigkill_unprivileged_modes", how, figures, left);
    return ok ? 0 : 1;
}

/* unprivileged_modes: um_rounds() in a child: namespaces, tmpfs, nobody. */
void unprivileged_modes(int rounds, uint64_t seed)
{
    int status;
    pid_t pid;

    if (geteuid() != 0) {
        printf("# SKIP sigkill_unprivileged_modes: needs root to become another user\n");
        return;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct passwd *pw = getpwnam("nobody");
        uid_t uid = pw ? pw->pw_uid : 65534;
        gid_t gid = pw ? pw->pw_gid : 65534;
        char why[256];
        int in_userns, rc = fc_enter_namespaces(0, &in_userns, why, sizeof why);

        if (rc == 77) {
            printf("# SKIP sigkill_unprivileged_modes: %s\n", why);
            fflush(stdout);
            _exit(77);
        }
        if (rc != 0 || fc_mount_devshm("mode=1777,size=64m", why, sizeof why) != 0) {
            printf("#   %s\n", why);
            fflush(stdout);
            _exit(2);
        }
        if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
            printf("#   could not become nobody: %s\n", strerror(errno));
            fflush(stdout);
            _exit(2);
        }
        fails = 0;
        _exit(um_rounds(rounds, seed));
    }
    if (pid == -1) {
        problem("fork: %s", strerror(errno));
        fc_failed++;
        return;
    }
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    /* The child printed its line; count it here. */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        fc_passed++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
        ;
    else {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            fc_line("CRASH", 0, 4, "sigkill_unprivileged_modes", "as nobody in namespaces",
                    WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "could not start",
                    "unknown");
        else
            fc_failed++;
    }
}
