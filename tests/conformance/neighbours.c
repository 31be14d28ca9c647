/*
 * Conformance suite: other programs and other users in the way of a name
 * (API.md, "(0.2) Other programs and other users in the way").
 */
#include "common.h"

void conf_add_neighbours(Suite *s, int forking)
{
    (void)s;
    (void)forking;
}
