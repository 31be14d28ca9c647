/* SPDX-License-Identifier: MIT */
/*
 * What the files of the limit tests share (tests/faults.c says what they
 * test): names, namespaces, tmpfs and sysctls, baselines, the cases.
 */
#ifndef FAULTS_H
#define FAULTS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <sched.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/statvfs.h>
#include <sys/time.h>

#include "fault-common.h"

#define MSG 512

/* faults-setup.c */
extern char prefix[24];                 /* "f<pid>_": our /dev/shm entries */
const char *new_name(void);
void sweep(void);
void die(const char *what);

extern int as_root; /* 0: in a user namespace of our own */
void enter_namespaces(void);
void mount_shm(const char *opts);
void umount_shm(void);
unsigned long long shm_free_bytes(void);
void save_sysctls(void);
void restore_sysctls(void);
void set_sysctl(int which, unsigned long long value);

struct base {
    int fds, maps, sysv;
};

void take_base(struct base *b);
const char *leftovers(const struct base *b, long long used);
void report(const char *cas, const char *how, const char *expected,
            const char *got, const char *left, int ok,
            const char *detail, const char *why);
int failed_as(int rc, ushm_t *h, int want, const char *msg,
              const char *needle, char *why, size_t len);
void free_space_needle(char *needle, size_t len);
long long raw_size(const char *canon);
int stays_whole_bytes(const char *name, ushm_t *a, size_t len, int v,
                      char *why, size_t wlen);
int stays_whole(const char *name, ushm_t *a, char *why, size_t len);

/* The cases: faults-devshm.c, faults-sysv.c, faults-rlimits.c,
 * faults-hugepages.c, faults-signals.c. */
void posix_full(void);
void posix_full_second(void);
void posix_reserved(void);
void posix_inodes(void);
void posix_halfmade_full(void);
void posix_existing_full(void);
void sysv_shmmax(void);
void sysv_shmmni(void);
void sysv_shmall(void);

enum { NAMED_CREATE, NAMED_EXISTING, ANONYMOUS };

void nofile_case(const char *cas, int kind);
void as_case(const char *cas, int anonymous);
#ifdef USHM_HUGEPAGES
void hugepages_pool(const char *cas, int anonymous);
void hugepages_tmpfs(void);
#endif
void storm_case(const char *cas, int count, size_t size, int flags,
                int anonymous, int want_fail);

#endif /* FAULTS_H */
