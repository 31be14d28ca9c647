/* SPDX-License-Identifier: MIT */
/* The helpers the neighbours-*.c files share: deadlines, snapshots, failed_right, squatters. */
#include "common.h" /* first: it asks for _GNU_SOURCE */
#include "neighbours-common.h"

int neighbour_end_call(int rc)
{
    deadline_end();
    return rc;
}

/* Does s contain one of the '|'-separated words, ignoring case? */
static int names_one_of(const char *s, const char *words)
{
    char w[64];

    while (*words) {
        size_t n = strcspn(words, "|");
        snprintf(w, sizeof w, "%.*s", (int)n, words);
        if (strcasestr(s, w) != NULL)
            return 1;
        words += n + (words[n] == '|');
    }
    return 0;
}

void snap_take(const char *path, struct snap *s)
{
    struct stat sb;
    ssize_t n;

    memset(s, 0, sizeof *s);
    /* Where objects are no files (FreeBSD, macOS), only an object can hold
     * the name: looked at through shm_open (path is "/dev/shm" + name). */
    if (!fc_objects_are_files() && strncmp(path, "/dev/shm/", 9) == 0
            ? fc_posix_look(path + strlen("/dev/shm"), &sb) != 0
            : lstat(path, &sb) != 0)
        return;
    s->exists = 1;
    s->dev = sb.st_dev;
    s->ino = sb.st_ino;
    s->mode = sb.st_mode;
    s->uid = sb.st_uid;
    s->size = sb.st_size;
    if (S_ISLNK(sb.st_mode) && (n = readlink(path, s->link, sizeof s->link - 1)) > 0)
        s->link[n] = '\0';
}

/* 0 when a and b are the same object, unchanged; else why in msg. */
int snap_same(const struct snap *a, const struct snap *b, const char *after,
              char *msg, size_t len)
{
    if (!b->exists)
        snprintf(msg, len, "after %s the squatter's object is gone", after);
    else if (a->dev != b->dev || a->ino != b->ino)
        snprintf(msg, len, "after %s the name holds another object (inode %lu -> %lu)",
                 after, (unsigned long)a->ino, (unsigned long)b->ino);
    else if (a->mode != b->mode)
        snprintf(msg, len, "after %s the mode changed: 0%o -> 0%o", after,
                 (unsigned)a->mode, (unsigned)b->mode);
    else if (a->uid != b->uid)
        snprintf(msg, len, "after %s the owner changed: %ld -> %ld", after,
                 (long)a->uid, (long)b->uid);
    else if (a->size != b->size)
        snprintf(msg, len, "after %s the size changed: %lld -> %lld", after,
                 (long long)a->size, (long long)b->size);
    else if (strcmp(a->link, b->link) != 0)
        snprintf(msg, len, "after %s the symlink points to %s, not %s", after, b->link, a->link);
    else
        return 0;
    return 1;
}

/*
 * A failed call: rc is want, *shm (when given) is NULL, the message is not
 * empty, names canon and the call ("call(...)"), and names one of words
 * when given.
 */
int failed_right(const char *what, int rc, int want, ushm_t *h, const char *canon,
                 const char *words, char *msg, size_t len)
{
    const char *m = last_err();

    if (rc != want)
        snprintf(msg, len, "%s = %d (%s), want %d (%s); last error: %s", what, rc, rcstr(rc),
                 want, rcstr(want), m);
    else if (h != NULL)
        snprintf(msg, len, "%s failed with %d but left a handle", what, rc);
    else if (m[0] == '\0' || strstr(m, canon) == NULL)
        snprintf(msg, len, "%s = %d: ushm_last_error() \"%s\" does not name %s", what, rc, m,
                 canon);
    else if (strchr(m, '(') == NULL)
        snprintf(msg, len, "%s = %d: ushm_last_error() \"%s\" does not name the call", what,
                 rc, m);
    else if (words != NULL && !names_one_of(m, words))
        snprintf(msg, len, "%s = %d: ushm_last_error() \"%s\" does not say what is there (%s)",
                 what, rc, m, words);
    else
        return 0;
    return 1;
}

int squat_begin(struct squatter *sq, squat_fn make, const char *path, const void *arg,
                int how, char *msg, size_t len)
{
    int hold = how & SQ_HOLD;
    int rep[2], rel[2];
    char buf[512];
    ssize_t n;
    int status;

    sq->pid = -1;
    sq->release = -1;
    CHILD_EXPECT(pipe(rep) == 0 && pipe(rel) == 0, "pipe: %s", strerror(errno));
    sq->pid = guard_fork();
    CHILD_EXPECT(sq->pid >= 0, "fork: %s", strerror(errno));
    if (sq->pid == 0) {
        char why[512] = "";
        char c;
        int rc;

        close(rep[0]);
        close(rel[1]);
        umask(0);
        rc = (how & SQ_SAME_USER) ? 0 : drop_to_nobody(why, sizeof why);
        if (rc == 0 && make(path, arg, why, sizeof why) != 0)
            rc = 1;
        if (rc == 0)
            snprintf(why, sizeof why, "ok");
        n = write(rep[1], why, strlen(why));
        close(rep[1]);
        if (rc == 0 && hold)
            while (read(rel[0], &c, 1) < 0 && errno == EINTR)
                ;
        _exit(rc == 0 && n > 0 ? 0 : 1);
    }
    close(rep[1]);
    close(rel[0]);
    sq->release = rel[1];
    deadline_begin(10, "waiting for the squatter to make %s", path);
    n = read(rep[0], buf, sizeof buf - 1);
    deadline_end();
    close(rep[0]);
    buf[n > 0 ? n : 0] = '\0';
    if (strcmp(buf, "ok") != 0) {
        close(sq->release);
        sq->release = -1;
        waitpid(sq->pid, &status, 0);
        sq->pid = -1;
        snprintf(msg, len, "the squatter (%s) could not make %s: %s",
                 (how & SQ_SAME_USER) ? "our user" : "nobody", path, buf);
        return 2;
    }
    if (!hold) {
        close(sq->release);
        sq->release = -1;
        waitpid(sq->pid, &status, 0);
        sq->pid = -1;
    }
    return 0;
}

void squat_end(struct squatter *sq)
{
    int status;

    if (sq->release >= 0)
        close(sq->release);
    sq->release = -1;
    if (sq->pid > 0)
        waitpid(sq->pid, &status, 0);
    sq->pid = -1;
}
