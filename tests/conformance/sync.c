/*
 * Conformance suite: synchronisation between the processes sharing a
 * segment.  No test case yet; conf_add_sync() is called by main() so that
 * the ones added here run without touching common.c.
 */
#include "common.h"

void conf_add_sync(Suite *s, int forking)
{
    (void)s;
    (void)forking;
}
