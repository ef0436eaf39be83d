#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""FlameGraph's collapse corpus: every input × option must match byte for byte.

With --perl-compat all 78 cases equal stackcollapse-perf.pl's output. Without it, the one
documented difference (docs/flamegraph.md): an input that ends without the blank line
closing its last sample keeps that sample, so the output equals --perl-compat's on the
same input with the blank line added.

Usage: test_collapse.py [INPUT]   (all inputs when none is given)
"""
import os
import subprocess
import sys
import tempfile

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


def collapse(opts, path):
    return subprocess.run([PMUPROF, "collapse"] + opts + [path], capture_output=True, timeout=60)


def report(label, p, want):
    got = p.stdout.decode(errors="replace").splitlines()
    exp = want.decode(errors="replace").splitlines()
    diff = [f"-{l}" for l in exp if l not in set(got)][:3] + \
           [f"+{l}" for l in got if l not in set(exp)][:3]
    print(f"FAIL {label} (exit {p.returncode}): " + " | ".join(diff)[:600])


def main():
    inputs = sorted(f[:-4] for f in os.listdir(os.path.join(DATA, "test")) if f.endswith(".txt"))
    if len(sys.argv) > 1:
        inputs = [i for i in inputs if i in sys.argv[1:]]
    failures = cases = unterminated = 0
    tmp = tempfile.mkdtemp(prefix="pmuprof-corpus-")
    for name in inputs:
        path = os.path.join(DATA, "test", name + ".txt")
        data = open(path, "rb").read()
        closed = os.path.join(tmp, name + ".txt")
        with open(closed, "wb") as f:
            f.write(data if data.endswith(b"\n\n") else data + b"\n")
        unterminated += not data.endswith(b"\n\n")
        for opt in OPTS:
            cases += 1
            p = collapse([f"--{opt}", "--perl-compat"], path)
            want = open(expected(name, opt), "rb").read()
            if p.returncode != 0 or p.stdout != want:
                failures += 1
                report(f"{name} --{opt} --perl-compat", p, want)
            else:
                print(f"ok   {name} --{opt}")
            # The default: the same, with the last sample kept when its blank line is missing.
            p = collapse([f"--{opt}"], path)
            want = collapse([f"--{opt}", "--perl-compat"], closed).stdout
            if p.returncode != 0 or p.stdout != want:
                failures += 1
                report(f"{name} --{opt} (default)", p, want)
    print(f"{cases - failures}/{cases} corpus cases match "
          f"({unterminated} inputs end without their closing blank line)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
