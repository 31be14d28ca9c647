#!/bin/sh
# SPDX-License-Identifier: MIT
# Quick start on Debian or Ubuntu: install the build dependencies, bootstrap,
# configure, build, and run the demo.  Arguments go to ./configure, e.g.
#   sh quickstart.sh --with-backend=sysv
set -eu
cd "$(dirname "$0")"

packages="autoconf automake libtool pkg-config make gcc check"
missing=
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    if [ "$(id -u)" -eq 0 ]; then sudo=; else sudo=sudo; fi
    echo "quickstart: installing$missing"
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

autoreconf -fi
./configure "$@"
make -j"$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
./tools/ushm demo
