/* SPDX-License-Identifier: MIT */
/*
 * demo: a producer and a consumer process pass five messages through a
 * named segment, /ushm-demo-PID; exit status 0 if every message arrived
 * intact.  "ushm demo" runs this same code (demo_run(), in demo.h).
 *
 * The parent produces, a forked child consumes, through one message slot in
 * the segment.  The slot's mutex guards the message and the answer; the
 * producer notifies the event "sent" after each message, the consumer
 * notifies "answered" once it has its mapping and after checking each
 * message.  Nobody polls or sleeps.  The name is unlinked as soon as the
 * child has opened it, so nothing is left behind whatever happens next;
 * termination signals are held until then.
 *
 * Build: cc -std=c11 $(pkg-config --cflags ushm) demo.c \
 *            $(pkg-config --libs ushm) -o demo
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "demo.h"

#define DEMO_MESSAGES 5
#define DEMO_PATIENCE_MS 10000L

struct demo_slot {
    ushm_mutex_t lock;      /* guards everything below */
    ushm_event_t sent;      /* notified by the producer */
    ushm_event_t answered;  /* notified by the consumer */
    uint32_t opened;        /* 1 once the consumer has its own mapping */
    uint32_t stop;          /* 1: the producer gives up, no more messages */
    uint32_t seq;           /* 1..DEMO_MESSAGES once the message is written */
    uint32_t sum;           /* checksum() of text, to check it arrived intact */
    uint32_t checked;       /* the last seq the consumer checked */
    uint32_t intact;        /* and whether it was intact */
    char text[56];
};

static const char *me = "demo";    /* what messages on stderr begin with */

/* Bernstein's hash of the text: enough to see that it arrived intact. */
static uint32_t checksum(const char *s)
{
    uint32_t h = 5381;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = h * 33 + *p;
    return h;
}

/* A call of the library failed: its own sentence says which and why. */
static int library_error(void)
{
    fprintf(stderr, "%s: %s\n", me, ushm_last_error());
    return 1;
}

static void demo_text(char *buf, size_t len, unsigned i, long pid)
{
    snprintf(buf, len, "message %u of %d from producer %ld", i, DEMO_MESSAGES, pid);
}

/* Lock the slot.  Each field is written whole under the lock, so a holder
 * that died (USHM_OWNERDEAD) left nothing to repair. */
static int demo_lock(struct demo_slot *slot, const char *who)
{
    if (ushm_mutex_lock(&slot->lock) < 0) {
        fprintf(stderr, "%s: %s: %s\n", me, who, ushm_last_error());
        return -1;
    }
    return 0;
}

static int demo_consumer(const char *name, long producer)
{
    struct demo_slot *slot;
    unsigned intact = 0, done = 0;
    ushm_t *shm;

    if (ushm_open(&shm, name, 0, 0, 0) < 0) {
        fprintf(stderr, "%s: consumer: %s\n", me, ushm_last_error());
        return 1;
    }
    printf("consumer %ld: opened %s (%zu bytes)\n", (long)getpid(),
           ushm_name(shm), ushm_size(shm));
    fflush(stdout);
    slot = ushm_addr(shm);
    if (demo_lock(slot, "consumer") < 0)
        goto out;
    slot->opened = 1;
    ushm_mutex_unlock(&slot->lock);
    ushm_event_notify(&slot->answered);

    while (done < DEMO_MESSAGES) {
        /* Read the event before looking, so a notify in between counts. */
        unsigned seen = ushm_event_read(&slot->sent), seq, stop;
        char text[sizeof slot->text], want[sizeof slot->text];
        uint32_t sum;
        int ok = 0;

        if (demo_lock(slot, "consumer") < 0)
            break;
        seq = slot->seq;
        stop = slot->stop;
        sum = slot->sum;
        memcpy(text, slot->text, sizeof text);
        if (seq == done + 1) {
            demo_text(want, sizeof want, seq, producer);
            ok = memchr(text, '\0', sizeof text) != NULL && sum == checksum(text) &&
                 strncmp(text, want, sizeof want) == 0;
            slot->checked = seq;
            slot->intact = (uint32_t)ok;
        }
        ushm_mutex_unlock(&slot->lock);
        if (stop)
            break;
        if (seq != done + 1) {
            if (ushm_event_wait(&slot->sent, seen, DEMO_PATIENCE_MS) < 0) {
                fprintf(stderr, "%s: consumer: %s\n", me, ushm_last_error());
                break;
            }
            continue;
        }
        done = seq;
        intact += ok;
        printf("consumer: received #%u: \"%.*s\" %s\n", seq, (int)sizeof text,
               text, ok ? "(intact)" : "(CORRUPT)");
        fflush(stdout);
        ushm_event_notify(&slot->answered);
    }
out:
    ushm_close(shm);
    return intact == DEMO_MESSAGES ? 0 : 1;
}

/*
 * Wait until *field (read under the lock) reaches want, or the consumer has
 * exited (then reaped into *wstatus).  0 when it did.
 */
