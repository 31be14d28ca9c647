/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "name.h"

/* [A-Za-z0-9._-] as a table of the 256 byte values: one load a byte, on
 * the path of every call that takes a name. */
#define R10(c) [c] = 1, [c + 1] = 1, [c + 2] = 1, [c + 3] = 1, [c + 4] = 1, \
               [c + 5] = 1, [c + 6] = 1, [c + 7] = 1, [c + 8] = 1, [c + 9] = 1
static const unsigned char name_chars[256] = {
    ['-'] = 1, ['.'] = 1, ['_'] = 1,
    R10('0'),
    R10('A'), R10('A' + 10), ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    R10('a'), R10('a' + 10), ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};
#undef R10

int ushm__name_is_semaphore(const char *body)
{
    return strncmp(body, "sem.", 4) == 0;
}

int ushm__name_canon(const char *name, char out[USHM_NAME_MAX + 1])
{
    const char *body = name[0] == '/' ? name + 1 : name;
    const unsigned char *p = (const unsigned char *)body;
    size_t len;

    /* Scan the whole body: a bad character anywhere is -EINVAL, even in a
     * name that is also too long.  The table says 0 for the NUL too. */
    while (name_chars[*p])
        p++;
    if (*p != '\0')
        return -EINVAL;
    len = (size_t)(p - (const unsigned char *)body);
    if (len == 0 || (body[0] == '.' && (len == 1 || (len == 2 && body[1] == '.'))))
        return -EINVAL;
    /* glibc keeps the named semaphore "/x" as the object "/sem.x". */
    if (len >= 4 && body[0] == 's' && ushm__name_is_semaphore(body))
        return -EINVAL;
    if (len + 1 > USHM_NAME_MAX)
        return -ENAMETOOLONG;
    out[0] = '/';
    memcpy(out + 1, body, len + 1);
    return 0;
}

uint32_t ushm__name_key(const char *canonical)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)canonical; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    return h != 0 ? h : 1;
}
