/* SPDX-License-Identifier: MIT */
/*
 * ushm: create, inspect, fill, dump and remove libushm segments from the
 * shell, on the backend the library was configured with.  See ushm(1).
 * main: the subcommand, errors and exit status, and standard output that
 * could not be written.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ushm.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ushm-tool.h"

static int stdout_errno;    /* why writing standard output first failed */

void flush_stdout(void)
{
    if (fflush(stdout) != 0 && !stdout_errno)
        stdout_errno = errno;
}

/* "ushm: SUBCOMMAND: MESSAGE" on stderr, escaped as text output is: the
 * message may hold a name from the command line or from /dev/shm. */
void print_error(const struct command *cmd, const char *msg)
{
    char *safe = text_escape(msg);

    fprintf(stderr, "ushm: %s%s%s\n", cmd ? cmd->name : "", cmd ? ": " : "",
            safe ? safe : msg);
    free(safe);
}

/* A library failure: exit status 1, with the library's own sentence. */
int lib_error(const struct command *cmd)
{
    print_error(cmd, ushm_last_error());
    return 1;
}

/* A failure found by the tool itself (not by the library): exit status 1. */
int tool_error(const struct command *cmd, const char *msg)
{
    print_error(cmd, msg);
    return 1;
}

/* A standard descriptor that is closed gets /dev/null opened the other way
 * round, so that using it fails (EBADF) rather than reaching a file that
 * the command opens later under the same number. */
static void guard_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        int nfd;

        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        nfd = open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
        if (nfd >= 0 && nfd != fd) {
            dup2(nfd, fd);
            close(nfd);
        }
    }
}

/* Like ls and cat: a reader that went away kills the command by SIGPIPE,
 * quietly, even when the caller left the signal ignored or blocked. */
static void default_sigpipe(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_DFL);
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Output that did not get out is a failure, whatever the subcommand. */
static int close_stdout(const char *who, int rc)
{
    int failed, err;

    errno = 0;
    failed = fflush(stdout) != 0 || ferror(stdout);
    err = stdout_errno ? stdout_errno : errno;
    /* EBADF with nothing left to write: stdout was closed and unused. */
    if (fclose(stdout) != 0 && !failed && errno != EBADF) {
        failed = 1;
        err = errno;
    }
    if (!failed)
        return rc;
    if (err == EPIPE) {
        default_sigpipe();
        raise(SIGPIPE);
        return 1;
    }
    fprintf(stderr, "ushm: %s%swriting standard output: %s\n", who ? who : "",
            who ? ": " : "", err ? strerror(err) : "write error");
    return 1;
}

static int run(int argc, char **argv, const char **who)
{
    const struct command *cmd = NULL;
    struct args a;
    int rc;

    if (argc < 2)
        return usage_error(NULL, "missing subcommand");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        print_version();
        return 0;
    }
    for (size_t i = 0; i < ncommands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            cmd = &commands[i];
    if (!cmd && argv[1][0] == '-')
        return usage_error(NULL, "unknown option '%s'", argv[1]);
    if (!cmd)
        return usage_error(NULL, "unknown subcommand '%s'", argv[1]);
    *who = cmd->name;
    rc = parse_args(cmd, argc - 2, argv + 2, &a);
    if (rc == ARGS_HELP) {
        printf("usage: ushm %s\n\n%s", cmd->usage, cmd->help);
        rc = 0;
    } else if (rc == ARGS_VERSION) {
        print_version();
        rc = 0;
    } else if (rc == 0) {
        rc = cmd->run(cmd, &a);
    }
    free(a.pos);
    free(a.keys);
    return rc;
}

int main(int argc, char **argv)
{
    const char *who = NULL;
    int rc;

    guard_std_fds();
    default_sigpipe();
    rc = run(argc, argv, &who);
    return close_stdout(who, rc);
}
