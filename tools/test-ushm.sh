#!/bin/sh
# SPDX-License-Identifier: MIT
# Drives every subcommand of the ushm tool, on whichever backend it was built
# with.  Run as:  USHM=path/to/ushm sh tools/test-ushm.sh
# SYSV_RAW=path/to/tests/sysv-raw makes other programs' System V segments.
# Prints one line per check, then "N passed, M failed, K skipped"; exits 1 on
# any failure.
# shellcheck disable=SC2317 # the helpers are called through check and trap

USHM=${USHM:-./ushm}
raw=${SYSV_RAW:-}
pfx=ushm-test-$$
a=$pfx-a
tmp=${TMPDIR:-/tmp}/test-ushm.$$
# A name of the longest length libushm takes (30 characters after the slash).
long=$(printf '%s' "$pfx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" | cut -c1-30)
names="$a $pfx-b $pfx-m $pfx-z $pfx-r1 $pfx-r2 $pfx-r3 $pfx-missing $pfx-h $long"
# What other programs leave in /dev/shm, made by the POSIX checks below.
esc=$(printf '\033')
junk="$pfx-empty $pfx-fifo $pfx-dir $pfx-link $pfx-bad@name ${long}x sem.$pfx $pfx-e${esc}x $pfx-big"
# This run's SysV keys, from its pid (other runs, at the same time, have
# other pids); k3 is never made.  rawids: segments that only an id reaches.
kbase=$((0x75000000 + ($$ & 0xfffff) * 8))
k1=$(printf '0x%08x' "$kbase")
k2=$(printf '0x%08x' $((kbase + 1)))
k3=$(printf '0x%08x' $((kbase + 2)))
kbig=$(printf '0x%08x' $((kbase + 3)))
rawids=

cleanup() {
    for n in $names; do
        "$USHM" rm "$n" >/dev/null 2>&1
    done
    for k in $k1 $k2 $kbig; do
        "$USHM" rm --key "$k" >/dev/null 2>&1
    done
    for id in $rawids; do
        "$raw" rmid "$id" >/dev/null 2>&1
    done
    for n in $junk; do
        rm -rf "/dev/shm/$n"
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

(umask 077 && mkdir "$tmp") || { echo "cannot make $tmp"; exit 1; }

pass=0
fail=0
skipped=0
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

# A check that cannot run here (not root, a program missing): said, counted
# apart, never as a pass.
skip() {
    skipped=$((skipped + 1))
    # "# SKIP what: why" is what tests/case-driver.sh counts as a skip.
    echo "# SKIP $1"
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

# Under a system personality (tests/personality/run.sh: FreeBSD, macOS) POSIX
# objects are no files under /dev/shm: nothing lists them, no tmpfs of them
# fills.  The checks that need that say so and are skipped.
devshm=yes
case ${USHM_TEST_PERSONALITY:-} in
freebsd) sys=FreeBSD ;;
macos) sys=macOS ;;
*) sys=${USHM_TEST_PERSONALITY:-Linux} ;;
esac
if [ "$backend" = posix ] && [ -n "${USHM_TEST_PERSONALITY:-}" ]; then
    devshm=no
    nolist="$sys has no /dev/shm directory: its objects cannot be listed"
fi

expect 0 "--help exits 0" "$USHM" --help
check "--help prints the usage on stdout" has "$tmp/out" "ushm create"
expect 0 "create --help exits 0" "$USHM" create --help
check "create --help prints its usage on stdout" has "$tmp/out" "usage: ushm create NAME|--key KEY SIZE"
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
check "stat: size: 8K" has "$tmp/out" "size: 8K"
check "stat: mode: 0640" has "$tmp/out" "mode: 0640"
check "stat: uid" grep "^uid: [0-9][0-9]*$" "$tmp/out"
check "stat: gid" grep "^gid: [0-9][0-9]*$" "$tmp/out"
if [ "$backend" = sysv ]; then
    check "stat: nattach: 0 on sysv" has "$tmp/out" "nattach: 0"
    key=$(sysv_key "/$a")
    check "stat: key: $key, the documented hash of /$a" has "$tmp/out" "key: $key"
else
    check "stat: nattach: - on posix (it cannot tell)" has "$tmp/out" "nattach: -"
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
expect 0 "create --mode 0640 on the existing 0640 segment exits 0" \
    "$USHM" create "$a" 4K --mode 0640
expect 1 "create --mode 0600 on the existing 0640 segment exits 1" \
    "$USHM" create "$a" 4K --mode 0600
check "create --mode says the segment has another mode" \
    grep "^ushm: create: /$a exists with mode 0640, not 0600: its mode is left as it is" "$tmp/err"
expect 1 "create --mode 0 (0600) on the existing 0640 segment exits 1" \
    "$USHM" create "$a" 4K --mode 0
run "$USHM" stat "$a"
check "create --mode left the mode as it was" has "$tmp/out" "mode: 0640"
expect 1 "create a/b exits 1 (invalid name)" "$USHM" create a/b 4K
check "create a/b: the message names it" has "$tmp/err" "a/b"
check "create a/b: message starts 'ushm: create: '" grep "^ushm: create: " "$tmp/err"
expect 1 "create with size 0 exits 1" "$USHM" create "$pfx-z" 0
(umask 077 && run "$USHM" create "$pfx-m" 1M --mode 0666)
check "create under umask 077 exits 0" test $? -eq 0
expect 0 "stat of the 1M segment" "$USHM" stat "$pfx-m"
check "umask is not applied: mode 0666" has "$tmp/out" "mode: 0666"
check "1M is shown as 1M" has "$tmp/out" "size: 1M"
expect 0 "stat --bytes" "$USHM" stat "$pfx-m" --bytes
check "1M is 1048576 bytes with --bytes" has "$tmp/out" "size: 1048576"

