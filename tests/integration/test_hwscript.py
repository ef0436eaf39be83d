#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scripts/run-hardware-tests.sh run here: the skip report, the exit code, and
perf_event_paranoid restored to exactly its value."""
import os
import shutil
import subprocess
import sys
import tempfile

SCRIPT = os.environ["PMUPROF_HWSCRIPT"]
BUILD = os.environ["PMUPROF_BUILD_DIR"]
PARANOID = "/proc/sys/kernel/perf_event_paranoid"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def run(args, **kw):
    return subprocess.run([SCRIPT, "--no-build", "--build-dir", BUILD] + args, capture_output=True,
                          text=True, timeout=1800, **kw)


def main():
    if os.geteuid() != 0:
        print("SKIP: needs root to run the hardware harness", file=sys.stderr)
        return 77
    original = open(PARANOID).read().strip()
    tmp = tempfile.mkdtemp(prefix="pmuprof-hwscript-")
    has_pmu = '"hardware_pmu": true' in subprocess.run(
        [os.path.join(BUILD, "pmuprof"), "doctor", "--json"], capture_output=True, text=True).stdout
    try:
        # an unusual starting value, to see that exactly it comes back
        with open(PARANOID, "w") as f:
            f.write("1")
        p = run(["--output", os.path.join(tmp, "r1")])
        after = open(PARANOID).read().strip()
        if after != "1":
            fail(f"perf_event_paranoid is {after} after the run, was 1")
        print(p.stdout)
        if has_pmu:
            if p.returncode not in (0, 1):
                fail(f"exit {p.returncode}")
        else:
            if p.returncode != 0:
                fail(f"exit {p.returncode} without a PMU: {p.stderr}")
            if "no hardware PMU: hardware tests skipped" not in p.stdout:
                fail("no skip line")
            summary = open(os.path.join(tmp, "r1", "summary.md")).read()
            if "0 passed, 0 failed, 10 skipped" not in summary or "| SKIP |" not in summary:
                fail("summary.md: " + summary[-400:])
            if summary.count("no hardware PMU") < 10:
                fail("skips without their reason")
            for f in ("system.txt", "results.txt", "testlog-hw.junit.xml"):
                if not os.path.exists(os.path.join(tmp, "r1", f)):
                    fail(f"report lacks {f}")
            p = run(["--output", os.path.join(tmp, "r2"), "--require-pmu"])
            if p.returncode != 1 or "--require-pmu" not in p.stderr:
                fail(f"--require-pmu: exit {p.returncode}: {p.stderr}")
            if open(PARANOID).read().strip() != "1":
                fail("perf_event_paranoid not restored after --require-pmu")
        if shutil.which("setpriv"):
            p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                SCRIPT, "--no-build", "--build-dir", BUILD], capture_output=True,
                               text=True, timeout=60)
            if p.returncode != 2 or "needs root" not in p.stderr:
                fail(f"as nobody: exit {p.returncode}: {p.stderr}")
    finally:
        with open(PARANOID, "w") as f:
            f.write(original)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
