/* SPDX-License-Identifier: MIT */
/*
 * Conformance suite: expected failures (exact error, *shm NULL, a message,
 * nothing left) and the handles a test tracks to close.  See common.h.
 */
#include "common.h"

/* ------------------------------------------------------------------ */
/* Expected failures: exact error, *shm NULL, a message, nothing left.  */

/*
 * ushm_open() must fail with want, set *shm to NULL, leave a non-empty
 * ushm_last_error() (containing canon when given, and a "(" naming the
 * system call when syscall is set), and change no descriptor, no /dev/shm
 * entry of ours and no SysV segment of ours.
 */
void expect_open_fail(int line, const char *name, size_t size, int flags,
                      mode_t mode, int want, const char *canon, int syscall)
{
    struct probe before, after;
    ushm_t *shm = DUMMY;
    const char *msg;
    char why[128];
    int rc;

    if (name == NULL)
        NOTE_PID();
    probe_take(&before);
    rc = ushm_open(&shm, name, size, flags, mode);
    msg = ushm_last_error();
    if (rc == 0 && shm && shm != DUMMY)
        ushm_close(shm);
    ck_assert_msg(rc == want,
                  "line %d: ushm_open(\"%s\", %zu, %#x, %#o) = %d (%s), want %d (%s); last error: %s",
                  line, name ? name : "NULL", size, (unsigned)flags, (unsigned)mode,
                  rc, rcstr(rc), want, rcstr(want), last_err());
    ck_assert_msg(shm == NULL, "line %d: ushm_open failed with %d but left *shm = %p",
                  line, rc, (void *)shm);
    ck_assert_msg(msg != NULL && msg[0] != '\0',
                  "line %d: ushm_last_error() is NULL or empty after a failure", line);
    if (canon)
        ck_assert_msg(strstr(msg, canon) != NULL,
                      "line %d: ushm_last_error() \"%s\" does not name the segment %s",
                      line, msg, canon);
    if (syscall)
        ck_assert_msg(strchr(msg, '(') != NULL,
                      "line %d: ushm_last_error() \"%s\" does not name the system call",
                      line, msg);
    probe_take(&after);
    ck_assert_msg(!probe_differs(&before, &after, why, sizeof why),
                  "line %d: failed ushm_open(\"%s\") left something behind: %s",
                  line, name ? name : "NULL", why);
}

/* ushm_stat / ushm_unlink must fail with want and explain it. */
void expect_fail_msg(int line, const char *what, int rc, int want, const char *canon)
{
    const char *msg = ushm_last_error();

    ck_assert_msg(rc == want, "line %d: %s = %d (%s), want %d (%s); last error: %s",
                  line, what, rc, rcstr(rc), want, rcstr(want), last_err());
    ck_assert_msg(msg != NULL && msg[0] != '\0',
                  "line %d: %s: ushm_last_error() NULL or empty", line, what);
    if (canon)
        ck_assert_msg(strstr(msg, canon) != NULL,
                      "line %d: %s: ushm_last_error() \"%s\" does not name %s",
                      line, what, msg, canon);
}

ushm_t *open_ok(int line, const char *name, size_t size, int flags, mode_t mode)
{
    ushm_t *shm = DUMMY;
    int rc;

    if (name == NULL)
        NOTE_PID(); /* an anonymous SysV segment would carry this cpid */
    rc = ushm_open(&shm, name, size, flags, mode);

    ck_assert_msg(rc == 0, "line %d: ushm_open(\"%s\", %zu, %#x, %#o) = %d (%s); last error: %s",
                  line, name ? name : "NULL", size, (unsigned)flags, (unsigned)mode,
                  rc, rcstr(rc), last_err());
    ck_assert_msg(shm != NULL && shm != DUMMY, "line %d: ushm_open succeeded without a handle", line);
    ck_assert_msg(is_aligned(ushm_addr(shm)), "line %d: address %p is not page-aligned",
                  line, ushm_addr(shm));
    return shm;
}

ushm_t *tracked[MAX_TRACKED];

ushm_t *track(ushm_t *h)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == NULL) {
            tracked[i] = h;
            break;
        }
    return h;
}

int close_tracked(ushm_t *h)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] == h && h != NULL)
            tracked[i] = NULL;
    return ushm_close(h);
}

void close_leftover_handles(void)
{
    for (int i = 0; i < MAX_TRACKED; i++)
        if (tracked[i] != NULL) {
            ushm_close(tracked[i]);
            tracked[i] = NULL;
        }
}

long nattach_of(const char *name)
{
    struct ushm_stat st;
    int rc = ushm_stat(name, &st);

    ck_assert_msg(rc == 0, "ushm_stat(%s) = %d (%s): %s", name, rc, rcstr(rc), last_err());
    return st.nattach;
}