# ---- key: the SysV key of a name, on either backend ----

expect 0 "key /cache" "$USHM" key /cache
check "key /cache prints 0xc681ccdc, the key in ushm(3)" \
    test "$(cat "$tmp/out")" = 0xc681ccdc
expect 0 "key $a (without the slash)" "$USHM" key "$a"
check "key $a prints the sh hash of /$a" test "$(cat "$tmp/out")" = "$(sysv_key "/$a")"
check "key prints one line" test "$(wc -l <"$tmp/out")" -eq 1
expect 0 "key --json" "$USHM" key "$a" --json
check "key --json is valid JSON" valid_json "$tmp/out"
check "key --json has the name with its slash" has "$tmp/out" "\"name\": \"/$a\""
check "key --json has the key as a string" has "$tmp/out" "\"key\": \"$(sysv_key "/$a")\""
expect 0 "key of a name that has no segment" "$USHM" key "$pfx-missing"
check "key of a missing segment prints its key" \
    test "$(cat "$tmp/out")" = "$(sysv_key "/$pfx-missing")"
expect 1 "key a/b exits 1 (invalid name)" "$USHM" key a/b
check "key a/b: message starts 'ushm: key: ' and names it" grep "^ushm: key: .*a/b" "$tmp/err"
expect 1 "key of a 31-character name exits 1" "$USHM" key "${long}x"
expect 1 "key of a sem. name exits 1" "$USHM" key "sem.$pfx"
expect 2 "key without a name exits 2" "$USHM" key
expect 2 "key with --bytes exits 2" "$USHM" key "$a" --bytes

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

# ---- a sparse object on a full /dev/shm: read and write fail, never die ----

# Another program's 64M sparse object, and /dev/shm full: the first touch of
# a page with no memory raises SIGBUS.  As root, in a private mount
# namespace with a 1 MiB /dev/shm of its own, so nothing outside is filled
# and nothing is left behind.
if [ "$backend" = posix ] && [ "$devshm" = no ]; then
    skip "a sparse object on a full /dev/shm: $sys keeps objects in no file system that can fill"
elif [ "$backend" = posix ]; then
    if [ "$(id -u)" -ne 0 ]; then
        skip "a sparse object on a full /dev/shm: needs root (a private mount namespace)"
    elif ! command -v unshare >/dev/null 2>&1; then
        skip "a sparse object on a full /dev/shm: no unshare(1)"
    elif ! timeout 20 unshare --mount --ipc true 2>/dev/null; then
        skip "a sparse object on a full /dev/shm: unshare --mount refused here"
    else
        timeout 20 unshare --mount --ipc sh -c '
            ushm=$1 tmp=$2
            mount -t tmpfs -o size=1m,mode=1777 ushm-test /dev/shm || exit 1
            truncate -s 64M /dev/shm/sparse || exit 1
            dd if=/dev/zero of=/dev/shm/fill bs=4k 2>/dev/null
            echo hello | "$ushm" write /sparse --offset 40M 2>"$tmp/w.err"
            echo "write $?"
            "$ushm" read /sparse --offset 40M --length 5 >"$tmp/r.out" 2>"$tmp/r.err"
            echo "read $?"
            rm /dev/shm/fill
            echo hello | "$ushm" write /sparse --offset 40M 2>>"$tmp/w.err"
            echo "write with room $?"
            "$ushm" read /sparse --offset 40M --length 6 >"$tmp/r2.out" 2>>"$tmp/r.err"
            echo "read with room $?"
        ' sh "$USHM" "$tmp" >"$tmp/ns" 2>&1
        check "write to a sparse object on a full /dev/shm exits 1, not by SIGBUS (135)" \
            grep -x "write 1" "$tmp/ns"
        check "write says which page got no memory, and that nothing was written" \
            grep "^ushm: write: /sparse: the page at offset 41943040 has no memory yet.*(SIGBUS): /dev/shm has 0 bytes free; nothing was written\$" "$tmp/w.err"
        check "read of it exits 1, not by SIGBUS" grep -x "read 1" "$tmp/ns"
        check "read says so" \
            grep "^ushm: read: /sparse: the page at offset 41943040 .*(SIGBUS).*; nothing was written to standard output\$" "$tmp/r.err"
        check "read wrote nothing to standard output" test ! -s "$tmp/r.out"
        check "with room again, the write succeeds" grep -x "write with room 0" "$tmp/ns"
        check "with room again, the read gives back what was written" \
            test "$(cat "$tmp/r2.out" 2>/dev/null)" = hello
    fi
fi

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

# ---- --key KEY in place of NAME: the segments of programs that use ftok ----

for bad in 0x 0xg1 0x123456789 "" 12a 4294967296 -2147483649 " 1" +1; do
    expect 2 "stat --key '$bad' exits 2" "$USHM" stat --key "$bad"
