#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/case-driver.sh, the driver that counts every test's results, on
# programs made up for it: each exit status and each kind of line must give
# the results automake is told (.trs).  A program that exited 77 once gave
# no result at all (an awk redirection), so its skip went uncounted.
set -u
top=${srcdir:-.}
driver=$top/tests/case-driver.sh
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-case-driver.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failed=0 n=0

# case NAME 'WANTED RESULTS' SCRIPT: the :test-result: lines, space-separated,
# then the global result after a slash
case_() {
    name=$1 want=$2
    printf '%s\n' "$3" > "$tmp/$name.sh"
    sh "$driver" --test-name "$name" --log-file "$tmp/$name.log" \
        --trs-file "$tmp/$name.trs" -- sh "$tmp/$name.sh" > /dev/null 2>"$tmp/$name.err"
    got="$(sed -n 's/^:test-result: //p' "$tmp/$name.trs" | tr '\n' ' ')/$(sed -n 's/^:global-test-result: //p' "$tmp/$name.trs")"
    n=$((n + 1))
    if [ "$got" != "$want" ] || [ -s "$tmp/$name.err" ]; then
        echo "FAIL $name: results '$got', want '$want'; stderr: $(cat "$tmp/$name.err")"
        failed=$((failed + 1))
    else
        echo "PASS $name: $got"
    fi
}

case_ exit0 'PASS /PASS' 'exit 0'
case_ exit1 'FAIL /FAIL' 'exit 1'
case_ exit77 'SKIP /SKIP' 'exit 77'
case_ exit77_why 'SKIP /SKIP' 'echo "# SKIP all: no 32-bit compiler"; exit 77'
case_ exit99 'ERROR /ERROR' 'exit 99'
case_ part_skipped 'PASS SKIP /PASS' 'echo "# SKIP one case: not here"; exit 0'
case_ tap 'PASS SKIP FAIL /FAIL' 'echo 1..3; echo "ok 1 - a"; echo "ok 2 - b # SKIP why"; echo "not ok 3 - c"; exit 1'
case_ tap_all_pass 'PASS PASS /PASS' 'echo 1..2; echo "ok 1 - a"; echo "ok 2 - b"'
case_ tap_plan 'PASS ERROR /ERROR' 'echo 1..2; echo "ok 1 - a"'
case_ tap_exit 'PASS ERROR /ERROR' 'echo "ok 1 - a"; exit 3'
# the skip's reason is in the line automake prints
grep -q '^SKIP: exit77_why (all: no 32-bit compiler)$' "$tmp/exit77_why.log" || {
    echo "FAIL exit77_why: the log does not give the reason: $(cat "$tmp/exit77_why.log")"
    failed=$((failed + 1))
}
echo "$((n - failed)) of $n cases gave the results wanted"
[ $failed -eq 0 ]
