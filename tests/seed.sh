#!/bin/sh
# SPDX-License-Identifier: MIT
# The seed's raw-SysV program and its libushm port share one segment by its
# ftok() key (examples/seed/): each sees the other's writes, and the
# libushm side explains what the raw side would have died on.
# Exit: 0 pass, 1 fail, 77 skip (no SysV backend in this build).
set -u
raw=./examples/seed/raw
lib=./examples/seed/ushm
[ -x "$lib" ] || { echo "SKIP: built without the SysV backend"; exit 77; }
tmp=$(mktemp) || exit 1
fail=0
cleanup() { "$raw" "$tmp" rm 2>/dev/null; rm -f "$tmp"; }
trap cleanup EXIT
check() { # $1: what, then the command; its output is in $out
    what=$1; shift
    if out=$("$@" 2>&1); then rc=0; else rc=$?; fi
}

check "libushm side before the raw side" "$lib" "$tmp"
[ $rc -eq 1 ] && case $out in *"key 0x"*"No such file"*) ;; *) false ;; esac ||
    { echo "FAIL: a missing segment: rc $rc, '$out'"; fail=1; }
"$raw" "$tmp" write "hello from raw" || { echo "FAIL: raw write"; fail=1; }
check "libushm side joins" "$lib" "$tmp" "hello from libushm"
[ $rc -eq 0 ] && [ "$out" = "hello from raw" ] ||
    { echo "FAIL: libushm did not read the raw side: rc $rc, '$out'"; fail=1; }
check "raw side reads" "$raw" "$tmp" read
[ "$out" = "hello from libushm" ] ||
    { echo "FAIL: raw side did not read libushm's reply: '$out'"; fail=1; }
check "too small" "$lib" "$tmp" --size 1000000
[ $rc -eq 1 ] && case $out in *"has only 4096 bytes"*) ;; *) false ;; esac ||
    { echo "FAIL: a segment too small: rc $rc, '$out'"; fail=1; }
"$raw" "$tmp" rm || { echo "FAIL: raw rm"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: the raw program and its libushm port share the segment"
exit $fail
