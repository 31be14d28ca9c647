#!/bin/sh
# SPDX-License-Identifier: MIT
# The ushm command's tests, on the posix backend.
USHM=tests/ushm-posix SYSV_RAW=tests/sysv-raw exec ${SHELL:-/bin/sh} "${srcdir:-.}/tools/test-ushm.sh"
