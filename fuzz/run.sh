#!/bin/sh
# SPDX-License-Identifier: MIT
# Build fuzz/fuzz_names.c with libFuzzer, ASan and UBSan and run it for a
# bounded time on a copy of fuzz/corpus/; or another target of fuzz/:
#
#   fuzz/run.sh [seconds] [target]   default 60, names
#
# Targets: names (fuzz_names.c), queue_bytes (fuzz_queue_bytes.c: the
# queue's attach of arbitrary bytes) and queue_scribble
# (fuzz_queue_scribble.c: a live queue that is scribbled on); the queue's
# start from an empty corpus.  FUZZ_TARGETS="names queue_bytes ..." runs
# several, one after the other, each for the seconds given.
#
# Environment:
#   FUZZ_CC         compiler (default clang; needs libclang-rt-dev)
#   USHM_BUILDDIR   where configure wrote config.h and include/ushm-version.h
#                   (default: the source tree; without config.h the backend
#                   builds with its fallbacks, without the header not at all)
#   FUZZ_ARGS       more libFuzzer options, e.g. "-jobs=4 -workers=4"
#   FUZZ_SEED       libFuzzer's -seed (default 1: a run that CI repeats can
#                   be repeated here, input for input until the clocks
#                   differ; 0: a new seed each run, for longer hunts)
#   USHM_LIB_SOURCES the library's sources, as Makefile.am lists them for
#                   this build (make fuzz-smoke passes them)
#
# Nothing is written into the source tree: the binary, the corpus copy and
# the log live in a temporary directory, removed on success and kept (its
# path is printed) on failure.  Exit 0 when the run ended without a crash and
# left no /dev/shm/ushm-fuzz-* behind, 1 otherwise, 77 if the compiler cannot
# build a fuzzer.
set -u

secs=${1:-60}
targets=${2:-${FUZZ_TARGETS:-names}}
case $secs in
''|*[!0-9]*) echo "usage: $0 [seconds]" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
builddir=${USHM_BUILDDIR:-$top}
cc=${FUZZ_CC:-clang}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-fuzz.XXXXXX") || exit 1
keep=0
pid=
trap 'if [ $keep = 0 ]; then rm -rf "$tmp"; fi' EXIT
trap 'if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid"; rm -f "/dev/shm/ushm-fuzz-$pid"; fi; exit 130' INT TERM

if ! command -v "$cc" >/dev/null 2>&1; then
    echo "SKIP: $cc not found (install clang and libclang-rt-dev)" >&2
    exit 77
fi

if [ ! -f "$builddir/include/ushm-version.h" ]; then
    echo "$0: no $builddir/include/ushm-version.h: run configure first (or set USHM_BUILDDIR)" >&2
    exit 2
fi
cfg=
if [ -f "$builddir/config.h" ]; then
    cfg="-DHAVE_CONFIG_H -I$builddir"
else
    echo "note: no config.h in $builddir: building without it" >&2
fi

# The library's sources as configure chose them for this build (the make
# rule passes them: make fuzz-smoke); the harnesses drive the POSIX backend.
lib_sources=
for f in ${USHM_LIB_SOURCES:-}; do
    case $f in
    *.c) lib_sources="$lib_sources $top/$f" ;;
    esac
done
if [ -z "$lib_sources" ]; then
    echo "$0: no USHM_LIB_SOURCES: run it as make fuzz-smoke in a build" >&2
    exit 2
fi
case " $USHM_LIB_SOURCES " in
*" backends/posix.c "*) ;;
*) echo "SKIP: $builddir is not a POSIX backend build (the harnesses need one)" >&2
   exit 77 ;;
esac

status=0
for target in $targets; do
if [ ! -f "$here/fuzz_$target.c" ]; then
    echo "$0: no fuzz/fuzz_$target.c" >&2
    exit 2
fi
# shellcheck disable=SC2086 # $cfg is two words, or none
if ! "$cc" -std=c11 -g -O1 -fno-omit-frame-pointer \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        $cfg -I"$builddir/include" -I"$top/include" -I"$top/lib" \
        "$here/fuzz_$target.c" $lib_sources \
        -lpthread -lrt -o "$tmp/fuzz_$target" 2>"$tmp/build.log"; then
    cat "$tmp/build.log" >&2
    if grep -q -e 'libclang_rt.fuzzer' -e 'fsanitize=fuzzer' "$tmp/build.log"; then
        echo "SKIP: $cc cannot link a libFuzzer binary (libclang-rt-dev?)" >&2
        exit 77
    fi
    echo "FAIL: the harness does not build" >&2
    exit 1
fi

rm -rf "$tmp/corpus"
mkdir -p "$tmp/corpus" "$tmp/artifacts"
if [ "$target" = names ]; then
    cp "$here"/corpus/* "$tmp/corpus/"
    max_len=300
else
    max_len=4096
fi
echo "fuzz_$target: fuzzing for $secs s ($(find "$tmp/corpus" -type f | wc -l) seeds) in $tmp"

# In the background so that its pid, and so its private name, is known.
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
(cd "$tmp" && exec ./fuzz_$target -max_total_time="$secs" -timeout=10 \
    -seed="${FUZZ_SEED:-1}" \
    -rss_limit_mb=2048 -max_len=$max_len -print_final_stats=1 \
    -artifact_prefix="$tmp/artifacts/" ${FUZZ_ARGS:-} corpus) \
    >"$tmp/fuzz.log" 2>&1 &
pid=$!
wait "$pid"
rc=$?

if [ "$rc" -ne 0 ]; then
    status=1
    echo "FAIL: fuzz_$target exited with status $rc" >&2
    tail -n 60 "$tmp/fuzz.log" >&2
    for a in "$tmp"/artifacts/*; do
        [ -f "$a" ] || continue
        echo "input $a:" >&2
        od -An -tx1 -v "$a" | head -n 20 >&2
    done
else
    grep -E '^#[0-9]+.* cov: ' "$tmp/fuzz.log" | tail -n 1
    grep '^stat::' "$tmp/fuzz.log"
fi

done

# Leftovers: this run's name, and those of fuzzers no longer running.
if [ -e "/dev/shm/ushm-fuzz-$pid" ]; then
    echo "FAIL: /dev/shm/ushm-fuzz-$pid was left behind (removed now)" >&2
    rm -f "/dev/shm/ushm-fuzz-$pid"
    status=1
fi
for f in /dev/shm/ushm-fuzz-*; do
    [ -e "$f" ] || continue
    owner=${f#/dev/shm/ushm-fuzz-}
    if kill -0 "$owner" 2>/dev/null || [ -d "/proc/$owner" ]; then
        echo "note: $f belongs to another fuzzer still running" >&2
    else
        echo "FAIL: $f was left behind by an earlier run" >&2
        status=1
    fi
done

if [ $status -ne 0 ]; then
    keep=1
    echo "kept $tmp (log: fuzz.log, crash inputs: artifacts/)" >&2
else
    echo "PASS: no crash in $secs s, nothing left in /dev/shm"
fi
exit $status
