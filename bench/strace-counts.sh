#!/bin/sh
# SPDX-License-Identifier: MIT
# System calls per operation of every contender of ushm-bench, counted with
# strace -f -c (the peer processes of roundtrip and ring included): each
# contender runs alone (--only) for a warm-up batch and one run of N
# operations, and the calls of a run that measures nothing (the program's
# own start and end) are subtracted.  strace slows every system call down a
# hundredfold, so the counts of roundtrip and ring, where spinning decides
# whether a waiter sleeps, are those of a slowed-down run: an upper bound.
#
# usage: bench/strace-counts.sh [DIR]   (DIR holds ushm-bench-posix/-sysv;
#                                        default ./bench)
# Prints one line per backend, operation and contender: the calls per
# operation, then the calls that make them up.
set -u
dir=${1:-./bench}
n=1000         # operations per batch (two batches: warm-up and one run)
records=20000  # ring records per batch
command -v strace >/dev/null 2>&1 || { echo "strace-counts.sh: no strace" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-strace.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# count NAME ARGS...: strace -c of one run into $tmp/NAME (name calls)
count() {
    name=$1
    shift
    strace -f -c -o "$tmp/$name.raw" "$@" > /dev/null 2>&1
    awk '$NF ~ /^[a-z_0-9]+$/ && $NF != "syscall" && $NF != "total" {
             calls = $4 ~ /^[0-9]+$/ ? $4 : $3; print $NF, calls }' \
        "$tmp/$name.raw" > "$tmp/$name"
}

for backend in posix sysv; do
    prog=$dir/ushm-bench-$backend
    [ -x "$prog" ] || { echo "strace-counts.sh: no $prog: skipped"; continue; }
    common="--quick --runs 1 --csv -"
    # shellcheck disable=SC2086 # one word per option
    count base "$prog" $common --ops lifecycle --only none
    for spec in lifecycle:raw lifecycle:libushm lifecycle:apr_shm \
                attach:raw attach:libushm attach:apr_shm \
                mutex:raw mutex:libushm \
                roundtrip:pipe roundtrip:libushm roundtrip:socketpair \
                roundtrip:eventfd roundtrip:semop ring:pipe ring:libushm; do
        op=${spec%%:*}
        who=${spec#*:}
        if [ "$op" = ring ]; then
            ops=$((2 * records))
            size="--records $records"
        else
            ops=$((2 * n))
            size="--iterations $n"
        fi
        # shellcheck disable=SC2086
        count run "$prog" $common --ops "$op" --only "$who" $size
        awk -v ops="$ops" -v tag="$backend $op $who" '
            FNR == NR { base[$1] = $2; next }
            { d = $2 - base[$1]; if (d > 0) { per[$1] = d / ops; total += d } }
            END {
                line = ""
                for (c in per)
                    if (per[c] >= 0.005)
                        line = line sprintf(" %s %.2f", c, per[c])
                printf "%-32s %6.2f calls per operation:%s\n", tag, total / ops, line
            }' "$tmp/base" "$tmp/run"
    done
done
