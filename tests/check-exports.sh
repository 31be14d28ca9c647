#!/bin/sh
# The shared library must export the whole public API and nothing that does
# not start with ushm_ (jansson's check-exports).
#
# Usage: check-exports.sh [path/to/libushm.so]    (default: $USHM_LIB)
# Exit: 0 pass, 1 fail, 77 skip (static-only build), 99 usage error.

lib=${1:-${USHM_LIB:-}}
NM=${NM:-nm}

# The API, also read from the header next to this script when it is there,
# so that a function added to ushm.h must be exported too.
api="ushm_open ushm_close ushm_unlink ushm_addr ushm_size ushm_name
ushm_created ushm_stat ushm_backend ushm_version ushm_strerror ushm_last_error"
header=$(dirname "$0")/../include/ushm.h
if [ -f "$header" ]; then
    api="$api
$(sed -n 's/^USHM_EXPORT.*[ *]\(ushm_[A-Za-z0-9_]*\)(.*/\1/p' "$header")"
fi
api=$(printf '%s\n' $api | sort -u)

if [ -z "$lib" ]; then
    echo "usage: $0 path/to/libushm.so (or set USHM_LIB)" >&2
    exit 99
fi

if [ ! -f "$lib" ]; then
    # Only a build that made no shared library at all may skip: libtool's
    # archive says so with an empty dlname.
    base=$(basename "$lib")
    la=
    for d in "$(dirname "$lib")/.." "$(dirname "$lib")"; do
        if [ -f "$d/${base%%.so*}.la" ]; then
            la=$d/${base%%.so*}.la
            break
        fi
    done
    if [ -n "$la" ] && grep "^dlname=''" "$la" >/dev/null; then
        echo "SKIP: static-only build ($la has no shared library)"
        exit 77
    fi
    echo "FAIL: $lib does not exist${la:+ although $la names a shared library}" >&2
    exit 1
fi

if ! out=$($NM -D --defined-only "$lib"); then
    echo "FAIL: $NM -D --defined-only $lib failed" >&2
    exit 1
fi

# "type name" per defined dynamic symbol, symbol versions (@VER) cut off.
syms=$(printf '%s\n' "$out" | awk 'NF >= 2 { n = $NF; sub(/@.*/, "", n); print $(NF - 1), n }')

# Symbols the linker itself adds on some systems, and version nodes (type
# A, from a version script), are not the library's own; nor is the gcov
# runtime that --enable-coverage links in.
bad=$(printf '%s\n' "$syms" | awk '
    $1 == "A" { next }
    $2 ~ /^(_init|_fini|_edata|_end|__bss_start)$/ { next }
    $2 ~ /^(__gcov.*|mangle_path)$/ { next }
    $2 !~ /^ushm_/ { print "  " $1 " " $2 }')

missing=
for f in $api; do
    printf '%s\n' "$syms" | grep "^T $f\$" >/dev/null || missing="$missing $f"
done

status=0
if [ -n "$bad" ]; then
    echo "FAIL: $lib exports symbols outside the ushm_ namespace:" >&2
    printf '%s\n' "$bad" >&2
    status=1
fi
if [ -n "$missing" ]; then
    echo "FAIL: $lib does not export these API functions:$missing" >&2
    status=1
fi
if [ "$status" -eq 0 ]; then
    n=$(printf '%s\n' "$api" | wc -l | tr -d ' ')
    echo "PASS: $lib exports only ushm_* symbols, and all $n API functions"
fi
exit "$status"
