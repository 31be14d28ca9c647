#!/bin/sh
# SPDX-License-Identifier: MIT
# The queue between a 32-bit and a 64-bit process (tests/queue-abi.c): the
# 32-bit peer is built here with $CC -m32 from the library's sources as
# this build chose them; without a 32-bit toolchain (or in a 32-bit build, where
# there is no other ABI to try) the test is skipped.
set -u
top=${srcdir:-.}
builddir=${USHM_BUILDDIR:-.}
cc=${CC:-cc}
test=$builddir/tests/queue-abi
[ -x "$test" ] || { echo "SKIP: $test not built"; exit 77; }
case $(file -L "$builddir/tests/.libs/queue-abi" "$test" 2>/dev/null) in
*32-bit*) echo "SKIP: this build is 32-bit already"; exit 77 ;;
esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-queue-abi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
# The library as this build chose its files (Makefile.am passes the list),
# but for the mutex's fast path, which configure chose for this build's
# 64-bit glibc (lib/sync/pm-fast-glibc.h): the peer takes every lock through
# the C library, as a 32-bit build does.
sources=
for f in ${USHM_LIB_SOURCES:-}; do
    case $f in
    lib/sync/pm-fast-glibc.c) ;;
    *.c) sources="$sources $top/$f" ;;
    esac
done
if [ -f "$builddir/config.h" ]; then
    { echo "#include \"$builddir/config.h\""
      echo "#undef USHM_PM_FAST_H"
      echo "#define USHM_PM_FAST_H \"pm-fast-none.h\""; } > "$tmp/config.h"
fi
[ -n "$sources" ] || { echo "queue-abi.sh: no USHM_LIB_SOURCES (run it from make check)"; exit 1; }
# shellcheck disable=SC2086 # a list of files
if ! $cc -m32 -std=c11 -O1 -DQUEUE_ABI_PEER -DHAVE_CONFIG_H -I"$tmp" -I"$builddir" \
    -I"$builddir/include" -I"$top/include" -I"$top/lib" \
    "$top/tests/queue-abi.c" $sources -pthread -lrt \
    -o "$tmp/peer32" 2> "$tmp/build.log"; then
    echo "SKIP: $cc -m32 cannot build the 32-bit peer:"
    head -n 5 "$tmp/build.log"
    exit 77
fi
"$test" "$tmp/peer32"
