#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the whole test suite the way it runs on another system, on Linux:
#
#   tests/personality/run.sh freebsd|macos BUILDDIR [configure arguments]
#
# configures BUILDDIR the way that system would be built (its POSIX system
# table, and what it lacks turned off, as CI's degraded build does), lowers
# the SysV limits to that system's defaults in an IPC namespace of the run's
# own (as root, or in a user namespace), and runs make check with the
# system's personality (tests/personality/SYSTEM.c) preloaded into every
# test, which says USHM_TEST_PERSONALITY=SYSTEM to the tests.  The run has
# IPC and mount namespaces of its own, with a fresh tmpfs on /dev/shm, so
# that nothing else on the host is counted as its leftover: after it,
# nothing may be left there or in the namespace's SysV table.
# The exit status is make check's (or 1 for leftovers).  PERSONALITY_TESTS,
# when set, runs only those tests (make check TESTS=...).
set -eu

system=${1:?usage: run.sh freebsd|macos BUILDDIR [configure arguments]}
build=${2:?usage: run.sh freebsd|macos BUILDDIR [configure arguments]}
shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)

# What each system lacks, turned off; its SysV defaults (shmmax in bytes,
# shmall in pages; sysctl kern.ipc.* on FreeBSD 13, kern.sysv.* on macOS).
# Neither has glibc, whose robust list the mutex's fast path joins, nor
# membarrier(2), which lets a queue's lone producer keep its lock, and
# neither can stat a removed SysV segment, so a join reads the size first.
common="--disable-futex --with-mutex-fast-path=none --with-queue-solo=none
        --with-sysv-size=eager
        ac_cv_have_decl_MAP_HUGETLB=no ac_cv_have_decl_MADV_HUGEPAGE=no
        ac_cv_have_decl_MADV_POPULATE_WRITE=no ac_cv_have_decl_MADV_POPULATE_READ=no
        ac_cv_have_decl_SHM_INFO=no ac_cv_have_decl_SHM_HUGETLB=no
        ac_cv_have_decl_O_TMPFILE=no ac_cv_func_pthread_mutex_clocklock=no"
case $system in
freebsd)
    # FreeBSD has robust mutexes and posix_fallocate on objects; its
    # trylock is libthr's, with nothing to repair (lib/sync/trylock-posix.c).
    flags="--with-posix-system=freebsd $common ushm_cv_glibc_trylock=no"
    shmmax=536870912 shmmni=192 shmall=131072 ;;
macos)
    # No posix_fallocate, no robust pthread mutex (configure picks
    # libushm's portable mutex, lib/sync/mutex-portable.c).
    flags="--with-posix-system=macos $common ac_cv_func_posix_fallocate=no
           ac_cv_have_decl_AT_EMPTY_PATH=no ac_cv_func_pthread_mutexattr_setrobust=no"
    shmmax=4194304 shmmni=32 shmall=1024 ;;
*)
    echo "run.sh: no personality '$system' (freebsd, macos)" >&2
    exit 2 ;;
esac

mkdir -p "$build"
cd "$build"
# shellcheck disable=SC2086 # flags are words
"$src/configure" --enable-werror $flags "$@" > personality-configure.log ||
    { tail -30 personality-configure.log; exit 1; }
make -j2 > personality-make.log 2>&1 || { tail -50 personality-make.log; exit 1; }
# Everything built first, without the personality: compilers and make are
# no business of it.
make -j2 check TESTS= > personality-build.log 2>&1 ||
    { tail -50 personality-build.log; exit 1; }
preload=$PWD/tests/personality/.libs/$system.so
[ -f "$preload" ] || { echo "run.sh: $preload was not built" >&2; exit 1; }

# Inside the run's own IPC namespace: the limits, make check, what is left.
inside='
    mount -t tmpfs -o mode=1777,nosuid,nodev personality /dev/shm ||
        { echo "run.sh: cannot mount a tmpfs on /dev/shm" >&2; exit 1; }
    sysctl -q -w kernel.shmmax=$1 kernel.shmmni=$2 kernel.shmall=$3 ||
        { echo "run.sh: cannot set the SysV limits" >&2; exit 1; }
    echo "SysV limits: shmmax $(sysctl -n kernel.shmmax), shmmni $(sysctl -n kernel.shmmni), shmall $(sysctl -n kernel.shmall) pages"
    rc=0
    env="LD_PRELOAD=$4; export LD_PRELOAD; USHM_TEST_PERSONALITY=$5; export USHM_TEST_PERSONALITY;"
    if [ -n "$6" ]; then
        make -j2 check TESTS_ENVIRONMENT="$env" TESTS="$6" || rc=$?
    else
        make -j2 check TESTS_ENVIRONMENT="$env" || rc=$?
    fi
    if [ -n "$(ipcs -m | awk "\$1 ~ /^0x/")" ]; then
        echo "run.sh: SysV segments left behind:"; ipcs -m; rc=1
    fi
    if [ -n "$(ls -A /dev/shm)" ]; then
        echo "run.sh: left in /dev/shm:" $(ls -A /dev/shm); rc=1
    fi
    exit $rc'
if [ "$(id -u)" = 0 ]; then
    how="unshare --ipc --mount"
else
    how="unshare --user --map-root-user --ipc --mount"
fi
echo "personality $system: $how, LD_PRELOAD=$preload"
rc=0
# shellcheck disable=SC2086
$how sh -c "$inside" sh "$shmmax" "$shmmni" "$shmall" "$preload" "$system" \
    "${PERSONALITY_TESTS:-}" || rc=$?

echo "== make check under the $system personality"
sed -n '/^# TOTAL/,/^# ERROR/p' test-suite.log
exit $rc
