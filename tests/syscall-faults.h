/* SPDX-License-Identifier: MIT */
/*
 * What the files of the system call fault test share: the calls and the
 * injection plan, names and snapshots, scenarios, the runner and the cases.
 */
#ifndef SYSCALL_FAULTS_H
#define SYSCALL_FAULTS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/statvfs.h>

#include "fault-common.h"

#ifdef __GLIBC__
typedef __off_t sf_off_t;     /* what the plain names take */
typedef __off64_t sf_off64_t; /* what the ...64 names take */
#define SF_LFS64 1
#else
typedef off_t sf_off_t;
#endif

#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000 /* Linux's; only to describe a linkat() call */
#endif
#ifndef USHM_ATOMIC_PUBLISH
#define USHM_ATOMIC_PUBLISH 0 /* config.h: the fallback creation protocol */
#endif
#ifndef SHM_HUGETLB
#define SHM_HUGETLB 0
#endif

/* F_SHM_OPEN, ... and their names, from tests/syscall-list.h. */
enum fn {
#define SF_CALL(id, name, type, params) F_##id,
#define SF_CALL64(id, name, name64, type, params, params64) F_##id,
#include "syscall-list.h"
#undef SF_CALL
#undef SF_CALL64
    F_N
};

extern const char *const fn_name[F_N];

/* The wrappers' and the real functions' declarations; the ...64 twins
 * where the C library has them (glibc).  Every name is pasted, never
 * expanded, as a C library may define a call's name as a macro. */
#define SF_CALL(id, name, type, params) \
    type __wrap_##name params; type __real_##name params;
#ifdef SF_LFS64
#define SF_CALL64(id, name, name64, type, params, params64) \
    type __wrap_##name params; type __real_##name params; \
    type __wrap_##name64 params64; type __real_##name64 params64;
#else
#define SF_CALL64(id, name, name64, type, params, params64) \
    type __wrap_##name params; type __real_##name params;
#endif
#include "syscall-list.h"
#undef SF_CALL
#undef SF_CALL64

enum act {
    ACT_FAIL,  /* the call fails with err, the real one is not made */
    ACT_HOOK,  /* hook() runs first, then the real call */
    ACT_FAKE,  /* fopen: a file with text; mmap: without MAP_HUGETLB;
                * geteuid: another uid; getrlimit: a limit of 4096 bytes */
    ACT_COUNT, /* nothing: only checks that the call is made */
};

struct inj {
    int fn;
    long mask, value;     /* only calls with (detail & mask) == value */
    const char *path;     /* and, when set, a path containing this */
    int nth, count;       /* matching calls nth .. nth+count-1; count -1: all */
    int err;
    int act;
    void (*hook)(void);
    const char *text;     /* ACT_FAKE fopen: the file's contents */
    int seen, hits;
};

struct call {
    int fn;
    long detail;
    char path[48];
};

#define MAX_INJ 4
#define MAX_SEQ 512

extern struct inj plan[MAX_INJ];
extern int nplan;
extern volatile int armed;          /* count and inject only while set */
extern struct call seq[MAX_SEQ];
extern int nseq;

/* A mapping whose munmap() was failed: the test removes it afterwards. */
extern void *leaked_addr;
extern size_t leaked_len;

/* An open() of an unnamed O_TMPFILE file. */
#ifdef O_TMPFILE
#define SF_TMPFILE(flags) (((flags) & O_TMPFILE) == O_TMPFILE)
#else
#define SF_TMPFILE(flags) 0
#endif

/* syscall-faults-left.c: names, removing everything, snapshots. */
extern pid_t main_pid;
extern int posix;                        /* the backend under test */
extern size_t page, seg_size, exist_size;
extern char prefix[24];                  /* "sf<pid>_": our /dev/shm entries */

const char *new_name(void);
void remove_name(const char *name);

/* SysV segments this process created (cpid), with their ids.  seglist's
 * calls pass through the wrappers untouched: it runs only while unarmed. */
struct sv_row { int id; long key; unsigned long size, nattch; };

int sysv_rows(struct sv_row *rows, int max);
void remove_private_segments(void);
void sweep_all(void);
void on_signal(int sig);

#define MAX_ENT 16

struct entry { char name[48]; long long size; };

struct snap {
    int fds, maps;
    int ndev;
    struct entry dev[MAX_ENT];
    int nsv;
    struct sv_row sv[MAX_ENT];
    sigset_t mask;
};

void snap_sets(struct snap *s);
void snap_take(struct snap *s);
const struct entry *find_dev(const struct snap *s, const char *name);
const struct sv_row *find_sv(const struct snap *s, int id);
int same_mask(const sigset_t *a, const sigset_t *b);
void addf(char *buf, size_t len, const char *fmt, ...) FC_PRINTF(3, 4);

/* syscall-faults-run.c: scenarios, what a case must give, the runner. */
enum op { OP_OPEN, OP_CLOSE, OP_UNLINK, OP_STAT, OP_SIZE };
/* S_JOINED: a plain join whose size nobody asked for yet (sysv-size-lazy.c
 * leaves it to be read then); S_JOINED_HELD: that, with a mutex at its
 * start held by this thread. */
