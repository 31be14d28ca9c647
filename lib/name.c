/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "name.h"

/* [A-Za-z0-9._-] as a bitmap of the 256 byte values: one test a byte, on
 * the path of every call that takes a name. */
static const uint64_t name_chars[4] = {
    0x03ff600000000000u, /* - . 0-9 */
    0x07fffffe87fffffeu, /* A-Z _ a-z */
    0, 0,
};

int ushm__name_is_semaphore(const char *body)
{
    return strncmp(body, "sem.", 4) == 0;
}

int ushm__name_canon(const char *name, char out[USHM_NAME_MAX + 1])
{
    const char *body = name[0] == '/' ? name + 1 : name;
    size_t len = 0;

    /* Scan the whole body: a bad character anywhere is -EINVAL, even in a
     * name that is also too long.  Copied on the way while it fits. */
    for (const unsigned char *p = (const unsigned char *)body; *p != '\0';
         p++, len++) {
        if (!((name_chars[*p >> 6] >> (*p & 63)) & 1))
            return -EINVAL;
        if (len + 1 < USHM_NAME_MAX)
            out[len + 1] = (char)*p;
    }
    if (len == 0 || (body[0] == '.' && (len == 1 || (len == 2 && body[1] == '.'))))
        return -EINVAL;
    /* glibc keeps the named semaphore "/x" as the object "/sem.x". */
    if (len >= 4 && ushm__name_is_semaphore(body))
        return -EINVAL;
    if (len + 1 > USHM_NAME_MAX)
        return -ENAMETOOLONG;
    out[0] = '/';
    out[len + 1] = '\0';
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
