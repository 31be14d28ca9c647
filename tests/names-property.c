/* SPDX-License-Identifier: MIT */
/*
 * Property test of the name grammar (API.md, "Names") and of the SysV key.
 *
 * ushm__name_canon() is compared with a model written from the contract
 * alone, as an explicit state machine, over every name of up to two bytes
 * with and without a slash and then over USHM_PROPERTY_COUNT (default
 * 1000000) names from a seeded generator biased towards the edges: lengths
 * around 0, 1 and 30, dots, slashes, every byte value, embedded NULs.
 * ushm__name_key() is compared with a second FNV-1a written with 64-bit
 * arithmetic and shifts, and with known keys.
 *
 * USHM_SEED=<n> replays a run; the seed is printed first.  Exit 0 when every
 * check passed, 1 otherwise; the last line is "N passed, M failed".
 */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "name.h"

#define BODY_MAX (USHM_NAME_MAX - 1) /* 30: the body, slash excluded */
#define GEN_MAX 200                  /* longest generated name, in bytes */
#define MAX_REPORTS 20               /* failures printed in full */

static unsigned long long passed, failed;

static void check(int ok, const char *what, const unsigned char *name,
                  size_t len)
{
    if (ok) {
        passed++;
        return;
    }
    if (++failed <= MAX_REPORTS) {
        printf("FAIL %s: name (%zu bytes) \"", what, len);
        for (size_t i = 0; i < len; i++)
            printf(name[i] >= 0x20 && name[i] < 0x7f && name[i] != '"' &&
                   name[i] != '\\' ? "%c" : "\\x%02x", name[i]);
        printf("\"\n");
    } else if (failed == MAX_REPORTS + 1) {
        printf("(further failures not printed)\n");
    }
}

/* ------------------------------------------------------------------ */
/* The model: a DFA over the bytes of the name, up to its NUL. */

enum state {
    ST_START,   /* nothing read */
    ST_SLASH,   /* the optional leading slash */
    ST_DOT1,    /* body "." so far */
    ST_DOT2,    /* body ".." so far */
    ST_BODY,    /* a body that is already a name */
    ST_REJECT   /* a byte outside the grammar: -EINVAL whatever follows */
};

static const char allowed_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-";
static unsigned char allowed[256];

static enum state step(enum state s, unsigned char c)
{
    if (s == ST_REJECT)
        return ST_REJECT;
    if (c == '/')
        return s == ST_START ? ST_SLASH : ST_REJECT;
    if (!allowed[c])
        return ST_REJECT;
    if (c == '.') {
        switch (s) {
        case ST_START: case ST_SLASH: return ST_DOT1;
        case ST_DOT1: return ST_DOT2;
        default: return ST_BODY;
        }
    }
    return ST_BODY;
}

/* Expected result and canonical form of the C string in name[]. */
static int model_canon(const unsigned char *name, char *out, size_t outsize)
{
    enum state s = ST_START;
    size_t body = 0;

    for (const unsigned char *p = name; *p != 0; p++) {
        s = step(s, *p);
        if (s != ST_SLASH)
            body++;
    }
    if (s != ST_BODY)
        return -EINVAL;
    /* A body beginning "sem." is a POSIX semaphore's, whatever its length. */
    if (strncmp((const char *)name + (name[0] == '/'), "sem.", 4) == 0)
        return -EINVAL;
    if (body > BODY_MAX)
        return -ENAMETOOLONG;
    snprintf(out, outsize, "/%s", (const char *)name + (name[0] == '/'));
    return 0;
}

/* ------------------------------------------------------------------ */
/* The key: FNV-1a 32 (offset 2166136261, prime 2^24 + 2^8 + 0x93) kept in
 * 64 bits and masked, the multiplication spelt as shifts. */

static uint32_t model_fnv1a(const char *s)
{
    uint64_t h = 0x811c9dc5u;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h = (h + (h << 1) + (h << 4) + (h << 7) + (h << 8) + (h << 24)) &
            0xffffffffu;
    }
    return (uint32_t)h;
}

static uint32_t model_key(const char *canonical)
{
    uint32_t h = model_fnv1a(canonical);

    return h == 0 ? 1 : h;
}

/* ------------------------------------------------------------------ */

static const char *errname(int rc)
{
    switch (rc) {
    case 0: return "0";
    case -EINVAL: return "-EINVAL";
    case -ENAMETOOLONG: return "-ENAMETOOLONG";
    default: return "other";
    }
}