done
check "an invalid key is named as such" has "$tmp/err" "invalid key"
expect 2 "stat NAME --key KEY exits 2 (one or the other)" "$USHM" stat "$a" --key "$k1"
expect 2 "stat with --key twice exits 2" "$USHM" stat --key "$k1" --key "$k2"
expect 2 "create --key without a size exits 2" "$USHM" create --key "$k1"
expect 2 "create NAME --key KEY SIZE exits 2" "$USHM" create "$a" --key "$k1" 4K
expect 2 "rm with neither a name nor a key exits 2" "$USHM" rm
expect 2 "ls --key exits 2 (ls takes no segment)" "$USHM" ls --key "$k1"
expect 0 "key --key in decimal" "$USHM" key --key 3288400387
check "key --key 3288400387 prints 0xc4010203" test "$(cat "$tmp/out")" = 0xc4010203
expect 0 "key --key -1 --json (signed, as /proc/sysvipc/shm prints keys)" \
    "$USHM" key --key -1 --json
check "key --key -1 --json is 0xffffffff, with a null name" \
    has "$tmp/out" '{"name": null, "key": "0xffffffff"}'

if [ "$backend" = posix ]; then
    stdin=$tmp/data
    for c in "stat --key $k1" "read --key $k1" "write --key $k1" \
             "create --key $k1 4K" "rm --key $k1" "stat --key 0"; do
        # shellcheck disable=SC2086 # the words of $c are the arguments
        expect 1 "$c exits 1 on posix" "$USHM" $c
        check "$c: the library's -ENOTSUP sentence" \
            grep "^ushm: ${c%% *}: .*Operation not supported: keys name System V segments" "$tmp/err"
    done
    stdin=/dev/null
    check "the -ENOTSUP sentence says how to configure for keys" \
        has "$tmp/err" "--with-backend=sysv"
elif [ -x "$raw" ]; then
    run "$raw" make "$k1" 4096 "hello from raw" || ko "sysv-raw make $k1"
    id1=$(cat "$tmp/out")
    rawids="$rawids $id1"
    expect 0 "stat --key $k1: a raw program's segment" "$USHM" stat --key "$k1"
    check "stat --key: key: $k1" has "$tmp/out" "key: $k1"
    check "stat --key: its shmid" has "$tmp/out" "id: $id1"
    check "stat --key: size: 4K" has "$tmp/out" "size: 4K"
    check "stat --key: mode: 0644" has "$tmp/out" "mode: 0644"
    check "stat --key: name: - (a key has none)" has "$tmp/out" "name: -"
    check "stat --key: nattach: 0" has "$tmp/out" "nattach: 0"
    expect 0 "stat --key in decimal, --json" "$USHM" stat --key "$((k1))" --json
    check "stat --key --json is valid JSON" valid_json "$tmp/out"
    check "stat --key --json: null name, the key" \
        grep "^{\"name\": null, .*\"key\": \"$k1\", \"id\": $id1," "$tmp/out"
    expect 0 "ls with a raw program's segment" "$USHM" ls --bytes --output key,id,size,status
    check "ls lists it with its key" grep "^$k1  *$id1  *4096 ok\$" "$tmp/out"
    expect 0 "read --key" "$USHM" read --key "$k1" --length 14
    check "read --key gives what the raw program wrote" \
        test "$(cat "$tmp/out")" = "hello from raw"
    printf 'from ushm' >"$tmp/in"
    stdin=$tmp/in
    expect 0 "write --key --offset 100" "$USHM" write --key "$k1" --offset 100
    run "$raw" peek "$k1" 100 9
    check "the raw program reads what write --key wrote" \
        test "$(cat "$tmp/out")" = "from ushm"
    stdin=$tmp/data
    expect 1 "write --key of 3000 bytes at 2K does not fit" \
        "$USHM" write --key "$k1" --offset 2K
    check "write --key: the message names the key" has "$tmp/err" "key $k1 is 4096 bytes"
    stdin=/dev/null
    expect 0 "create --key of the existing segment joins it" "$USHM" create --key "$k1" 4K
    expect 1 "create --key --excl of the existing segment exits 1" \
        "$USHM" create --key "$k1" 4K --excl
    expect 1 "create --key --mode 0600 of the existing 0644 segment exits 1" \
        "$USHM" create --key "$k1" 4K --mode 0600
    check "create --key --mode names the key and its mode" \
        has "$tmp/err" "key $k1 exists with mode 0644, not 0600"
    expect 0 "rm --key" "$USHM" rm --key "$k1"
    expect 1 "stat --key after rm --key exits 1" "$USHM" stat --key "$k1"
    check "stat --key of a missing segment names the key" has "$tmp/err" "key $k1"
    expect 1 "read --key of a missing segment exits 1" "$USHM" read --key "$k1"
    expect 0 "create --key $k2 8K --mode 0640" "$USHM" create --key "$k2" 8K --mode 0640
    expect 0 "stat --key $k2" "$USHM" stat --key "$k2"
    check "create --key made it 8K, mode 0640" \
        test "$(grep -c -e '^size: 8K$' -e '^mode: 0640$' "$tmp/out")" -eq 2
    expect 1 "rm --key $k2 --key $k3 (missing) exits 1" "$USHM" rm --key "$k2" --key "$k3"
    check "rm names the missing key" has "$tmp/err" "key $k3"
    expect 1 "rm removed $k2 all the same" "$USHM" stat --key "$k2"
    run "$USHM" create "$pfx-r1" 4K || ko "create $pfx-r1"
    run "$USHM" create --key "$k2" 4K || ko "create --key $k2"
    expect 0 "rm NAME --key KEY" "$USHM" rm "$pfx-r1" --key "$k2"
    expect 1 "rm NAME --key KEY removed the key's segment" "$USHM" stat --key "$k2"
    expect 1 "rm NAME --key KEY removed the name's" "$USHM" stat "$pfx-r1"
    expect 1 "stat --key 0 (IPC_PRIVATE) exits 1" "$USHM" stat --key 0
    check "--key 0: the library's -EINVAL sentence" has "$tmp/err" "IPC_PRIVATE names no segment"
