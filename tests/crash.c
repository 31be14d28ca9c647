/* SPDX-License-Identifier: MIT */
/*
 * Crash test: creators killed with SIGKILL at random moments of
 * ushm_open(USHM_CREATE), on the backend this program is linked with
 * (tests/crash-posix, tests/crash-sysv).
 *
 * Each round forks a child that creates one of a few names (4 to 32 MiB, a
 * fixed size per name), waits until the child is about to call ushm_open()
 * (an atomic in a shared page), lets a random delay pass (up to 1.25 times
 * what a creation of that size has lately taken), and kills it.  Then:
 *  - the name is missing, or whole with its full size; with the POSIX
 *    fallback protocol (configure --disable-atomic-publish, or no O_TMPFILE
 *    on /dev/shm) it may also be half-made (size 0), never where segments
 *    are published whole.  ushm_stat() and ushm_open() without USHM_CREATE
 *    say ENOENT for missing and half-made, the full size for whole;
 *  - in one round of three a child opens it with USHM_CREATE, which must
 *    create it when it was missing and join it when whole, then reads and
 *    writes every byte: it must exit normally, never by SIGBUS.  A half-made
 *    object is never taken over: -EAGAIN (checked EMPTY_CHECKS times, as
 *    each costs the library's 1 s wait), then ushm_unlink() removes it and
 *    the create succeeds.
 * Rounds start from a fresh name (unlinked) or from whatever the last round
 * left, half-made objects included.  Everything is unlinked at the end and
 * nothing of ours may stay in /dev/shm or /proc/sysvipc/shm.
 *
 * Then, as root, in new IPC and mount namespaces with a fresh 1777 tmpfs on
 * /dev/shm, the same kills of creators that are an unprivileged user
 * (nobody) and ask for modes 0400, 0444 and 0640 (unprivileged_modes()):
 * each name is then missing or whole with its full size, zeros and its
 * exact mode (SysV and the POSIX fallback protocol: or 0600 for 0400 and
 * 0444, the window in which the creator still holds owner rw), and never
 * size 0 where the POSIX backend publishes atomically.
 *
 * Last, holders of a ushm_mutex_t killed (mutex_holders()): 4 processes
 * lock and unlock one mutex in a named segment, and one of them, chosen at
 * random, is killed at a random moment and replaced, once per round.  No
 * two may ever be inside at once, a death while holding must reach the next
 * locker as USHM_OWNERDEAD, and the mutex must never get stuck.
 *
 * USHM_CRASH_ROUNDS overrides the number of kills (300).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <grp.h>
#include <pwd.h>
#include <sys/ipc.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "fault-common.h"

#define NNAMES 6
#define BAD_STATE 3

enum { MISSING, HALF_MADE, WHOLE };
static const char *const state_word[] = { "missing", "half-made", "whole",
                                          "wrong size" };

static size_t sizes[NNAMES] = { 4 * MiB, 6 * MiB, 8 * MiB, 12 * MiB,
                                16 * MiB, 32 * MiB };

/* SysV: all six sizes halved until they fit kernel.shmmax and, together,
 * half of kernel.shmall (macOS's defaults, under its personality, are
 * 4 MiB and 1024 pages). */
static void fit_sizes(void)
{
    unsigned long long shmmax = 0, shmall = 0, total;
    unsigned long long page = (unsigned long long)sysconf(_SC_PAGESIZE);
    FILE *f;

    if (fc_is_posix())
        return;
    if ((f = fopen("/proc/sys/kernel/shmmax", "re")) != NULL) {
        if (fscanf(f, "%llu", &shmmax) != 1)
            shmmax = 0;
        fclose(f);
    }
    if ((f = fopen("/proc/sys/kernel/shmall", "re")) != NULL) {
        if (fscanf(f, "%llu", &shmall) != 1)
            shmall = 0;
        fclose(f);
    }
    for (;;) {
        total = 0;
        for (int k = 0; k < NNAMES; k++)
            total += sizes[k];
        if ((shmmax == 0 || sizes[NNAMES - 1] <= shmmax) &&
            (shmall == 0 || total / page * 2 <= shmall))
            break;
        if (sizes[0] <= 64 * KiB)
            break;
        for (int k = 0; k < NNAMES; k++)
            sizes[k] /= 2;
    }
}
static char names[NNAMES][USHM_NAME_MAX + 1];
static char prefix[24];
static uint64_t create_ns[NNAMES];

