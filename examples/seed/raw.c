/* SPDX-License-Identifier: MIT */
/*
 * A program in the seed's style: the raw System V calls, the key from
 * ftok(), and death on any error.  It stands for the programs that have not
 * moved to libushm yet; tests/seed.sh runs it beside seed/ushm.c.
 *
 *   raw PATH write TEXT   make the segment if needed and write TEXT at 0
 *   raw PATH read         print what is at offset 512
 *   raw PATH rm           remove the segment
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#define BYTES 4096
#define DIE(what) do { perror(what); exit(1); } while (0)

int main(int argc, char **argv)
{
    key_t key;
    int id;
    char *p;

    if (argc < 3) {
        fprintf(stderr, "usage: %s PATH write TEXT | read | rm\n", argv[0]);
        return 2;
    }
    key = ftok(argv[1], 0xc4);
    if (key == -1)
        DIE("ftok");
    id = shmget(key, BYTES, 0644 | IPC_CREAT);
    if (id == -1)
        DIE("shmget");
    if (strcmp(argv[2], "rm") == 0) {
        if (shmctl(id, IPC_RMID, NULL) == -1)
            DIE("shmctl");
        return 0;
    }
    p = shmat(id, NULL, 0);
    if (p == (void *)-1)
        DIE("shmat");
    if (strcmp(argv[2], "write") == 0 && argc > 3)
        snprintf(p, 512, "%s", argv[3]);
    else
        printf("%s\n", p + 512);
    shmdt(p);
    return 0;
}
