/* SPDX-License-Identifier: MIT */
/* SysV limits where no call reads them (illumos keeps them in resource
 * controls): messages then give the system's error alone. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "sysv.h"

int ushm__sysv_limit(enum ushm__sysv_limit which, const char **name,
                     unsigned long long *value)
{
    (void)which;
    (void)name;
    (void)value;
    return -1;
}
