#!/bin/sh
# SPDX-License-Identifier: MIT
# The ushm command's tests, on the sysv backend.
USHM=tests/ushm-sysv SYSV_RAW=tests/sysv-raw exec ${SHELL:-/bin/sh} "${srcdir:-.}/tools/test-ushm.sh"
