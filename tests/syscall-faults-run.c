/* SPDX-License-Identifier: MIT */
/*
 * The runner: set a scenario up, run it with the injections, and check
 * the result, the error message and what was left behind.
 */
#include "syscall-faults.h"

/* ------------------------------------------------------------------ */
/* Scenarios and cases.                                                 */

struct current_case cur;

static char sentinel[512];

/* A known last_error, so that a failure that writes none is seen. */
static void seed_last_error(void)
{
    ushm_unlink("");
    snprintf(sentinel, sizeof sentinel, "%s", ushm_last_error());
}

const char *errname(int e)
{
    return fc_errno_name(e < 0 ? -e : e);
}

static const char *op_name(int op)
{
    switch (op) {
    case OP_OPEN: return "ushm_open";
    case OP_CLOSE: return "ushm_close";
    case OP_UNLINK: return "ushm_unlink";
    case OP_SIZE: return "ushm_size";
    default: return "ushm_stat";
    }
}

/* S_JOINED_HELD's mutex, held by this thread until the case ends. */
static ushm_mutex_t *held_mutex;

static int setup_case(const struct scen *s, ushm_t **h, void **addr,
                      size_t *len, char *why, size_t whylen)
{
    ushm_t *tmp = NULL;
    int rc, fd;

    *h = NULL;
    cur.name[0] = '\0';
    cur.gone = 0;
    if (!s->anon)
        snprintf(cur.name, sizeof cur.name, "%s", new_name());
    switch (s->setup) {
    case S_EXISTING:
    case S_OPEN:
    case S_JOINED:
    case S_JOINED_HELD:
        if (posix) {
            /* Made the plain way, so that no creation by the library
             * settles its choices before a case (run_case_forked). */
            /* (macOS's shm_open keeps the mode; its fchmod is EINVAL.) */
            fd = shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL,
                          fc_is_macos() ? 0640 : 0600);
            if (fd == -1 || ftruncate(fd, (off_t)exist_size) == -1 ||
                (!fc_is_macos() && fchmod(fd, 0640) == -1)) {
                snprintf(why, whylen, "setup shm_open: %s", strerror(errno));
                if (fd != -1)
                    close(fd);
                return -1;
            }
            close(fd);
        } else {
            rc = ushm_open(&tmp, cur.name, exist_size,
                           USHM_CREATE | USHM_EXCL, 0640);
            if (rc < 0) {
                snprintf(why, whylen, "setup ushm_open: %s",
                         ushm_last_error());
                return -1;
            }
            ushm_close(tmp);
        }
        if (s->setup == S_EXISTING)
            break;
        rc = ushm_open(h, cur.name, 0, 0, 0);
        if (rc < 0) {
            snprintf(why, whylen, "setup ushm_open: %s", ushm_last_error());
            return -1;
        }
        if (s->setup == S_JOINED_HELD) {
            held_mutex = ushm_addr(*h);
            if ((rc = ushm_mutex_lock(held_mutex)) != 0) {
                snprintf(why, whylen, "setup ushm_mutex_lock: %s",
                         ushm_last_error());
                held_mutex = NULL;
                ushm_close(*h);
                *h = NULL;
                return -1;
            }
        }
        if (s->setup != S_OPEN) {
            *addr = ushm_addr(*h); /* its size is the case's to ask */
            return 0;
        }
        break;
    case S_OPEN_ANON:
        rc = ushm_open(h, NULL, seg_size, USHM_CREATE, 0640);
        if (rc < 0) {
            snprintf(why, whylen, "setup ushm_open: %s", ushm_last_error());
            return -1;
        }
        break;
    case S_HALF:
        /* What a creator that died before giving it a size leaves. */
        fd = shm_open(cur.name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd == -1) {
            snprintf(why, whylen, "setup shm_open: %s", strerror(errno));
            return -1;
        }
        close(fd);
        break;
    default:
        break;
    }
    if (*h != NULL) {
        *addr = ushm_addr(*h);
        *len = ushm_size(*h);
    }
    return 0;
}

static void teardown_case(void)
{
    if (cur.name[0] != '\0')
        remove_name(cur.name);
    if (!posix)
        remove_private_segments();
}

