/* SPDX-License-Identifier: MIT */
/*
 * The systematic sweep: each call a scenario makes fails in turn, then
 * each call the library retries on EINTR is interrupted.
 */
#include "syscall-faults.h"

/* ------------------------------------------------------------------ */
/* The systematic sweep.                                                */

static int sweep_errno(int fn, long detail)
{
    switch (fn) {
    case F_SHM_OPEN: return EMFILE;
    case F_SHM_UNLINK: case F_UNLINK: return EACCES;
    case F_FSTAT: return EIO;
    case F_OPEN: return EMFILE;
    case F_LINKAT: return EIO;
    case F_LSTAT: return EIO;
    case F_ACCESS: return ENOENT;
    case F_PWRITE: return EIO;
    case F_FCHMOD: return EIO;
    case F_MMAP: return ENOMEM;
    case F_MUNMAP: return EINVAL;
    case F_MADVISE: return detail == MADV_HUGEPAGE ? EINVAL : ENOMEM;
    case F_FALLOCATE: return EIO;
    case F_FTRUNCATE: return EIO;
    case F_STATVFS: case F_FSTATVFS: return EIO;
    case F_CLOSE: return EIO;
    case F_SYSCONF: return EINVAL;
    case F_GETRLIMIT: return EINVAL;
    case F_FOPEN: return ENOENT;
    case F_MALLOC: return ENOMEM;
    case F_SHMGET: return (detail & IPC_CREAT) ? ENOMEM : EACCES;
    case F_SHMAT: return ENOMEM;
    case F_SHMDT: return EINVAL;
    case F_SHMCTL: return detail == IPC_STAT ? EACCES
                          : detail == IPC_SET || detail == IPC_RMID ? EPERM
                          : EINVAL;
    default: return 0;
    }
}

/* The call that, failing, only loses a hint or a clean-up. */
static int harmless(const struct call *c)
{
    switch (c->fn) {
    case F_CLOSE: case F_SYSCONF: case F_GETRLIMIT: case F_FOPEN:
    case F_STATVFS: case F_FSTATVFS:
        return 1;
    case F_LSTAT: /* ushm_unlink's look at what holds the name */
        return 1;
    case F_MADVISE:
        return c->detail == MADV_HUGEPAGE;
    case F_SHMCTL:
        return c->detail != IPC_STAT && c->detail != IPC_SET &&
               c->detail != IPC_RMID;
    default:
        return 0;
    }
}

/* A plain SysV join is first tried unmeasured (shmget, shmat: lib/open.c,
 * sysv-size-lazy.c); a call of it that fails sends the join the measured
 * way, which the counting run did not take, and which succeeds. */
static int unmeasured_join(const struct scen *s, const struct call *c)
{
#if USHM_SYSV_SIZE_LAZY
    return !posix && s->op == OP_OPEN && s->flags == 0 && !s->anon &&
           (c->fn == F_SHMGET || c->fn == F_SHMAT);
#else
    (void)s;
    (void)c;
    return 0;
#endif
}

static const char *keyword(int fn)
{
    return fn == F_MALLOC ? "out of memory" : fn_name[fn];
}

/* What failing call i of the counting run base with err must give. */
static void sweep_expect(const struct scen *s, const struct outcome *base,
                         int i, int err, struct expect *w)
{
    const struct call *c = &base->seq[i];

    memset(w, 0, sizeof *w);
    w->created = base->rc == 0 ? base->created : -1;
    w->rc = base->rc;
    if (err == EINTR)
        return; /* retried: as if nothing happened */
    if (c->fn == F_FOPEN) {
        int first_meminfo = 1;

        for (int j = 0; j < i; j++)
            if (base->seq[j].fn == F_FOPEN && strstr(base->seq[j].path, "meminfo"))
                first_meminfo = 0;
        if (posix && s->anon && (s->flags & USHM_HUGEPAGES) && first_meminfo &&
            strstr(c->path, "meminfo")) {
            /* No huge page size known: ENOTSUP instead of trying. */
            w->rc = -ENOTSUP;
            w->kw = "huge page size";
            w->created = -1;
        } else if (base->rc == 0 && (strstr(c->path, "mounts") ||
                                     strstr(c->path, "shmem_enabled"))) {
            w->alt_rc = -ENOTSUP; /* THP no longer seen as on */
        }
        return;
    }
    if (s->op == OP_OPEN && (c->fn == F_SHM_UNLINK || c->fn == F_UNLINK ||
                             (base->rc != 0 && (c->fn == F_FSTAT ||
                                                c->fn == F_LSTAT)))) {
        /* Undoing a failed creation (the fallback removes the name it made
         * once fstat and lstat say it is still its own): the failure stays
         * the first one, and the size-0 name may stay. */
        w->allow = ALLOW_ZERO_LEFT;
        return;
    }
    if (harmless(c) || unmeasured_join(s, c))
        return;
    if (s->op == OP_OPEN && (c->fn == F_MUNMAP || c->fn == F_SHMDT)) {
        w->allow = ALLOW_MAP_LEFT;
        return;
    }
    w->rc = -err;
    w->kw = keyword(c->fn);
    w->created = -1;
    if (c->fn == F_SHMCTL && c->detail == IPC_RMID && s->op == OP_OPEN)
        w->allow = ALLOW_SYSV_LEFT;
    if (s->op == OP_CLOSE)
        w->allow = ALLOW_MAP_LEFT;
}

static int retried_on_eintr(const struct call *c)
{
    switch (c->fn) {
    case F_SHM_OPEN: case F_FALLOCATE: case F_FTRUNCATE: case F_PWRITE:
        return 1;
    case F_MADVISE:
        return is_populate(c->detail);
    default:
        return 0;
    }
}

static int baseline_ok(const struct scen *s, const struct outcome *o)
{
    if (o->rc == 0)
        return 1;
    /* Huge pages may be missing here: a clean refusal is a baseline too. */
    return (s->flags & USHM_HUGEPAGES) &&
           (o->rc == -ENOTSUP || o->rc == -ENOMEM || o->rc == -EPERM ||
            o->rc == -EINVAL || o->rc == -ENOSPC);
}

static struct outcome base;

void sweep_scenario(const struct scen *s)
{
    if (s->posix_only && !posix)
        return;
    if (run_case(s, NULL, 0, NULL, "none", &base) < 0 || !baseline_ok(s, &base)) {
        printf("# %s: the counting run did not succeed (%s): no sweep\n",
               s->label, ushm_strerror(base.rc));
        fc_failed++;
        return;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < base.nseq; i++) {
            const struct call *c = &base.seq[i];
            struct inj inj = { 0 };
            struct expect w;
            char desc[160], what[80];
            int nth = 0, err;

            if (c->fn == F_GETEUID)
                continue; /* cannot fail */
            if (pass == 1 && !retried_on_eintr(c))
                continue;
            for (int j = 0; j <= i; j++)
                if (base.seq[j].fn == c->fn)
                    nth++;
            err = pass == 0 ? sweep_errno(c->fn, c->detail) : EINTR;
            inj.fn = c->fn;
            inj.nth = nth;
            inj.count = pass == 0 ? 1 : 3;
            inj.err = err;
            inj.act = ACT_FAIL;
            sweep_expect(s, &base, i, err, &w);
            describe_call(c, what, sizeof what);
            snprintf(desc, sizeof desc, "%s #%d -> %s%s", what, nth,
                     errname(err), pass == 1 ? " x3" : "");
            run_case(s, &inj, 1, &w, desc, NULL);
        }
    }
}