else
    skip "--key with a raw program's segment: no tests/sysv-raw (SYSV_RAW)"
fi

# ---- ls ----

if [ "$devshm" = no ]; then
    skip "ls of this test's segment: $nolist"
    expect 1 "ls where objects are no files exits 1" "$USHM" ls
    check "ls says $sys keeps its objects where no path reaches" \
        grep "cannot list POSIX segments: $sys keeps them where no path reaches" "$tmp/err"
else
expect 0 "ls --bytes" "$USHM" ls --bytes
if [ "$backend" = sysv ]; then
    check "ls shows the key $key with size 8192" \
        grep "^$key  *[0-9][0-9]*  *8192 " "$tmp/out"
    check "ls shows the header" has "$tmp/out" "NATTACH"
else
    check "ls shows /$a with size 8192" grep "^/$a  *8192 0640 " "$tmp/out"
fi
expect 0 "ls --json" "$USHM" ls --json
check "ls --json is valid JSON" valid_json "$tmp/out"
if [ "$backend" = sysv ]; then
    check "ls --json has the key" has "$tmp/out" "\"key\": \"$key\""
    check "ls --json has cpid_alive" has "$tmp/out" '"cpid_alive": '
else
    check "ls --json has the name" has "$tmp/out" "\"name\": \"/$a\""
fi
fi

# ---- ls: sizes, headings, columns, alignment ----

# The row of this test's segment NAME: by name on POSIX, by key on SysV.
if [ "$backend" = sysv ]; then
    idcol=key
    row_of() { sysv_key "/$1"; }
else
    idcol=name
    row_of() { echo "/$1"; }
fi
run "$USHM" create "$pfx-h" 1536000 || ko "create $pfx-h 1536000"
rowa=$(row_of "$a")
rowh=$(row_of "$pfx-h")
if [ "$devshm" = no ]; then
    skip "ls sizes, headings and columns: $nolist"
else
expect 0 "ls --output $idcol,size" "$USHM" ls --output "$idcol,size"
check "ls shows 8192 bytes as 8K" grep "^$rowa  *8K\$" "$tmp/out"
check "ls shows 1536000 bytes as 1.5M" grep "^$rowh  *1.5M\$" "$tmp/out"
check "ls --output $idcol,size has that header" \
    grep "^$(echo "$idcol" | tr a-z A-Z)  *SIZE\$" "$tmp/out"
expect 0 "ls --bytes --output $idcol,size" "$USHM" ls --bytes --output "$idcol,size"
check "ls --bytes shows 8192" grep "^$rowa  *8192\$" "$tmp/out"
check "ls --bytes shows 1536000" grep "^$rowh  *1536000\$" "$tmp/out"
expect 0 "ls -b -o with columns in lower and upper case" "$USHM" ls -b -o "Size,$idcol"
check "ls -o Size,$idcol puts SIZE first" grep "^ *8192 $rowa\$" "$tmp/out"
expect 0 "ls --noheadings" "$USHM" ls --noheadings
check "ls --noheadings prints no header" lacks "$tmp/out" "SIZE"
expect 0 "ls -n -o size" "$USHM" ls -n -o size
check "ls -n -o size prints only sizes" test -z "$(grep -v '^ *[0-9.]*[BKMGTPE]$' "$tmp/out")"
fi
expect 0 "ls --output help" "$USHM" ls --output help
for c in NAME BACKEND SIZE MODE OWNER UID GID NATTACH KEY ID CPID ALIVE STATUS REMOVE; do
    check "--output help lists $c on a line of its own" grep "^  $c  *[a-zA-Z]" "$tmp/out"
done
expect 2 "ls --output with an unknown column exits 2" "$USHM" ls --output name,bogus
check "the bad column is named" has "$tmp/err" "unknown column 'bogus'"
expect 2 "ls --output with an empty column exits 2" "$USHM" ls --output name,
expect 2 "ls --output with --json exits 2" "$USHM" ls --output name --json

run "$USHM" create "$long" 4K || ko "create the 30-character name $long"
if [ "$backend" = sysv ]; then
    cols=key,id,size,mode
    rowl=$(sysv_key "/$long")
else
    cols=name,size,mode
    rowl=/$long
fi
if [ "$devshm" = no ]; then
    skip "ls of a 30-character name: $nolist"
else
expect 0 "ls --output $cols with a 30-character name" "$USHM" ls --output "$cols"
check "ls shows the 30-character name's row" grep "^$rowl " "$tmp/out"
# Each column as wide as its widest cell: with MODE (4 wide) last, every line
# of this test's rows and the header is as long as the others.
grep -e "^[A-Z]" -e "^/$pfx" -e "^0x" "$tmp/out" | grep -v "$esc" >"$tmp/rows"
check "ls columns line up whatever the name's length" \
    test "$(awk '{ print length($0) }' "$tmp/rows" | sort -u | wc -l)" -eq 1
fi

