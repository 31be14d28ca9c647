#!/bin/sh
# SPDX-License-Identifier: MIT
# Drives every subcommand of the ushm tool, on whichever backend it was built
# with.  Run as:  USHM=path/to/ushm sh tools/test-ushm.sh
# Prints one line per check, then "N passed, M failed"; exits 1 on any failure.
# shellcheck disable=SC2317 # the helpers are called through check and trap

USHM=${USHM:-./ushm}
pfx=ushm-test-$$
a=$pfx-a
tmp=${TMPDIR:-/tmp}/test-ushm.$$
# A name of the longest length libushm takes (30 characters after the slash).
long=$(printf '%s' "$pfx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" | cut -c1-30)
names="$a $pfx-b $pfx-m $pfx-z $pfx-r1 $pfx-r2 $pfx-r3 $pfx-missing $pfx-h $long"
# What other programs leave in /dev/shm, made by the POSIX checks below.
esc=$(printf '\033')
junk="$pfx-empty $pfx-fifo $pfx-dir $pfx-link $pfx-bad@name ${long}x sem.$pfx $pfx-e${esc}x"

cleanup() {
    for n in $names; do
        "$USHM" rm "$n" >/dev/null 2>&1
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
expect 0 "ls --output $cols with a 30-character name" "$USHM" ls --output "$cols"
check "ls shows the 30-character name's row" grep "^$rowl " "$tmp/out"
# Each column as wide as its widest cell: with MODE (4 wide) last, every line
# of this test's rows and the header is as long as the others.
grep -e "^[A-Z]" -e "^/$pfx" -e "^0x" "$tmp/out" | grep -v "$esc" >"$tmp/rows"
check "ls columns line up whatever the name's length" \
    test "$(awk '{ print length($0) }' "$tmp/rows" | sort -u | wc -l)" -eq 1

# ---- JSON: one shape for ls and stat, on both backends ----

keys="name backend size mode owner uid gid nattach key id cpid cpid_alive status remove"
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
    json_check "stat --json has exactly the keys of an ls entry" 'list(st) == keys'
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
    json_check "every ls entry the backend will not remove by itself says how to remove it" \
        'all(e["remove"] for e in segs if "removed" not in e["status"])'
else
    for k in $keys; do
        check "stat --json has the key $k (no python3: grep)" has "$tmp/stat.json" "\"$k\": "
        check "ls --json has the key $k (no python3: grep)" has "$tmp/ls.json" "\"$k\": "
    done
    check "ls --json begins {\"segments\": [" grep '^{"segments": \[' "$tmp/ls.json"
fi

# ---- ls marks what the library refuses (POSIX: objects in /dev/shm) ----

if [ "$backend" = posix ]; then
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
    check "ls: a sem. name is 'badname'" grep "^/sem.$pfx  *badname " "$tmp/out"
    check "ls: the ESC byte is shown as \\x1b" has "$tmp/out" "/$pfx-e\\x1bx "
    check "ls: no raw ESC byte reaches the output" lacks "$tmp/out" "$esc"
    check "ls: the ESC name's remove command is quoted \$'...'" \
        has "$tmp/out" "rm \$'/dev/shm/$pfx-e\\x1bx'"
    check "ls says on stderr how to remove the empty object" \
        has "$tmp/err" "/$pfx-empty: empty (size 0)"
    check "ls says on stderr how to remove the FIFO" \
        has "$tmp/err" "remove it with: rm /dev/shm/$pfx-fifo"
    check "ls: the stderr notes escape the ESC byte too" lacks "$tmp/err" "$esc"
    expect 0 "ls --json with those objects" "$USHM" ls --json
    check "ls --json: the ESC byte is \\u001b" has "$tmp/out" "\"/$pfx-e\\u001bx\""
    check "ls --json: the FIFO's status" has "$tmp/out" '"status": "fifo"'
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
    print_to $target "ls with stdout $target exits 1" "$USHM" ls
    print_to $target "ls --json with stdout $target exits 1" "$USHM" ls --json
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
mkfifo "$tmp/go"
( read -r x <"$tmp/go"; "$USHM" ls --json 2>"$tmp/err"; echo $? >"$tmp/status" ) |
    ( exec 0<&-; echo go >"$tmp/go" )
check "ls into a closed pipe dies of SIGPIPE (status 141)" \
    test "$(cat "$tmp/status")" -eq 141
check "ls into a closed pipe prints no error" test ! -s "$tmp/err"
"$USHM" ls 2>"$tmp/err" | head -1 >"$tmp/out"
check "ls | head -1 prints one line" test "$(wc -l <"$tmp/out")" -eq 1
check "ls | head -1 says nothing about writing" lacks "$tmp/err" "writing standard output"

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
    if [ "$backend" = posix ]; then
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
check "info shows /dev/shm free bytes" has "$tmp/out" "/dev/shm free"

expect 0 "demo exits 0" "$USHM" demo
check "demo: all messages arrived" has "$tmp/out" "5 of 5 messages arrived intact"
check "demo: names the backend" has "$tmp/out" "backend: $backend"
demo=$(sed -n 's/.*created \(\/ushm-demo-[0-9]*\).*/\1/p' "$tmp/out")
check "demo: names its segment" test -n "$demo"
expect 1 "demo leaves no segment behind" "$USHM" stat "${demo:-/ushm-demo-x}"

# ---- nothing left ----

expect 0 "rm of the remaining segments" "$USHM" rm "$a" "$pfx-m" "$pfx-h" "$long"
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
