/* SPDX-License-Identifier: MIT */
/*
 * main() of tests/conformance-sync: the mutex and event rules that do not
 * depend on the backend, run once (linked with one backend's core), in
 * anonymous segments and private memory.  The cases that do (the objects in
 * each backend's named and anonymous segments) are sync.c's, in
 * tests/conformance-posix and tests/conformance-sysv.
 */
#include "common.h"

static void add_topics(Suite *s, int forking)
{
    conf_add_sync_mutex(s, forking);
    conf_add_sync_robust(s, forking);
    conf_add_sync_event(s, forking);
    conf_add_sync_shared(s, forking);
}

int main(void)
{
    return conf_main("ushm conformance: mutex and event", add_topics);
}
