#!/bin/sh
# SPDX-License-Identifier: MIT
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
#
# Then, unless --ops leaves the mutex out, bench/boost-mutex.cpp (Boost's
# interprocess_mutex beside ushm_mutex_t and a raw pthread mutex) is compiled
# here with $CXX (default c++) and $USHM_BENCH_CXXFLAGS, and linked with the
# convenience library the first program was linked with
# (tests/.libs/libushm-BACKEND.a next to its bench directory), with that
# build's include/ for ushm-version.h; without a
# C++ compiler or the Boost headers it is skipped with a line saying why.
# It gets --runs, --quick and --target-ms, and its boost rows join the CSV.
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

# What boost-mutex (and boost-queue) understand of the options.
boost_opts=
queue_opts=
want_mutex=1
want_queue=1
next=
for arg in "$@"; do
    case $next in
    runs | target-ms) boost_opts="$boost_opts --$next $arg"
        [ "$next" = runs ] && queue_opts="$queue_opts --runs $arg"
        next=; continue ;;
    ops) case $arg in *mutex*) ;; *) want_mutex=0 ;; esac
        case $arg in *queue*) ;; *) want_queue=0 ;; esac; next=; continue ;;
    esac
    case $arg in
    --runs | --target-ms | --ops) next=${arg#--} ;;
    --runs=* | --target-ms=*) boost_opts="$boost_opts ${arg%%=*} ${arg#*=}"
        case $arg in --runs=*) queue_opts="$queue_opts --runs ${arg#*=}" ;; esac ;;
    --ops=*) case $arg in *mutex*) ;; *) want_mutex=0 ;; esac
        case $arg in *queue*) ;; *) want_queue=0 ;; esac ;;
    --quick) boost_opts="$boost_opts --quick"; queue_opts="$queue_opts --quick" ;;
    esac
done

status=0
ran=
boost_lib= boost_inc=
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
    lib=$(dirname "$prog")/../tests/.libs/libushm-$backend.a
    if [ -z "$boost_lib" ] && [ -r "$lib" ]; then
        boost_lib=$lib
        # That build's include/ushm-version.h, which configure made.
        boost_inc=$(dirname "$prog")/../include
    fi
    echo
done

if [ "$want_mutex" = 1 ] && [ -n "$ran" ]; then
    cxx=${CXX:-c++}
    why=
    if ! command -v "$cxx" >/dev/null 2>&1; then
        why="no C++ compiler ($cxx; set CXX)"
    elif [ -z "$boost_lib" ]; then
        why="no tests/.libs/libushm-BACKEND.a next to the programs"
    else
        # shellcheck disable=SC2086 # flags are words on purpose
        for extra in "" -lrt; do
            if "$cxx" -O2 -std=c++11 ${USHM_BENCH_CXXFLAGS:-} \
                -I"$boost_inc" -I"$here/../include" "$here/boost-mutex.cpp" "$boost_lib" \
                -pthread $extra -o "$tmp/boost-mutex" 2> "$tmp/boost.err"; then
                why=
                break
            fi
            why="it does not compile: $(grep -m 1 -i error "$tmp/boost.err")"
        done
    fi
    if [ -n "$why" ]; then
        echo "run.sh: boost-mutex skipped: $why"
    else
        # shellcheck disable=SC2086 # one word per option
        "$tmp/boost-mutex" --csv "$tmp/boost.csv" $boost_opts || status=$?
        [ -s "$tmp/boost.csv" ] && ran="$ran boost"
    fi
    echo
fi

# Boost's message_queue beside bench/queue.c's contenders (bench/boost-queue.cpp).
if [ "$want_queue" = 1 ] && [ -n "$ran" ]; then
    cxx=${CXX:-c++}
    why=
    if ! command -v "$cxx" >/dev/null 2>&1; then
        why="no C++ compiler ($cxx; set CXX)"
    else
        # shellcheck disable=SC2086 # flags are words on purpose
        for extra in "" -lrt; do
            if "$cxx" -O2 -std=c++11 ${USHM_BENCH_CXXFLAGS:-} "$here/boost-queue.cpp" \
                -pthread $extra -o "$tmp/boost-queue" 2> "$tmp/boost-queue.err"; then
                why=
                break
            fi
            why="it does not compile: $(grep -m 1 -i error "$tmp/boost-queue.err")"
        done
    fi
    if [ -n "$why" ]; then
        echo "run.sh: boost-queue skipped: $why"
    else
        # shellcheck disable=SC2086 # one word per option
        "$tmp/boost-queue" --csv "$tmp/boost-queue.csv" $queue_opts || status=$?
        [ -s "$tmp/boost-queue.csv" ] && ran="$ran boost-queue"
    fi
    echo
fi

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
