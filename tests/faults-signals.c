/* SPDX-License-Identifier: MIT */
/*
 * Both backends under a storm of signals: SIGALRM every 50 us while
 * segments are created, and never an EINTR.
 */
#include "faults.h"


/* ------------------------------------------------------------------ */
/* Both backends: a storm of signals.                                   */

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void storm(int on)
{
    struct itimerval it;

    memset(&it, 0, sizeof it);
    if (on) {
        it.it_interval.tv_usec = 50;
        it.it_value.tv_usec = 50;
    }
    setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * count creates of size under SIGALRM every 50 us (no SA_RESTART): every
 * library call must succeed (or fail with want_fail) and never with EINTR,
 * and each segment must have its size at once.
 */
void storm_case(const char *cas, int count, size_t size, int flags,
                int anonymous, int want_fail)
{
    struct sigaction sa;
    struct base b;
    char why[256] = "", how[200], got[128], expected[200];
    char msg[MSG] = "";
    const char *left;
    int ok = 1, eintr = 0, wrong = 0, first_rc = 0, hit = 0;
    unsigned long before;
    uint64_t t0 = fc_now_ns();

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* sa_flags 0: no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    take_base(&b);
    before = (unsigned long)alarms;
    for (int i = 0; i < count; i++) {
        const char *name = anonymous ? NULL : new_name();
        ushm_t *h = NULL;
        struct ushm_stat st;
        int rc, rs = 0, rcl, ru = 0;
        long long raw = -2;

        unsigned long at = (unsigned long)alarms;

        storm(1);
        rc = ushm_open(&h, name, size, flags, 0600);
        hit += (unsigned long)alarms != at; /* a signal came during the call */
        if (rc == 0 && name != NULL)
            rs = ushm_stat(name, &st);
        storm(0);
        if (rc != 0)
            snprintf(msg, sizeof msg, "%s", ushm_last_error());
        if (rc == 0 && name != NULL && fc_is_posix())
            raw = raw_size(name);
        if (rc == -EINTR || rs == -EINTR)
            eintr++;
        if (i == 0)
            first_rc = rc;
        if (rc != want_fail) {
            if (!wrong++)
                snprintf(why, sizeof why, "create %d: %s (%s)", i,
                         fc_errno_name(rc), ushm_last_error());
        } else if (rc == 0 &&
                   (ushm_size(h) != size || !ushm_created(h) || rs != 0 ||
                    (name != NULL && st.size != size) ||
                    (raw != -2 && raw != (long long)size))) {
            if (!wrong++)
                snprintf(why, sizeof why, "create %d: size %zu, stat %s size "
                         "%zu, /dev/shm size %lld, want %zu", i, ushm_size(h),
                         fc_errno_name(rs), rs == 0 ? st.size : 0, raw, size);
        } else if (rc == want_fail && rc != 0 &&
                   strstr(msg, "/dev/shm has") == NULL) {
            if (!wrong++)
                snprintf(why, sizeof why, "create %d: last_error does not "
                         "name /dev/shm", i);
        }
        if (rc == 0) {
            volatile unsigned char *p = ushm_addr(h);

            /* First and last byte: the mapping is really there. */
            if (p[0] != 0 || p[size - 1] != 0) {
                if (!wrong++)
                    snprintf(why, sizeof why, "create %d: not zero-filled", i);
            }
            p[0] = 1;
            p[size - 1] = 1;
        }
        storm(1);
        rcl = ushm_close(h);
        if (name != NULL && rc == 0)
            ru = ushm_unlink(name);
        storm(0);
        if (rcl == -EINTR || ru == -EINTR)
            eintr++;
        if ((rcl != 0 || ru != 0) && !wrong++)
            snprintf(why, sizeof why, "create %d: close %s, unlink %s", i,
                     fc_errno_name(rcl), fc_errno_name(ru));
    }
    ok = eintr == 0 && wrong == 0;
    left = leftovers(&b, fc_is_posix() ? 0 : -1);
    ok = ok && strcmp(left, "none") == 0;
    if (wrong == 0 && eintr == 0)
        snprintf(got, sizeof got, "%s x%d (EINTR 0)", fc_errno_name(first_rc),
                 count);
    else
        snprintf(got, sizeof got, "%d wrong results, %d EINTR", wrong, eintr);
    snprintf(how, sizeof how, "SIGALRM every 50 us without SA_RESTART during "
             "%d x %zu MiB %s%s+close+unlink: %lu signals in %.2f s, during "
             "%d of the %d ushm_open calls", count, size / MiB,
             anonymous ? "anonymous create" : "create",
             (flags & USHM_POPULATE) ? " (USHM_POPULATE)" : "",
             (unsigned long)alarms - before, (fc_now_ns() - t0) / 1e9, hit,
             count);
    snprintf(expected, sizeof expected, "%s every time; never EINTR; size "
             "exact at once%s", want_fail ? fc_errno_name(want_fail) :
             "success", want_fail ? "" : "; nothing left");
    report(cas, how, expected, got, left, ok, want_fail ? msg : NULL, why);
    signal(SIGALRM, SIG_IGN);
}
