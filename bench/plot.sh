#!/bin/sh
# SPDX-License-Identifier: MIT
# Draw the results of ushm-bench (the CSV of bench/run.sh, or of the
# programs themselves) as three PNG bar charts, with gnuplot:
#   lifecycle and attach of a 4 KiB segment: raw, libushm, apr_shm
#   setup + first touch of large segments: default, populate, hugepages,
#   memset
#   synchronisation, three panels: mutex lock + unlock (raw, libushm,
#   boost), process round trip (pipe, libushm, socketpair, eventfd, semop),
#   records through a ring (pipe, libushm)
#   the message queue, four panels (bench/queue.c and boost-queue.cpp):
#   64-byte and 4 KiB messages, one producer and one consumer (single calls
#   and batches of 32); the latency while the consumer spins; 4 producers
#   and 4 consumers
# Each bar is the median of the runs, its whisker the min and max.
#
# usage: bench/plot.sh [-o DIR] [-l LIFECYCLE.png] [-t TOUCH.png]
#                      [-s SYNC.png] [-q QUEUE.png] CSV...
#   default: DIR/bench-lifecycle.png, DIR/bench-touch.png,
#   DIR/bench-sync.png and DIR/bench-queue.png, DIR = .  A chart without
#   data is not drawn.
# Needs gnuplot with the pngcairo terminal (Debian: gnuplot-nox).
set -u

dir=.
lifecycle=
touch=
sync=
queue=
usage() {
    echo "usage: $0 [-o DIR] [-l LIFECYCLE.png] [-t TOUCH.png] [-s SYNC.png] [-q QUEUE.png] CSV..." >&2
    exit 2
}
while getopts o:l:t:s:q:h opt; do
    case $opt in
    o) dir=$OPTARG ;;
    l) lifecycle=$OPTARG ;;
    t) touch=$OPTARG ;;
    s) sync=$OPTARG ;;
    q) queue=$OPTARG ;;
    *) usage ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
lifecycle=${lifecycle:-$dir/bench-lifecycle.png}
touch=${touch:-$dir/bench-touch.png}
sync=${sync:-$dir/bench-sync.png}
queue=${queue:-$dir/bench-queue.png}
for f in "$@"; do
    [ -r "$f" ] || { echo "plot.sh: $f: cannot read it" >&2; exit 1; }
