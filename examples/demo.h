/* SPDX-License-Identifier: MIT */
/* The demo of demo.c, which the ushm command runs as "ushm demo" too. */
#ifndef USHM_EXAMPLE_DEMO_H
#define USHM_EXAMPLE_DEMO_H

/* Runs the demo; what it says on stderr begins with who ("demo").
 * Returns the exit status: 0 if every message arrived intact. */
int demo_run(const char *who);

#endif
