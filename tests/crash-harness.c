/* SPDX-License-Identifier: MIT */
/*
 * The harness every row of the crash test uses: the names, the control
 * page a creator reports through, the kill timer (kill_creator), calibrate().
 */
#include "crash.h"

size_t sizes[NNAMES] = { 4 * MiB, 6 * MiB, 8 * MiB, 12 * MiB, 16 * MiB,
                         32 * MiB };

/* SysV: all six halved until they fit kernel.shmmax and, together, half
 * of kernel.shmall, so that a system with small defaults (macOS: 4 MiB and
 * 1024 pages) runs the same rounds; Linux's defaults take them as they are. */
void fit_sizes(void)
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
char names[NNAMES][USHM_NAME_MAX + 1];
char prefix[24];
uint64_t create_ns[NNAMES];

struct control *ctl;

unsigned fails;

void problem(const char *fmt, ...)
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

/* Ours by key, or made by this very process.  Not by the pids of killed
 * children: with a pid_max of 32768 and the rest of make check forking
 * beside this program, another program's segment soon has one of them. */
int ours(long key, long cpid, void *arg)
{
    (void)arg;
    for (int i = 0; i < NNAMES; i++)
        if ((uint32_t)key == fc_sysv_key(names[i]))
            return 1;
    return cpid == getpid();
}

/*
 * Fork a creator that calls ushm_open(name, size, USHM_CREATE, mode), and
 * SIGKILL it us microseconds after it says it is about to call (at once
 * when wait_start is 0).  ctl->phase then says how far it got: 1 calling,
 * 2 returned 0, 3 returned an error (ctl->rc).  Returns the child's wait
 * status, or -1 (reported) when it could not be forked.
 */
int kill_creator(const char *name, size_t size, mode_t mode,
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


void calibrate(void)
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