enum setup { S_NONE, S_EXISTING, S_HALF, S_OPEN, S_OPEN_ANON, S_JOINED,
             S_JOINED_HELD };

struct scen {
    const char *label;
    int op, setup, anon;
    int sized;            /* 1: pass seg_size, 0: pass 0 */
    int flags;
    mode_t mode;
    int posix_only;
};

/* What a case must give. */
#define ALLOW_ZERO_LEFT 0x1 /* a size-0 POSIX name may stay: its removal failed */
#define ALLOW_SYSV_LEFT 0x2 /* a SysV segment may stay: its IPC_RMID failed */
#define ALLOW_MAP_LEFT  0x4 /* a mapping may stay: its munmap/shmdt failed */

struct expect {
    int rc;               /* 0 or -errno */
    int alt_rc;           /* also accepted when nonzero */
    int created;          /* on success: -1 for either */
    const char *kw;       /* on failure: in ushm_last_error() */
    int allow;
    const char *note;     /* for the line */
};

struct outcome {
    int rc, created;
    int nseq;
    struct call seq[MAX_SEQ];
};

/* The case in progress, for the hooks. */
struct current_case {
    char name[USHM_NAME_MAX + 1];
    struct snap *before;
    int gone;             /* a hook removed the name */
};
extern struct current_case cur;

const char *errname(int e);
void describe_call(const struct call *c, char *buf, size_t len);
int is_populate(long advice);
int run_case(const struct scen *s, const struct inj *inj, int ninj,
             const struct expect *want, const char *desc,
             struct outcome *out);
#if USHM_ATOMIC_PUBLISH
void run_case_forked(const struct scen *s, const struct inj *inj,
                     int ninj, const struct expect *want,
                     const char *desc);
#endif

/* syscall-faults-sweep.c */
void sweep_scenario(const struct scen *s);

/* syscall-faults-cases.c: what targeted cases are written with. */
struct inj I(int fn, int nth, int count, int err);
struct inj I_match(int fn, long mask, long value, int count, int err);
struct inj I_hook(int fn, int nth, void (*hook)(void));
struct inj I_fopen(const char *path, const char *text, int err);
struct inj I_count(int fn, long mask, long value);
struct inj I_fake_euid(void);
struct expect OK(int created);
struct expect ERR(int err, const char *kw);
void hook_unlink(void);
void hook_complete(void);
void hook_replace(void);
#if USHM_ATOMIC_PUBLISH
void hook_make_empty(void);
#endif

#define RUN(s, e, desc, ...) do { \
        const struct inj injs_[] = { __VA_ARGS__ }; \
        const struct expect e_ = e; \
        run_case(&(s), injs_, (int)(sizeof injs_ / sizeof injs_[0]), &e_, \
                 desc, NULL); \
    } while (0)
/* Cases of Linux's /dev/shm file system (its free space and inodes in
 * messages, its tmpfs's huge pages): skipped where objects are no files
 * (tests/personality), saying so. */
#define RUN_FILES(s, e, desc, ...) do { \
        if (fc_objects_are_files()) \
            RUN(s, e, desc, __VA_ARGS__); \
        else \
            printf("# SKIP %s: %s has no /dev/shm file system to measure or " \
                   "mount\n", desc, fc_system()); \
    } while (0)
/* Cases of what macOS never does to an object (fchmod it, write zeros
 * into it): skipped under its personality, saying why. */
#define RUN_NOT_MACOS(why, s, e, desc, ...) do { \
        if (fc_is_macos()) \
            printf("# SKIP %s: macOS %s\n", desc, why); \
        else \
            RUN(s, e, desc, __VA_ARGS__); \
    } while (0)
/* What an ENOSPC message names: the room left where it can be measured
 * (a tmpfs under /dev/shm), else only the call. */
#define ROOM(kw, call) (fc_objects_are_files() ? (kw) : (call))
#define RUN0(s, e, desc) do { \
        const struct expect e_ = e; \
        run_case(&(s), NULL, 0, &e_, desc, NULL); \
    } while (0)
#define RUN_FORKED(s, e, desc, ...) do { \
        const struct inj injs_[] = { __VA_ARGS__ }; \
        const struct expect e_ = e; \
        run_case_forked(&(s), injs_, (int)(sizeof injs_ / sizeof injs_[0]), \
                        &e_, desc); \
    } while (0)

extern const struct scen sc_create, sc_create_0400, sc_create_noexcl, sc_open,
    sc_open_ro, sc_open_or_create, sc_half, sc_anon, sc_populate,
    sc_anon_populate, sc_ro_populate, sc_huge, sc_anon_huge, sc_close,
    sc_close_anon, sc_unlink, sc_stat, sc_size, sc_close_held;

/* The targeted cases: syscall-faults-posix-cases.c, -sysv-cases.c, and
 * those of both backends in syscall-faults-cases.c. */
#if USHM_ATOMIC_PUBLISH
void targeted_fresh_process(void);
void settle_link_route(void);
void targeted_atomic(void);
#else
void targeted_fallback(void);
#endif
void targeted_posix(void);
void targeted_sysv(void);
void targeted_common(void);

#endif /* SYSCALL_FAULTS_H */