done
command -v gnuplot >/dev/null 2>&1 || {
    echo "plot.sh: gnuplot not found (Debian: apt-get install gnuplot-nox)" >&2
    exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-plot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Median, min and max of every (operation, backend, contender, size), in
# plain awk (no gawk sort), one line each; "na" lines for the contenders
# that were unavailable or failed.  Only touch and teardown are told apart
# by size: the others get size 0 (their size_bytes is the segment, or the
# object or record measured, which differ between contenders).
awk -F, '
FNR == 1 { next }                            # each file has a header
{
    key = $1 SUBSEP $2 SUBSEP $3 SUBSEP ($1 == "touch" || $1 == "teardown" ? $4 : 0)
    if ($9 != "ok") { na[key] = $9; next }
    n = ++count[key]
    v[key, n] = $7 + 0
    runs = $5 + 0 > runs ? $5 + 0 : runs
}
END {
    for (key in count) {
        n = count[key]
        for (i = 2; i <= n; i++) {           # insertion sort
            x = v[key, i]
            for (j = i - 1; j >= 1 && v[key, j] > x; j--)
                v[key, j + 1] = v[key, j]
            v[key, j + 1] = x
        }
        med = n % 2 ? v[key, (n + 1) / 2] : (v[key, n / 2] + v[key, n / 2 + 1]) / 2
        split(key, k, SUBSEP)
        printf "%s %s %s %s %.1f %.1f %.1f %d\n", k[1], k[2], k[3], k[4], med, v[key, 1], v[key, n], n
    }
    for (key in na) {
        if (key in count)
            continue
        split(key, k, SUBSEP)
        printf "%s %s %s %s na na na 0\n", k[1], k[2], k[3], k[4]
    }
    printf "runs %d\n", runs > "/dev/stderr"
}' "$@" > "$tmp/summary" 2> "$tmp/runs" || exit 1
runs=$(sed -n 's/^runs //p' "$tmp/runs")

# One row per group, three columns (median, min, max) per contender, "?"
# where there is no number.  Also, in $tmp/$4.na, the x of every missing
# bar (for an "n/a" label), in $tmp/$4.range the smallest min and the
# largest max, and in $tmp/$4.keys the contenders that have a number.
# A SCALE below 0 plots -SCALE / value: a rate from a time per operation.
# usage: table OPERATIONS CONTENDERS SCALE NAME
table() {
    awk -v ops="$1" -v who="$2" -v scale="$3" -v out="$tmp/$4" '
    { med[$1, $2, $3, $4] = $5; lo[$1, $2, $3, $4] = $6; hi[$1, $2, $3, $4] = $7
      seen[$1, $2, $4] = 1; if (!($2 in isb)) { isb[$2] = 1; bs[++nb] = $2 }
      if ($1 == "touch" && !($4 in iss)) { iss[$4] = 1; sz[++ns] = $4 + 0 } }
    function human(b) {
        return b % 1073741824 == 0 ? b / 1073741824 " GiB" : b / 1048576 " MiB"
    }
    END {
        no = split(ops, op, " "); nc = split(who, c, " ")
        # sizes ascending, backends as found but posix first
        for (i = 2; i <= ns; i++) { x = sz[i]; for (j = i - 1; j >= 1 && sz[j] > x; j--) sz[j + 1] = sz[j]; sz[j + 1] = x }
        for (i = 1; i <= nb; i++) if (bs[i] == "posix" && i > 1) { t = bs[1]; bs[1] = bs[i]; bs[i] = t }
        if (ns == 0) { ns = 1; sz[1] = 4096 }
        row = 0; ymin = -1; ymax = 0
        for (o = 1; o <= no; o++)
            for (b = 1; b <= nb; b++)
                for (s = 1; s <= ns; s++) {
                    size = op[o] == "touch" ? sz[s] : 0
                    if (op[o] != "touch" && s > 1) continue
                    if (!((op[o], bs[b], size) in seen)) continue
                    label = op[o] == "touch" ? bs[b] "\\n" human(size) : op[o] "\\n" bs[b]
                    line = "\"" label "\""
                    for (i = 1; i <= nc; i++) {
                        k = op[o] SUBSEP bs[b] SUBSEP c[i] SUBSEP size
                        if ((k in med) && med[k] != "na") {
                            if (scale < 0) {
                                m = -scale / med[k]; l = -scale / hi[k]; h = -scale / lo[k]
                            } else {
                                m = med[k] / scale; l = lo[k] / scale; h = hi[k] / scale
                            }
                            line = line sprintf(" %.6g %.6g %.6g", m, l, h)
                            has[i] = 1
                            if (ymin < 0 || l < ymin) ymin = l
                            if (h > ymax) ymax = h
                        } else {
                            line = line " ? ? ?"
                            printf "%g\n", row + (i - (nc + 1) / 2) / (nc + 1) > (out ".na")
                        }
                    }
                    print line
                    row++
                }
        printf "%g %g\n", ymin, ymax > (out ".range")
        for (i = 1; i <= nc; i++)
            printf "%s\n", has[i] ? "1" : "0" > (out ".keys")
    }' "$tmp/summary" > "$tmp/$4.dat"
    touch "$tmp/$4.na"
}

table "lifecycle attach" "raw libushm apr_shm" 1000 small
table "touch" "default populate hugepages memset" 1000000 touch
table "mutex" "raw libushm boost" 1 mutex
table "roundtrip" "pipe libushm socketpair eventfd semop" 1000 roundtrip
table "ring" "pipe libushm" -1000 ring
qwho="pipe seqpacket posix-mq eventfd-ring futex-ring bare-ring bare-ring-b32 libushm libushm-b32 boost-mq"
table "tput-64" "$qwho" 1 q64
table "tput-4096" "$qwho" 1 q4k
table "lat-spin" "$qwho" 1000 qlat
table "mpmc-4x4" "$qwho" 1 qmp

# Key entries: every contender, "(n/a)" after those without a number.
keys() {
    names=$1
    # shellcheck disable=SC2046 # one word per contender, on purpose
    set -- $(cat "$tmp/$2.keys")
    out=
    i=1
    for name in $names; do
        if [ "${1:-0}" = 1 ]; then
            out="$out keyentry with boxes lt $i title \"$name\","
        else
            out="$out keyentry with boxes lt $i fs empty title \"$name (n/a)\","
        fi
        [ $# -gt 0 ] && shift
        i=$((i + 1))
    done
    echo "$out"
}

# A contender without any number (hugepages unavailable) is expected.
quiet_warnings() {
    grep -v "Skipping data file with no valid points" "$tmp/gnuplot.err" >&2
}

common='
set terminal pngcairo size 1100,640 font "DejaVu Sans,11" noenhanced
set style data histograms
set style histogram errorbars gap 1 lw 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set datafile missing "?"
set key top left horizontal reverse Left samplen 2
set grid ytics lc rgb "#dddddd"
set xtics nomirror scale 0
set ytics nomirror
set border 3
set bars 0.5
set bmargin 4
fmt_ms(x) = x >= 1000 ? sprintf("%.2f s", x / 1000) : sprintf("%.3g ms", x)
'

if [ -s "$tmp/small.dat" ]; then
    groups=$(wc -l < "$tmp/small.dat")
    gnuplot 2> "$tmp/gnuplot.err" <<EOF || { cat "$tmp/gnuplot.err" >&2; exit 1; }
$common
set output "$lifecycle"
set title "4 KiB segment: create + map + unmap + remove (lifecycle); map + unmap of an existing one (attach)\nmedian of $runs runs, whiskers min..max; ratio against raw under the time"
set ylabel "microseconds per operation (lower is better)"
set xrange [-0.6:$groups - 0.4]
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set linetype 1 lc rgb "#7f7f7f"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#d62728"
plot for [i=0:2] "$tmp/small.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) notitle lt i+1, \
     for [i=0:2] "$tmp/small.dat" using (\$0 + (i-1)/4.0):(column(4+3*i)):(sprintf("%.3g us\n%.2fx", column(2+3*i), column(2+3*i)/column(2))) with labels offset 0,1.4 font ",9" notitle, \
     "$tmp/small.na" using 1:(0):("n/a") with labels offset 0,0.6 font ",9" notitle, \
     $(keys "raw libushm apr_shm" small) NaN notitle
EOF
    quiet_warnings
    echo "plot.sh: wrote $lifecycle"
fi

if [ -s "$tmp/touch.dat" ]; then
    groups=$(wc -l < "$tmp/touch.dat")
    read -r ymin ymax < "$tmp/touch.range"
    gnuplot 2> "$tmp/gnuplot.err" <<EOF || { cat "$tmp/gnuplot.err" >&2; exit 1; }
$common
set terminal pngcairo size 1300,660 font "DejaVu Sans,11" noenhanced
set output "$touch"
set title "Create a segment and write one byte per 4 KiB page, against memset() of as much memory already faulted in\nmedian of $runs runs, whiskers min..max; ratio against memset under the time; n/a: unavailable on this host"
set ylabel "milliseconds per create + touch (log scale, lower is better)"
set logscale y
set format y "%g"
set xrange [-0.6:$groups - 0.4]
set yrange [$ymin / 3.0 : $ymax * 6.0]
set linetype 1 lc rgb "#7f7f7f"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#2ca02c"
set linetype 4 lc rgb "#ff7f0e"
plot for [i=0:3] "$tmp/touch.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) notitle lt i+1, \
     for [i=0:3] "$tmp/touch.dat" using (\$0 + (i-1.5)/5.0):(column(4+3*i)):(sprintf("%s\n%.1fx", fmt_ms(column(2+3*i)), column(2+3*i)/column(11))) with labels offset 0,1.4 font ",8" notitle, \
     "$tmp/touch.na" using 1:($ymin / 3.0 * 1.3):("n/a") with labels font ",8" notitle, \
     $(keys "default populate hugepages memset" touch) NaN notitle
EOF
    quiet_warnings
    echo "plot.sh: wrote $touch"
fi

# Synchronisation: one panel per operation, each with its own unit; the
# ratios under the values are against the first contender of the panel.
# usage: panel NAME CONTENDERS TITLE linear|log FORMAT
panel() {
    n=$(echo "$2" | wc -w)
    groups=$(wc -l < "$tmp/$1.dat")
    read -r ymin ymax < "$tmp/$1.range"
    if [ "$4" = log ]; then
        echo "set logscale y; set yrange [$ymin / 3.0 : $ymax * 8.0]"
        nay="$ymin / 3.0 * 1.3"
    else
        echo "unset logscale y; set yrange [0 : $ymax * 1.35]"
        nay=0
    fi
    cat <<EOF
set title "$3"
set xrange [-0.6:$groups - 0.4]
plot for [i=0:$((n - 1))] "$tmp/$1.dat" using (column(2+3*i)):(column(3+3*i)):(column(4+3*i)):xtic(1) notitle lt i+1, \\
     for [i=0:$((n - 1))] "$tmp/$1.dat" using (\$0 + (i - ($n - 1) / 2.0) / ($n + 1.0)):(column(4+3*i)):(valid(2) ? sprintf("$5\\n%.2fx", column(2+3*i), column(2+3*i)/column(2)) : sprintf("$5", column(2+3*i))) with labels offset 0,1.4 font ",7" notitle, \\
     "$tmp/$1.na" using 1:($nay):("n/a") with labels font ",8" notitle, \\
     $(keys "$2" "$1") NaN notitle
EOF
}

if [ -s "$tmp/mutex.dat" ] || [ -s "$tmp/roundtrip.dat" ] || [ -s "$tmp/ring.dat" ]; then
    {
        echo "$common"
        cat <<EOF
set terminal pngcairo size 1800,640 font "DejaVu Sans,11" noenhanced
set output "$sync"
set multiplot layout 1,3 title "Synchronisation inside a segment: median of $runs runs, whiskers min..max; under each value its ratio to the panel's first bar"
set key top center horizontal Left reverse samplen 1 font ",9" maxcols 3
set format y "%g"
set linetype 1 lc rgb "#7f7f7f"
set linetype 2 lc rgb "#1f77b4"
set linetype 3 lc rgb "#d62728"
set linetype 4 lc rgb "#2ca02c"
set linetype 5 lc rgb "#ff7f0e"
EOF
        if [ -s "$tmp/mutex.dat" ]; then
            echo 'set ylabel "nanoseconds per lock + unlock (lower is better)"'
            panel mutex "raw libushm boost" "uncontended lock + unlock" linear "%.3g ns"
        fi
        if [ -s "$tmp/roundtrip.dat" ]; then
            echo 'set ylabel "microseconds per round trip (log scale, lower is better)"'
            panel roundtrip "pipe libushm socketpair eventfd semop" "process to process round trip" log "%.3g us"
        fi
        if [ -s "$tmp/ring.dat" ]; then
            echo 'set ylabel "million 64-byte records per second (log scale, higher is better)"'
            panel ring "pipe libushm" "producer to consumer through a ring" log "%.3g M/s"
        fi
        echo "unset multiplot"
    } > "$tmp/sync.gp"
    gnuplot "$tmp/sync.gp" 2> "$tmp/gnuplot.err" || { cat "$tmp/gnuplot.err" >&2; exit 1; }
    quiet_warnings
    echo "plot.sh: wrote $sync"
fi

if [ -s "$tmp/q64.dat" ] || [ -s "$tmp/qmp.dat" ]; then
    {
        echo "$common"
        cat <<EOF
set terminal pngcairo size 1600,1100 font "DejaVu Sans,11" noenhanced
set output "$queue"
set multiplot layout 2,2 title "A message queue between processes (bench/queue.c; Boost's message_queue from bench/boost-queue.cpp): median of $runs runs, whiskers min..max; under each value its ratio to the pipe's"
set key top center horizontal Left reverse samplen 1 font ",9" maxcols 4
set format y "%g"
set linetype 1 lc rgb "#7f7f7f"
set linetype 2 lc rgb "#bcbd22"
set linetype 3 lc rgb "#8c564b"
set linetype 4 lc rgb "#ff7f0e"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#2ca02c"
set linetype 7 lc rgb "#98df8a"
set linetype 8 lc rgb "#1f77b4"
set linetype 9 lc rgb "#aec7e8"
set linetype 10 lc rgb "#d62728"
EOF
        for q in "q64 64-byte messages, one producer and one consumer process" \
                 "q4k 4 KiB messages, one producer and one consumer process" \
                 "qlat one-way latency of 64 bytes, the consumer waiting (spinning where it spins)" \
                 "qmp 64-byte messages, 4 producer and 4 consumer processes"; do
            name=${q%% *}
            [ -s "$tmp/$name.dat" ] || continue
            if [ "$name" = qlat ]; then
                echo 'set ylabel "microseconds (log scale, lower is better)"'
                panel "$name" "$qwho" "${q#* }" log "%.3g us"
            else
                echo 'set ylabel "nanoseconds per message (log scale, lower is better)"'
                panel "$name" "$qwho" "${q#* }" log "%.3g ns"
            fi
        done
        echo "unset multiplot"
    } > "$tmp/queue.gp"
    gnuplot "$tmp/queue.gp" 2> "$tmp/gnuplot.err" || { cat "$tmp/gnuplot.err" >&2; exit 1; }
    quiet_warnings
    echo "plot.sh: wrote $queue"
fi
