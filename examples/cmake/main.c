/* SPDX-License-Identifier: MIT */
/*
 * main: built by CMake against ushm::ushm.  Checks that the header CMake
 * found and the library it linked are the same version, then a forked child
 * hands a number to its parent through an anonymous segment, waking it
 * with the segment's event.  Exits 0 when both worked.
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct mailbox {
    ushm_event_t posted;        /* notified once the answer is there */
    int answer;
};

int main(void)
{
    struct mailbox *box;
    ushm_t *shm;
    unsigned seen;
    pid_t pid;
    int status, err;

    /* A header of one version over a library of another means CMake found
     * two installations: say so rather than misbehave later. */
    if (strcmp(ushm_version(), USHM_VERSION_STRING) != 0) {
        fprintf(stderr, "main: ushm.h is %s but libushm is %s\n",
                USHM_VERSION_STRING, ushm_version());
        return 1;
    }
    if (ushm_open(&shm, NULL, sizeof *box, USHM_CREATE, 0) < 0) {
        fprintf(stderr, "main: %s\n", ushm_last_error());
        return 1;
    }
    box = ushm_addr(shm);
    /* Read before the child can post, so its notify cannot be missed. */
    seen = ushm_event_read(&box->posted);
    pid = fork();
    if (pid == 0) {
        box->answer = 42;
        _exit(ushm_event_notify(&box->posted) == 0 ? 0 : 1);
    }
    err = pid < 0 ? -1 : ushm_event_wait(&box->posted, seen, 10000);
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0 || err < 0 ||
        box->answer != 42) {
        fprintf(stderr, "main: the child's answer did not arrive\n");
        ushm_close(shm);
        return 1;
    }
    printf("libushm %s (%s backend) through CMake: the child said %d\n",
           ushm_version(), ushm_backend(), box->answer);
    return ushm_close(shm) < 0 ? 1 : 0;
}
