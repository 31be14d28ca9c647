/* SPDX-License-Identifier: MIT */
/*
 * Every segment ushm-bench makes has a name unique to its pid.  An atexit()
 * sweep and a signal handler (raw system calls only) remove them whatever
 * happens, and the program checks at the end that nothing of its own is
 * left.  The SysV semaphore set of roundtrip is swept the same way.
 */
#define _XOPEN_SOURCE 700 /* SysV IPC */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <ushm.h>

#include "harness.h"

/* The sweep only uses what it finds here, so that a signal handler can run
 * it: fixed arrays, each entry written before it is counted and before
 * the segment behind it is made. */
static char posix_names[16][NAME_LEN];
static volatile sig_atomic_t nposix;
static key_t sysv_keys[16];
static volatile sig_atomic_t nsysv;

static volatile sig_atomic_t swept; /* main() swept and checked: done */
static volatile sig_atomic_t sweep_sem_id = -1; /* roundtrip's semaphores */

/* The SysV key of a name, as the library computes it. */
key_t bench_key(const char *name)
{
    key_t key;

    if (ushm_key(name, &key) < 0) {
        fprintf(stderr, "ushm-bench: %s\n", ushm_last_error());
        exit(2);
    }
    return key;
}

/* A name for a segment of the backend under test; the segment behind it is
 * swept at the end (a SysV one by its key). */
void bench_name(char *buf, const char *tag)
{
    snprintf(buf, NAME_LEN, "/ushmb%ld-%s", (long)getpid(), tag);
    if (bench_is_sysv) {
        if (nsysv == (int)(sizeof sysv_keys / sizeof sysv_keys[0]))
            abort();
        sysv_keys[nsysv] = bench_key(buf);
        nsysv++;
    } else {
        bench_track_posix(buf);
    }
}

/* A POSIX object made under a name this program did not choose (APR's). */
void bench_track_posix(const char *name)
{
    if (nposix == (int)(sizeof posix_names / sizeof posix_names[0]))
        abort();
    snprintf(posix_names[nposix], NAME_LEN, "%s", name);
    nposix++;
}

void bench_track_sem(int id)
{
    sweep_sem_id = id;
}

void bench_untrack_sem(void)
{
    sweep_sem_id = -1;
}

int bench_swept(void)
{
    return swept;
}

static void sweep(void)
{
    pid_t self = getpid();

    if (sweep_sem_id >= 0) {
        semctl(sweep_sem_id, 0, IPC_RMID);
        sweep_sem_id = -1;
    }

    for (int i = 0; i < nposix; i++)
        shm_unlink(posix_names[i]);
    for (int i = 0; i < nsysv; i++) {
        struct shmid_ds ds;
        int id = shmget(sysv_keys[i], 0, 0);

        /* A key is a hash: remove only a segment this process made. */
        if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_cpid == self)
            shmctl(id, IPC_RMID, NULL);
    }
}

static void sweep_at_exit(void)
{
    if (!swept)
        sweep();
}

static void on_signal(int sig)
{
    sweep();
    signal(sig, SIG_DFL);
    raise(sig);
}

static const int caught_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
                                      SIGPIPE, SIGSEGV, SIGBUS, SIGABRT,
                                      SIGFPE, SIGILL };
#define NCAUGHT (sizeof caught_signals / sizeof caught_signals[0])

void bench_cleanup_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught_signals[i], &sa, NULL);
    atexit(sweep_at_exit);
}

/* For a peer process: the parent's handler would sweep the parent's
 * segments. */
void bench_default_signals(void)
{
    for (size_t i = 0; i < NCAUGHT; i++)
        signal(caught_signals[i], SIG_DFL);
}

/* Which of our segments are still there; 0 when none. */
static int leftovers(void)
{
    pid_t self = getpid();
    int left = 0;

    for (int i = 0; i < nposix; i++) {
        int fd = shm_open(posix_names[i], O_RDONLY, 0);

        if (fd >= 0) {
            fprintf(stderr, "ushm-bench: left behind: POSIX object %s\n",
                    posix_names[i]);
            close(fd);
            left++;
        }
    }
    for (int i = 0; i < nsysv; i++) {
        struct shmid_ds ds;
        int id = shmget(sysv_keys[i], 0, 0);

        if (id >= 0 && shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_cpid == self) {
            fprintf(stderr, "ushm-bench: left behind: SysV segment key "
                    "0x%08x id %d\n", (unsigned)sysv_keys[i], id);
            left++;
        }
    }
    return left;
}

/* Sweeps, and says how many of our segments were still there after it. */
int bench_cleanup_finish(void)
{
    sweep();
    swept = 1;
    return leftovers();
}