static unsigned long long results[3]; /* ok, -EINVAL, -ENAMETOOLONG */
static unsigned char seen_first[256], seen_later[256];

/* One name: len bytes, NUL included somewhere in them or appended. */
static void check_name(const unsigned char *gen, size_t len)
{
    /* An exact-size copy, so that valgrind or ASan see any over-read. */
    unsigned char *name = malloc(len + 1);
    struct {
        char out[USHM_NAME_MAX + 1];
        unsigned char canary[16];
    } buf;
    char want[GEN_MAX + 2];
    int got, exp;
    size_t slen;

    if (name == NULL) {
        perror("malloc");
        exit(1);
    }
    memcpy(name, gen, len);
    name[len] = 0;
    slen = strlen((char *)name);
    if (slen > 0)
        seen_first[name[0]] = 1;
    for (size_t i = 1; i < slen; i++)
        seen_later[name[i]] = 1;

    memset(&buf, 0xa5, sizeof buf);
    got = ushm__name_canon((const char *)name, buf.out);
    exp = model_canon(name, want, sizeof want);
    if (got != exp) {
        char what[96];
        snprintf(what, sizeof what, "ushm__name_canon = %d (%s), model %d (%s)",
                 got, errname(got), exp, errname(exp));
        check(0, what, name, slen);
    } else {
        check(1, NULL, NULL, 0);
    }
    results[exp == 0 ? 0 : exp == -EINVAL ? 1 : 2]++;

    if (got == 0 && exp == 0) {
        int term = memchr(buf.out, '\0', sizeof buf.out) != NULL;

        check(term && strcmp(buf.out, want) == 0,
              "canonical form differs from \"/\" + body", name, slen);
        if (term) {
            uint32_t key = ushm__name_key(buf.out);

            check(key == model_key(buf.out), "ushm__name_key differs from "
                  "the model", name, slen);
            check(key != 0, "a valid name has key 0 (IPC_PRIVATE)", name,
                  slen);
        }
    }
    for (size_t i = 0; i < sizeof buf.canary; i++)
        if (buf.canary[i] != 0xa5) {
            check(0, "wrote past out[USHM_NAME_MAX + 1]", name, slen);
            break;
        }
    free(name);
}

/* ------------------------------------------------------------------ */
/* The generator: splitmix64. */

static uint64_t rng_state;

static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static unsigned below(unsigned n)
{
    return (unsigned)(rng() % n);
}

static unsigned char any_byte(void)      { return (unsigned char)(1 + below(255)); }
static unsigned char good_byte(void)     { return (unsigned char)allowed_chars[below(sizeof allowed_chars - 1)]; }
static unsigned char dotty_byte(void)    { return (unsigned char)"..../a"[below(6)]; }

static size_t edge_length(void)
{
    static const size_t edges[] = { 0, 1, 2, 3, 28, 29, 30, 31, 32, 33 };

    switch (below(8)) {
    case 0: return below(GEN_MAX - 2);
    case 1: return below(64);
    default: return edges[below(sizeof edges / sizeof *edges)];
    }
}

static const char *const fixed_names[] = {
    "", "/", "//", "///", ".", "..", "...", "....", "/.", "/..", "/...",
    "//x", "//.", "x/", "/x/", "x/y", "/x//", "./x", "../x", "/./", "a.",
    ".a", "..a", "a..", "/.a", "/..a", "-", "_", "/-", "/_", "/.-", " x",
    "x ", "/x\n", "/ca\xc3\xa9", "\xff", "/\x7f", "/cache", "cache",
    "sem.", "/sem.", "sem.x", "/sem.x", "/sem.x.y", "//sem.x", "/semx", "/sem",
    "/Sem.x", "/xsem.x", "/sem..", "sem.0123456789012345678901234567890",
};

/* Fills gen[] and returns its length (the NUL comes after, or inside). */
static size_t generate(unsigned char *gen)
{
    size_t len = 0, body;
    unsigned mode = below(16);

    if (mode == 0) {
        const char *f = fixed_names[below(sizeof fixed_names / sizeof *fixed_names)];
        memcpy(gen, f, strlen(f));
        return strlen(f);
    }
    switch (below(6)) {
    case 0: case 1: gen[len++] = '/'; break;
    case 2: gen[len++] = '/'; gen[len++] = '/'; break;
    default: break;
    }
    body = edge_length();
    if (len + body > GEN_MAX)
        body = GEN_MAX - len;
    for (size_t i = 0; i < body; i++) {
        switch (mode) {
        case 1: case 2: gen[len + i] = any_byte(); break;
        case 3: gen[len + i] = dotty_byte(); break;
        default: gen[len + i] = good_byte(); break;
        }
    }
    /* Sometimes one bad (or NUL) byte at a random place of a good body. */
    if (body > 0 && mode >= 4 && below(3) == 0)
        gen[len + below((unsigned)body)] =
            below(8) == 0 ? 0 : any_byte();
    return len + body;
}