/* Pids of every child, to recognise SysV rows they made. */
static pid_t *pids;
static int npids, maxpids;

struct control {
    int phase; /* 0 forked, 1 calling ushm_open, 2 returned 0, 3 failed */
    int rc;
    int created;
    uint64_t start; /* CLOCK_MONOTONIC when the call began */
    uint64_t ns;    /* how long it took */
};
static struct control *ctl;

static unsigned fails;

static void problem(const char *fmt, ...) FC_PRINTF(1, 2);

static void problem(const char *fmt, ...)
{
    va_list ap;

    if (fails++ >= 10)
        return;
    printf("#   ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

static void note_pid(pid_t pid)
{
    if (npids < maxpids)
        pids[npids++] = pid;
}

static int ours(long key, long cpid, void *arg)
{
    (void)arg;
    for (int i = 0; i < NNAMES; i++)
        if ((uint32_t)key == fc_sysv_key(names[i]))
            return 1;
    for (int i = 0; i < npids; i++)
        if (pids[i] == cpid)
            return 1;
    return cpid == getpid();
}

/* What the system holds under name k, looked at directly. */
static int raw_state(int k)
{
    if (fc_is_posix()) {
        struct stat sb;

        if (fc_posix_look(names[k], &sb) != 0)
            return MISSING;
        if (sb.st_size == 0)
            return HALF_MADE;
        return (size_t)sb.st_size == sizes[k] ? WHOLE : BAD_STATE;
    } else {
        struct shmid_ds ds;
        int id = shmget((key_t)fc_sysv_key(names[k]), 0, 0);

        if (id == -1)
            return MISSING;
        if (shmctl(id, IPC_STAT, &ds) != 0)
            return MISSING;
        return ds.shm_segsz == sizes[k] ? WHOLE : BAD_STATE;
    }
}

/* What the library says about name k agrees with the raw state. */
static int check_library_view(int k, int state)
{
    struct ushm_stat st;
    ushm_t *h = NULL;
    int rs = ushm_stat(names[k], &st);
    int ro = ushm_open(&h, names[k], 0, 0, 0);
    int ok;

    if (state == WHOLE)
        ok = rs == 0 && st.size == sizes[k] && ro == 0 &&
             ushm_size(h) == sizes[k];
    else
        ok = rs == -ENOENT && ro == -ENOENT && h == NULL;
    if (!ok)
        problem("%s is %s but ushm_stat gives %s (size %zu), ushm_open "
                "without USHM_CREATE %s: %s", names[k], state_word[state],
                fc_errno_name(rs), rs == 0 ? st.size : 0, fc_errno_name(ro),
                ushm_last_error());
    ushm_close(h);
    return ok;
}

/*
 * Open-or-create name k in a child and touch every byte there: 0 when all
 * went right.  A missing name must be created by this call (nobody else is
 * about), a whole one only opened; a half-made one (size 0, which only the
 * fallback protocol leaves) is never taken over: -EAGAIN after the wait.
 */
static int recover(int k, int state, unsigned *created)
{
    int status;
    pid_t pid;
    char why[160];

    fflush(stdout);
    if ((pid = fork()) == -1) {
        problem("fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        ushm_t *h = NULL;
        int rc = ushm_open(&h, names[k], sizes[k], USHM_CREATE, 0600);

        if (state == HALF_MADE) {
            if (rc != -EAGAIN || h != NULL) {
                printf("#   open-or-create %s (size 0): %s, want EAGAIN: %s\n",
                       names[k], fc_errno_name(rc), ushm_last_error());
                fflush(stdout);
                _exit(13);
            }
            _exit(0);
        }
        if (rc != 0) {
            printf("#   open-or-create %s: %s\n", names[k], ushm_last_error());
            fflush(stdout);
            _exit(10);
        }
        if (ushm_size(h) != sizes[k])
            _exit(11);
        if (ushm_created(h) != (state != WHOLE))
            _exit(12);
        _exit(fc_touch_here(ushm_addr(h), sizes[k], ushm_created(h)));
    }
    note_pid(pid);
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) >= 10) {
        problem("open-or-create of %s (%s): %s", names[k], state_word[state],
                WEXITSTATUS(status) == 10 ? "failed" :
                WEXITSTATUS(status) == 11 ? "wrong size" :
                WEXITSTATUS(status) == 13 ? "not EAGAIN" :
                "ushm_created() wrong");
        return -1;
    }
    if (fc_touch_status(status, why, sizeof why) != NULL) {
        problem("%s (%s, reopened): %s", names[k], state_word[state], why);
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS ? -2 : -1;
    }
    if (state == MISSING)
        (*created)++;
    return 0;
}

/* Each -EAGAIN costs the library's 1 s wait for a size: checked this many
 * times, after that a size-0 name is only removed (CI stays fast). */
#define EMPTY_CHECKS 3

struct recovery {
    unsigned created, empty_eagain, empty_removed;
};

/*
 * recover() whatever name k was left as: a size-0 object is -EAGAIN (the
 * first EMPTY_CHECKS times), then ushm_unlink() removes it and the name is
 * created like a missing one.
 */
static int recover_name(int k, int state, struct recovery *rv)
{
    if (state == HALF_MADE) {
        int rc;

        if (rv->empty_eagain < EMPTY_CHECKS) {
            if ((rc = recover(k, HALF_MADE, &rv->created)) != 0)
                return rc;
            rv->empty_eagain++;
        } else {
            rv->empty_removed++;
        }
        if ((rc = ushm_unlink(names[k])) != 0) {
            problem("ushm_unlink of the size-0 %s: %s", names[k],
                    ushm_last_error());
            return -1;
        }
        state = MISSING;
    }
    return recover(k, state, &rv->created);
}


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
            /* macOS gives the mode to shm_open (its fchmod does not work):
             * an empty object without owner write refuses a read-write
             * open at once, which is -EACCES (API: no permission). */
            if (state == UM_EMPTY && rc == -EACCES && !(um_modes[k] & 0200) &&
                fc_personality() != NULL && strcmp(fc_personality(), "macos") == 0)
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
/*
 * Fork a creator that calls ushm_open(name, size, USHM_CREATE, mode), and
 * SIGKILL it us microseconds after it says it is about to call (at once
 * when wait_start is 0).  ctl->phase then says how far it got: 1 calling,
 * 2 returned 0, 3 returned an error (ctl->rc).  Returns the child's wait
 * status, or -1 (reported) when it could not be forked.
 */
static int kill_creator(const char *name, size_t size, mode_t mode,
                        int wait_start, uint64_t us)
{
    int status, go[2];
    pid_t pid;

    __atomic_store_n(&ctl->phase, 0, __ATOMIC_SEQ_CST);
    fflush(stdout);
    if (pipe(go) != 0 || (pid = fork()) == -1) {
        problem("pipe/fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        ushm_t *h = NULL;
        int rc;

        close(go[0]);
        ctl->start = fc_now_ns();
        __atomic_store_n(&ctl->phase, 1, __ATOMIC_SEQ_CST);
        if (write(go[1], "", 1) != 1)
            _exit(5);
        rc = ushm_open(&h, name, size, USHM_CREATE, mode);
        ctl->ns = fc_now_ns() - ctl->start;
        ctl->created = ushm_created(h);
        ctl->rc = rc;
        __atomic_store_n(&ctl->phase, rc == 0 ? 2 : 3, __ATOMIC_SEQ_CST);
        for (;;)
            pause();
    }
    note_pid(pid);
    close(go[1]);
    if (wait_start) {
        /* The child says on the pipe that it is about to call; then a
         * kill-timer: sleep until start + us.  Sleeping, not spinning:
         * a spinning parent on the child's CPU would hold the child
         * off until its creation is over. */
        char c;
        uint64_t end;
        struct timespec ts;

        while (read(go[0], &c, 1) == -1 && errno == EINTR)
            ;
        end = ctl->start + us * 1000;
        ts.tv_sec = (time_t)(end / 1000000000u);
        ts.tv_nsec = (long)(end % 1000000000u);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
                               NULL) == EINTR)
            ;
    }
    kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    close(go[0]); /* only now: a write to a closed pipe would SIGPIPE */
    return status;
}

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
static void unprivileged_modes(int rounds, uint64_t seed)
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

