#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library must export the whole public API and nothing that does
# not start with ushm_ (jansson's check-exports).
#
# Where configure found that the linker takes a version script
# (USHM_SYMBOL_VERSIONS=yes, as make check sets it), each function must also
# carry the version of the release that added it (lib/libushm.sym), as the
# default version, and no other version may appear.
#
# Usage: check-exports.sh [path/to/libushm.so]    (default: $USHM_LIB)
# Exit: 0 pass, 1 fail, 77 skip (static-only build), 99 usage error.

lib=${1:-${USHM_LIB:-}}
NM=${NM:-nm}
OBJDUMP=${OBJDUMP:-objdump}

# The version each function was added in.  A release that adds functions
# adds them here and to a new node of lib/libushm.sym; a released line never
# changes.
versions="USHM_0.1 ushm_open ushm_close ushm_unlink ushm_addr ushm_size ushm_name
USHM_0.1 ushm_created ushm_stat ushm_backend ushm_version ushm_strerror ushm_last_error
USHM_0.2 ushm_mutex_lock ushm_mutex_trylock ushm_mutex_timedlock ushm_mutex_unlock
USHM_0.2 ushm_event_read ushm_event_wait ushm_event_notify
USHM_0.3 ushm_key ushm_open_key ushm_unlink_key ushm_stat_key"

# The API, also read from the header next to this script when it is there,
# so that a function added to ushm.h must be exported too.
api=$(printf '%s\n' "$versions" | awk '{ for (i = 2; i <= NF; i++) print $i }')
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

# "section version name" per dynamic symbol.  objdump -T prints "address
# flags section<TAB>size [version] name"; a hidden version is in
# parentheses, so only a default version matches below; none is "-".
vchecked=
if [ "${USHM_SYMBOL_VERSIONS:-no}" = yes ]; then
    if ! dyn=$($OBJDUMP -T "$lib"); then
        echo "FAIL: $OBJDUMP -T $lib failed" >&2
        exit 1
    fi
    dyn=$(printf '%s\n' "$dyn" | awk -F '\t' '/^[0-9a-fA-F]+ / && NF == 2 {
        nl = split($1, l, " "); nr = split($2, r, " ")
        print l[nl], (nr >= 3 ? r[nr - 1] : "-"), r[nr] }')
    vbad=$(printf '%s\n' "$dyn" | awk -v want="$versions" '
        BEGIN {
            n = split(want, line, "\n")
            for (i = 1; i <= n; i++) {
                m = split(line[i], w, " ")
                for (j = 2; j <= m; j++) ver[w[j]] = w[1]
                node[w[1]] = 1
            }
        }
        $1 == "*UND*" { next }
        $1 == "*ABS*" && $2 == $3 {            # a version node
            if (!($3 in node)) print "  version node " $3 " is not a release of libushm"
            seen[$3] = 1
            next
        }
        $3 ~ /^(_init|_fini|_edata|_end|__bss_start)$/ { next }
        $3 ~ /^(__gcov.*|mangle_path)$/ { next }
        $3 in ver {
            if ($2 != ver[$3]) print "  " $3 " has version " $2 ", not " ver[$3]
            got[$3] = 1
            next
        }
        { print "  " $3 " (" $2 ") is not in the list of versioned functions" }
        END {
            for (f in ver) if (!(f in got)) print "  " f " is not exported at " ver[f]
            for (v in node) if (!(v in seen)) print "  version node " v " is missing"
        }')
    if [ -n "$vbad" ]; then
        echo "FAIL: the symbol versions of $lib are not those of lib/libushm.sym:" >&2
        printf '%s\n' "$vbad" | sort >&2
        status=1
    fi
    vchecked=", each at the version that added it"
elif [ "$status" -eq 0 ]; then
    echo "NOTE: the linker takes no version script (configure); versions not checked"
fi

if [ "$status" -eq 0 ]; then
    n=$(printf '%s\n' "$api" | wc -l | tr -d ' ')
    echo "PASS: $lib exports only ushm_* symbols, and all $n API functions$vchecked"
fi
exit "$status"
