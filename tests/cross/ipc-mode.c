/* SPDX-License-Identifier: MIT */
/*
 * Does shmctl() carry a SysV segment's mode both ways here?  qemu-user 7.2
 * converts struct ipc_perm's mode as 16 bits where s390x has 32, so a
 * big-endian guest reads the mode shifted and IPC_SET writes 0: the SysV
 * suite cannot run there, and tests/cross/run.sh says so.  Exit 0 if the
 * mode comes back as set, 1 if not, 2 if SysV memory cannot be had.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(void)
{
    struct shmid_ds ds;
    unsigned long made, set;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0640);

    if (id == -1 || shmctl(id, IPC_STAT, &ds) != 0) {
        perror("shmget/shmctl");
        return 2;
    }
    made = (unsigned long)ds.shm_perm.mode & 0777;
    ds.shm_perm.mode = 0604;
    if (shmctl(id, IPC_SET, &ds) != 0 || shmctl(id, IPC_STAT, &ds) != 0)
        ds.shm_perm.mode = 0;
    set = (unsigned long)ds.shm_perm.mode & 0777;
    shmctl(id, IPC_RMID, NULL);
    printf("SysV mode: made 0640, IPC_STAT says 0%lo; set 0604, IPC_STAT says 0%lo\n",
           made, set);
    return made == 0640 && set == 0604 ? 0 : 1;
}
