/* SPDX-License-Identifier: MIT */
/*
 * main() of tests/conformance-posix and tests/conformance-sysv: the topics
 * that depend on the backend, one file each (common.h).  The mutex and
 * event rules that do not are tests/conformance-sync's (sync-main.c).
 */
#include "common.h"

static void add_topics(Suite *s, int forking)
{
    conf_add_names(s, forking);
    conf_add_args(s, forking);
    conf_add_open(s, forking);
    conf_add_permissions(s, forking);
    conf_add_processes(s, forking);
    conf_add_creation(s, forking);
    conf_add_pages(s, forking);
    conf_add_info(s, forking);
    conf_add_sync(s, forking);
    conf_add_neighbours(s, forking);
    conf_add_keys(s, forking);
    conf_add_room(s, forking);
}

int main(void)
{
    return conf_main("ushm conformance", add_topics);
}