static void calibrate(void)
{
    for (int k = 0; k < NNAMES; k++) {
        ushm_t *h = NULL;
        uint64_t t0 = fc_now_ns();
        int rc = ushm_open(&h, names[k], sizes[k], USHM_CREATE | USHM_EXCL,
                           0600);

        create_ns[k] = fc_now_ns() - t0;
        if (rc != 0)
            problem("calibrating %s: %s", names[k], ushm_last_error());
        ushm_close(h);
        ushm_unlink(names[k]);
    }
}

/* ---- holders of a ushm_mutex_t killed ---- */

#define MH_LOCKERS 4

struct mh_box {
    ushm_mutex_t lock;
    int inside;          /* holders right now (atomics): never above 1 */
    int violations;
    int in[MH_LOCKERS];  /* 1 while locker i is inside; only it writes it */
    long entries, ownerdead, errors;
};

static void mh_locker(struct mh_box *b, int me)
{
    __atomic_store_n(&b->in[me], 0, __ATOMIC_SEQ_CST); /* its predecessor's */
    for (;;) {
        int rc = ushm_mutex_lock(&b->lock);

        if (rc < 0) {
            __atomic_fetch_add(&b->errors, 1, __ATOMIC_SEQ_CST);
            _exit(2);
        }
        if (rc == USHM_OWNERDEAD) {
            /* The dead holder may have been inside: repair the count. */
            __atomic_fetch_add(&b->ownerdead, 1, __ATOMIC_SEQ_CST);
            __atomic_store_n(&b->inside, 0, __ATOMIC_SEQ_CST);
        }
        if (__atomic_fetch_add(&b->inside, 1, __ATOMIC_SEQ_CST) != 0)
            __atomic_fetch_add(&b->violations, 1, __ATOMIC_SEQ_CST);
        __atomic_store_n(&b->in[me], 1, __ATOMIC_SEQ_CST);
        __atomic_fetch_add(&b->entries, 1, __ATOMIC_RELAXED);
        __atomic_store_n(&b->in[me], 0, __ATOMIC_SEQ_CST);
        __atomic_fetch_sub(&b->inside, 1, __ATOMIC_SEQ_CST);
        if (ushm_mutex_unlock(&b->lock) != 0) {
            __atomic_fetch_add(&b->errors, 1, __ATOMIC_SEQ_CST);
            _exit(3);
        }
    }
}

