/* SPDX-License-Identifier: MIT */
#define _POSIX_C_SOURCE 200809L

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <string.h>

#include "name.h"

static int name_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int ushm__name_is_semaphore(const char *body)
{
    return strncmp(body, "sem.", 4) == 0;
}

int ushm__name_canon(const char *name, char out[USHM_NAME_MAX + 1])
{
    const char *body = name[0] == '/' ? name + 1 : name;
    size_t len = 0;

    /* Scan the whole body: a bad character anywhere is -EINVAL, even in a
     * name that is also too long. */
    for (const char *p = body; *p != '\0'; p++, len++)
        if (!name_char_ok((unsigned char)*p))
            return -EINVAL;
    if (len == 0 || strcmp(body, ".") == 0 || strcmp(body, "..") == 0)
        return -EINVAL;
    /* glibc keeps the named semaphore "/x" as the object "/sem.x". */
    if (ushm__name_is_semaphore(body))
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
