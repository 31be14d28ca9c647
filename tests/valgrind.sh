#!/bin/sh
# SPDX-License-Identifier: MIT
# Run test programs under valgrind memcheck and fail on any memory error or
# leak (definitely or indirectly lost), in any of their processes.
#
#   tests/valgrind.sh PROGRAM...       e.g. tests/conformance-posix
#
# A program may be a binary or a libtool wrapper script: when ./libtool (or
# $LIBTOOL) exists every program goes through "libtool --mode=execute", which
# runs the real binary with the right library path.
#
# Check runs with CK_FORK=no, so that every test runs in the one process
# valgrind watches.  Check then calls each test function directly and
# ignores what tcase_add_test_raise_signal() and tcase_add_exit_test() expect
# (and tcase_set_timeout()): a test that is meant to die by a signal kills
# the whole runner, one meant to exit ends it early.  A program must leave
# such tests out when srunner_fork_status() is CK_NOFORK (tests/conformance/
# does); this script fails a Check program that died by a signal or ended
# without printing Check's summary line, and says why.
#
# Valgrind emulates shmat() after an IPC_STAT of the segment: where the
# caller may not read it, shmat() fails with EINVAL instead of the kernel's
# EACCES.  USHM_UNDER_VALGRIND=1 is exported so that a test can allow for it.
#
# Environment:
#   VALGRIND               valgrind command (default valgrind)
#   VALGRIND_FLAGS         more valgrind options (e.g. --suppressions=FILE)
#   LIBTOOL                libtool command (default ./libtool when present)
#   USHM_VALGRIND_TIMEOUT  seconds per program (default 3600; 0 = none)
#   USHM_PROPERTY_COUNT    passed on; default 20000 here (names-property)
#
# Exit 0 when every program passed, 1 otherwise, 77 without valgrind.
set -u

if [ $# -eq 0 ]; then
    echo "usage: $0 PROGRAM..." >&2
    exit 2
fi

valgrind=${VALGRIND:-valgrind}
if ! command -v "$valgrind" >/dev/null 2>&1; then
    echo "SKIP: $valgrind not found" >&2
    exit 77
fi
libtool=${LIBTOOL:-}
if [ -z "$libtool" ] && [ -x ./libtool ]; then
    libtool=./libtool
fi
limit=${USHM_VALGRIND_TIMEOUT:-3600}
timeout_cmd=
if [ "$limit" != 0 ] && command -v timeout >/dev/null 2>&1; then
    timeout_cmd="timeout $limit"
fi

CK_FORK=no
USHM_UNDER_VALGRIND=1
USHM_PROPERTY_COUNT=${USHM_PROPERTY_COUNT:-20000}
export CK_FORK USHM_UNDER_VALGRIND USHM_PROPERTY_COUNT

logs=$(mktemp -d "${TMPDIR:-/tmp}/ushm-valgrind.XXXXXX") || exit 1
failed=0
total_start=$(date +%s)

# The file that holds the code: the binary itself, or the one a libtool
# wrapper runs.
real_binary() {
    dir=$(dirname "$1")
    base=$(basename "$1")
    for f in "$dir/.libs/lt-$base" "$dir/.libs/$base" "$1"; do
        if [ -f "$f" ]; then
            echo "$f"
            return
        fi
    done
}

for prog in "$@"; do
    name=$(echo "$prog" | tr '/' '_')
    if [ ! -x "$prog" ] || [ -d "$prog" ]; then
        echo "FAIL $prog: not an executable file"
        failed=$((failed + 1))
        continue
    fi
    wrapper=0
    if head -c 2 "$prog" | grep -q '^#!'; then
        if grep -q "libtool" "$prog"; then
            wrapper=1
        else
            echo "SKIP $prog: a script, not a program"
            continue
        fi
    fi
    if [ $wrapper = 1 ] && [ -z "$libtool" ]; then
        echo "FAIL $prog: a libtool wrapper, and no ./libtool (set LIBTOOL)"
        failed=$((failed + 1))
        continue
    fi
    run=
    if [ -n "$libtool" ]; then
        run="$libtool --mode=execute"
    fi

    start=$(date +%s)
    # shellcheck disable=SC2086 # $timeout_cmd, $run and the flags are lists
    $timeout_cmd $run "$valgrind" --tool=memcheck --error-exitcode=1 \
        --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --track-fds=no --num-callers=30 \
        --log-file="$logs/$name.%p.vg" ${VALGRIND_FLAGS:-} \
        "$prog" >"$logs/$name.out" 2>&1
    rc=$?
    secs=$(($(date +%s) - start))

    why=
    # Every process's own summary: the program and any child it forked.
    nproc=0
    bad=
    for vg in "$logs/$name".*.vg; do
        [ -f "$vg" ] || continue
        nproc=$((nproc + 1))
        n=$(sed -n 's/.*ERROR SUMMARY: \([0-9][0-9]*\) error.*/\1/p' "$vg" | tail -n 1)
        if [ -n "$n" ] && [ "$n" -gt 0 ]; then
            bad="$bad $vg"
        fi
    done
    if [ -n "$bad" ]; then
        why="valgrind found errors or leaks"
    elif [ $rc -eq 124 ] && [ -n "$timeout_cmd" ]; then
        why="timed out after $limit s"
    elif [ $rc -gt 128 ]; then
        why="killed by signal $((rc - 128))"
    elif [ $rc -eq 77 ]; then
        echo "SKIP $prog ($secs s)"
        continue
    elif [ $rc -ne 0 ]; then
        why="exit status $rc"
    fi

    bin=$(real_binary "$prog")
    summary=
    if [ -n "$bin" ] && grep -aq srunner_run "$bin"; then
        summary=$(grep -E '^[0-9]+%: Checks: ' "$logs/$name.out" | tail -n 1)
        if [ -z "$summary" ] && [ -z "$why" ]; then
            why="no Check summary: the runner ended early"
        fi
        if [ -z "$summary" ]; then
            why="$why (with CK_FORK=no a test that raises a signal or exits"
            why="$why takes the runner down: register it only when"
            why="$why srunner_fork_status() != CK_NOFORK)"
        fi
    else
        summary=$(tail -n 1 "$logs/$name.out")
    fi

    if [ -z "$why" ]; then
        echo "PASS $prog ($secs s, $nproc process(es)): $summary"
        continue
    fi
    failed=$((failed + 1))
    echo "FAIL $prog ($secs s): $why"
    echo "---- output of $prog (last 40 lines)"
    tail -n 40 "$logs/$name.out"
    for vg in $bad; do
        echo "---- $vg"
        grep -v -e '^==[0-9]*== *$' "$vg" | head -n 150
    done
done

echo "valgrind: $# program(s), $failed failed, $(($(date +%s) - total_start)) s"
if [ $failed -ne 0 ]; then
    echo "logs kept in $logs"
    exit 1
fi
rm -rf "$logs"
exit 0
