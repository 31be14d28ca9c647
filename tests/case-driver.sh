#!/bin/sh
# SPDX-License-Identifier: MIT
# The automake test driver (LOG_DRIVER) of the test programs: a result per
# case, so that a case that could not run is counted as a skip, never as a
# pass.
#
# - A program that prints TAP result lines (the Check programs, through
#   conf_main() in tests/conformance/common-main.c) is counted line by line:
#   "ok N - what" PASS, "ok N - what # SKIP why" SKIP, "not ok N - what"
#   FAIL.  A plan line "1..N" that disagrees with the lines seen, or a
#   non-zero exit status with no failed line (segments left behind at the
#   end), adds an ERROR.
# - Any other program is counted by its exit status, as automake's own
#   test-driver does: 0 PASS, 77 SKIP, 99 ERROR, anything else FAIL; and
#   each line "# SKIP <case>: <why>" it printed (a part it could not run
#   while the rest ran) adds a SKIP.
#
# Usage (automake passes these):
#   case-driver.sh --test-name NAME --log-file PATH --trs-file PATH
#                  [--expect-failure yes|no] [--color-tests yes|no]
#                  [--enable-hard-errors yes|no] [--] PROGRAM [ARGS...]
set -u

test_name= log_file= trs_file=
expect_failure=no color_tests=no enable_hard_errors=yes
while [ $# -gt 0 ]; do
    case $1 in
    --test-name) test_name=$2; shift ;;
    --log-file) log_file=$2; shift ;;
    --trs-file) trs_file=$2; shift ;;
    --color-tests) color_tests=$2; shift ;;
    --expect-failure) expect_failure=$2; shift ;;
    --enable-hard-errors) enable_hard_errors=$2; shift ;;
    --collect-skipped-logs) shift ;;
    --) shift; break ;;
    -*) echo "$0: unknown option $1" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
if [ -z "$test_name" ] || [ -z "$log_file" ] || [ -z "$trs_file" ] || [ $# -eq 0 ]; then
    echo "usage: $0 --test-name NAME --log-file PATH --trs-file PATH -- PROGRAM..." >&2
    exit 2
fi

if [ "$color_tests" = yes ]; then
    red='[0;31m' grn='[0;32m' lgn='[1;32m' blu='[1;34m' mgn='[0;35m' std='[m'
else
    red= grn= lgn= blu= mgn= std=
fi

trap 'rm -f "$log_file" "$trs_file"; exit 129' 1
trap 'rm -f "$log_file" "$trs_file"; exit 130' 2
trap 'rm -f "$log_file" "$trs_file"; exit 141' 13
trap 'rm -f "$log_file" "$trs_file"; exit 143' 15

: >"$log_file"
"$@" >>"$log_file" 2>&1
estatus=$?
if [ "$enable_hard_errors" = no ] && [ $estatus -eq 99 ]; then
    estatus=1
fi

# One "RESULT<tab>details" line per result.
results=$(awk -v estatus="$estatus" '
    /^(not )?ok [0-9]+([ \t]|$)/ {
        ok = $1 == "ok"
        line = $0
        sub(/^(not )?ok[ \t]+/, "", line)
        res = ok ? "PASS" : "FAIL"
        if (match(line, /[ \t]#[ \t]*[Ss][Kk][Ii][Pp]([ \t]|$)/)) {
            why = substr(line, RSTART + RLENGTH)
            line = substr(line, 1, RSTART - 1) (why != "" ? " (" why ")" : "")
            if (ok)
                res = "SKIP"
        }
        tap++
        failed += res == "FAIL"
        printf "%s\t%s\n", res, line
        next
    }
    /^1\.\.[0-9]+/ { plan = $1; sub(/^1\.\./, "", plan); next }
    /^# SKIP / { skipped[++nskip] = substr($0, 8); next }
    END {
        if (tap > 0) {
            if (plan != "" && plan + 0 != tap)
                printf "ERROR\tplanned %d cases, %d reported\n", plan, tap
            if (estatus != 0 && failed == 0)
                printf "ERROR\texit status %d after its cases\n", estatus
        } else {
            if (estatus == 0)
                print "PASS\t"
            else if (estatus == 77)
                printf "SKIP\t%s\n", (nskip > 0 ? "(" skipped[1] ")" : "")
            else if (estatus == 99)
                printf "ERROR\texit status 99\n"
            else
                printf "FAIL\texit status %d\n", estatus
            for (i = 1; estatus != 77 && i <= nskip; i++)
                printf "SKIP\t%s\n", skipped[i]
        }
    }' "$log_file")

: >"$trs_file"
global= recheck=no gcopy=no
tab=$(printf '\t')
printf '%s\n' "$results" | {
    while IFS="$tab" read -r res details; do
        [ -n "$res" ] || continue
        case $res:$expect_failure in
        PASS:yes) res=XPASS ;;
        FAIL:yes) res=XFAIL ;;
        esac
        case $res in
        PASS) col=$grn ;;
        SKIP) col=$blu ;;
        XFAIL) col=$lgn ;;
        ERROR) col=$mgn ;;
        *) col=$red ;;
        esac
        echo "${col}${res}${std}: $test_name${details:+ $details}"
        echo "$res: $test_name${details:+ $details}" >>"$log_file"
        echo ":test-result: $res" >>"$trs_file"
        # The worst result is the test's; a skip only when nothing ran.
        case $res in
        ERROR) global=ERROR ;;
        FAIL) [ "$global" = ERROR ] || global=FAIL ;;
        XPASS) case $global in ERROR|FAIL) ;; *) global=XPASS ;; esac ;;
        PASS|XFAIL) [ -n "$global" ] && [ "$global" != SKIP ] || global=PASS ;;
        SKIP) [ -n "$global" ] || global=SKIP ;;
        esac
        case $res in
        FAIL|ERROR|XPASS) recheck=yes ;;
        esac
        [ "$res" = PASS ] || gcopy=yes
    done
    echo "$test_name: exit status $estatus" >>"$log_file"
    echo ":global-test-result: ${global:-ERROR}" >>"$trs_file"
    echo ":recheck: $recheck" >>"$trs_file"
    echo ":copy-in-global-log: $gcopy" >>"$trs_file"
}
