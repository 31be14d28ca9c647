/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness: names, argument checks and the open/stat/unlink
 * contract of API.md, on the POSIX backend.
 *
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Ilib \
 *         fuzz/fuzz_names.c lib/[a-z]*.c backends/posix.c -lpthread
 *
 * Input: byte 0 is the operation (low 3 bits) and switches (high bits);
 * bytes 1-4 flags (little endian), 5-6 mode, 7-8 size, 9-10 the size of a
 * segment made beforehand; the rest is the name, up to its first NUL.
 * Missing bytes read as 0.
 *
 * A fuzzed name reaches the library only when the name is invalid, so that
 * nothing can be made under it.  When it is valid the call goes to this
 * process's own "/ushm-fuzz-<pid>" instead (keeping the name's slash or the
 * lack of one), whose state before the call the harness sets up itself with
 * shm_open(): missing, made but left at size 0 (as another program
 * between shm_open and ftruncate), or complete.  Every input ends by
 * removing that name.
 */
#define _GNU_SOURCE

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ushm.h>

#include "backend.h"
#include "name.h"

enum {
    OP_CANON, OP_OPEN, OP_STAT, OP_UNLINK, OP_ANON, OP_NULL_ARGS, OP_TWO_HANDLES,
    OP_KEY
};
#define SW_KNOWN_FLAGS 0x08  /* flags &= the five known bits */
#define SW_MODE_OK     0x10  /* mode &= 0777 */
#define SW_MADE        0x20  /* make the private segment before the call */
#define SW_HALFMADE    0x40  /* ... and leave it at size 0 */
#define SW_NO_SLASH    0x80  /* call with the private name without its '/' */

#define HEADER 11
#define NAME_BUF 256
#define SENTINEL "fuzz: the library did not set last_error"

static char priv[32];             /* "/ushm-fuzz-<pid>" */
static long page_size;

#define INVARIANT(cond, ...) do { \
        if (!(cond)) { \
            fprintf(stderr, "fuzz_names.c:%d: invariant broken: %s\n  ", \
                    __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__); \
            fprintf(stderr, "\n  last error: %s\n", ushm_last_error()); \
            shm_unlink(priv); \
            abort(); \
        } \
    } while (0)

/* ------------------------------------------------------------------ */
/* The contract, spelt out independently of lib/. */

static int model_canon(const char *name, char out[USHM_NAME_MAX + 1])
{
    static const char ok[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    const char *body = name + (*name == '/');
    size_t n = strlen(body);

    for (size_t i = 0; i < n; i++)
        if (strchr(ok, body[i]) == NULL)
            return -EINVAL;
    if (n == 0 || !strcmp(body, ".") || !strcmp(body, ".."))
        return -EINVAL;
    if (!strncmp(body, "sem.", 4)) /* glibc's named semaphores */
        return -EINVAL;
    if (n > USHM_NAME_MAX - 1)
        return -ENAMETOOLONG;
    out[0] = '/';
    memcpy(out + 1, body, n + 1);
    return 0;
}

static uint32_t model_key(const char *s)
{
    uint32_t h = 2166136261u;

    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h ? h : 1;
}

/* -EINVAL for arguments the contract rejects whatever the segment. */
static int model_args(int flags, unsigned mode)
{
    if (flags & ~0x1f) /* the five flags of ushm.h */
        return -EINVAL;
    if (mode & ~0777u)
        return -EINVAL;
    if ((flags & USHM_RDONLY) && (flags & USHM_CREATE))
        return -EINVAL;
    return 0;
}

/* Failures that come from the machine, not from the arguments. */
static int resource_error(int rc)
{
    return rc == -ENOSPC || rc == -ENOMEM || rc == -EMFILE || rc == -ENFILE ||
           rc == -EAGAIN || rc == -ENOTSUP; /* ENOTSUP: no huge pages here */
}

static int known_error(int rc)
{
    return rc == -EINVAL || rc == -ENAMETOOLONG || rc == -ENOENT ||
           rc == -EEXIST || rc == -EACCES || rc == -EPERM ||
           resource_error(rc);
}

/* ------------------------------------------------------------------ */

static void arm_last_error(void)
{
    ushm__fail(EINVAL, "%s", SENTINEL);
}

static void check_failure(const char *call, int rc)
{
    const char *le = ushm_last_error();

    INVARIANT(rc < 0 && known_error(rc), "%s returned %d", call, rc);
    INVARIANT(le != NULL && le[0] != '\0' && strcmp(le, SENTINEL) != 0,
              "%s = %d left ushm_last_error() unset", call, rc);
}

/* The lowest free descriptor: it moves if a call leaks one. */
static int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

    if (fd >= 0)
        close(fd);
    return fd;
}

