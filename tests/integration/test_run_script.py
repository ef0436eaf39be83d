#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scripts/run.sh (README command 1) against this build: what -o names is written, in
the format its extension says, next to the folded stacks and flame graph the README
promises; the exit status is record's.

Usage: test_run_script.py CASE. PMUPROF_BUILD_DIR (this build) keeps run.sh from
installing packages or building.
"""
import gzip
import os
import re
import subprocess
import sys
import xml.dom.minidom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_record import DEMO, Skip, check, need_root, parse_folded, run_case  # noqa: E402

RUN_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                      "run.sh")


def run_sh(tmp, args, timeout=120):
    need_root()
    env = dict(os.environ, PMUPROF_BUILD_DIR=os.path.dirname(os.environ.get(
        "PMUPROF_BIN", "build/pmuprof")))
    p = subprocess.run(["bash", RUN_SH] + args, cwd=tmp, capture_output=True, text=True,
                       timeout=timeout, env=env)
    if p.returncode != 0 and "not permitted" in p.stderr:
        raise Skip("the kernel refuses BPF or perf events here: " + p.stderr.strip()[-300:])
    return p.returncode, p.stdout, p.stderr


def check_svg(path):
    data = open(path, "rb").read()
    doc = xml.dom.minidom.parseString(data)
    check(doc.documentElement.tagName == "svg", f"{path}: not an SVG")
    check(b"hot_60" in data, f"{path}: no hot_60 frame")


def check_folded(path):
    stacks = parse_folded(path)
    check(any(s.endswith(";demo_loop;hot_60") for s in stacks), f"{path}: no hot_60 stack")


def case_svg(tmp):
    """-o my.svg: my.svg is the flame graph (not my.svg.svg), my.folded its stacks."""
    rc, out, err = run_sh(tmp, ["-e", "cpu-clock", "-o", "my.svg", "--", DEMO, "1"])
    check(rc == 0, f"run.sh -o my.svg: exit {rc}:\n{err[-2000:]}")
    check(sorted(os.listdir(tmp)) == ["my.folded", "my.svg"],
          f"run.sh -o my.svg wrote {sorted(os.listdir(tmp))}")
    check_svg(os.path.join(tmp, "my.svg"))
    check_folded(os.path.join(tmp, "my.folded"))
    check(re.search(r"^flame graph: +/.*/my\.svg$", out, re.M), f"output:\n{out}")
    check("Top 10 stacks in my.folded" in out, f"no top stacks:\n{out}")


def case_pprof(tmp):
    """-o x.pb.gz: that pprof profile, and the top functions printed."""
    rc, out, err = run_sh(tmp, ["-e", "cpu-clock", "-F", "999", "-o", "x.pb.gz", "--",
                                DEMO, "1"])
    check(rc == 0, f"run.sh -o x.pb.gz: exit {rc}:\n{err[-2000:]}")
    check(sorted(os.listdir(tmp)) == ["x.pb.gz"], f"run.sh -o x.pb.gz wrote {os.listdir(tmp)}")
    data = gzip.decompress(open(os.path.join(tmp, "x.pb.gz"), "rb").read())
    check(b"hot_60" in data, "the pprof profile has no hot_60 function")
    top = [l.split()[-1] for l in out.splitlines() if re.match(r"^\s+[\d.]+%\s+[\d.]+%\s", l)]
    check(top[:1] == ["hot_60"], f"top functions: {top[:5]}\n{out}")
    check(re.search(r"^pprof profile: +/.*/x\.pb\.gz$", out, re.M), f"output:\n{out}")


def case_folded(tmp):
    """The default and -o NAME.folded: NAME.folded and NAME.svg; several events: one pair
    per event."""
    rc, out, err = run_sh(tmp, ["-e", "cpu-clock", "-o", "p.folded", "--", DEMO, "1"])
    check(rc == 0, f"run.sh -o p.folded: exit {rc}:\n{err[-2000:]}")
    check(sorted(os.listdir(tmp)) == ["p.folded", "p.svg"], f"wrote {os.listdir(tmp)}")
    check_folded(os.path.join(tmp, "p.folded"))
    check_svg(os.path.join(tmp, "p.svg"))
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    rc, out, err = run_sh(tmp, ["-e", "cpu-clock,task-clock", "-o", "m.svg", "--", DEMO, "1"])
    check(rc == 0, f"run.sh -e cpu-clock,task-clock -o m.svg: exit {rc}:\n{err[-2000:]}")
    want = ["m.cpu-clock.folded", "m.cpu-clock.svg", "m.task-clock.folded", "m.task-clock.svg"]
    check(sorted(os.listdir(tmp)) == want, f"wrote {sorted(os.listdir(tmp))}")


def case_status(tmp):
    """A failing command: its status, the outputs written all the same; a bad -o: record's
    one-line error and 2, nothing written."""
    rc, out, err = run_sh(tmp, ["-e", "cpu-clock", "-F", "999", "-o", "s.svg", "--", "sh",
                                "-c", f"{DEMO} 1; exit 3"])
    check(rc == 3, f"run.sh -- (exit 3): exit {rc}:\n{err[-2000:]}")
    check_svg(os.path.join(tmp, "s.svg"))
    for f in os.listdir(tmp):
        os.unlink(os.path.join(tmp, f))
    rc, out, err = run_sh(tmp, ["-o", "bad.png", "--", "true"])
    check(rc == 2 and "unknown format 'png'" in err, f"-o bad.png: {rc}\n{err}")
    check(os.listdir(tmp) == [], f"-o bad.png wrote {os.listdir(tmp)}")


if __name__ == "__main__":
    sys.exit(run_case(globals(), prefix="pmuprof-run-"))
