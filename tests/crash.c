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
 *
 * Files: crash.h, crash-harness.c (names, the control page, the kill
 * timer), crash-recovery.c (what a kill left, and reopening it),
 * crash-modes.c and crash-mutex.c (the last two rows); the rounds of the
 * first two rows are main(), here.
 */
#include "crash.h"

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
    ctl = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE,
               MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (ctl == MAP_FAILED) {
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
    mutex_notice(50);
    return fc_finish();
}
