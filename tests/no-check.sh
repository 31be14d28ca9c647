#!/bin/sh
# SPDX-License-Identifier: MIT
# Stands in for the conformance suite when configure did not find Check.
echo "The conformance suite needs Check (Debian package: check); install it and run ./configure again." >&2
exit 1
