#!/bin/sh
# Drives every subcommand of the ushm tool, on whichever backend it was built
# with.  Run as:  USHM=path/to/ushm sh tools/test-ushm.sh
# Prints one line per check, then "N passed, M failed"; exits 1 on any failure.
# shellcheck disable=SC2317 # the helpers are called through check and trap

USHM=${USHM:-./ushm}
pfx=ushm-test-$$
a=$pfx-a
tmp=${TMPDIR:-/tmp}/test-ushm.$$
names="$a $pfx-b $pfx-m $pfx-z $pfx-r1 $pfx-r2 $pfx-r3 $pfx-missing"

cleanup() {
    for n in $names; do
        "$USHM" rm "$n" >/dev/null 2>&1
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

(umask 077 && mkdir "$tmp") || { echo "cannot make $tmp"; exit 1; }

pass=0
fail=0
failed=
stdin=/dev/null

ok() {
    pass=$((pass + 1))
    echo "ok: $1"
}

ko() {
    fail=$((fail + 1))
    failed="$failed
    $1"
    echo "FAILED: $1"
    for f in "$tmp/out" "$tmp/err"; do
        [ -s "$f" ] && sed -e 's/^/    | /' -e 20q "$f"
    done
}

# run CMD...: run it with $stdin, keep stdout and stderr, return its status.
run() {
    "$@" <"$stdin" >"$tmp/out" 2>"$tmp/err"
}

# expect STATUS DESCRIPTION CMD...
expect() {
    want=$1
    desc=$2
    shift 2
    run "$@"
    got=$?
    if [ "$got" -eq "$want" ]; then
        ok "$desc"
        return 0
    fi
    ko "$desc (exit $got, expected $want)"
    return 1
}

# check DESCRIPTION TEST...: a check on what the last command printed.
check() {
    desc=$1
    shift
    if "$@"; then ok "$desc"; else ko "$desc"; fi
}

has() {        # has FILE TEXT: FILE contains TEXT as a fixed string
    grep -F -e "$2" "$1" >/dev/null
}

lacks() {
    ! has "$@"
}

valid_json() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -m json.tool "$1" >/dev/null 2>&1
    else
        # No python3: at least one object or array, whole.
        first=$(sed -n '1s/^[[:space:]]*\(.\).*/\1/p' "$1")
        last=$(sed -n '$s/.*\(.\)[[:space:]]*$/\1/p' "$1")
        case "$first$last" in '{}'|'[]') return 0 ;; *) return 1 ;; esac
    fi
}

# The SysV key of a canonical name, as ushm(3) documents it: 32-bit FNV-1a
# over the bytes of the name, 0 replaced by 1.  Needs 64-bit shell arithmetic.
sysv_key() {
    h=2166136261
    for byte in $(printf '%s' "$1" | od -An -v -tu1); do
        h=$(( ((h ^ byte) * 16777619) & 4294967295 ))
    done
    [ "$h" -eq 0 ] && h=1
    printf '0x%08x\n' "$h"
}

# ---- version, help, usage errors ----

expect 0 "--version exits 0" "$USHM" --version
backend=$(sed -n 's/^ushm [0-9][0-9.]* (\([a-z]*\) backend)$/\1/p' "$tmp/out")
case $backend in
posix|sysv) ok "--version prints 'ushm VERSION (BACKEND backend)'" ;;
*) ko "--version prints 'ushm VERSION (BACKEND backend)'" ;;
esac
echo "testing $USHM, backend ${backend:-unknown}"

expect 0 "--help exits 0" "$USHM" --help
check "--help prints the usage on stdout" has "$tmp/out" "ushm create"
expect 0 "create --help exits 0" "$USHM" create --help
check "create --help prints its usage on stdout" has "$tmp/out" "usage: ushm create NAME SIZE"
expect 2 "no subcommand exits 2" "$USHM"
expect 2 "unknown subcommand exits 2" "$USHM" frobnicate
check "unknown subcommand prints a usage line" has "$tmp/err" "usage:"
expect 2 "unknown option exits 2" "$USHM" stat "$a" --frob
expect 2 "missing argument exits 2" "$USHM" create "$a"
expect 2 "extra argument exits 2" "$USHM" stat "$a" "$pfx-b"
expect 2 "option without its value exits 2" "$USHM" read "$a" --offset
for bad in 12X -1 "" 1.5 " 1" 4KB 99999999999999999999G; do
    expect 2 "create with size '$bad' exits 2" "$USHM" create "$pfx-b" "$bad"