static pid_t mh_spawn(const char *name, int me)
{
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        ushm_t *h = NULL;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        alarm(300);
        /* Its own mapping, at an address of its own. */
        if (ushm_open(&h, name, 0, 0, 0) != 0)
            _exit(4);
        mh_locker(ushm_addr(h), me);
    }
    if (pid > 0)
        note_pid(pid);
    return pid;
}

static void mutex_holders(int rounds, uint64_t seed)
{
    char name[USHM_NAME_MAX + 1], how[320], figures[480], left[160];
    pid_t kid[MH_LOCKERS];
    long seen_holding = 0;
    int bad_exits = 0, spawn_fail = 0, final_rc, ok;
    struct mh_box *b;
    ushm_t *h = NULL;
    uint64_t t0 = fc_now_ns();

    snprintf(name, sizeof name, "/%smutex", prefix);
    if (ushm_open(&h, name, sizeof *b, USHM_CREATE | USHM_EXCL, 0600) != 0) {
        printf("# mutex holders: %s\n", ushm_last_error());
        fc_failed++;
        return;
    }
    b = ushm_addr(h); /* zero-filled: the mutex is ready */
    for (int i = 0; i < MH_LOCKERS; i++)
        if ((kid[i] = mh_spawn(name, i)) < 0)
            spawn_fail++;
    for (int r = 0; r < rounds && spawn_fail == 0; r++) {
        int k = (int)(fc_rand(&seed) % MH_LOCKERS), status;
        struct timespec nap = { 0, (long)(fc_rand(&seed) % 500) * 1000 };

        nanosleep(&nap, NULL); /* a random moment, not a wait for anyone */
        kill(kid[k], SIGKILL);
        while (waitpid(kid[k], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            bad_exits++;
        /* Killed inside: the next locker must hear of it. */
        seen_holding += __atomic_load_n(&b->in[k], __ATOMIC_SEQ_CST) == 1;
        if ((kid[k] = mh_spawn(name, k)) < 0)
            spawn_fail++;
    }
    for (int i = 0; i < MH_LOCKERS; i++) {
        int status;

        if (kid[i] <= 0)
            continue;
        kill(kid[i], SIGKILL);
        while (waitpid(kid[i], &status, 0) == -1 && errno == EINTR)
            ;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            bad_exits++;
    }
    /* Whatever the last kills hit, the mutex can be had. */
    final_rc = ushm_mutex_timedlock(&b->lock, 10000);
    if (final_rc >= 0)
        ushm_mutex_unlock(&b->lock);
    else
        printf("#   the mutex after the kills: %s\n", ushm_last_error());
    snprintf(figures, sizeof figures, "kills=%d killed_inside=%ld "
             "ownerdead=%ld critical_sections=%ld exclusion_violations=%d "
             "lock_errors=%ld bad_exits=%d final_lock=%s secs=%.1f", rounds,
             seen_holding, b->ownerdead, b->entries, b->violations, b->errors,
             bad_exits, final_rc == 0 ? "0" : final_rc == USHM_OWNERDEAD ?
             "OWNERDEAD" : "FAILED", (fc_now_ns() - t0) / 1e9);
    ok = spawn_fail == 0 && bad_exits == 0 && b->violations == 0 &&
         b->errors == 0 && b->entries > 0 && final_rc >= 0 &&
         (seen_holding == 0 || b->ownerdead + (final_rc == USHM_OWNERDEAD) > 0) &&
         b->ownerdead <= rounds + MH_LOCKERS;
    ushm_close(h);
    ushm_unlink(name);
    if (fc_count_devshm(prefix, NULL, 0) || fc_count_sysv(ours, NULL))
        snprintf(left, sizeof left, "the mutex's segment");
    else
        snprintf(left, sizeof left, "none");
    ok = ok && strcmp(left, "none") == 0;
    snprintf(how, sizeof how, "%d processes lock and unlock one ushm_mutex_t "
             "in a named segment, each mapping it itself; one chosen at random "
             "is SIGKILLed 0 to 500 us into each round and replaced; never two "
             "inside, deaths inside reach later lockers as USHM_OWNERDEAD, the mutex is never stuck", MH_LOCKERS);
    fc_line("CRASH", ok, 4, "sigkill_mutex_holders", how, figures, left);
}

int main(void)
{
    const char *env = getenv("USHM_CRASH_ROUNDS");
    int rounds = env != NULL && atoi(env) > 0 ? atoi(env) : 300;
    unsigned landed[4] = { 0 }, state_n[4] = { 0 }, started_half = 0;
    unsigned not_killed = 0, create_errors = 0, checks = 0;
    unsigned sigbus = 0, recover_bad = 0, view_bad = 0, unlink_bad = 0;
    struct recovery rv = { 0, 0, 0 };
    uint64_t seed, t0;
    int fds0, maps0, ok1, ok2, left_dev, left_sysv, atomic;
    char how[320], figures[640], left[256];

    setvbuf(stdout, NULL, _IOLBF, 0);
    fc_check_backend("crash");
    fit_sizes();
    snprintf(prefix, sizeof prefix, "crash%ld_", (long)getpid());
    for (int k = 0; k < NNAMES; k++)
        snprintf(names[k], sizeof names[k], "/%s%d", prefix, k);
    maxpids = rounds * 2 + 16;
    pids = calloc((size_t)maxpids, sizeof *pids);
    ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pids == NULL || ctl == MAP_FAILED) {
        printf("# out of memory\n0 passed, 1 failed\n");
        return 1;
    }
    seed = fc_now_ns() ^ ((uint64_t)getpid() << 32);
    /* The kill-timer's sleeps end when asked, not up to 50 us later. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    atomic = fc_posix_atomic();
    printf("# crash: backend %s, %d rounds, seed 0x%llx%s\n", ushm_backend(),
           rounds, (unsigned long long)seed, !fc_is_posix() ? ""
           : atomic ? ", POSIX segments published whole (O_TMPFILE + linkat)"
           : ", the POSIX fallback protocol (a killed creator may leave size 0)");
    fc_count_maps();
    fds0 = fc_count_fds();
    maps0 = fc_count_maps();

    calibrate();
    printf("# one creation takes:");
    for (int k = 0; k < NNAMES; k++)
        printf(" %zu KiB %.0f us;", sizes[k] / KiB, create_ns[k] / 1e3);
    printf("\n");

    t0 = fc_now_ns();
    for (int r = 0; r < rounds; r++) {
        int k = (int)(fc_rand(&seed) % NNAMES), state, before, status;
        int wait_start = fc_rand(&seed) % 10 != 0;
        uint64_t span = create_ns[k] * 5 / 4 / 1000 + 20;
        uint64_t us = fc_rand(&seed) % (span + 1);

        if (fc_rand(&seed) % 10 < 7) {
            int rc = ushm_unlink(names[k]);

            if (rc != 0 && rc != -ENOENT && !unlink_bad++)
                problem("unlink %s: %s", names[k], ushm_last_error());
        }
        before = raw_state(k);
        started_half += before == HALF_MADE;
        if ((status = kill_creator(names[k], sizes[k], 0600, wait_start,
                                   us)) == -1)
            break;
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            not_killed++;
            problem("round %d: the creator was not killed (status 0x%x)", r,
                    status);
        }
        {
            int phase = __atomic_load_n(&ctl->phase, __ATOMIC_SEQ_CST);

            landed[phase]++;
            /* Creations the creator finished tell how long one takes now. */
            if (phase == 2 && ctl->created)
                create_ns[k] = (create_ns[k] * 3 + ctl->ns) / 4;
            if (phase == 3) {
                create_errors++;
                problem("round %d: the creator's ushm_open(%s) gave %s", r,
                        names[k], fc_errno_name(ctl->rc));
            }
        }
        state = raw_state(k);
        state_n[state]++;
        if (state == BAD_STATE)
            problem("round %d: %s has the wrong size", r, names[k]);
        else if (!check_library_view(k, state))
            view_bad++;
        if (fc_rand(&seed) % 3 == 0) {
            int rc = recover_name(k, state, &rv);

            checks++;
            if (rc == -2)
                sigbus++;
            else if (rc != 0)
                recover_bad++;
        }
    }
    /* Every name, whatever it was left as, opens and is whole. */
    for (int k = 0; k < NNAMES; k++) {
        int state = raw_state(k), rc;

        if (state == BAD_STATE) {
            recover_bad++;
            continue;
        }
        rc = recover_name(k, state, &rv);
        checks++;
        if (rc == -2)
            sigbus++;
        else if (rc != 0)
            recover_bad++;
    }
    for (int k = 0; k < NNAMES; k++) {
        int rc = ushm_unlink(names[k]);

        if (rc != 0 && !unlink_bad++)
            problem("final unlink %s: %s", names[k], ushm_last_error());
    }
    t0 = fc_now_ns() - t0;

    left_dev = fc_count_devshm(prefix, NULL, 0);
    left_sysv = fc_count_sysv(ours, NULL);
    left[0] = '\0';
    if (left_dev || left_sysv || fc_count_fds() != fds0 ||
        fc_count_maps() != maps0)
        snprintf(left, sizeof left, "%d /dev/shm entries, %d SysV segments, "
                 "%d descriptors, %d mappings", left_dev, left_sysv,
                 fc_count_fds() - fds0, fc_count_maps() - maps0);
    else
        snprintf(left, sizeof left, "none");

    snprintf(how, sizeof how, "SIGKILL of a creator 0 to 1.25x creation time "
             "into ushm_open(USHM_CREATE) (1 in 10 at once after fork); "
             "%d names of 4 to 32 MiB; 7 in 10 rounds from a fresh name%s",
             NNAMES, !fc_is_posix() ? ""
             : atomic ? "; atomic publication: size 0 never allowed"
             : "; fallback protocol: size 0 allowed (it counts as missing)");
    snprintf(figures, sizeof figures, "kills=%d before_call=%u during_call=%u "
             "after_return=%u left_missing=%u left_half_made=%u left_whole=%u "
             "started_on_half_made=%u not_killed=%u creator_errors=%u "
             "wrong_size=%u inconsistent_views=%u secs=%.1f",
             rounds, landed[0], landed[1], landed[2], state_n[MISSING],
             state_n[HALF_MADE], state_n[WHOLE], started_half, not_killed,
             create_errors, state_n[BAD_STATE], view_bad, t0 / 1e9);
    ok1 = not_killed == 0 && create_errors == 0 && state_n[BAD_STATE] == 0 &&
          view_bad == 0 && unlink_bad == 0 && strcmp(left, "none") == 0 &&
          !(atomic && (state_n[HALF_MADE] > 0 || started_half > 0));
    if (atomic && state_n[HALF_MADE] > 0)
        printf("#   %u kills left a size-0 object, though segments are "
               "published whole here\n", state_n[HALF_MADE]);
    fc_line("CRASH", ok1, 4, "sigkill_creators", how, figures, left);

    if (fc_is_posix() && !atomic)
        snprintf(how, sizeof how, "after a kill (1 in 3 rounds) and for every "
                 "name at the end: ushm_open(USHM_CREATE) in a child that "
                 "reads and writes every byte; a size-0 object must be EAGAIN "
                 "(checked %d times at most: each waits 1 s), then ushm_unlink "
                 "removes it and the create succeeds", EMPTY_CHECKS);
    else
        snprintf(how, sizeof how, "after a kill (1 in 3 rounds) and for every "
                 "name at the end: ushm_open(USHM_CREATE) in a child that "
                 "reads and writes every byte");
    snprintf(figures, sizeof figures, "checks=%u created_again=%u "
             "size0_eagain=%u size0_removed=%u open_failures=%u sigbus=%u",
             checks, rv.created, rv.empty_eagain, rv.empty_removed,
             recover_bad, sigbus);
    ok2 = recover_bad == 0 && sigbus == 0 && strcmp(left, "none") == 0;
    fc_line("CRASH", ok2, 4, "recovery_after_kill", how, figures, left);

    unprivileged_modes(rounds / 2 > 0 ? rounds / 2 : 1, seed);
    mutex_holders(rounds, seed);
    return fc_finish();
}