void describe_call(const struct call *c, char *buf, size_t len)
{
    const char *d = "";
    char tmp[64];

    switch (c->fn) {
    case F_SHM_OPEN:
        d = (c->detail & O_EXCL) ? "O_EXCL"
            : (c->detail & O_ACCMODE) == O_RDONLY ? "O_RDONLY" : "O_RDWR";
        break;
    case F_OPEN:
        d = SF_TMPFILE(c->detail) ? "O_TMPFILE" : c->path;
        break;
    case F_LINKAT:
        d = (c->detail & AT_EMPTY_PATH) ? "AT_EMPTY_PATH" : "/proc/self/fd";
        break;
    case F_MMAP:
        d = (MAP_HUGETLB && (c->detail & MAP_HUGETLB)) ? "MAP_HUGETLB"
            : (c->detail & MAP_ANONYMOUS) ? "MAP_ANONYMOUS" : "";
        break;
    case F_MADVISE:
        if (c->detail == MADV_HUGEPAGE)
            d = "MADV_HUGEPAGE";
#ifdef MADV_POPULATE_WRITE
        else if (c->detail == MADV_POPULATE_WRITE)
            d = "MADV_POPULATE_WRITE";
#endif
#ifdef MADV_POPULATE_READ
        else if (c->detail == MADV_POPULATE_READ)
            d = "MADV_POPULATE_READ";
#endif
        break;
    case F_SHMGET:
        d = (c->detail & IPC_EXCL) ? "IPC_EXCL"
            : (c->detail & IPC_CREAT) ? "IPC_CREAT" : "lookup";
        break;
    case F_SHMCTL:
        d = c->detail == IPC_STAT ? "IPC_STAT" : c->detail == IPC_SET ? "IPC_SET"
            : c->detail == IPC_RMID ? "IPC_RMID" : "SHM_INFO";
#ifdef SHM_STAT_ANY
        if (c->detail == SHM_STAT_ANY)
            d = "SHM_STAT_ANY";
#endif
        break;
    case F_FOPEN:
        d = c->path;
        break;
    case F_GETRLIMIT:
        d = c->detail == RLIMIT_NOFILE ? "RLIMIT_NOFILE"
            : c->detail == RLIMIT_FSIZE ? "RLIMIT_FSIZE" : "RLIMIT_AS";
        break;
    default:
        break;
    }
    if (d[0] != '\0')
        snprintf(tmp, sizeof tmp, "%s(%s)", fn_name[c->fn], d);
    else
        snprintf(tmp, sizeof tmp, "%s", fn_name[c->fn]);
    snprintf(buf, len, "%s", tmp);
}

int is_populate(long advice)
{
#ifdef MADV_POPULATE_WRITE
    if (advice == MADV_POPULATE_WRITE)
        return 1;
#endif
#ifdef MADV_POPULATE_READ
    if (advice == MADV_POPULATE_READ)
        return 1;
#endif
    (void)advice;
    return 0;
}

/*
 * Run scenario s with the injections inj[0..ninj): set it up, call the
 * operation, check the outcome against want (NULL: the counting run, which
 * only records what happens) and print the line.
 */
int run_case(const struct scen *s, const struct inj *inj, int ninj,
             const struct expect *want, const char *desc,
             struct outcome *out)
{
    struct snap before, after;
    ushm_t *h = NULL, *made = NULL;
    struct ushm_stat st;
    void *addr = NULL;
    size_t len = 0, size = s->sized ? seg_size : 0;
    char why[600] = "", got[700] = "", left[600] = "", msg[512];
    int rc = 0, maps_during, fds_after, ok = 1, created = -1, leak = 0;
    size_t got_size = 0;

    if (want != NULL && getenv("SF_ONLY") != NULL &&
        strstr(desc, getenv("SF_ONLY")) == NULL)
        return 0; /* SF_ONLY=text: only the cases whose line has it */
    if (setup_case(s, &h, &addr, &len, why, sizeof why) < 0) {
        fc_line("INJECT", 0, 4, s->label, desc, why, "-");
        teardown_case();
        return -1;
    }
    cur.before = &before;
    snap_take(&before);
    seed_last_error();