done
check "create with a size '12X' reports the size" has "$tmp/err" "invalid size"
expect 2 "create with mode '9' exits 2" "$USHM" create "$pfx-b" 4K --mode 9
expect 2 "read with offset '1Q' exits 2" "$USHM" read "$a" --offset 1Q
expect 1 "no segment was made by the bad sizes" "$USHM" stat "$pfx-b"

# ---- create and stat ----

expect 0 "create 8K --mode 0640" "$USHM" create "$a" 8K --mode 0640
check "create prints nothing" test ! -s "$tmp/out"
expect 0 "stat" "$USHM" stat "$a"
check "stat: name: /$a" has "$tmp/out" "name: /$a"
check "stat: backend: $backend" has "$tmp/out" "backend: $backend"
check "stat: size: 8192 (8K)" has "$tmp/out" "size: 8192"
check "stat: mode: 0640" has "$tmp/out" "mode: 0640"
check "stat: uid" grep "^uid: [0-9][0-9]*$" "$tmp/out"
check "stat: gid" grep "^gid: [0-9][0-9]*$" "$tmp/out"
if [ "$backend" = sysv ]; then
    check "stat: nattach: 0 on sysv" has "$tmp/out" "nattach: 0"
    key=$(sysv_key "/$a")
    check "stat: key: $key, the documented hash of /$a" has "$tmp/out" "key: $key"
else
    check "stat: nattach: -1 on posix" has "$tmp/out" "nattach: -1"
fi
check "the sh hash gives /cache the key in ushm(3)" \
    test "$(sysv_key /cache)" = 0xc681ccdc
expect 0 "stat --json" "$USHM" stat "/$a" --json
check "stat --json is valid JSON" valid_json "$tmp/out"
check "stat --json has the size" has "$tmp/out" '"size": 8192'
check "stat --json has the name" has "$tmp/out" "\"name\": \"/$a\""
expect 1 "create --excl on an existing segment exits 1" \
    "$USHM" create "$a" 8K --excl
check "create --excl says it exists" grep -i "exists" "$tmp/err"
expect 0 "create without --excl on an existing segment exits 0" \
    "$USHM" create "$a" 4K
expect 1 "create a/b exits 1 (invalid name)" "$USHM" create a/b 4K
check "create a/b: the message names it" has "$tmp/err" "a/b"
check "create a/b: message starts 'ushm: create: '" grep "^ushm: create: " "$tmp/err"
expect 1 "create with size 0 exits 1" "$USHM" create "$pfx-z" 0
(umask 077 && run "$USHM" create "$pfx-m" 1M --mode 0666)
check "create under umask 077 exits 0" test $? -eq 0
expect 0 "stat of the 1M segment" "$USHM" stat "$pfx-m"
check "umask is not applied: mode 0666" has "$tmp/out" "mode: 0666"
check "1M is 1048576 bytes" has "$tmp/out" "size: 1048576"

# ---- write and read ----

dd if=/dev/urandom of="$tmp/data" bs=1000 count=3 2>/dev/null
dd if=/dev/zero of="$tmp/zero1k" bs=1024 count=1 2>/dev/null
dd if=/dev/zero of="$tmp/rest" bs=1 count=$((8192 - 1024 - 3000)) 2>/dev/null
cat "$tmp/zero1k" "$tmp/data" "$tmp/rest" >"$tmp/image"
cp "$tmp/image" "$tmp/expect"

stdin=$tmp/data
expect 0 "write 3000 bytes at --offset 1K" "$USHM" write "$a" --offset 1K
check "write prints nothing" test ! -s "$tmp/out"
stdin=/dev/null
expect 0 "read --offset 1024 --length 3000" \
    "$USHM" read "$a" --offset 1024 --length 3000
check "read gives back the bytes written" cmp -s "$tmp/out" "$tmp/data"
expect 0 "read the whole segment" "$USHM" read "/$a"
check "the whole segment is zeros, data, zeros" cmp -s "$tmp/out" "$tmp/expect"
expect 0 "read --offset=8K gives nothing" "$USHM" read "$a" --offset=8K
check "read at the end is empty" test ! -s "$tmp/out"
expect 0 "read --offset 7K (to the end)" "$USHM" read "$a" --offset 7K
check "read from 7K is 1024 bytes" test "$(wc -c <"$tmp/out")" -eq 1024
expect 1 "read --offset past the end exits 1" "$USHM" read "$a" --offset 9K
expect 1 "read --length past the end exits 1" \
    "$USHM" read "$a" --offset 8000 --length 193