# ---- 3 GiB: a 32-bit build lists and describes it (AC_SYS_LARGEFILE, as
# every file of the command includes config.h first); sparse, it costs nothing ----

if [ "$backend" = posix ] && [ "$devshm" = no ]; then
    skip "a 3 GiB sparse object: $nolist"
elif [ "$backend" = posix ]; then
    if truncate -s 3G "/dev/shm/$pfx-big" 2>/dev/null; then
        expect 0 "ls with a 3 GiB sparse object" "$USHM" ls --bytes --output name,size,status
        check "ls lists the 3 GiB object with its size" \
            grep "^/$pfx-big  *3221225472 ok\$" "$tmp/out"
        expect 0 "stat of the 3 GiB object" "$USHM" stat "$pfx-big" --bytes
        check "stat gives its size, 3221225472" has "$tmp/out" "size: 3221225472"
        expect 0 "info with a 3 GiB object in /dev/shm" "$USHM" info
        check "info gives the size of /dev/shm" grep "^/dev/shm size: [0-9][0-9]* bytes\$" "$tmp/out"
        rm -f "/dev/shm/$pfx-big"
    else
        skip "a 3 GiB sparse object: truncate -s 3G failed in /dev/shm"
    fi
elif [ -x "$raw" ] && run "$raw" make "$kbig" 3221225472; then
    rawids="$rawids $(cat "$tmp/out")"
    expect 0 "ls with a 3 GiB segment" "$USHM" ls --bytes --output key,size
    check "ls lists the 3 GiB segment with its size" grep "^$kbig  *3221225472\$" "$tmp/out"
    expect 0 "stat --key of the 3 GiB segment" "$USHM" stat --key "$kbig" --bytes
    check "stat gives its size, 3221225472" has "$tmp/out" "size: 3221225472"
    expect 0 "rm --key of the 3 GiB segment" "$USHM" rm --key "$kbig"
else
    skip "a 3 GiB SysV segment: no tests/sysv-raw, or shmget refused 3 GiB"
fi

# ---- JSON: one shape for ls and stat, on both backends ----

keys="name backend size mode owner uid gid nattach key id cpid cpid_alive status remove"
if [ "$devshm" = no ]; then
    skip "ls --json and stat --json alike: $nolist"
else
expect 0 "ls --json (for parsing)" "$USHM" ls --json
cp "$tmp/out" "$tmp/ls.json"
expect 0 "stat --json (for parsing)" "$USHM" stat "$a" --json
cp "$tmp/out" "$tmp/stat.json"
if command -v python3 >/dev/null 2>&1; then
    json_check() {  # json_check DESCRIPTION PYTHON-EXPRESSION
        python3 -c '
import json, sys
ls = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
keys = sys.argv[3].split()
backend, name, key = sys.argv[4], sys.argv[5], sys.argv[6]
segs = ls["segments"]
mine = [e for e in segs if (e["key"] == key if backend == "sysv" else e["name"] == name)]
sys.exit(0 if eval(sys.argv[7]) else 1)
' "$tmp/ls.json" "$tmp/stat.json" "$keys" "$backend" "/$a" "${key:-}" "$2" \
            >"$tmp/out" 2>"$tmp/err"
        check "$1" test $? -eq 0
    }
    json_check "ls --json is {\"segments\": [...]}, nothing else" \
        'list(ls) == ["segments"] and isinstance(segs, list)'
    json_check "every ls --json entry has exactly the keys: $keys" \
        'all(list(e) == keys for e in segs)'
    json_check "stat --json has exactly the keys of an ls entry, then queue (null: none here)" \
        'list(st) == keys + ["queue"] and st["queue"] is None'
    json_check "ls --json lists /$a once" 'len(mine) == 1'
    json_check "stat --json and the ls entry agree but for the name" \
        'all(st[k] == mine[0][k] for k in keys if k != "name")'
    json_check "stat --json: name, backend, size 8192, mode 0640, numbers" \
        'st["name"] == name and st["backend"] == backend and st["size"] == 8192 and st["mode"] == "0640" and isinstance(st["uid"], int) and isinstance(st["gid"], int) and isinstance(st["owner"], str)'
    json_check "stat --json: status ok and a remove command" \
        'st["status"] == "ok" and st["remove"] == ("ipcrm -m %d" % st["id"] if backend == "sysv" else "ushm rm " + name)'
    if [ "$backend" = sysv ]; then
        json_check "stat --json on sysv: key, id, cpid, cpid_alive, nattach" \
            'st["key"] == key and isinstance(st["id"], int) and isinstance(st["cpid"], int) and st["cpid_alive"] in (True, False) and st["nattach"] == 0'
        json_check "ls --json on sysv: the name is null (a key has no name)" \
            'all(e["name"] is None for e in segs)'
    else
        json_check "stat --json on posix: nattach, key, id, cpid, cpid_alive null" \
            'all(st[k] is None for k in ("nattach", "key", "id", "cpid", "cpid_alive"))'
    fi
    json_check "every ls entry but a semaphore or one that goes by itself says how to remove it" \
        'all(e["remove"] for e in segs if e["status"] not in ("semaphore", "removed", "private,removed"))'
else
    for k in $keys; do
        check "stat --json has the key $k (no python3: grep)" has "$tmp/stat.json" "\"$k\": "
        check "ls --json has the key $k (no python3: grep)" has "$tmp/ls.json" "\"$k\": "
    done
    check "ls --json begins {\"segments\": [" grep '^{"segments": \[' "$tmp/ls.json"