/* Mappings of the private segment or of anonymous shared memory: none may
 * outlive an input, whether its ushm_open() failed or was closed. */
static int our_mappings(void)
{
    static char maps[1 << 20];
    size_t len = 0;
    ssize_t n;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC), count = 0;

    if (fd < 0)
        return 0;
    while (len < sizeof maps - 1 &&
           (n = read(fd, maps + len, sizeof maps - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    maps[len] = '\0';
    for (const char *p = maps; (p = strstr(p, priv)) != NULL; p++)
        count++;
    for (const char *p = maps; (p = strstr(p, "/dev/zero")) != NULL; p++)
        count++;
    return count;
}

enum seg { SEG_NONE, SEG_HALF, SEG_FULL };

/* Set up the private segment with the POSIX calls themselves. */
static enum seg make_private(unsigned sw, size_t size, unsigned mode)
{
    int fd;

    if (!(sw & SW_MADE))
        return SEG_NONE;
    fd = shm_open(priv, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return SEG_NONE;
    fchmod(fd, mode & 0777);
    if (!(sw & SW_HALFMADE) && size == 0)
        size = 1;
    if (!(sw & SW_HALFMADE) && ftruncate(fd, (off_t)size) != 0) {
        close(fd);
        shm_unlink(priv);
        return SEG_NONE;
    }
    close(fd);
    return (sw & SW_HALFMADE) ? SEG_HALF : SEG_FULL;
}

static int private_exists(void)
{
    int fd = shm_open(priv, O_RDONLY, 0);

    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static void check_handle(ushm_t *shm, const char *canon, size_t size,
                         int created, int writable)
{
    unsigned char *p = ushm_addr(shm);

    INVARIANT(p != NULL && (uintptr_t)p % (uintptr_t)page_size == 0,
              "address %p", (void *)p);
    INVARIANT(ushm_size(shm) == size, "ushm_size %zu, want %zu",
              ushm_size(shm), size);
    INVARIANT(ushm_created(shm) == created, "ushm_created %d, want %d",
              ushm_created(shm), created);
    if (canon == NULL)
        INVARIANT(ushm_name(shm) == NULL, "anonymous name %s", ushm_name(shm));
    else
        INVARIANT(ushm_name(shm) != NULL && !strcmp(ushm_name(shm), canon),
                  "ushm_name %s, want %s", ushm_name(shm) ? ushm_name(shm) :
                  "NULL", canon);
    if (created)
        INVARIANT(all_zero(p, size), "a new segment is not zero-filled");
    (void)p[size - 1];
    if (writable) {
        p[0] = 0x5a;
        p[size - 1] = 0xa5;
    }
}

/* ushm_open() on the private name, checked against the contract. */
static void open_private(const char *callname, enum seg seg, size_t existing,
                         size_t size, int flags, unsigned mode)
{
    ushm_t *shm = (ushm_t *)&shm; /* not NULL: the call must clear it */
    int want = model_args(flags, mode), rc, excl_alone;
    size_t want_size = existing;

    excl_alone = (flags & USHM_EXCL) && !(flags & USHM_CREATE);
    if (want == 0) {
        if (seg != SEG_FULL && !(flags & USHM_CREATE))
            want = -ENOENT;
        else if (seg != SEG_NONE && (flags & USHM_CREATE) &&
                 (flags & USHM_EXCL))
            want = -EEXIST; /* an empty object holds the name too */
        else if (seg != SEG_FULL && size == 0)
            want = -EINVAL;
        else if (seg == SEG_NONE)
            want_size = size;
        else if (seg == SEG_HALF)
            /* Another program's empty object: never taken over; the call
             * waits 1 s for its size and says -EAGAIN.  The conformance
             * suite checks that; a second a run is too slow to fuzz. */
            return;
        else if (size > existing)
            want = -EINVAL;
    }
    arm_last_error();
    rc = ushm_open(&shm, callname, size, flags, (mode_t)mode);
    if (rc != 0) {
        check_failure("ushm_open", rc);
        INVARIANT(shm == NULL, "ushm_open = %d left *shm = %p", rc,
                  (void *)shm);
        /* The contract does not say which of two faults is reported, nor
         * what USHM_EXCL alone means. */
        INVARIANT(rc == want || (want == 0 && resource_error(rc)) ||
                  (want == -EEXIST && size > existing && rc == -EINVAL) ||
                  (excl_alone && rc == -EINVAL),
                  "ushm_open(%s, %zu, 0x%x, 0%o) = %d, want %d (segment %s)",
                  callname, size, (unsigned)flags, mode, rc, want,
                  seg == SEG_NONE ? "missing" : seg == SEG_HALF ?
                  "at size 0" : "complete");
        /* A failure leaves nothing: a segment missing before stays so. */
        if (seg == SEG_NONE)
            INVARIANT(!private_exists(), "failed ushm_open = %d made %s", rc,
                      priv);
        return;
    }
    INVARIANT(want == 0, "ushm_open(%s, %zu, 0x%x, 0%o) = 0, want %d "
              "(segment %s)", callname, size, (unsigned)flags, mode, want,
              seg == SEG_NONE ? "missing" : seg == SEG_HALF ? "at size 0" :
              "complete");
    INVARIANT(shm != NULL, "ushm_open = 0 without a handle");
    check_handle(shm, priv, want_size, seg == SEG_NONE,
                 !(flags & USHM_RDONLY));
    if (seg == SEG_NONE) {
        struct ushm_stat st;
        unsigned want_mode = mode != 0 ? mode : 0600;

        arm_last_error();
        rc = ushm_stat(callname, &st);
        INVARIANT(rc == 0 && st.size == size && st.mode == want_mode &&
                  st.uid == geteuid() && st.nattach == -1,
                  "after creating: ushm_stat = %d, size %zu mode 0%o "
                  "nattach %ld, want size %zu mode 0%o", rc, st.size,
                  (unsigned)st.mode, st.nattach, size, want_mode);
    }
    INVARIANT(ushm_close(shm) == 0, "ushm_close failed");
}

static void stat_private(const char *callname, enum seg seg, size_t existing,
                         unsigned mode)
{
    struct ushm_stat st;
    int rc;

    arm_last_error();
    rc = ushm_stat(callname, &st);
    if (seg != SEG_FULL) {
        INVARIANT(rc == -ENOENT, "ushm_stat of a %s segment = %d",
                  seg == SEG_HALF ? "size-0" : "missing", rc);
        check_failure("ushm_stat", rc);
        return;
    }
    INVARIANT(rc == 0 && st.size == existing && st.mode == (mode & 0777) &&
              st.uid == geteuid() && st.gid == getegid() && st.nattach == -1,
              "ushm_stat = %d: size %zu mode 0%o nattach %ld, want size %zu "
              "mode 0%o", rc, st.size, (unsigned)st.mode, st.nattach,
              existing, mode & 0777);
}

static void unlink_private(const char *callname, enum seg seg)
{
    struct ushm_stat st;
    int rc;

    arm_last_error();
    rc = ushm_unlink(callname);
    if (seg == SEG_NONE) {
        INVARIANT(rc == -ENOENT, "ushm_unlink of a missing name = %d", rc);
        check_failure("ushm_unlink", rc);
        return;
    }
    INVARIANT(rc == 0, "ushm_unlink = %d", rc);
    INVARIANT(!private_exists(), "the name is still there after ushm_unlink");
    arm_last_error();
    rc = ushm_stat(callname, &st);
    INVARIANT(rc == -ENOENT, "ushm_stat after ushm_unlink = %d", rc);
}

/* Two handles of one segment see each other's writes. */
static void two_handles(const char *callname, size_t size)
{
    ushm_t *a = NULL, *b = NULL;
    unsigned char *pa, *pb;
    int rc;

    if (size == 0)
        size = 1;
    arm_last_error();
    rc = ushm_open(&a, callname, size, USHM_CREATE | USHM_EXCL, 0600);
    if (rc != 0) {
        check_failure("ushm_open", rc);
        INVARIANT(resource_error(rc), "creating a new segment = %d", rc);
        return;
    }
    check_handle(a, priv, size, 1, 1);
    arm_last_error();
    rc = ushm_open(&b, callname, size, USHM_CREATE | USHM_EXCL, 0600);
    INVARIANT(rc == -EEXIST && b == NULL, "second USHM_EXCL open = %d", rc);
    check_failure("ushm_open", rc);
    rc = ushm_open(&b, callname, 0, 0, 0);
    INVARIANT(rc == 0, "joining with size 0 = %d", rc);
    check_handle(b, priv, size, 0, 1);
    pa = ushm_addr(a);
    pb = ushm_addr(b);
    pa[size / 2] = 0x42;
    INVARIANT(pb[size / 2] == 0x42, "a write through one handle is not seen "
              "through the other");
    INVARIANT(ushm_close(a) == 0, "close a");
    INVARIANT(pb[size / 2] == 0x42, "closing one handle disturbed the other");
    INVARIANT(ushm_unlink(callname) == 0, "unlink");
    pb[0] = 1; /* still mapped after unlink */
    INVARIANT(ushm_close(b) == 0, "close b");
    rc = ushm_open(&a, callname, 0, 0, 0);
    INVARIANT(rc == -ENOENT && a == NULL, "open after unlink = %d", rc);
}

static void anonymous(size_t size, int flags, unsigned mode)
{
    ushm_t *shm = (ushm_t *)&shm;
    int want = model_args(flags, mode), rc;

    if (want == 0 && (!(flags & USHM_CREATE) || size == 0))
        want = -EINVAL;
    arm_last_error();
    rc = ushm_open(&shm, NULL, size, flags, (mode_t)mode);
    if (rc != 0) {
        check_failure("ushm_open(NULL)", rc);
        INVARIANT(shm == NULL, "*shm not cleared");
        INVARIANT(rc == want || (want == 0 && resource_error(rc)) ||
                  ((flags & USHM_EXCL) && !(flags & USHM_CREATE) &&
                   rc == -EINVAL),
                  "anonymous ushm_open(%zu, 0x%x, 0%o) = %d, want %d", size,
                  (unsigned)flags, mode, rc, want);
        return;
    }
    INVARIANT(want == 0, "anonymous ushm_open(%zu, 0x%x, 0%o) = 0, want %d",
              size, (unsigned)flags, mode, want);
    check_handle(shm, NULL, size, 1, 1);
    INVARIANT(ushm_close(shm) == 0, "ushm_close");
}

/* ------------------------------------------------------------------ */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void remove_private(void)
{
    shm_unlink(priv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(priv, sizeof priv, "/ushm-fuzz-%ld", (long)getpid());
    page_size = sysconf(_SC_PAGESIZE);
    shm_unlink(priv);
    atexit(remove_private);
    return 0;
}

static unsigned le(const uint8_t *data, size_t size, size_t at, int n)
{
    unsigned v = 0;

    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | (at + (size_t)i < size ? data[at + (size_t)i] : 0);
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned op, sw, mode;
    int flags, want, rc, fd_before;
    size_t shm_size, existing, namelen = 0;
    char canon[USHM_NAME_MAX + 1], model[USHM_NAME_MAX + 1];
    char *name;
    const char *callname;
    enum seg seg;
    struct ushm_stat st;
    ushm_t *shm;

    if (size == 0)
        return 0;
    op = data[0] & 7;
    sw = data[0] & ~7u;
    flags = (int)le(data, size, 1, 4);
    mode = le(data, size, 5, 2);
    shm_size = le(data, size, 7, 2);
    existing = le(data, size, 9, 2);
    if (sw & SW_KNOWN_FLAGS)
        flags &= 0x1f;
    if (sw & SW_MODE_OK)
        mode &= 0777;
    while (HEADER + namelen < size && namelen < NAME_BUF - 1 &&
           data[HEADER + namelen] != 0)
        namelen++;
    /* Exactly the name's bytes, so that ASan sees any over-read. */
    name = malloc(namelen + 1);
    if (name == NULL)
        return 0;
    memcpy(name, data + HEADER, namelen);
    name[namelen] = '\0';

    fd_before = lowest_free_fd();
    memset(canon, 0x7e, sizeof canon);
    want = model_canon(name, model);
    rc = ushm__name_canon(name, canon);
    INVARIANT(rc == want, "ushm__name_canon(\"%s\") = %d, model %d", name, rc,
              want);
    if (rc == 0) {
        INVARIANT(memchr(canon, '\0', sizeof canon) && !strcmp(canon, model),
                  "canonical \"%.32s\", model \"%s\"", canon, model);
        INVARIANT(ushm__name_key(canon) == model_key(canon) &&
                  ushm__name_key(canon) != 0, "key of %s", canon);
    }
    callname = (sw & SW_NO_SLASH) ? priv + 1 : priv;
    if (existing == 0 && !(sw & SW_HALFMADE))
        existing = 1;
    seg = SEG_NONE;
    if (want == 0 && (op == OP_OPEN || op == OP_STAT || op == OP_UNLINK))
        seg = make_private(sw, existing, op == OP_STAT ? mode : 0600);
    if (seg != SEG_FULL)
        existing = 0;

    switch (op) {
    case OP_CANON:
    case OP_KEY:
        break;

    case OP_OPEN:
        if (want == 0) {
            open_private(callname, seg, existing, shm_size, flags, mode);
            break;
        }
        shm = (ushm_t *)&shm;
        arm_last_error();
        rc = ushm_open(&shm, name, shm_size, flags, (mode_t)mode);
        check_failure("ushm_open", rc);
        INVARIANT(shm == NULL, "ushm_open = %d left *shm set", rc);
        /* A bad name and bad flags together may be reported either way. */
        INVARIANT(rc == want || (model_args(flags, mode) != 0 &&
                                 rc == -EINVAL),
                  "ushm_open(\"%s\") = %d, want %d", name, rc, want);
        break;

    case OP_STAT:
        if (want == 0) {
            stat_private(callname, seg, existing, mode);
            arm_last_error();
            rc = ushm_stat(callname, NULL);
            INVARIANT(rc == -EINVAL, "ushm_stat(name, NULL) = %d", rc);
            check_failure("ushm_stat(NULL)", rc);
            break;
        }
        arm_last_error();
        rc = ushm_stat(name, &st);
        INVARIANT(rc == want, "ushm_stat(\"%s\") = %d, want %d", name, rc,
                  want);
        check_failure("ushm_stat", rc);
        break;

    case OP_UNLINK:
        if (want == 0) {
            unlink_private(callname, seg);
            break;
        }
        arm_last_error();
        rc = ushm_unlink(name);
        INVARIANT(rc == want, "ushm_unlink(\"%s\") = %d, want %d", name, rc,
                  want);
        check_failure("ushm_unlink", rc);
        break;

    case OP_ANON:
        anonymous(shm_size, flags, mode);
        break;

    case OP_NULL_ARGS:
        /* shm == NULL: -EINVAL, and nothing made even with USHM_CREATE. */
        arm_last_error();
        rc = ushm_open(NULL, want == 0 ? callname : name, shm_size,
                       flags | USHM_CREATE, (mode_t)mode);
        INVARIANT(rc == -EINVAL || (want != 0 && rc == want),
                  "ushm_open(NULL, ...) = %d", rc);
        check_failure("ushm_open(NULL)", rc);
        INVARIANT(!private_exists(), "ushm_open(NULL, ...) made %s", priv);
        INVARIANT(ushm_close(NULL) == 0, "ushm_close(NULL)");
        arm_last_error();
        rc = ushm_stat(NULL, &st);
        INVARIANT(rc == -EINVAL, "ushm_stat(NULL) = %d", rc);
        check_failure("ushm_stat(NULL)", rc);
        arm_last_error();
        rc = ushm_unlink(NULL);
        INVARIANT(rc == -EINVAL, "ushm_unlink(NULL) = %d", rc);
        check_failure("ushm_unlink(NULL)", rc);
        INVARIANT(!strcmp(ushm_backend(), "posix") &&
                  !strcmp(ushm_version(), USHM_VERSION_STRING),
                  "backend %s, version %s", ushm_backend(), ushm_version());
        {
            /* Any int, INT_MIN included: the text is never NULL or empty. */
            const char *s = ushm_strerror(flags);
            INVARIANT(s != NULL && s[0] != '\0', "ushm_strerror(%d)", flags);
        }
        break;

    case OP_TWO_HANDLES:
        if (want == 0)
            two_handles(callname, shm_size);
        break;
    }

    shm_unlink(priv);
    INVARIANT(lowest_free_fd() == fd_before, "a descriptor was left open "
              "(lowest free %d, was %d)", lowest_free_fd(), fd_before);
    if (op == OP_OPEN || op == OP_ANON || op == OP_TWO_HANDLES)
        INVARIANT(our_mappings() == 0, "%d mapping(s) of %s or /dev/zero "
                  "left", our_mappings(), priv);
    free(name);
    return 0;
}
