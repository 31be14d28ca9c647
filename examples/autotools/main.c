/* SPDX-License-Identifier: MIT */
/*
 * The smallest tour of libushm: an anonymous segment shared with a forked
 * child, then a named segment created, written, reopened read-only by name,
 * read and unlinked.  Exits 0 when every step worked.
 */
#define _POSIX_C_SOURCE 200809L

#include <ushm.h>

#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "main: %s: %s\n", what, ushm_last_error());
    return 1;
}

/* Anonymous: no name, freed when the last process closes it or exits. */
static int anonymous(void)
{
    static const char hello[] = "hello from the child";
    ushm_t *shm;
    pid_t pid;
    int status;

    if (ushm_open(&shm, NULL, 4096, USHM_CREATE, 0) < 0)
        return fail("anonymous segment");
    pid = fork();
    if (pid == 0) {             /* the child has the same mapping */
        memcpy(ushm_addr(shm), hello, sizeof hello);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0 ||
        memcmp(ushm_addr(shm), hello, sizeof hello) != 0) {
        fprintf(stderr, "main: the child's message did not arrive\n");
        ushm_close(shm);
        return 1;
    }
    printf("anonymous segment, %zu bytes: \"%s\"\n", ushm_size(shm),
           (const char *)ushm_addr(shm));
    return ushm_close(shm) < 0 ? fail("close") : 0;
}

/* Named: any process that knows the name can open it, until it is unlinked. */
static int named(void)
{
    static const char text[] = "hello by name";
    char name[USHM_NAME_MAX + 1];
    ushm_t *shm;
    int ok;

    snprintf(name, sizeof name, "/ushm-autotools-%ld", (long)getpid());
    if (ushm_open(&shm, name, sizeof text, USHM_CREATE | USHM_EXCL, 0600) < 0)
        return fail("create");
    memcpy(ushm_addr(shm), text, sizeof text);
    if (ushm_close(shm) < 0) {
        ushm_unlink(name);
        return fail("close");
    }
    if (ushm_open(&shm, name, 0, USHM_RDONLY, 0) < 0) {
        ushm_unlink(name);
        return fail("reopen");
    }
    ok = ushm_size(shm) == sizeof text &&
         memcmp(ushm_addr(shm), text, sizeof text) == 0;
    printf("named segment %s, %zu bytes: \"%.*s\"\n", ushm_name(shm),
           ushm_size(shm), (int)strnlen(ushm_addr(shm), ushm_size(shm)),
           (const char *)ushm_addr(shm));
    ushm_close(shm);
    if (ushm_unlink(name) < 0)
        return fail("unlink");
    return ok ? 0 : 1;
}

int main(void)
{
    printf("libushm %s, %s backend\n", ushm_version(), ushm_backend());
    if (anonymous() != 0 || named() != 0)
        return 1;
    printf("ok\n");
    return 0;
}