fi
fi

# ---- ls marks what the library refuses (POSIX: objects in /dev/shm) ----

if [ "$backend" = posix ] && [ "$devshm" = no ]; then
    skip "ls of FIFOs, directories, links and bad names in /dev/shm: $nolist"
elif [ "$backend" = posix ]; then
    : >"/dev/shm/$pfx-empty"
    mkfifo "/dev/shm/$pfx-fifo"
    mkdir "/dev/shm/$pfx-dir"
    ln -s /nonexistent "/dev/shm/$pfx-link"
    for n in "$pfx-bad@name" "${long}x" "sem.$pfx" "$pfx-e${esc}x"; do
        printf x >"/dev/shm/$n"
    done
    expect 0 "ls --output name,status,remove with objects the library refuses" \
        "$USHM" ls --output name,status,remove
    check "ls: an empty object is 'empty', removed by ushm rm" \
        grep "^/$pfx-empty  *empty  *ushm rm /$pfx-empty\$" "$tmp/out"
    check "ls: a FIFO is 'fifo', removed by rm" \
        grep "^/$pfx-fifo  *fifo  *rm /dev/shm/$pfx-fifo\$" "$tmp/out"
    check "ls: a directory is 'directory', removed by rm -r" \
        grep "^/$pfx-dir  *directory  *rm -r /dev/shm/$pfx-dir\$" "$tmp/out"
    check "ls: a symlink is 'symlink'" grep "^/$pfx-link  *symlink  *rm " "$tmp/out"
    check "ls: a name with @ is 'badname', removed by rm" \
        grep "^/$pfx-bad@name  *badname  *rm /dev/shm/$pfx-bad@name\$" "$tmp/out"
    check "ls: a 31-character name is 'badname'" grep "^/${long}x  *badname " "$tmp/out"
    check "ls: a sem. file is 'semaphore', and no command removes it" \
        grep "^/sem.$pfx  *semaphore  *-\$" "$tmp/out"
    check "ls: the ESC byte is shown as \\x1b" has "$tmp/out" "/$pfx-e\\x1bx "
    check "ls: no raw ESC byte reaches the output" lacks "$tmp/out" "$esc"
    check "ls: the ESC name's remove command is quoted \$'...'" \
        has "$tmp/out" "rm \$'/dev/shm/$pfx-e\\x1bx'"
    check "ls says on stderr how to remove the empty object" \
        has "$tmp/err" "/$pfx-empty: empty (size 0)"
    check "ls says on stderr how to remove the FIFO, if nothing uses it" \
        has "$tmp/err" "/$pfx-fifo: not a shared memory object: fifo; if nothing uses it, remove it with: rm /dev/shm/$pfx-fifo"
    check "ls says on stderr that sem.$pfx is a POSIX semaphore" \
        has "$tmp/err" "/sem.$pfx: a POSIX semaphore (sem_open), not a shared memory segment"
    check "ls advises nothing for the semaphore" lacks "$tmp/err" "rm /dev/shm/sem.$pfx"
    check "ls: the stderr notes escape the ESC byte too" lacks "$tmp/err" "$esc"
    expect 0 "ls --json with those objects" "$USHM" ls --json
    check "ls --json: the ESC byte is \\u001b" has "$tmp/out" "\"/$pfx-e\\u001bx\""
    check "ls --json: the FIFO's status" has "$tmp/out" '"status": "fifo"'
    check "ls --json: the semaphore's status, and a null remove" \
        has "$tmp/out" '"status": "semaphore", "remove": null'
    check "ls --json: no raw ESC byte" lacks "$tmp/out" "$esc"
    if command -v python3 >/dev/null 2>&1; then
        check "ls --json with those objects parses, and gives the ESC name back" \
            python3 -c 'import json, sys
names = [e["name"] for e in json.load(open(sys.argv[1]))["segments"]]
sys.exit(0 if sys.argv[2] in names else 1)' "$tmp/out" "/$pfx-e${esc}x"
    fi
    expect 1 "ushm rm refuses a name that is not a libushm name" \
        "$USHM" rm "$pfx-bad@name"
    expect 1 "stat of a name with an ESC byte exits 1" "$USHM" stat "$pfx-e${esc}x"
    check "the error message escapes the ESC byte" has "$tmp/err" "$pfx-e\\x1bx"
    check "no raw ESC byte reaches stderr" lacks "$tmp/err" "$esc"
    expect 2 "an unknown option with an ESC byte exits 2" "$USHM" ls "--x${esc}"
    check "the usage error escapes the ESC byte" lacks "$tmp/err" "$esc"
    expect 0 "ushm rm removes the empty object, as ls says" "$USHM" rm "$pfx-empty"
    check "the empty object is gone" test ! -e "/dev/shm/$pfx-empty"
    if command -v bash >/dev/null 2>&1; then
        run "$USHM" ls --noheadings --output name,remove
        cmd=$(grep "^/$pfx-e" "$tmp/out" | sed 's/^[^ ]*  *//')
        bash -c "$cmd" >/dev/null 2>&1
        check "ls's remove command for the ESC name works in bash" \
            test ! -e "/dev/shm/$pfx-e${esc}x"
    fi
    for n in $junk; do
        rm -rf "/dev/shm/$n"
    done
fi

# ---- ls on SysV: removal advised only for what nothing is attached to ----

