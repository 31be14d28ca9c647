/* SPDX-License-Identifier: MIT */
/*
 * What a killed creator left, looked at directly and through the library,
 * and the recovery: open-or-create in a child that touches every byte.
 */
#include "crash.h"

static const char *const state_word[] = { "missing", "half-made", "whole",
                                          "wrong size" };

/* What the system holds under name k, looked at directly. */
int raw_state(int k)
{
    if (fc_is_posix()) {
        struct stat sb;

        /* /dev/shm, or the object itself where objects are no files. */
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
int check_library_view(int k, int state)
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

/*
 * recover() whatever name k was left as: a size-0 object is -EAGAIN (the
 * first EMPTY_CHECKS times), then ushm_unlink() removes it and the name is
 * created like a missing one.
 */
int recover_name(int k, int state, struct recovery *rv)
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
