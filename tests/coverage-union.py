#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Lines of lib/ and backends/ that make check ran in any of several
coverage builds (configure --enable-coverage), from gcov's JSON.  Each
alternative file or #if branch runs in one build or another (the default,
the degraded one): gcovr cannot merge builds whose alternatives define one
function at different lines, so this counts lines alone.

usage: coverage-union.py [--missed] SRCDIR BUILDDIR...
  --missed   also list, file by file, the lines that no build ran
"""
import glob
import gzip
import json
import os
import subprocess
import sys
import tempfile


def main():
    args = sys.argv[1:]
    missed = bool(args) and args[0] == "--missed"
    if missed:
        args = args[1:]
    top = os.path.realpath(args[0])
    dirs = ("lib", "backends")
    lines = {}  # (file, line) -> ran
    for build in map(os.path.realpath, args[1:]):
        found = [os.path.join(d, f) for d, _, files in os.walk(build)
                 for f in files if f.endswith(".gcda")]  # .libs too
        for gcda in found:
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(["gcov", "-j", "-o", os.path.dirname(gcda), gcda],
                               cwd=tmp, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, check=False)
                for out in glob.glob(os.path.join(tmp, "*.gcov.json.gz")):
                    with gzip.open(out, "rt") as f:
                        data = json.load(f)
                    for entry in data.get("files", []):
                        path = os.path.realpath(os.path.join(data.get("current_working_directory", ""), entry["file"]))
                        rel = os.path.relpath(path, top)
                        if rel.split(os.sep)[0] not in dirs:
                            continue
                        for ln in entry.get("lines", []):
                            key = (rel, ln["line_number"])
                            lines[key] = lines.get(key, False) or ln["count"] > 0
    total = len(lines)
    ran = sum(1 for v in lines.values() if v)
    if total == 0:
        print("lines: none found")
        return 1
    print("lines: %.1f%% (%d out of %d)" % (100.0 * ran / total, ran, total))
    if missed:
        by_file = {}
        for (rel, ln), v in sorted(lines.items()):
            if not v:
                by_file.setdefault(rel, []).append(ln)
        for rel, lns in sorted(by_file.items(), key=lambda kv: -len(kv[1])):
            print("%s: %d not run: %s" % (rel, len(lns), " ".join(map(str, lns))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
