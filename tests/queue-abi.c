/* SPDX-License-Identifier: MIT */
/*
 * A queue between a 32-bit and a 64-bit process (API.md 0.3: -EPROTO where
 * the layout depends on the ABI).  The queue's own words are the same on
 * every ABI, but the ushm_mutex_t inside are pthread mutexes, whose layout
 * is not: so a queue set up by one ABI is -EPROTO to the other, naming
 * both, in either direction, and the queue is left as it was.
 *
 * The same source is two programs: built normally it is the test
 * (tests/queue-abi, run by tests/queue-abi.sh), which takes the path of
 * the other-ABI peer; built with -DQUEUE_ABI_PEER (by tests/queue-abi.sh,
 * with $CC -m32 and the library's queue and mutex sources) it is that
 * peer.  They share a file in /dev/shm (or $TMPDIR), mapped by both: a
 * queue works in any memory that processes share.
 *
 *   peer PATH attach    attach to the queue in PATH: print the result
 *                       and the message, exit 0 if attached
 *   peer PATH setup     attach (setting an all-zero queue up) and detach
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ushm.h>

#define BYTES 65536

static void *map(const char *path)
{
    int fd = open(path, O_RDWR);
    void *p;

    if (fd < 0)
        return NULL;
    p = mmap(NULL, BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

#ifdef QUEUE_ABI_PEER

int main(int argc, char **argv)
{
    ushm_queue_t *q;
    void *mem;
    int rc;

    if (argc != 3 || (mem = map(argv[1])) == NULL)
        return 2;
    rc = ushm_queue_attach(&q, mem, BYTES, USHM_QUEUE_SEND | USHM_QUEUE_RECV);
    printf("%d %s\n", rc, rc < 0 ? ushm_last_error() : "attached");
    if (rc == 0 && strcmp(argv[2], "setup") == 0)
        ushm_queue_detach(q);
    return rc == 0 ? 0 : 1;
}

#else

static unsigned passed, failed;

static void result(int ok, const char *name, const char *detail)
{
    printf("%s %s: %s\n", ok ? "PASS" : "FAIL", name, detail);
    ok ? passed++ : failed++;
}

/* Runs the peer, its first line of output in out. */
static int peer(const char *prog, const char *path, const char *what,
                char *out, size_t len)
{
    char cmd[1024];
    FILE *f;
    int st;

    /* without the preload of a personality's build: a 32-bit peer cannot
     * load a 64-bit library, which ld.so says as an ERROR line */
    snprintf(cmd, sizeof cmd, "LD_PRELOAD= '%s' '%s' %s", prog, path, what);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    if (fgets(out, (int)len, f) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int fresh_file(char *path, size_t len)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" :
                      getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int fd;

    snprintf(path, len, "%s/ushm-queue-abi-XXXXXX", dir);
    fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, BYTES) != 0)
        return -1;
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    char path[256], out[600], detail[800];
    ushm_queue_t *q;
    void *mem;
    int rc, st;

    if (argc != 2) {
        fprintf(stderr, "usage: queue-abi PEER\n");
        return 2;
    }
    alarm(60);
    /* 64-bit sets up, the peer attaches */
    if (fresh_file(path, sizeof path) < 0 || (mem = map(path)) == NULL) {
        perror("queue-abi");
        return 1;
    }
    rc = ushm_queue_attach(&q, mem, BYTES, USHM_QUEUE_SEND);
    rc = rc == 0 ? ushm_queue_send(q, "kept", 4, 0) : rc;
    st = peer(argv[1], path, "attach", out, sizeof out);
    snprintf(detail, sizeof detail, "peer: %s", out);
    result(rc == 0 && st == 1 && strstr(out, "-71 ") == out && strstr(out, "-bit") != NULL,
           "set_up_here_attached_there", detail);
    {
        struct ushm_queue_stat s;

        rc = ushm_queue_stat(mem, BYTES, &s);
        result(rc == 0 && s.depth == 1 && s.producers == 1, "left_as_it_was",
               rc == 0 ? "depth 1, one producer" : ushm_last_error());
    }
    ushm_queue_detach(q);
    munmap(mem, BYTES);
    unlink(path);
    /* the peer sets up, 64-bit attaches */
    if (fresh_file(path, sizeof path) < 0 || (mem = map(path)) == NULL) {
        perror("queue-abi");
        return 1;
    }
    st = peer(argv[1], path, "setup", out, sizeof out);
    rc = ushm_queue_attach(&q, mem, BYTES, USHM_QUEUE_RECV);
    snprintf(detail, sizeof detail, "peer set it up (%s); here: %d %s", out, rc,
             rc < 0 ? ushm_last_error() : "attached");
    result(st == 0 && rc == -EPROTO && strstr(ushm_last_error(), "-bit") != NULL,
           "set_up_there_attached_here", detail);
    if (rc == 0)
        ushm_queue_detach(q);
    munmap(mem, BYTES);
    unlink(path);
    printf("%u passed, %u failed\n", passed, failed);
    return failed != 0;
}

#endif
