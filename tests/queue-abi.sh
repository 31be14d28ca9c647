#!/bin/sh
# SPDX-License-Identifier: MIT
# The queue between a 32-bit and a 64-bit process (tests/queue-abi.c): the
# 32-bit peer is built here with $CC -m32 from the library's queue and
# mutex sources; without a 32-bit toolchain (or in a 32-bit build, where
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
if ! $cc -m32 -std=c11 -O1 -DQUEUE_ABI_PEER -DHAVE_CONFIG_H -I"$builddir" \
    -I"$builddir/include" -I"$top/include" -I"$top/lib" \
    "$top/tests/queue-abi.c" "$top/lib/queue.c" "$top/lib/queue-places.c" \
    "$top/lib/queue-io.c" "$top/lib/error.c" \
    "$top/lib/rdonly.c" "$top/lib/sync/deadline.c" "$top/lib/sync/held.c" \
    "$top/lib/sync/event.c" "$top/lib/sync/mutex.c" \
    "$top/lib/sync/mutex-pthread.c" "$top/lib/sync/timedlock-clock.c" \
    "$top/lib/sync/proc-linux.c" "$top/lib/sync/wait-futex.c" -pthread \
    -o "$tmp/peer32" 2> "$tmp/build.log"; then
    echo "SKIP: $cc -m32 cannot build the 32-bit peer:"
    head -n 5 "$tmp/build.log"
    exit 77
fi
"$test" "$tmp/peer32"
