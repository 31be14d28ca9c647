#!/bin/sh
# SPDX-License-Identifier: MIT
# The ushm command's tests, on the posix backend.
# Under a system personality (tests/personality/run.sh): the command lists
# and completes POSIX segments from /dev/shm, which FreeBSD and macOS do
# not have, so its checks assume Linux: skipped (77), saying so.
if [ -n "${USHM_TEST_PERSONALITY:-}" ]; then
    echo "SKIP: ushm ls, stat --json and the completion read /dev/shm, absent on $USHM_TEST_PERSONALITY"
    exit 77
fi
USHM=tests/ushm-posix exec ${SHELL:-/bin/sh} "${srcdir:-.}/tools/test-ushm.sh"
