#!/bin/sh
# SPDX-License-Identifier: MIT
# Writes docs/RELIABILITY.md from the machine-readable lines that the
# fault, crash and stress programs printed into their test logs
# (FAULT|..., CRASH|..., STRESS|...).  Exits 1, after writing, if any row
# failed or left something behind, or if a log is missing.
#   tests/reliability-table.sh BUILDDIR OUTPUT
set -u
builddir=${1:?builddir}
out=${2:?output file}
logs=
for t in faults crash stress; do
    for b in posix sysv; do
        f=$builddir/tests/$t-$b.log
        if [ -f "$f" ]; then logs="$logs $f"; else echo "missing $f (run make check first)" >&2; missing=1; fi
    done
done
[ -z "${missing:-}" ] || exit 1

# The POSIX creation protocol of the build the logs come from.
if grep -q '^#define USHM_ATOMIC_PUBLISH 1' "$builddir/config.h" 2>/dev/null; then
    protocol="atomic publication: a segment is built
unnamed in /dev/shm (O_TMPFILE), given its mode and memory, and linked into
place whole, so no creator, killed or not, ever leaves an empty object"
else
    protocol="the fallback (configure
--disable-atomic-publish, or no O_TMPFILE): the name is made with
shm_open(O_EXCL) and is empty until the memory is reserved, so a killed
creator may leave an empty object; open-or-create waits about 1 s for its
size and then says EAGAIN, never completing or re-moding it, and
ushm_unlink removes it"
fi

# shellcheck disable=SC2086
rows=$(grep -h -E '^(FAULT|CRASH|STRESS)\|' $logs)
bad=$(printf '%s\n' "$rows" | awk -F'|' '$NF != "PASS" || $(NF-1) != "none"' | wc -l)
total=$(printf '%s\n' "$rows" | grep -c .)

{
    echo "# Reliability"
    echo
    echo "What libushm does when the system pushes back. This file is written by"
    echo "\`make reliability\` from the lines that the test programs"
    echo "\`tests/faults-*\`, \`tests/crash-*\` and \`tests/stress-*\` print as they run"
    echo "(part of \`make check\`); edit the tests, not this file."
    echo
    echo "Generated $(date -u +%Y-%m-%d) on $(uname -sr), $(getconf _NPROCESSORS_ONLN) cores:"
    echo "$total cases, $bad failed or left something behind."
    echo
    echo "The fault cases run in private IPC and mount namespaces, so that /dev/shm"
    echo "can be a tiny tmpfs and kernel.shm* can be lowered without touching the"
    echo "host. \"Left behind\" is checked after every case: entries in /dev/shm,"
    echo "SysV segments, descriptors and mappings."
    echo
    echo "POSIX creation protocol of this build: $protocol."
    echo
    echo "## What 0.3 adds, and where it is tested"
    echo
    echo "- Racers for one name on a small /dev/shm: one creates, the others join,"
    echo "  none gets ENOSPC (tests/conformance/room.c, four racers for 40 MiB on a"
    echo "  64 MiB tmpfs, twenty rounds). An object with more than one name is never"
    echo "  joined (EPERM)."
    echo "- The mutex across PID namespaces: EXDEV from another namespace, never a"
    echo "  false EDEADLK or two holders; a set-up killed inside a namespace never"
    echo "  hangs the others (tests/conformance/sync-shared.c: a kill storm of set-ups"
    echo "  in new PID namespaces). ushm_close() is EBUSY while any thread holds a"
    echo "  mutex in the mapping (a kill storm of holders while another thread"
    echo "  closes: both of their mutexes reach the next locker as OWNERDEAD)."
    echo "- Careless peers: a mutex whose bytes are overwritten while held is EPROTO,"
    echo "  never a second holder; an event whose bytes are overwritten is never"
    echo "  slept through for more than a second; waiters killed asleep cost one"
    echo "  wake-up in all; read-only mappings give EACCES, never SIGSEGV."
    echo "- What stays impossible: a participant that overwrites a held mutex's list"
    echo "  pointers can still make its holder's unlock fault, and one that scribbles"
    echo "  on data a mutex guards is the program's bug, which the library can only"
    echo "  report as OWNERDEAD when the holder dies."
    echo
    echo "## Faults"
    echo
    echo "| backend | case | how it is induced | expected | returned | left behind | result |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "$rows" | awk -F'|' '$1 == "FAULT" {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", $2, $3, $4, $5, $6, $7, $8 }'
    echo
    echo "## Crashes and stress"
    echo
    echo "| kind | backend | case | what | figures | left behind | result |"
    echo "|---|---|---|---|---|---|---|"
    printf '%s\n' "$rows" | awk -F'|' '$1 == "CRASH" || $1 == "STRESS" {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", tolower($1), $2, $3, $4, $5, $6, $7 }'
} > "$out"

echo "$out: $total cases, $bad failed or left something behind"
[ "$bad" -eq 0 ]
