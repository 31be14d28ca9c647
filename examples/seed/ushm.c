/* SPDX-License-Identifier: MIT */
/*
 * The seed's program moved to libushm, sharing memory with the ones that
 * still use the raw calls (seed/raw.c): the same ftok() key, opened with
 * ushm_open_key().  Where the raw program dies with perror(), this one says
 * what went wrong in words, and leaves nothing behind.
 *
 *   ushm PATH [REPLY] [--size N]   print what the raw side wrote at 0 and
 *                                  answer at offset 512
 */
#define _XOPEN_SOURCE 700

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>

#include <ushm.h>

int main(int argc, char **argv)
{
    const char *reply = "hello from libushm";
    size_t size = 1024; /* the least this program needs */
    ushm_t *shm;
    key_t key;
    int err;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH [REPLY] [--size N]\n", argv[0]);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = strtoul(argv[++i], NULL, 0);
        else
            reply = argv[i];
    }
    key = ftok(argv[1], 0xc4);
    if (key == -1) {
        perror(argv[1]);
        return 1;
    }
    /* Joins the raw program's segment: no USHM_CREATE, so a missing one is
     * reported rather than made with a size the others do not expect. */
    err = ushm_open_key(&shm, key, size, 0, 0);
    if (err < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], ushm_last_error());
        return 1;
    }
    printf("%s\n", (const char *)ushm_addr(shm));
    snprintf((char *)ushm_addr(shm) + 512, ushm_size(shm) - 512, "%s", reply);
    err = ushm_close(shm);
    if (err < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], ushm_last_error());
        return 1;
    }
    return 0;
}
