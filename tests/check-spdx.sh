#!/bin/sh
# SPDX-License-Identifier: MIT
# Every source file, script and man page of the tree names its license in
# one of its first three lines.  Generated files (configure, Makefile.in,
# config.h.in, build-aux/) and the one-line .so man pages are left out.
cd "${srcdir:-.}" || exit 1
missing=0 checked=0
for f in configure.ac Makefile.am ushm.pc.in quickstart.sh .ci/run \
         completion/ushm examples/Makefile \
         $(find lib backends include tests tools bench examples fuzz abi man cmake \
                -type f \( -name '*.[ch]' -o -name '*.cpp' -o -name '*.sh' \
                -o -name '*.sym' -o -name '*.am' -o -name '*.ac' \
                -o -name '*.[1-8]' -o -name '*.in' -o -name CMakeLists.txt \) \
                2>/dev/null | sort); do
    [ -f "$f" ] || continue
    case $f in man/*) head -n 1 "$f" | grep -q '^\.so ' && continue ;; esac
    checked=$((checked + 1))
    head -n 3 "$f" | grep -q 'SPDX-License-Identifier: MIT' ||
        { echo "no SPDX-License-Identifier line: $f"; missing=$((missing + 1)); }
done
echo "$checked files checked, $missing without an SPDX-License-Identifier line"
[ "$missing" -eq 0 ]
