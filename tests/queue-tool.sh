#!/bin/sh
# SPDX-License-Identifier: MIT
# ushm send, ushm recv and the queue lines of ushm stat, on the configured
# library ($USHM_TOOL, default tools/ushm in the build tree).  A pipeline through
# a segment is one command each side; no step sleeps to wait for another.
set -u
USHM=${USHM_TOOL:-tools/ushm}
name=/uqt$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ushm-queue-tool.XXXXXX") || exit 1
trap '"$USHM" rm "$name" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
check() { # check WHAT CONDITION...
    what=$1
    shift
    if "$@"; then
        echo "PASS $what"
    else
        echo "FAIL $what"
        fails=$((fails + 1))
    fi
}
# Every command under a deadline: a hang fails instead of stalling.
t() { timeout 30 "$USHM" "$@"; }

t create "$name" 256K || exit 1

# lines, both sides at once, whichever attaches first
seq 1 20000 > "$tmp/in"
t recv "$name" > "$tmp/out" &
recv=$!
t send "$name" < "$tmp/in"
send_rc=$?
wait $recv
recv_rc=$?
check "pipeline: 20000 lines in order, both exit 0" \
    test $send_rc = 0 -a $recv_rc = 0 -a "$(cksum < "$tmp/in")" = "$(cksum < "$tmp/out")"

# --raw: binary, one message; --count ends the consumer.  A new segment:
# a queue whose consumers have all left refuses sends until one attaches.
t rm "$name" && t create "$name" 256K || exit 1
head -c 100000 /dev/urandom > "$tmp/bin"
t recv "$name" --raw --count 1 > "$tmp/bin.out" &
recv=$!
t send "$name" --raw < "$tmp/bin"
wait $recv
check "--raw: 100000 bytes as one message" cmp -s "$tmp/bin" "$tmp/bin.out"

# a consumer was attached and none is now: send fails at once (EPIPE)
echo late | t send "$name" 2> "$tmp/err"
rc=$?
check "send after the consumers left: exit 1, says why" \
    test $rc = 1 -a -n "$(grep 'no consumer' "$tmp/err")"

# a queue at an offset, with its size; stat of the segment shows the queue at 0
t rm "$name" && t create "$name" 256K || exit 1
printf 'a\nb\nc\n' | t send "$name" --offset 64K --size 64K
out=$(t recv "$name" --offset 64K --size 64K --count 2 | tr '\n' ,)
check "--offset/--size: the first two of three" test "$out" = "a,b,"
out=$(t recv "$name" --offset 64K --size 64K --timeout 50 | tr '\n' ,)
check "the rest, then the end of the stream (exit 0)" test "$out" = "c,"
printf 'x\ny\n' | t send "$name"
t stat "$name" > "$tmp/stat"
check "stat: depth 2, capacity, no one attached" \
    test "$(grep -c -e '^queue_depth: 2$' -e '^queue_producers: 0$' -e '^queue_consumers: 0$' -e '^queue_capacity: ' "$tmp/stat")" = 4
t stat --json "$name" > "$tmp/json"
check "stat --json: the queue's object" \
    grep -q '"queue": {"depth": 2, "used": [0-9]*, "capacity": [0-9]*, "msg_max": [0-9]*, "producers": 0, "consumers": 0, "sent": [0-9]*, "received": [0-9]*}}$' "$tmp/json"
t recv "$name" --count 2 > /dev/null
t recv "$name" --timeout 100 2> "$tmp/err"
rc=$?
check "--timeout with a producer gone: the end of the stream, exit 0" test $rc = 0
t rm "$name" && t create "$name" 64K || exit 1
t stat "$name" > "$tmp/stat"
check "stat of a segment that holds no queue: no queue lines" test "$(grep -c '^queue_' "$tmp/stat")" = 0
t stat --json "$name" > "$tmp/json"
check "stat --json of a segment that holds no queue: \"queue\": null" \
    grep -q '"queue": null}$' "$tmp/json"
t recv "$name" --timeout 100 2> "$tmp/err"
rc=$?
check "--timeout with no producer yet: exit 1" test $rc = 1 -a -n "$(grep 'no message in 100 ms' "$tmp/err")"
check "--offset past the end: exit 1" sh -c "echo x | timeout 30 '$USHM' send '$name' --offset 1M 2>/dev/null; test \$? = 1"

echo "$fails failed"
test $fails = 0
