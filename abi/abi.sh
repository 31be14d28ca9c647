#!/bin/sh
# SPDX-License-Identifier: MIT
# The ABI guard: make check-abi and make update-abi (Makefile.am).
#
# Usage: abi.sh check|update BASELINE LIBRARY HEADERS-DIR
#   check   abidiff of BASELINE (abi/libushm.abi) against the built LIBRARY:
#           a removed or changed function, variable or type fails; an
#           added one is reported and allowed.
#   update  rewrite BASELINE from LIBRARY with abidw (at a release).
# Only the types reachable from the headers in HEADERS-DIR count.  LIBRARY
# must carry DWARF (-g, autoconf's default CFLAGS): without it abidiff sees
# only symbol names and would miss a changed type.
# Exit: 0 pass, 1 ABI broken or tool failure, 2 usage or missing tool.

mode=$1 baseline=$2 lib=$3 headers=$4
ABIDW=${ABIDW:-abidw}
ABIDIFF=${ABIDIFF:-abidiff}
READELF=${READELF:-readelf}

if [ $# -ne 4 ] || { [ "$mode" != check ] && [ "$mode" != update ]; }; then
    echo "usage: $0 check|update BASELINE LIBRARY HEADERS-DIR" >&2
    exit 2
fi
for tool in "$ABIDW" "$ABIDIFF" "$READELF"; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "$0: $tool not found (Debian packages: abigail-tools, binutils)" >&2
        exit 2
    fi
done
if [ ! -f "$lib" ]; then
    echo "$0: $lib does not exist: the ABI is that of the shared library (configure --enable-shared)" >&2
    exit 1
fi
if ! "$READELF" -S "$lib" | grep -q '\.debug_info'; then
    echo "$0: $lib has no debug information: build it with -g (e.g. CFLAGS='-g -O2')" >&2
    exit 1
fi

# Only what the library exports, with the types it reaches; stable output
# (no line numbers, type ids by hash, source paths from the top of the
# tree), so that the committed file changes only where the ABI does, and is
# the same whichever backend and build directory made it.
dump() { # $1: output file
    "$ABIDW" --headers-dir "$headers" --drop-private-types --exported-interfaces-only \
        --no-corpus-path --no-comp-dir-path --no-elf-needed --no-show-locs \
        --type-id-style hash --out-file "$1.raw" "$lib" || return 1
    sed "s#path='[^']*/\(lib/[^']*\)'#path='\1'#" "$1.raw" > "$1" && rm -f "$1.raw"
}
arch() { sed -n "s/^<abi-corpus .*architecture='\([^']*\)'.*/\1/p" "$1" | head -n 1; }

if [ "$mode" = update ]; then
    dump "$baseline.tmp" || { rm -f "$baseline.tmp"; echo "$0: $ABIDW failed" >&2; exit 1; }
    mv "$baseline.tmp" "$baseline"
    echo "wrote $baseline from $lib; review the diff (git diff) and commit it"
    exit 0
fi

if [ ! -f "$baseline" ]; then
    echo "$0: no baseline $baseline (make update-abi writes it)" >&2
    exit 1
fi
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
dump "$tmp/now.abi" || { echo "$0: $ABIDW failed on $lib" >&2; exit 1; }
want=$(arch "$baseline") got=$(arch "$tmp/now.abi")
if [ "$want" != "$got" ]; then
    echo "FAIL: $baseline describes $want, and $lib is $got: the baseline can only be compared on $want" >&2
    exit 1
fi

# abidiff's status is a bit mask: 1 error, 2 usage, 4 ABI change,
# 8 incompatible change.  Without the additions, any change at all fails.
"$ABIDIFF" --no-added-syms "$baseline" "$lib" > "$tmp/changes"
st=$?
if [ "$st" -ne 0 ]; then
    cat "$tmp/changes" >&2
    if [ $((st & 3)) -ne 0 ]; then
        echo "FAIL: $ABIDIFF could not compare $baseline with $lib (status $st)" >&2
    elif [ $((st & 8)) -ne 0 ]; then
        echo "FAIL: $lib breaks the ABI of $baseline: something was removed (status $st)" >&2
    else
        echo "FAIL: $lib changes the ABI of $baseline: a function, variable or type changed (status $st)" >&2
    fi
    exit 1
fi
"$ABIDIFF" "$baseline" "$lib" > "$tmp/all"
st=$?
if [ "$st" -eq 4 ]; then
    cat "$tmp/all"
    echo "PASS: $lib keeps the ABI of $baseline and adds to it (above); make update-abi at the release"
elif [ "$st" -eq 0 ]; then
    echo "PASS: $lib has exactly the ABI of $baseline"
else
    cat "$tmp/all" >&2
    echo "FAIL: $ABIDIFF $baseline $lib: status $st" >&2
    exit 1
fi
