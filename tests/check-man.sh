#!/bin/sh
# SPDX-License-Identifier: MIT
# The man pages are clean under mandoc -Tlint and groff -ww, and configure
# filled in every @VARIABLE@ of their templates (man/*.in).  They are the
# pages made in the build tree, as make check runs there.  The .so stubs
# are left out: mandoc always calls .so "fragile".
#
# Neither linter reads a SYNOPSIS as C, so each page is also rendered as a
# reader sees it: every "#define NAME VALUE" there must be a macro of the
# installed headers with that value (".BR" with no space at the end of its
# bold name once printed "#define USHM_HUGEPAGES0x10"), and no line of it
# may be wider than an 80-column terminal.
status=0 linted=0
bs=$(printf '\b')
headers="${srcdir:-.}/include/ushm.h include/ushm-version.h"
macros=$(sed -n 's/^#define \(USHM_[A-Z0-9_]*\)  *\([^ ]*\).*/\1 \2/p' $headers)
[ -n "$macros" ] || { echo "no USHM_ macros found in $headers"; exit 1; }
render() {
    if command -v mandoc >/dev/null 2>&1; then
        mandoc -Tascii -Owidth=80 "$1"
    else
        groff -man -Tascii -rLL=80n "$1" 2>/dev/null
    fi | sed "s/.$bs//g"
}
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
    [ $linted -eq 1 ] || continue
    synopsis=$(render "$page" | awk '/^[A-Z]/ { in_syn = ($0 == "SYNOPSIS"); next } in_syn')
    defines=$(printf '%s\n' "$synopsis" | awk '$1 == "#define" { print $2, $3 }')
    if [ -n "$defines" ]; then
        while read -r name value; do
            printf '%s\n' "$macros" | grep -qxF "$name $value" && continue
            echo "$page: SYNOPSIS shows '#define $name $value', not a macro of the headers with that value"
            status=1
        done <<_EOF_
$defines
_EOF_
    fi
    wide=$(printf '%s\n' "$synopsis" | awk 'length($0) > 80')
    [ -z "$wide" ] || { echo "$page: SYNOPSIS lines wider than 80 columns:"; echo "$wide"; status=1; }
done
[ $linted -eq 1 ] || { echo "neither mandoc nor groff is installed"; exit 77; }
[ $status -eq 0 ] && echo "man pages clean: ${USHM_MAN_PAGES}"
exit $status