stdin=$tmp/data
expect 1 "write past the end exits 1" "$USHM" write "$a" --offset 6K
check "write past the end says it does not fit" has "$tmp/err" "does not fit"
stdin=/dev/null
expect 0 "read after the failed write" "$USHM" read "$a"
check "a write that does not fit changes nothing" cmp -s "$tmp/out" "$tmp/expect"
expect 0 "write of empty input at the very end" "$USHM" write "$a" --offset 8192

# ---- missing segments ----

m=$pfx-missing
expect 1 "stat of a missing segment exits 1" "$USHM" stat "$m"
check "stat of a missing segment names it" has "$tmp/err" "$m"
check "stat error starts 'ushm: stat: '" grep "^ushm: stat: " "$tmp/err"
expect 1 "read of a missing segment exits 1" "$USHM" read "$m"
check "read of a missing segment names it" has "$tmp/err" "$m"
expect 1 "write to a missing segment exits 1" "$USHM" write "$m"
expect 1 "rm of a missing segment exits 1" "$USHM" rm "$m"
check "rm of a missing segment names it" has "$tmp/err" "$m"

# ---- ls ----

expect 0 "ls" "$USHM" ls
if [ "$backend" = sysv ]; then
    check "ls shows the key $key with size 8192" \
        grep "^$key  *[0-9][0-9]*  *8192 " "$tmp/out"
    check "ls shows the header" has "$tmp/out" "NATTACH"
else
    check "ls shows /$a with size 8192" grep "^/$a  *8192  *0640 " "$tmp/out"
fi
expect 0 "ls --json" "$USHM" ls --json
check "ls --json is valid JSON" valid_json "$tmp/out"
if [ "$backend" = sysv ]; then
    check "ls --json has the key" has "$tmp/out" "\"key\": \"$key\""
    check "ls --json has cpid_alive" has "$tmp/out" '"cpid_alive": '
else
    check "ls --json has the name" has "$tmp/out" "\"name\": \"/$a\""
fi

# ---- rm of several names ----

for n in r1 r2 r3; do
    run "$USHM" create "$pfx-$n" 4K || ko "create $pfx-$n"
done
expect 0 "rm of three names" "$USHM" rm "$pfx-r1" "/$pfx-r2" "$pfx-r3"
for n in r1 r2 r3; do
    expect 1 "$pfx-$n is gone after rm" "$USHM" stat "$pfx-$n"
done
for n in r1 r2; do
    run "$USHM" create "$pfx-$n" 4K || ko "create $pfx-$n"
done
expect 1 "rm with one missing name exits 1" "$USHM" rm "$pfx-r1" "$m" "$pfx-r2"
check "rm reports the missing name" has "$tmp/err" "$m"
expect 1 "rm tried the name after the missing one" "$USHM" stat "$pfx-r2"

# ---- info and demo ----

expect 0 "info" "$USHM" info
check "info names the backend" has "$tmp/out" "backend: $backend"
check "info shows kernel.shmmax" has "$tmp/out" "kernel.shmmax"
check "info shows the page size" grep "^page size: [0-9]" "$tmp/out"
check "info shows /dev/shm free bytes" has "$tmp/out" "/dev/shm free"

expect 0 "demo exits 0" "$USHM" demo
check "demo: all messages arrived" has "$tmp/out" "5 of 5 messages arrived intact"
check "demo: names the backend" has "$tmp/out" "backend: $backend"
demo=$(sed -n 's/.*created \(\/ushm-demo-[0-9]*\).*/\1/p' "$tmp/out")
check "demo: names its segment" test -n "$demo"
expect 1 "demo leaves no segment behind" "$USHM" stat "${demo:-/ushm-demo-x}"

# ---- nothing left ----

expect 0 "rm of the remaining segments" "$USHM" rm "$a" "$pfx-m"
expect 0 "ls after rm" "$USHM" ls
check "ls shows none of this test's segments" lacks "$tmp/out" "$pfx"
if [ "$backend" = sysv ]; then
    check "ls no longer shows key $key" lacks "$tmp/out" "$key"
fi

echo "$pass passed, $fail failed"
if [ "$fail" -ne 0 ]; then
    echo "failed checks:$failed"
    exit 1
fi
exit 0
