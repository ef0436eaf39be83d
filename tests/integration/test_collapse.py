#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FlameGraph's collapse corpus: every input × option must match byte for byte.

Usage: test_collapse.py [INPUT]   (all inputs when none is given)
"""
import os
import subprocess
import sys

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
DATA = os.environ.get("PMUPROF_FLAMEGRAPH_DATA",
                      os.path.join(os.path.dirname(__file__), "..", "data", "flamegraph"))
OPTS = ["pid", "tid", "kernel", "jit", "all", "addrs"]


def expected(name, opt):
    fresh = os.path.join(DATA, "regenerated-at-head", "test", "results",
                         f"{name}-collapsed-{opt}.txt")
    if os.path.exists(fresh):
        return fresh
    return os.path.join(DATA, "test", "results", f"{name}-collapsed-{opt}.txt")


def main():
    inputs = sorted(f[:-4] for f in os.listdir(os.path.join(DATA, "test")) if f.endswith(".txt"))
    if len(sys.argv) > 1:
        inputs = [i for i in inputs if i in sys.argv[1:]]
    failures = 0
    cases = 0
    for name in inputs:
        for opt in OPTS:
            cases += 1
            p = subprocess.run([PMUPROF, "collapse", f"--{opt}",
                                os.path.join(DATA, "test", name + ".txt")],
                               capture_output=True, timeout=60)
            want = open(expected(name, opt), "rb").read()
            if p.returncode != 0 or p.stdout != want:
                failures += 1
                got = p.stdout.decode(errors="replace").splitlines()
                exp = want.decode(errors="replace").splitlines()
                diff = [f"-{l}" for l in exp if l not in set(got)][:3] + \
                       [f"+{l}" for l in got if l not in set(exp)][:3]
                print(f"FAIL {name} --{opt} (exit {p.returncode}): " + " | ".join(diff)[:600])
            else:
                print(f"ok   {name} --{opt}")
    print(f"{cases - failures}/{cases} corpus cases match")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