if [ "$backend" = sysv ] && [ -x "$raw" ]; then
    # An IPC_PRIVATE segment whose creator stays attached until its standard
    # input ends; it prints its id once attached (so no waiting by sleep).
    mkfifo "$tmp/hold-in" "$tmp/hold-out"
    timeout 20 "$raw" hold private 4096 <"$tmp/hold-in" >"$tmp/hold-out" 2>"$tmp/hold-err" &
    holder=$!
    exec 8>"$tmp/hold-in"
    read -r hid <"$tmp/hold-out"
    rawids="$rawids $hid"
    run "$raw" make private 4096 || ko "sysv-raw make private"
    pid0=$(cat "$tmp/out")
    rawids="$rawids $pid0"
    expect 0 "ls with a private segment in use and one with nothing attached" \
        "$USHM" ls --output id,nattach,status,remove
    check "ls: the one in use is 'private', 1 attached" \
        grep "^ *${hid:-none}  *1 private  *ipcrm -m $hid\$" "$tmp/out"
    check "ls: the unused one is 'private', 0 attached" \
        grep "^ *${pid0:-none}  *0 private  *ipcrm -m $pid0\$" "$tmp/out"
    check "ls advises nothing on stderr for the segment in use" lacks "$tmp/err" "id ${hid:-none})"
    check "ls advises removing the unused one, its creator gone" \
        grep "^ushm: ls: key 0x00000000 (id $pid0): key IPC_PRIVATE: no name reaches it, and nothing is attached; remove it with: ipcrm -m $pid0\$" "$tmp/err"
    exec 8>&-
    wait "$holder"
    check "the holder detached and removed its segment" test $? -eq 0
    run "$raw" rmid "$pid0" || ko "sysv-raw rmid $pid0"
    expect 0 "ls after both are gone" "$USHM" ls --output id
    check "ls no longer lists them" test -z "$(grep -x -e " *$hid" -e " *$pid0" "$tmp/out")"
elif [ "$backend" = sysv ]; then
    skip "ls of other programs' private segments: no tests/sysv-raw (SYSV_RAW)"
fi

# ---- help, version, and output that cannot be written ----

for c in create rm stat key write read ls info demo; do
    expect 0 "$c --help exits 0" "$USHM" "$c" --help
    check "$c --help: usage line" grep "^usage: ushm $c" "$tmp/out"
    check "$c --help: several lines" test "$(wc -l <"$tmp/out")" -ge 5
    check "$c --help: an example" grep "^  ushm $c" "$tmp/out"
done
run "$USHM" ls --help
check "ls --help describes --output" has "$tmp/out" "--output"
expect 0 "-V" "$USHM" -V
cp "$tmp/out" "$tmp/V"
expect 0 "--version" "$USHM" --version
check "-V prints what --version prints" cmp -s "$tmp/out" "$tmp/V"
expect 0 "ls -V" "$USHM" ls -V
check "ls -V prints the version" cmp -s "$tmp/out" "$tmp/V"

# print_to TARGET DESCRIPTION CMD...: with stdout on /dev/full or closed.
print_to() {
    target=$1
    desc=$2
    shift 2
    case $target in
    full) "$@" <"$stdin" >/dev/full 2>"$tmp/err" ;;
    closed) "$@" <"$stdin" >&- 2>"$tmp/err" ;;
    esac
    got=$?
    if [ "$got" -eq 1 ] && has "$tmp/err" "writing standard output"; then
        ok "$desc"
    else
        ko "$desc (exit $got, expected 1 and a message)"
    fi
}
for target in full closed; do
    print_to $target "--help with stdout $target exits 1" "$USHM" --help
    print_to $target "--version with stdout $target exits 1" "$USHM" --version
    print_to $target "-V with stdout $target exits 1" "$USHM" -V
    for c in create rm stat key write read ls info demo; do
        print_to $target "$c --help with stdout $target exits 1" "$USHM" $c --help
    done
    if [ "$devshm" = yes ]; then
        print_to $target "ls with stdout $target exits 1" "$USHM" ls
        print_to $target "ls --json with stdout $target exits 1" "$USHM" ls --json
    fi
    print_to $target "ls --output help with stdout $target exits 1" \
        "$USHM" ls --output help
    print_to $target "stat with stdout $target exits 1" "$USHM" stat "$a"
    print_to $target "stat --json with stdout $target exits 1" "$USHM" stat "$a" --json
    print_to $target "key with stdout $target exits 1" "$USHM" key "$a"
    print_to $target "key --json with stdout $target exits 1" "$USHM" key "$a" --json
    print_to $target "read with stdout $target exits 1" "$USHM" read "$a"
    print_to $target "info with stdout $target exits 1" "$USHM" info
    print_to $target "demo with stdout $target exits 1" "$USHM" demo
done
"$USHM" create "$pfx-z" 4K >/dev/full 2>"$tmp/err"
check "create with stdout full exits 0 (it prints nothing)" test $? -eq 0
"$USHM" rm "$pfx-z" >/dev/full 2>"$tmp/err"
check "rm with stdout full exits 0 (it prints nothing)" test $? -eq 0
"$USHM" create "$pfx-z" 4K >&- 2>"$tmp/err"
check "create with stdout closed exits 0 (it prints nothing)" test $? -eq 0
"$USHM" rm "$pfx-z" >&- 2>"$tmp/err"
check "rm with stdout closed exits 0 (it prints nothing)" test $? -eq 0

