/* SPDX-License-Identifier: MIT */
/*
 * The segment a subcommand acts on: its NAME argument, or --key KEY in its
 * place, the System V key by which a program that uses ftok(3) names its
 * segment.  The library decides everything else: keys on the POSIX backend
 * (-ENOTSUP) and IPC_PRIVATE (-EINVAL) are its answers, not the tool's.
 */
#define _POSIX_C_SOURCE 200809L

/* First, before any system header: AC_SYS_LARGEFILE's _FILE_OFFSET_BITS,
 * so that a 32-bit build describes objects of 2 GiB and more. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <ushm.h>

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ushm-tool.h"

/* "0x" and 1 to 8 hex digits, as ipcs shows keys, or a decimal number from
 * -2147483648 to 4294967295 (/proc/sysvipc/shm prints keys as signed). */
int parse_key(const char *s, key_t *out)
{
    unsigned long long v;
    size_t n;

    if (!s)
        return -1;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        n = strspn(s + 2, "0123456789abcdefABCDEF");
        if (n == 0 || n > 8 || s[2 + n] != '\0')
            return -1;
        v = strtoull(s + 2, NULL, 16);
    } else {
        int neg = s[0] == '-';

        n = strspn(s + neg, "0123456789");
        if (n == 0 || n > 10 || s[neg + n] != '\0')
            return -1;
        v = strtoull(s + neg, NULL, 10);
        if (v > (neg ? 2147483648ULL : 4294967295ULL))
            return -1;
        if (neg)
            v = (4294967296ULL - v) & 0xffffffffULL;
    }
    *out = (key_t)(uint32_t)v;
    return 0;
}

void target_of_name(const char *name, struct target *t)
{
    t->name = name;
    t->key = 0;
    canonical_name(name, t->label, sizeof t->label);
}

int target_of_key(const struct command *cmd, const char *text, struct target *t)
{
    if (parse_key(text, &t->key) != 0)
        return usage_error(cmd, "invalid key '%s' (0x and 1 to 8 hex digits, "
                           "or a decimal number)", text);
    t->name = NULL;
    snprintf(t->label, sizeof t->label, "key 0x%08" PRIx32, (uint32_t)t->key);
    return 0;
}

int one_target(const struct command *cmd, const struct args *a,
               struct target *t, char ***rest)
{
    if (a->nkeys > 0) {
        if (rest)
            *rest = a->pos;
        return target_of_key(cmd, a->keys[0], t);
    }
    target_of_name(a->pos[0], t);
    if (rest)
        *rest = a->pos + 1;
    return 0;
}

int target_open(const struct target *t, ushm_t **shm, size_t size, int flags,
                mode_t mode)
{
    return t->name ? ushm_open(shm, t->name, size, flags, mode)
                   : ushm_open_key(shm, t->key, size, flags, mode);
}

int target_unlink(const struct target *t)
{
    return t->name ? ushm_unlink(t->name) : ushm_unlink_key(t->key);
}

int target_stat(const struct target *t, struct ushm_stat *st)
{
    return t->name ? ushm_stat(t->name, st) : ushm_stat_key(t->key, st);
}
