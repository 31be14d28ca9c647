#!/bin/sh
# SPDX-License-Identifier: MIT
# The shared library must export the whole public API and nothing that does
# not start with ushm_ (jansson's check-exports).  The API is what
# lib/libushm.sym lists, the one list of exported functions, and every
# function that include/ushm.h declares with USHM_EXPORT: the two must agree.
#
# Where configure found that the linker takes a version script
# (USHM_SYMBOL_VERSIONS=yes, as make check sets it), each function must also
# carry the version of the release that added it (its node in
# lib/libushm.sym), as the default version, and no other version may appear.
#
# Usage: check-exports.sh [path/to/libushm.so]    (default: $USHM_LIB)
# Exit: 0 pass, 1 fail, 77 skip (static-only build), 99 usage error.

lib=${1:-${USHM_LIB:-}}
NM=${NM:-nm}
OBJDUMP=${OBJDUMP:-objdump}
top=$(dirname "$0")/..
sym=$top/lib/libushm.sym
header=$top/include/ushm.h

# "NODE function" for each global name of each node of a version script
# (NODE { global: f; g; local: *; } PARENT;), comments dropped.
sym_versions() {
    awk '
    { text = text " " $0 }
    END {
        while ((i = index(text, "/*")) > 0) {
            rest = substr(text, i + 2)
            j = index(rest, "*/")
            if (j == 0) { print "unterminated comment" > "/dev/stderr"; exit 1 }
            text = substr(text, 1, i - 1) " " substr(rest, j + 2)
        }
        gsub(/[{};:]/, " & ", text)
        n = split(text, t, " ")
        state = "name"
        for (k = 1; k <= n; k++) {
            w = t[k]
            if (state == "name") {
                if (w == "{") { state = "body"; scope = "global" }
                else node = w
            } else if (state == "body") {
                if (w == "}") state = "parent"
                else if (t[k + 1] == ":") { scope = w; k++ }
                else if (w != ";" && scope == "global") print node, w
            } else if (w == ";") {
                state = "name"
            }
        }
        if (state != "name") { print "unterminated node " node > "/dev/stderr"; exit 1 }
    }' "$1"
}

if [ ! -f "$sym" ]; then
    echo "FAIL: no $sym" >&2
    exit 99
fi
if ! versions=$(sym_versions "$sym"); then
    echo "FAIL: $sym is not a version script this test can read" >&2
    exit 99
fi
if [ -z "$versions" ]; then
    echo "FAIL: $sym lists no function" >&2
    exit 99
fi
api=$(printf '%s\n' "$versions" | awk '{ print $2 }' | sort -u)

status=0
# The header, when it is there, against the list, whatever the linker: a
# function declared but not listed is hidden by the version script (and
# unversioned without one); one listed but not declared is no API.
if [ -f "$header" ]; then
    declared=$(sed -n 's/^USHM_EXPORT.*[ *]\(ushm_[A-Za-z0-9_]*\)(.*/\1/p' "$header" | sort -u)
    if [ -z "$declared" ]; then
        echo "FAIL: $header declares no USHM_EXPORT function" >&2
        exit 99
    fi
    only_h=$(printf '%s\n' "$declared" | grep -vxF "$api")
    only_s=$(printf '%s\n' "$api" | grep -vxF "$declared")
    if [ -n "$only_h" ]; then
        echo "FAIL: include/ushm.h declares functions that lib/libushm.sym does not list:" $only_h >&2
        status=1
    fi
    if [ -n "$only_s" ]; then
        echo "FAIL: lib/libushm.sym lists functions that include/ushm.h does not declare:" $only_s >&2
        status=1
    fi
    api=$(printf '%s\n' $api $declared | sort -u)
fi

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
        [ "$status" -eq 0 ] || exit 1
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
