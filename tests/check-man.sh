#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages are clean under mandoc -Tlint and groff -ww, and configure
# filled in every @VARIABLE@ of their templates (man/*.in).  They are the
# pages made in the build tree, as make check runs there.  The .so stubs
# are left out: mandoc always calls .so "fragile".
status=0 linted=0
for page in ${USHM_MAN_PAGES:?}; do
    if grep -n '@[A-Za-z_]*@' "$page"; then
        echo "$page: a @VARIABLE@ that configure does not substitute"
        status=1
    fi
    if command -v mandoc >/dev/null 2>&1; then
        out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || { echo "$out"; status=1; }
        linted=1
    fi
    if command -v groff >/dev/null 2>&1; then
        out=$(groff -ww -man -z "$page" 2>&1)
        [ -z "$out" ] || { echo "$page: $out"; status=1; }
        linted=1
    fi
done
[ $linted -eq 1 ] || { echo "neither mandoc nor groff is installed"; exit 77; }
[ $status -eq 0 ] && echo "man pages clean: ${USHM_MAN_PAGES}"
exit $status
