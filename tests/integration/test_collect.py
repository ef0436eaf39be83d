#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pmuprof collect and pmuprof doctor. Usage: test_collect.py CASE"""
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

from testlib import PMUPROF, DEMO, fail, skip, run_case

DATA = os.environ.get("PMUPROF_TEST_DATA", os.path.join(os.path.dirname(__file__), "..", "data"))


def doctor(env=None):
    p = subprocess.run([PMUPROF, "doctor", "--json"], capture_output=True, text=True, timeout=60,
                       env=env)
    if p.returncode != 0:
        fail(f"doctor exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def case_collect():
    if os.geteuid() != 0:
        skip("needs root (the profile and sched collectors open perf events)")
    tmp = tempfile.mkdtemp(prefix="pmuprof-collect-")
    out = os.path.join(tmp, "run")
    demo = subprocess.Popen([DEMO, "3"], stdout=subprocess.DEVNULL)
    try:
        # A busy machine slows symbolizing a system-wide profile: a generous bound.
        p = subprocess.run([PMUPROF, "collect", "-d", "1.9", "-I", "250", "-o", out + "/"],
                           capture_output=True, text=True, timeout=280)
    finally:
        demo.wait()
    if p.returncode != 0:
        if "not permitted" in p.stderr:
            skip("the kernel refuses BPF here")
        fail(f"collect exit {p.returncode}: {p.stderr}")
    index = json.load(open(os.path.join(out, "index.json")))
    col = {c["name"]: c for c in index["collectors"]}
    if set(col) != {"profile", "counters", "uncore", "cpu", "memory", "sched"}:
        fail(f"collectors in index.json: {list(col)}")
    caps = doctor()
    for name in ("profile", "cpu", "memory", "sched"):
        if not col[name]["ran"] or not col[name]["outputs"]:
            fail(f"{name} did not run: {col[name]}")
        for o in col[name]["outputs"]:
            if not os.path.getsize(os.path.join(out, o)):
                fail(f"{name}: {o} is empty")
    if not caps["hardware_pmu"]:
        if col["counters"]["ran"] or col["counters"]["reason"] != "no hardware PMU (virtual machine?)":
            fail(f"counters: {col['counters']}")
    if not caps["uncore_pmus"]:
        if col["uncore"]["ran"] or col["uncore"]["reason"] != "no uncore PMU":
            fail(f"uncore: {col['uncore']}")
    if f"wrote {out}/index.json" not in p.stderr:
        fail(f"-o DIR/: the last line names the index oddly: {p.stderr.splitlines()[-1]}")
    # One row per interval and one for the partial interval at the end (1.9 s is not a
    # whole number of 250 ms intervals): the rows cover the
    # whole run, however long it really took.
    duration = index["duration_s"]
    for name in ("cpu", "memory", "sched"):
        rows = [json.loads(l) for l in open(os.path.join(out, f"{name}.jsonl"))]
        ts = [r["t"] for r in rows]
        if ts != sorted(ts) or abs(ts[-1] - duration) > 0.05:
            fail(f"{name}.jsonl: rows at {ts}, the run lasted {duration} s")
        # At most one row per interval plus the partial one; fewer when the profiler's
        # drain held the loop past an interval (a busy machine).
        if not 2 <= len(rows) <= duration / 0.25 + 1:
            fail(f"{name}.jsonl: {len(rows)} rows for {duration} s at 250 ms")
    cpu = [json.loads(l) for l in open(os.path.join(out, "cpu.jsonl"))]
    busy = max(100 - r["idle_pct"] for r in cpu)
    if busy < 100 / os.cpu_count() * 0.7:
        fail(f"cpu.jsonl misses the busy demo: at most {busy:.0f}% busy")
    sched = [json.loads(l) for l in open(os.path.join(out, "sched.jsonl"))]
    if not all(r["context-switches"] > 0 for r in sched[1:]):
        fail("sched.jsonl: no context switches counted")
    folded = open(os.path.join(out, "profile.folded")).read()
    if "hot_60" not in folded:
        fail("the profile misses the demo")
    shutil.rmtree(tmp, ignore_errors=True)


def profile_comms(out):
    comms = {}
    for line in open(os.path.join(out, "profile.folded")):
        stack, count = line.rsplit(" ", 1)
        comm = stack.split(";")[0]
        comms[comm] = comms.get(comm, 0) + int(count)
    return comms


def case_collect_targets():
    """-- COMMAND and -p: the profile and sched follow the target; collect stops when it
    ends and passes a command's exit status through; exit 2 when nothing can run."""
    if os.geteuid() != 0:
        skip("needs root (the profile and sched collectors open perf events)")
    tmp = tempfile.mkdtemp(prefix="pmuprof-collect-")
    out = os.path.join(tmp, "cmd")
    p = subprocess.run([PMUPROF, "collect", "--collectors", "profile,sched,cpu", "-I", "200",
                        "-o", out, "--", "sh", "-c", f"{DEMO} 1 >/dev/null; exit 3"],
                       capture_output=True, text=True, timeout=280)
    if p.returncode != 3:
        fail(f"-- COMMAND: exit {p.returncode}, want the command's 3: {p.stderr}")
    index = json.load(open(os.path.join(out, "index.json")))
    if not index["target"].startswith("sh -c "):
        fail(f"target: {index['target']}")
    comms = profile_comms(out)
    if not comms or set(comms) - {"pmuprof-demo", "sh"}:
        fail(f"the profile of a command has other processes: {comms}")
    sched = [json.loads(l) for l in open(os.path.join(out, "sched.jsonl"))]
    cpu = [json.loads(l) for l in open(os.path.join(out, "cpu.jsonl"))]
    if len(sched) != len(cpu) or not sched:
        fail(f"{len(sched)} sched rows, {len(cpu)} cpu rows")

    # -p: only that process; collect ends when it exits (well before -d 60).
    demo = subprocess.Popen([DEMO, "2"], stdout=subprocess.DEVNULL)
    out = os.path.join(tmp, "pid")
    try:
        p = subprocess.run([PMUPROF, "collect", "--collectors", "profile,sched", "-d", "60",
                            "-p", str(demo.pid), "-o", out],
                           capture_output=True, text=True, timeout=280)
    finally:
        demo.wait()
    if p.returncode != 0:
        fail(f"-p: exit {p.returncode}: {p.stderr}")
    index = json.load(open(os.path.join(out, "index.json")))
    if index["target"] != f"process id '{demo.pid}'" or index["duration_s"] >= 30:
        fail(f"-p: target {index['target']}, ran {index['duration_s']} s of -d 60")
    comms = profile_comms(out)
    if set(comms) != {"pmuprof-demo"}:
        fail(f"-p: profile has {comms}")

    # Nothing asked for can run (no PMU here): exit 2, index.json says why.
    if not doctor()["hardware_pmu"]:
        out = os.path.join(tmp, "none")
        p = subprocess.run([PMUPROF, "collect", "--collectors", "counters", "-o", out],
                           capture_output=True, text=True, timeout=60)
        index = json.load(open(os.path.join(out, "index.json")))
        if p.returncode != 2 or "none of the collectors" not in p.stderr or \
                index["collectors"][0]["ran"]:
            fail(f"nothing can run: exit {p.returncode}: {p.stderr}")
    for args, msg in ((["-a", "-p", "1"], "give one target"),
                      (["-p", "x"], "-p x: 'x' is not a process ID"),
                      (["--", "no-such-command-xyz"], "no-such-command-xyz: command not found")):
        p = subprocess.run([PMUPROF, "collect", "-o", os.path.join(tmp, "bad")] + args,
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 2 or msg not in p.stderr:
            fail(f"{args}: exit {p.returncode}: {p.stderr}")
    shutil.rmtree(tmp, ignore_errors=True)


def case_doctor():
    d = doctor()
    if d["kernel"] != f"{platform.system()} {platform.release()}":
        fail(f"kernel: {d['kernel']}")
    if d["btf"] != os.path.exists("/sys/kernel/btf/vmlinux"):
        fail("btf")
    if d["perf_event_paranoid"] != int(open("/proc/sys/kernel/perf_event_paranoid").read()):
        fail("perf_event_paranoid")
    if d["kptr_restrict"] != int(open("/proc/sys/kernel/kptr_restrict").read()):
        fail("kptr_restrict")
    if d["root"] != (os.geteuid() == 0):
        fail("root")
    names = [c["name"] for c in d["collectors"]]
    if names != ["profile", "counters", "uncore", "cpu", "memory", "sched"]:
        fail(f"collectors: {names}")
    cyc = subprocess.run([PMUPROF, "stat", "--json", "-e", "cycles", "--", "true"],
                         capture_output=True, text=True)
    has_pmu = '"supported": true' in cyc.stdout
    if d["hardware_pmu"] != has_pmu:
        fail(f"hardware_pmu {d['hardware_pmu']} but cycles opens: {has_pmu}")
    counters = [c for c in d["collectors"] if c["name"] == "counters"][0]
    if not has_pmu and (counters["runs"] or "no hardware PMU" not in counters["reason"]):
        fail(f"counters: {counters}")
    p = subprocess.run([PMUPROF, "doctor"], capture_output=True, text=True)
    for field in ("kernel:", "BTF:", "perf bpf_link:", "BPF cookies:", "hardware PMU:",
                  "uncore PMUs:", "perf_event_paranoid:", "kptr_restrict:", "capabilities:",
                  "NMI watchdog:", "collectors:"):
        if field not in p.stdout:
            fail(f"doctor output lacks '{field}'")
    # a binary: the demo has frame pointers and symbols; a stripped copy has neither name
    d = json.loads(subprocess.run([PMUPROF, "doctor", "--json", "--binary", DEMO],
                                  capture_output=True, text=True).stdout)
    if d["binary"]["symbols"] != "full symbol table (.symtab)" or \
            (platform.machine() == "x86_64" and
             (d["binary"]["callers_with_frame_pointer"] != d["binary"]["callers"] or
              not d["binary"]["user_stacks_fp"].startswith("complete"))):
        fail(f"--binary demo: {d['binary']}")
    p = subprocess.run([PMUPROF, "doctor", "--binary", "/nonexistent"], capture_output=True,
                       text=True)
    if p.returncode != 2 or "/nonexistent" not in p.stderr:
        fail(f"--binary /nonexistent: {p.returncode} {p.stderr}")
    # a fake sysfs tree: two IMC instances and a core PMU named cpu
    env = dict(os.environ, PMUPROF_SYSFS=os.path.join(DATA, "sysfs"))
    d = doctor(env)
    if d["uncore_pmus"] != "uncore_imc_0,uncore_imc_1" and \
            set(d["uncore_pmus"].split(",")) != {"uncore_imc_0", "uncore_imc_1"}:
        fail(f"fake tree uncore PMUs: {d['uncore_pmus']}")
    unc = [c for c in d["collectors"] if c["name"] == "uncore"][0]
    if not unc["runs"] and "CAP_PERFMON" not in unc["reason"]:
        fail(f"fake tree: uncore collector: {unc}")


if __name__ == "__main__":
    sys.exit(run_case(globals()))
