/* SPDX-License-Identifier: MIT */
/*
 * No barrier one process can make other processes' CPUs pass (configure
 * --with-queue-solo=none, and every system but Linux): a queue's producer
 * never keeps its lock between sends (lib/queue-io.c, "solo"), so nothing
 * ever needs the barrier.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "queue-internal.h"

int ushm__solo_ready(void)
{
    return 0;
}

void ushm__solo_forget(void)
{
}

int ushm__solo_barrier(void)
{
    return -1;
}