/* ------------------------------------------------------------------ */

static void check_known_keys(void)
{
    static const struct { const char *name; uint32_t key; } known[] = {
        { "/cache", 0xc681ccdcu },
        { "/x", 0x57d1f0d2u },
        /* FNV-1a of these is 0: the key must be 1, never IPC_PRIVATE. */
        { "/g7qBUF", 1 },
        { "/d1dcca", 1 },
    };
    char canon[USHM_NAME_MAX + 1];

    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        const char *n = known[i].name;
        uint32_t got = ushm__name_key(n), model = model_key(n);

        if (got != known[i].key || model != known[i].key)
            printf("key of %s: library 0x%08" PRIx32 ", model 0x%08" PRIx32
                   ", want 0x%08" PRIx32 "\n", n, got, model, known[i].key);
        check(got == known[i].key, "ushm__name_key known value",
              (const unsigned char *)n, strlen(n));
        check(model == known[i].key, "model key known value",
              (const unsigned char *)n, strlen(n));
        /* The same key without the slash: the key is of the canonical form. */
        check(ushm__name_canon(n + 1, canon) == 0 &&
              ushm__name_key(canon) == known[i].key,
              "key of the name without its slash", (const unsigned char *)n,
              strlen(n));
    }
    check(model_fnv1a("/g7qBUF") == 0, "FNV-1a of /g7qBUF is 0",
          (const unsigned char *)"/g7qBUF", 7);
}

int main(void)
{
    const char *env;
    uint64_t seed;
    unsigned long long count = 1000000, checked = 0;
    unsigned char gen[GEN_MAX + 1];
    struct timespec t0, t1;
    double secs;
    int missing = 0;

    for (const char *c = allowed_chars; *c != '\0'; c++)
        allowed[(unsigned char)*c] = 1;
    if ((env = getenv("USHM_SEED")) != NULL && *env != '\0')
        seed = strtoull(env, NULL, 0);
    else
        seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    if ((env = getenv("USHM_PROPERTY_COUNT")) != NULL && *env != '\0')
        count = strtoull(env, NULL, 0);
    rng_state = seed;
    printf("seed %" PRIu64 " (replay with USHM_SEED=%" PRIu64 ")\n", seed,
           seed);
    clock_gettime(CLOCK_MONOTONIC, &t0);

    check_known_keys();

    /* Every name of one and two bytes, with and without a leading slash. */
    for (unsigned a = 0; a < 256; a++) {
        unsigned char n[3] = { '/', (unsigned char)a, 0 };
        check_name(n + 1, 1);
        check_name(n, 2);
        checked += 2;
        for (unsigned b = 0; b < 256; b++) {
            unsigned char m[3] = { '/', (unsigned char)a, (unsigned char)b };
            check_name(m + 1, 2);
            check_name(m, 3);
            checked += 2;
        }
    }
    /* The edges of the length limit, in every character class. */
    for (size_t body = 0; body <= BODY_MAX + 3; body++) {
        for (int slash = 0; slash <= 1; slash++) {
            memset(gen, 'a', sizeof gen);
            gen[0] = '/';
            check_name(gen + !slash, body + slash);
            memset(gen, '.', sizeof gen);
            gen[0] = '/';
            check_name(gen + !slash, body + slash);
            checked += 2;
        }
    }

    for (unsigned long long i = 0; i < count; i++) {
        size_t len = generate(gen);
        check_name(gen, len);
        checked++;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;

    for (int c = 1; c < 256; c++)
        if (!seen_first[c] || !seen_later[c])
            missing++;
    check(missing == 0, "every byte value 1..255 was tried first and later",
          NULL, 0);

    printf("names checked: %llu (%llu generated from the seed) in %.2f s, "
           "%.0f names/s\n", checked, count, secs,
           secs > 0 ? (double)checked / secs : 0.0);
    printf("model said: %llu valid, %llu -EINVAL, %llu -ENAMETOOLONG\n",
           results[0], results[1], results[2]);
    printf("%llu passed, %llu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
