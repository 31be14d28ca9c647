/* SPDX-License-Identifier: MIT */
/*
 * The library as it is installed: linked through libushm.la, with the one
 * backend configure chose.  The conformance suite tests both backends
 * through check-only copies of the library; this checks the real one.
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ushm.h>

/* The Makefile passes the backend configure chose: "posix" or "sysv". */
#ifndef USHM_CONFIGURED_BACKEND
#define USHM_CONFIGURED_BACKEND NULL
#endif

static int failures;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "linkage: %s:%d: ", __FILE__, __LINE__);      \
            fprintf(stderr, __VA_ARGS__);                                 \
            fprintf(stderr, " (last error: %s)\n",                        \
                    ushm_last_error() ? ushm_last_error() : "NULL");      \
            failures++;                                                   \
        }                                                                 \
    } while (0)

static const char *str(const char *s) { return s ? s : "(null)"; }

/* A later handle's size: macOS (tests/personality/run.sh macos) tells a
 * POSIX object's size in whole pages only. */
static size_t seen_size(size_t n)
{
    const char *p = getenv("USHM_TEST_PERSONALITY");
    long page = sysconf(_SC_PAGESIZE);

    if (p == NULL || strcmp(p, "macos") != 0 || strcmp(ushm_backend(), "posix") != 0 ||
        page <= 0)
        return n;
    return (n + (size_t)page - 1) / (size_t)page * (size_t)page;
}

int main(void)
{
    const char *want = USHM_CONFIGURED_BACKEND;
    const char text[] = "libushm linkage";
    const size_t size = 4097;
    ushm_t *w = NULL, *r = NULL;
    char name[32];
    int rc;

    /* "u<pid>x...": the shape of the conformance suite's names, which it
     * knows to be another test's when it runs at the same time. */
    snprintf(name, sizeof name, "/u%ldxlinkage", (long)getpid());

    CHECK(want != NULL, "the build did not define USHM_CONFIGURED_BACKEND");
    CHECK(want != NULL && ushm_backend() != NULL && strcmp(ushm_backend(), want) == 0,
          "ushm_backend() = \"%s\", configured \"%s\"", str(ushm_backend()), str(want));
    CHECK(ushm_version() != NULL && strcmp(ushm_version(), USHM_VERSION_STRING) == 0,
          "ushm_version() = \"%s\", header says \"%s\"", str(ushm_version()), USHM_VERSION_STRING);
#ifdef PACKAGE_VERSION
    CHECK(ushm_version() != NULL && strcmp(ushm_version(), PACKAGE_VERSION) == 0,
          "ushm_version() = \"%s\", package is \"%s\"", str(ushm_version()), PACKAGE_VERSION);
#endif

    rc = ushm_open(&w, name, size, USHM_CREATE | USHM_EXCL, 0600);
    CHECK(rc == 0 && w != NULL, "ushm_open(%s, CREATE|EXCL) = %d (%s)", name, rc, ushm_strerror(rc));
    if (rc != 0)
        return 1;
    CHECK(ushm_created(w) == 1, "ushm_created() = %d, want 1", ushm_created(w));
    CHECK(ushm_size(w) == size, "ushm_size() = %zu, want %zu", ushm_size(w), size);
    CHECK(ushm_name(w) != NULL && strcmp(ushm_name(w), name) == 0,
          "ushm_name() = \"%s\", want \"%s\"", str(ushm_name(w)), name);
    memcpy(ushm_addr(w), text, sizeof text);
    ((char *)ushm_addr(w))[size - 1] = 'z';
    rc = ushm_close(w);
    CHECK(rc == 0, "ushm_close = %d", rc);

    rc = ushm_open(&r, name + 1, 0, USHM_RDONLY, 0);
    CHECK(rc == 0 && r != NULL, "reopening %s = %d (%s)", name, rc, ushm_strerror(rc));
    if (rc == 0) {
        CHECK(ushm_created(r) == 0, "reopen: ushm_created() = %d, want 0", ushm_created(r));
        CHECK(ushm_size(r) == seen_size(size), "reopen: ushm_size() = %zu, want %zu",
              ushm_size(r), seen_size(size));
        CHECK(memcmp(ushm_addr(r), text, sizeof text) == 0, "reopen: contents differ");
        CHECK(((const char *)ushm_addr(r))[size - 1] == 'z', "reopen: last byte differs");
        rc = ushm_close(r);
        CHECK(rc == 0, "ushm_close = %d", rc);
    }

    rc = ushm_unlink(name);
    CHECK(rc == 0, "ushm_unlink(%s) = %d (%s)", name, rc, ushm_strerror(rc));
    r = NULL;
    rc = ushm_open(&r, name, 0, 0, 0);
    CHECK(rc == -ENOENT && r == NULL, "after unlink, ushm_open(%s) = %d, want -ENOENT", name, rc);
    if (rc == 0)
        ushm_close(r);

    if (failures == 0)
        printf("linkage: libushm %s, %s backend: create, write, reopen, read, close, unlink: ok\n",
               ushm_version(), ushm_backend());
    return failures == 0 ? 0 : 1;
}