# A reader that has gone: the writer is killed by SIGPIPE (status 128 + 13
# from the shell), quietly.  The fifo makes sure the reader is gone first.
if [ "$devshm" = no ]; then
    skip "ls with stdout full or closed, into a closed pipe, into head -1: $nolist"
else
mkfifo "$tmp/go"
( read -r x <"$tmp/go"; "$USHM" ls --json 2>"$tmp/err"; echo $? >"$tmp/status" ) |
    ( exec 0<&-; echo go >"$tmp/go" )
check "ls into a closed pipe dies of SIGPIPE (status 141)" \
    test "$(cat "$tmp/status")" -eq 141
check "ls into a closed pipe prints no error" test ! -s "$tmp/err"
"$USHM" ls 2>"$tmp/err" | head -1 >"$tmp/out"
check "ls | head -1 prints one line" test "$(wc -l <"$tmp/out")" -eq 1
check "ls | head -1 says nothing about writing" lacks "$tmp/err" "writing standard output"
fi

# ---- bash completion ----

completion=$(dirname "$0")/../completion/ushm
if command -v bash >/dev/null 2>&1 && [ -f "$completion" ]; then
    # complete WORD...: what the completion offers for the last word.
    complete_words() {
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
                 _ushm; [ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"' \
            sh "$completion" "$USHM" "$@" >"$tmp/out" 2>"$tmp/err"
    }
    complete_words st
    check "completion: 'st' gives stat (s: stat and send)" test "$(cat "$tmp/out")" = stat
    complete_words ""
    check "completion: every subcommand" \
        test "$(grep -c -x -e create -e rm -e stat -e write -e read -e ls -e info -e demo "$tmp/out")" -eq 8
    check "completion: key is offered" grep -x key "$tmp/out"
    complete_words k
    check "completion: 'k' gives key" test "$(cat "$tmp/out")" = key
    complete_words key --j
    check "completion: key's option --json" test "$(cat "$tmp/out")" = --json
    for c in create rm stat key write read; do
        complete_words $c --k
        check "completion: $c --k gives --key" test "$(cat "$tmp/out")" = --key
    done
    complete_words ls --k
    check "completion: no --key for ls" test ! -s "$tmp/out"
    if [ "$backend" = sysv ] && [ -x "$raw" ] && run "$raw" make "$k1" 4096; then
        rawids="$rawids $(cat "$tmp/out")"
        complete_words stat --key "$(echo "$k1" | cut -c1-7)"
        check "completion: --key offers the keys that ls lists" grep -x "$k1" "$tmp/out"
        complete_words stat --key 0x0000
        check "completion: --key does not offer IPC_PRIVATE" lacks "$tmp/out" 0x00000000
        run "$USHM" rm --key "$k1" || ko "rm --key $k1"
    fi
    complete_words ls --no
    check "completion: ls --no gives --noheadings" test "$(cat "$tmp/out")" = --noheadings
    complete_words create x 4K --e
    check "completion: create's options" test "$(cat "$tmp/out")" = --excl
    complete_words stat --e
    check "completion: no create option for stat" test ! -s "$tmp/out"
    complete_words ls --output name,si
    check "completion: a second column after a comma" test "$(cat "$tmp/out")" = name,size
    complete_words ls --output = stat   # bash splits --output=stat so
    check "completion: --output=COLUMN" test "$(cat "$tmp/out")" = status
    complete_words rm "$pfx-"
    if [ "$devshm" = no ]; then
        skip "completion of segment names: $nolist"
    elif [ "$backend" = posix ]; then
        check "completion: rm offers this test's segment $a" grep -x "$a" "$tmp/out"
        complete_words stat "/$pfx-"
        check "completion: names with the slash too" grep -x "/$a" "$tmp/out"
    else
        check "completion: no names on sysv (keys have none)" test ! -s "$tmp/out"
    fi
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
if [ -n "${USHM_TEST_PERSONALITY:-}" ]; then
    check "info says POSIX objects are no files here" has "$tmp/out" "POSIX objects: not files: $sys keeps them"
else
    check "info shows /dev/shm free bytes" has "$tmp/out" "/dev/shm free"
fi

expect 0 "demo exits 0" "$USHM" demo
check "demo: all messages arrived" has "$tmp/out" "5 of 5 messages arrived intact"
check "demo: names the backend" has "$tmp/out" "backend: $backend"
demo=$(sed -n 's/.*created \(\/ushm-demo-[0-9]*\).*/\1/p' "$tmp/out")
check "demo: names its segment" test -n "$demo"
expect 1 "demo leaves no segment behind" "$USHM" stat "${demo:-/ushm-demo-x}"

# ---- nothing left ----

expect 0 "rm of the remaining segments" "$USHM" rm "$a" "$pfx-m" "$pfx-h" "$long"
if [ "$devshm" = no ]; then
    for n in "$a" "$pfx-m" "$pfx-h" "$long"; do
        expect 1 "$n is gone after rm (nothing lists it)" "$USHM" stat "$n"
    done
else
expect 0 "ls after rm" "$USHM" ls
check "ls shows none of this test's segments" lacks "$tmp/out" "$pfx"
fi
if [ "$backend" = sysv ]; then
    check "ls no longer shows key $key" lacks "$tmp/out" "$key"
fi

echo "$pass passed, $fail failed, $skipped skipped"
if [ "$fail" -ne 0 ]; then
    echo "failed checks:$failed"
    exit 1
fi
exit 0
