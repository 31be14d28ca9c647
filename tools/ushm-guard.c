/* SPDX-License-Identifier: MIT */
/*
 * Touching a segment's memory without dying of it.  A page that has no
 * memory yet gets it at its first touch; when the system has none to give
 * (another program's sparse POSIX object on a full /dev/shm), the touch
 * raises SIGBUS, which would kill the command (status 135).
 *
 * read and write catch it: SIGBUS is handled, around the touch only, by a
 * siglongjmp back to before it.  Opening with USHM_POPULATE instead would
 * give the whole segment its memory, where only the range copied needs it:
 * a sparse object can be far larger than the room that is left.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "ushm-tool.h"

static sigjmp_buf guard_jump;
static volatile uintptr_t guard_fault;  /* the address that raised SIGBUS */

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
    (void)sig;
    (void)context;
    guard_fault = (uintptr_t)info->si_addr;
    siglongjmp(guard_jump, 1);
}

struct span {
    char *dst;
    const char *src;
    size_t len;
};

/* A read fault gives a page of shared memory its memory, as a write fault
 * does; it changes nothing that another process could see. */
static void touch(const struct span *s)
{
    const volatile char *p = s->src;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    for (size_t i = 0; i < s->len; i += page)
        (void)p[i];                 /* volatile: the read is made */
    if (s->len > 0)
        (void)p[s->len - 1];
}

static void copy(const struct span *s)
{
    memcpy(s->dst, s->src, s->len);
}

/* fn(s) with SIGBUS caught: 0, or -1 with *offset where the fault was,
 * from base (the mapping's side of the job; 0 if elsewhere). */
static int guarded(void (*fn)(const struct span *), const struct span *s,
                   const char *base, size_t *offset)
{
    struct sigaction sa, old_sa;
    sigset_t bus, old_mask;
    int failed = 0;

    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    /* A blocked SIGBUS from a fault kills whatever the handler. */
    sigemptyset(&bus);
    sigaddset(&bus, SIGBUS);
    sigprocmask(SIG_UNBLOCK, &bus, &old_mask);
    sigaction(SIGBUS, &sa, &old_sa);
    if (sigsetjmp(guard_jump, 1) == 0)
        fn(s);
    else
        failed = 1;
    sigaction(SIGBUS, &old_sa, NULL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    if (!failed)
        return 0;
    *offset = 0;
    if (guard_fault >= (uintptr_t)base && guard_fault - (uintptr_t)base < s->len)
        *offset = (size_t)(guard_fault - (uintptr_t)base);
    return -1;
}

int touch_pages(const void *addr, size_t len, size_t *offset)
{
    struct span s = { NULL, addr, len };

    return guarded(touch, &s, addr, offset);
}

int copy_in(void *dst, const void *src, size_t len, size_t *offset)
{
    struct span s = { dst, src, len };

    return guarded(copy, &s, dst, offset);
}