    if (ninj > 0)
        memcpy(plan, inj, sizeof *inj * (size_t)ninj);
    nplan = ninj;
    for (int i = 0; i < nplan; i++)
        plan[i].seen = plan[i].hits = 0;
    nseq = 0;
    leaked_addr = NULL;
    armed = 1;
    switch (s->op) {
    case OP_OPEN:
        made = (ushm_t *)&made; /* must become NULL or a handle */
        rc = ushm_open(&made, s->anon ? NULL : cur.name, size, s->flags,
                       s->mode);
        break;
    case OP_CLOSE:
        rc = ushm_close(h);
        break;
    case OP_UNLINK:
        rc = ushm_unlink(cur.name);
        break;
    case OP_STAT:
        rc = ushm_stat(cur.name, &st);
        break;
    case OP_SIZE:
        got_size = ushm_size(h);
        rc = got_size != 0 ? 0 : -ENODATA; /* 0: it could not be read */
        break;
    }
    armed = 0;
    snprintf(msg, sizeof msg, "%s", ushm_last_error());
    if (leaked_addr != NULL && s->op != OP_CLOSE) {
        /* A clean-up munmap that was failed on purpose: remove what it
         * left, so that the counts below see the rest. */
        __real_munmap(leaked_addr, leaked_len);
        leak = 1;
    }
    leaked_addr = NULL;
    fds_after = fc_count_fds();
    maps_during = fc_count_maps();
    if (s->op == OP_OPEN && rc == 0) {
        created = ushm_created(made);
        got_size = ushm_size(made);
    }
    if (out != NULL) {
        out->rc = rc;
        out->created = created;
        out->nseq = nseq;
        memcpy(out->seq, seq, sizeof seq[0] * (size_t)nseq);
    }

    if (rc == 0 && s->op == OP_OPEN)
        snprintf(got, sizeof got, "%s 0 created=%d", op_name(s->op), created);
    else
        snprintf(got, sizeof got, "%s %s%s", op_name(s->op), rc < 0 ? "-" : "",
                 rc < 0 ? errname(rc) : "0");

    for (int i = 0; i < nplan; i++)
        if (plan[i].hits == 0) {
            ok = 0;
            addf(got, sizeof got, "injection %d (%s) not reached", i + 1,
                 fn_name[plan[i].fn]);
        }
    if (fds_after != before.fds) {
        ok = 0;
        addf(left, sizeof left, "%+d fd", fds_after - before.fds);
    }
    if (leak) {
        if (want != NULL && !(want->allow & ALLOW_MAP_LEFT))
            ok = 0;
        addf(left, sizeof left, "a mapping stayed (its munmap was the failed "
             "call; the test removed it)");
    }

    if (want != NULL && rc != want->rc &&
        !(want->alt_rc != 0 && rc == want->alt_rc)) {
        ok = 0;
        addf(got, sizeof got, "want %s%s", want->rc == 0 ? "" : "-",
             want->rc == 0 ? "success" : errname(want->rc));
    }

