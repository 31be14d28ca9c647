/* SPDX-License-Identifier: MIT */
/*
 * Another program's System V segments, made with the raw calls as programs
 * that do not use libushm make them, for the ushm command's tests
 * (tools/test-ushm.sh: --key, and what ls says of them).
 *
 *   sysv-raw make KEY SIZE [TEXT]   create it (mode 0644, IPC_EXCL), TEXT at 0
 *   sysv-raw hold KEY SIZE          create it and stay attached until
 *                                   standard input ends, then remove it
 *   sysv-raw peek KEY OFFSET LEN    print LEN bytes from OFFSET
 *   sysv-raw rmid SHMID             remove it
 *
 * make prints the shmid on a line, and hold prints it once attached.  KEY
 * is 0x and hex digits, decimal, or "private" (IPC_PRIVATE).  Exit status
 * 0, or 1 with a message.
 */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "sysv-raw: %s: %s\n", what, strerror(errno));
    return 1;
}

static key_t key_of(const char *s)
{
    return strcmp(s, "private") == 0 ? IPC_PRIVATE
                                     : (key_t)strtoul(s, NULL, 0);
}

/* A new segment, with TEXT at 0 if given: its id, or -1. */
static int make(key_t key, size_t size, const char *text)
{
    int id = shmget(key, size, 0644 | IPC_CREAT | IPC_EXCL);
    char *p;

    if (id < 0)
        return -1;
    if (text) {
        if ((p = shmat(id, NULL, 0)) == (void *)-1) {
            shmctl(id, IPC_RMID, NULL);
            return -1;
        }
        memcpy(p, text, strlen(text));
        shmdt(p);
    }
    return id;
}

static void print_id(int id)
{
    printf("%d\n", id);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    char *p, buf[256];
    int id;

    if (argc >= 4 && strcmp(argv[1], "make") == 0) {
        if ((id = make(key_of(argv[2]), strtoull(argv[3], NULL, 10),
                       argc > 4 ? argv[4] : NULL)) < 0)
            return fail("shmget");
        print_id(id);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "hold") == 0) {
        if ((id = make(key_of(argv[2]), strtoull(argv[3], NULL, 10), NULL)) < 0)
            return fail("shmget");
        if ((p = shmat(id, NULL, 0)) == (void *)-1) {
            shmctl(id, IPC_RMID, NULL);
            return fail("shmat");
        }
        print_id(id);
        /* Attached until the test closes our standard input. */
        for (;;) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

            if (n == 0 || (n < 0 && errno != EINTR))
                break;
        }
        shmdt(p);
        return shmctl(id, IPC_RMID, NULL) == 0 ? 0 : fail("shmctl");
    }
    if (argc == 5 && strcmp(argv[1], "peek") == 0) {
        size_t off = strtoull(argv[3], NULL, 10), len = strtoull(argv[4], NULL, 10);

        if ((id = shmget(key_of(argv[2]), 0, 0)) < 0)
            return fail("shmget");
        if ((p = shmat(id, NULL, SHM_RDONLY)) == (void *)-1)
            return fail("shmat");
        fwrite(p + off, 1, len, stdout);
        shmdt(p);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "rmid") == 0)
        return shmctl(atoi(argv[2]), IPC_RMID, NULL) == 0 ? 0 : fail("shmctl");
    fprintf(stderr, "usage: sysv-raw make KEY SIZE [TEXT] | hold KEY SIZE | "
            "peek KEY OFFSET LEN | rmid SHMID\n");
    return 2;
}
