/* SPDX-License-Identifier: MIT */
/*
 * What the queue's tests (tests/queue-*.c) share: results, deadlines,
 * children, segments and checksummed messages.  Each program is plain C
 * (no Check), linked with the library as configured, and prints one line
 * per case, "PASS name: figures" or "FAIL name: why", then exits 0, 1, or
 * 77 when it cannot run here.
 *
 * Every process runs under a deadline: q_deadline(secs, what) arms
 * SIGALRM, whose handler prints "HUNG: what" and exits with Q_HUNG, so a
 * call that hangs fails the case with a sentence instead of stalling CI.
 * Processes wait for each other through pipes, waitpid() and atomics in
 * the segment, never by sleeping.  Every segment is anonymous (gone with
 * its last process) or named "/uq<pid>_<n>" and unlinked by the case;
 * q_leftovers() looks for names of this run at the end.
 */
#ifndef USHM_TEST_QUEUE_COMMON_H
#define USHM_TEST_QUEUE_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* prctl(), pipe2() */
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "gcov-exit.h" /* children count in a coverage build */
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <ushm.h>

#define Q_HUNG 99

static unsigned q_passed, q_failed;
static char q_hung_what[160];
static pid_t q_main_pid;

static inline void q_on_alarm(int sig)
{
    char line[200];
    int n;

    (void)sig;
    n = snprintf(line, sizeof line, "HUNG (pid %ld): %s\n", (long)getpid(),
                 q_hung_what);
    if (n > 0)
        (void)!write(2, line, (size_t)n);
    _exit(Q_HUNG);
}

/* From now on this process has secs seconds, doing what. */
static inline void q_deadline(unsigned secs, const char *what)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = q_on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    snprintf(q_hung_what, sizeof q_hung_what, "%s", what);
    alarm(secs);
}

static inline void q_result(int ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void q_result(int ok, const char *name, const char *fmt, ...)
{
    va_list ap;

    printf("%s %s: ", ok ? "PASS" : "FAIL", name);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (ok)
        q_passed++;
    else
        q_failed++;
}

/* 1 when a call returned want and, failing, its message says needle (NULL:
 * anything); else 0, with a FAIL line for what. */
static inline int q_expect(int rc, int want, const char *what, const char *needle)
{
    const char *msg = ushm_last_error();

    if (rc != want) {
        q_result(0, what, "returned %d (%s), want %d; last error: %s", rc,
                 rc < 0 ? strerror(-rc) : "ok", want, msg);
        return 0;
    }
    if (rc < 0 && needle != NULL && strstr(msg, needle) == NULL) {
        q_result(0, what, "the message \"%s\" does not say \"%s\"", msg, needle);
        return 0;
    }
    return 1;
}

static inline int q_finish(void)
{
    printf("%u passed, %u failed\n", q_passed, q_failed);
    return q_failed ? 1 : 0;
}

static inline uint64_t q_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double q_ms_since(uint64_t t0)
{
    return (double)(q_now_ns() - t0) / 1e6;
}

static inline uint64_t q_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ull;
}

/* A child that dies with the test and reports by its exit status. */
static inline pid_t q_fork(void)
{
    pid_t pid;

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        if (getppid() == 1)
            _exit(98);
    }
    return pid;
}

/* The exit status of pid as a number: its code, or 256 + its signal. */
static inline int q_wait(pid_t pid)
{
    int st;

    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 256 + WTERMSIG(st);
}

/* An anonymous segment, shared with the children forked after. */
static inline ushm_t *q_anon(size_t size)
{
    ushm_t *s;
    int err = ushm_open(&s, NULL, size, USHM_CREATE, 0600);

    if (err < 0) {
        fprintf(stderr, "ushm_open(anonymous, %zu): %s\n", size, ushm_last_error());
        exit(1);
    }
    return s;
}

static unsigned q_names_made;

static inline const char *q_name(char *buf, size_t len)
{
    snprintf(buf, len, "/uq%ld_%u", (long)q_main_pid, q_names_made++);
    return buf;
}

/* Names of this run still there (POSIX: /dev/shm; SysV: ushm_stat). */
static inline int q_leftovers(void)
{
    char name[64];
    struct ushm_stat st;
    int n = 0;

    for (unsigned i = 0; i < q_names_made; i++) {
        snprintf(name, sizeof name, "/uq%ld_%u", (long)q_main_pid, i);
        if (ushm_stat(name, &st) == 0) {
            fprintf(stderr, "left behind: %s\n", name);
            ushm_unlink(name);
            n++;
        }
    }
    return n;
}

/*
 * A checksummed message: who sent it (an instance number), its sequence
 * number for that sender, a length chosen from both, and bytes derived
 * from all three.  q_msg_check() says what is wrong with one, or NULL.
 */
struct q_msg {
    uint32_t who, seq, len, sum;
    unsigned char body[];
};

static inline uint32_t q_msg_len(uint32_t who, uint32_t seq, uint32_t max)
{
    uint64_t s = ((uint64_t)who << 32 | seq) * 0x9e3779b97f4a7c15ull + 1;

    return 16 + (uint32_t)(q_rand(&s) % (max - 16 + 1));
}

static inline uint32_t q_sum(const unsigned char *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static inline size_t q_msg_make(void *buf, uint32_t who, uint32_t seq, uint32_t max)
{
    struct q_msg *m = buf;
    uint32_t len = q_msg_len(who, seq, max);

    m->who = who;
    m->seq = seq;
    m->len = len;
    for (uint32_t i = 0; i < len - 16; i++)
        m->body[i] = (unsigned char)(who * 131 + seq * 7 + i);
    m->sum = q_sum(m->body, len - 16, 2166136261u ^ who ^ (seq << 7));
    return len;
}

static inline const char *q_msg_check(const void *buf, size_t len)
{
    const struct q_msg *m = buf;

    if (len < 16)
        return "shorter than its header";
    if (m->len != len)
        return "its length differs from what it says";
    if (m->sum != q_sum(m->body, len - 16, 2166136261u ^ m->who ^ (m->seq << 7)))
        return "its checksum is wrong";
    return NULL;
}

#endif /* USHM_TEST_QUEUE_COMMON_H */