    if (rc == 0) {
        switch (s->op) {
        case OP_OPEN: {
            /* An existing segment keeps its size; anything made here, or
             * completed by a hook, has seg_size. */
            size_t want_size = s->setup == S_EXISTING && !created
                               ? exist_size : seg_size;

            if (made == NULL || ushm_addr(made) == NULL) {
                ok = 0;
                addf(got, sizeof got, "no handle");
                break;
            }
            if (want != NULL && want->created >= 0 && created != want->created) {
                ok = 0;
                addf(got, sizeof got, "want created=%d", want->created);
            }
            /* A later handle sees whole pages on macOS. */
            if (created != 1)
                want_size = fc_size_seen(want_size);
            if (got_size != want_size) {
                ok = 0;
                addf(got, sizeof got, "size %zu, want %zu", got_size, want_size);
            }
            if (created == 1 && !s->anon) {
                /* What was made is whole, with exactly the mode asked. */
                mode_t want_mode = s->mode != 0 ? s->mode : 0600;
                int src = ushm_stat(cur.name, &st);

                if (src == 0 &&
                    (st.mode != want_mode || st.size != fc_size_seen(seg_size))) {
                    ok = 0;
                    addf(got, sizeof got, "made with mode 0%o and %zu bytes, "
                         "want 0%o and %zu", (unsigned)st.mode, st.size,
                         (unsigned)want_mode, seg_size);
                } else if (src != 0 && !(src == -ENOENT && cur.gone)) {
                    ok = 0;
                    addf(got, sizeof got, "ushm_stat of what was made: %s",
                         errname(src));
                }
            }
            if (maps_during != before.maps + 1) {
                ok = 0;
                addf(left, sizeof left, "%+d mappings while open",
                     maps_during - before.maps);
            }
            if (!(s->flags & USHM_RDONLY) &&
                fc_touch_all(ushm_addr(made), got_size, created, why,
                             sizeof why) < 0) {
                ok = 0;
                addf(got, sizeof got, "%s", why);
            }
            if (ushm_close(made) != 0) {
                ok = 0;
                addf(got, sizeof got, "ushm_close: %s", ushm_last_error());
            }
            made = NULL;
            if (fc_count_maps() != before.maps) {
                ok = 0;
                addf(left, sizeof left, "%+d mappings after close",
                     fc_count_maps() - before.maps);
            }
            break;
        }
        case OP_CLOSE:
            if (maps_during != before.maps - 1) {
                ok = 0;
                addf(left, sizeof left, "%+d mappings after close",
                     maps_during - (before.maps - 1));
            }
            break;
        case OP_UNLINK:
            if (ushm_stat(cur.name, &st) != -ENOENT) {
                ok = 0;
                addf(got, sizeof got, "the name is still there");
            }
            break;
        case OP_SIZE:
            if (got_size != fc_size_seen(exist_size)) {
                ok = 0;
                addf(got, sizeof got, "size %zu, want %zu", got_size,
                     fc_size_seen(exist_size));
            }
            break;
        case OP_STAT:
            if (st.size != fc_size_seen(exist_size) || st.mode != 0640) {
                ok = 0;
                addf(got, sizeof got, "stat size %zu mode 0%o", st.size,
                     (unsigned)st.mode);
            }
            break;
        }
    } else {
        /* A failure: clean, named, and nothing left. */
        const char *label = s->anon ? "anonymous" : cur.name;

        if (s->op == OP_OPEN && made != NULL) {
            ok = 0;
            addf(got, sizeof got, "*shm not NULL");
            made = NULL;
        }
        if (strcmp(msg, sentinel) == 0 || msg[0] == '\0') {
            ok = 0;
            addf(got, sizeof got, "last_error not written");
        } else if (want != NULL && want->kw != NULL && strstr(msg, want->kw) == NULL) {
            ok = 0;
            addf(got, sizeof got, "last_error lacks '%s'", want->kw);
        } else if (strstr(msg, label) == NULL) {
            ok = 0;
            addf(got, sizeof got, "last_error lacks the segment '%s'", label);
        }
        if (maps_during != before.maps) {
            if (want != NULL && (want->allow & ALLOW_MAP_LEFT) &&
                maps_during == before.maps + (s->op == OP_CLOSE ? 0 : 1)) {
                addf(left, sizeof left, "mapping stays (its removal was the "
                     "failed call)");
            } else {
                ok = 0;
                addf(left, sizeof left, "%+d mappings", maps_during - before.maps);
            }
        }
        snap_sets(&after);
        for (int i = 0; i < after.ndev; i++) {
            const struct entry *b = find_dev(&before, after.dev[i].name);

            if (b != NULL && b->size == after.dev[i].size)
                continue;
            if (b == NULL && after.dev[i].size == 0 && want != NULL &&
                (want->allow & ALLOW_ZERO_LEFT)) {
                addf(left, sizeof left, "size-0 %s stays (its shm_unlink was "
                     "the failed call; API: counts as missing)",
                     after.dev[i].name);
                continue;
            }
            ok = 0;
            if (b == NULL)
                addf(left, sizeof left, "/dev/shm%s (%lld bytes)",
                     after.dev[i].name, after.dev[i].size);
            else
                addf(left, sizeof left, "/dev/shm%s went from %lld to %lld bytes",
                     after.dev[i].name, b->size, after.dev[i].size);
        }
        for (int i = 0; i < before.ndev; i++)
            if (before.dev[i].size != 0 && find_dev(&after, before.dev[i].name) == NULL) {
                ok = 0;
                addf(left, sizeof left, "existing %s was removed",
                     before.dev[i].name);
            }
        for (int i = 0; i < after.nsv; i++) {
            const struct sv_row *b = find_sv(&before, after.sv[i].id);

            if (b != NULL)
                continue;
            if (want != NULL && (want->allow & ALLOW_SYSV_LEFT)) {
                addf(left, sizeof left, "SysV id %d stays (its IPC_RMID was "
                     "the failed call)", after.sv[i].id);
                continue;
            }
            ok = 0;
            addf(left, sizeof left, "SysV id %d key 0x%08lx (%lu bytes)",
                 after.sv[i].id, (unsigned long)after.sv[i].key,
                 after.sv[i].size);
        }
        for (int i = 0; i < before.nsv; i++)
            if (find_sv(&after, before.sv[i].id) == NULL) {
                ok = 0;
                addf(left, sizeof left, "existing SysV id %d was removed",
                     before.sv[i].id);
            }
        if (s->op == OP_CLOSE && rc != -EBUSY && maps_during == before.maps) {
            /* The unmapping failed, so the test does it (a close refused
             * with -EBUSY keeps the handle: closed below). */
            if (posix)
                __real_munmap(addr, len);
            else
                __real_shmdt(addr);
        }
    }
    {
        sigset_t now;

        pthread_sigmask(SIG_BLOCK, NULL, &now);
        if (!same_mask(&now, &before.mask)) {
            ok = 0;
            addf(left, sizeof left, "signal mask changed");
            pthread_sigmask(SIG_SETMASK, &before.mask, NULL);
        }
    }
    if (want != NULL && want->note != NULL)
        addf(got, sizeof got, "%s", want->note);
    if (left[0] == '\0')
        snprintf(left, sizeof left, "none");
    if (want == NULL) {
        /* The counting run: print the sequence. */
        char list[600] = "none (counting:";

        for (int i = 0; i < nseq; i++) {
            char c[80];

            describe_call(&seq[i], c, sizeof c);
            if (strlen(list) + strlen(c) + 3 < sizeof list) {
                strcat(list, " ");
                strcat(list, c);
            }
        }
        strcat(list, ")");
        fc_line("INJECT", ok, 4, s->label, list, got, left);
    } else {
        fc_line("INJECT", ok, 4, s->label, desc, got, left);
    }
    if (!ok) {
        char list[600] = "";

        for (int i = 0; i < nseq; i++) {
            char c[80];

            describe_call(&seq[i], c, sizeof c);
            if (strlen(list) + strlen(c) + 3 < sizeof list) {
                strcat(list, " ");
                strcat(list, c);
            }
        }
        printf("#   last_error: %s\n#   calls:%s\n", msg, list);
    }
    if (held_mutex != NULL) {
        ushm_mutex_unlock(held_mutex);
        held_mutex = NULL;
    }
    /* A close refused with -EBUSY keeps the handle. */
    if (h != NULL && (s->op != OP_CLOSE || rc == -EBUSY) && ushm_close(h) != 0) {
        printf("# %s: %s: the handle could not be closed after the case: %s\n",
               s->label, desc, ushm_last_error());
        fc_failed++;
    }
    teardown_case();
    return ok ? 0 : -1;
}

#if USHM_ATOMIC_PUBLISH
/*
 * run_case() in a child process, for the cases whose outcome the library
 * remembers for the rest of the process (which linkat() route works, that
 * O_TMPFILE does not): they must start from a process that has not created
 * anything yet, and leave the parent's choice alone.  POSIX only: the
 * child's SysV segments would not be recognised as this program's.
 */
void run_case_forked(const struct scen *s, const struct inj *inj,
                     int ninj, const struct expect *want,
                     const char *desc)
{
    const char *name;
    int status;
    pid_t pid;

    fflush(stdout);
    pid = fork();
    if (pid == -1) {
        fc_line("INJECT", 0, 4, s->label, desc, strerror(errno), "-");
        return;
    }
    if (pid == 0) {
        int rc = run_case(s, inj, ninj, want, desc, NULL);

        fflush(stdout);
        _exit(rc == 0 ? 0 : 1);
    }
    name = new_name(); /* the one the child took */
    while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
        ;
    remove_name(name);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        fc_passed++;
    } else {
        fc_failed++;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 1)
            printf("# %s: %s: the child ended with status 0x%x\n", s->label,
                   desc, status);
    }
}
#endif
