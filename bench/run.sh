#!/bin/sh
# Run every per-backend build of ushm-bench there is, one after the other, and
# merge their per-run CSVs into one file for bench/plot.sh.
#
# usage: bench/run.sh [--csv FILE] [ushm-bench options...]
#
# The backend is chosen when a program is linked, so there is one program per
# backend (bench/ushm-bench-posix, bench/ushm-bench-sysv, from the same
# source); within each, the contenders are interleaved run by run.  The
# programs are looked for in $USHM_BENCH_DIR, then ./bench (the build
# directory), then next to this script.
set -u

csv=bench-results.csv
n=$#
while [ "$n" -gt 0 ]; do
    arg=$1
    shift
    n=$((n - 1))
    case $arg in
    --csv)
        if [ "$n" -eq 0 ]; then
            echo "run.sh: --csv needs a file name" >&2
            exit 2
        fi
        csv=$1
        shift
        n=$((n - 1))
        ;;
    --csv=*) csv=${arg#--csv=} ;;
    *) set -- "$@" "$arg" ;;
    esac
done

here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

status=0
ran=
for backend in posix sysv; do
    prog=
    for dir in ${USHM_BENCH_DIR:+"$USHM_BENCH_DIR"} ./bench "$here"; do
        if [ -x "$dir/ushm-bench-$backend" ]; then
            prog=$dir/ushm-bench-$backend
            break
        fi
    done
    if [ -z "$prog" ]; then
        echo "run.sh: no ushm-bench-$backend (not built, or this system has no $backend backend): skipped"
        continue
    fi
    "$prog" --csv "$tmp/$backend.csv" "$@" || status=$?
    if [ -s "$tmp/$backend.csv" ]; then
        ran="$ran $backend"
    fi
    echo
done

if [ -z "$ran" ]; then
    echo "run.sh: no benchmark program ran; build them with 'make bench'" >&2
    exit 1
fi
first=1
for backend in $ran; do
    if [ $first -eq 1 ]; then
        cat "$tmp/$backend.csv"
        first=0
    else
        tail -n +2 "$tmp/$backend.csv"
    fi
done > "$tmp/merged.csv" && cp "$tmp/merged.csv" "$csv" || exit 1
echo "run.sh: per-run results of$ran in $csv"
exit $status