static int demo_await(struct demo_slot *slot, const uint32_t *field,
                      uint32_t want, pid_t child, int *wstatus, int *reaped)
{
    for (long waited = 0; waited < DEMO_PATIENCE_MS; waited += 100) {
        unsigned seen = ushm_event_read(&slot->answered);
        uint32_t v;
        int err;

        if (demo_lock(slot, "producer") < 0)
            return -1;
        v = *field;
        ushm_mutex_unlock(&slot->lock);
        if (v == want)
            return 0;
        err = ushm_event_wait(&slot->answered, seen, 100);
        if (err < 0 && err != -ETIMEDOUT) {
            fprintf(stderr, "%s: producer: %s\n", me, ushm_last_error());
            return -1;
        }
        if (err == -ETIMEDOUT && waitpid(child, wstatus, WNOHANG) == child) {
            *reaped = 1;
            return -1;
        }
    }
    fprintf(stderr, "%s: producer: no answer from the consumer in %ld s\n", me,
            DEMO_PATIENCE_MS / 1000);
    return -1;
}

int demo_run(const char *who)
{
    ushm_t *shm;
    struct demo_slot *slot;
    char name[USHM_NAME_MAX + 1];
    int wstatus = 0, status = 1, unlinked = 0, reaped = 0;
    unsigned delivered = 0;
    long self = (long)getpid();
    sigset_t hold, old;
    pid_t child = -1;

    me = who;
    sigemptyset(&hold);
    sigaddset(&hold, SIGINT);
    sigaddset(&hold, SIGTERM);
    sigaddset(&hold, SIGHUP);
    sigaddset(&hold, SIGQUIT);
    sigprocmask(SIG_BLOCK, &hold, &old);

    snprintf(name, sizeof name, "/ushm-demo-%ld", self);
    if (ushm_open(&shm, name, sizeof *slot, USHM_CREATE | USHM_EXCL, 0600) < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return library_error();
    }
    slot = ushm_addr(shm);  /* zero-filled: the mutex and events are ready */
    printf("backend: %s\nproducer %ld: created %s (%zu bytes)\n",
           ushm_backend(), self, ushm_name(shm), ushm_size(shm));
    fflush(stdout);

    if ((child = fork()) < 0) {
        fprintf(stderr, "%s: fork: %s\n", me, strerror(errno));
    } else if (child == 0) {
        int rc;

        sigprocmask(SIG_SETMASK, &old, NULL);
        ushm_close(shm);    /* the consumer maps the segment by its name */
        rc = demo_consumer(name, self);
        fflush(stdout);
        _exit(rc);
    }

    /* Once the consumer has its own mapping the name is no longer needed:
     * unlinking it now means no failure from here on can leave it behind. */
    if (child > 0 &&
        demo_await(slot, &slot->opened, 1, child, &wstatus, &reaped) == 0) {
        if (ushm_unlink(name) < 0) {
            library_error();
        } else {
            unlinked = 1;
            printf("producer: unlinked %s; both processes keep their mappings\n",
                   name);
            fflush(stdout);
        }
        for (unsigned i = 1; unlinked && i <= DEMO_MESSAGES; i++) {
            if (demo_lock(slot, "producer") < 0)
                break;
            demo_text(slot->text, sizeof slot->text, i, self);
            slot->sum = checksum(slot->text);
            slot->seq = i;
            printf("producer: sent #%u: \"%s\"\n", i, slot->text);
            fflush(stdout);
            ushm_mutex_unlock(&slot->lock);
            ushm_event_notify(&slot->sent);
            if (demo_await(slot, &slot->checked, i, child, &wstatus, &reaped) < 0)
                break;
            delivered += slot->intact != 0; /* read after the lock in demo_await */
        }
    }
    if (child > 0 && !reaped) {
        /* Tell a consumer still waiting that no more messages come. */
        if (demo_lock(slot, "producer") == 0) {
            slot->stop = 1;
            ushm_mutex_unlock(&slot->lock);
        }
        ushm_event_notify(&slot->sent);
        while (waitpid(child, &wstatus, 0) < 0 && errno == EINTR)
            ;
    }
    if (!unlinked) {
        if (ushm_unlink(name) < 0)
            library_error();
        else
            printf("producer: unlinked %s\n", name);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (ushm_close(shm) < 0)
        library_error();
    else
        printf("producer: closed %s\n", name);
    if (child > 0 && delivered == DEMO_MESSAGES && WIFEXITED(wstatus) &&
        WEXITSTATUS(wstatus) == 0)
        status = 0;
    printf("%u of %d messages arrived intact\n", delivered, DEMO_MESSAGES);
    if (status != 0)
        fprintf(stderr, "%s: failed\n", me);
    return status;
}

/* As a program of its own; the ushm command links demo_run() alone. */
#ifndef USHM_DEMO_NO_MAIN
int main(void)
{
    return demo_run("demo");
}
#endif
