#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pmuprof stat on the real kernel. Usage: test_stat.py CASE"""
import json
import os
import re
import shutil
import subprocess
import sys

from testlib import PMUPROF, fail, skip, run_case

TOUCH = os.environ.get("PMUPROF_TOUCH", "build/pmuprof-touch")


def run(args):
    return subprocess.run([PMUPROF] + args, capture_output=True, text=True, timeout=120)


def need_root():
    if os.geteuid() != 0:
        skip("needs root or CAP_PERFMON (perf_event_paranoid)")


def has_pmu():
    p = run(["stat", "-e", "cycles", "--json", "--", "true"])
    return '"supported": true' in p.stdout


def case_touch():
    need_root()
    p = run(["stat", "-e", "page-faults,task-clock,cycles", "--", TOUCH, "20000", "300", "3"])
    out = p.stdout
    print(out)
    if p.returncode != 3:
        fail(f"exit code {p.returncode}, want the command's 3: {p.stderr}")
    m = re.search(r"^\s+([\d,]+)\s+page-faults", out, re.M)
    faults = int(m.group(1).replace(",", "")) if m else -1
    if not 20000 <= faults <= 22000:
        fail(f"page-faults {faults}, want 20000..22000")
    m = re.search(r"^\s+([\d.]+) msec task-clock", out, re.M)
    tc = float(m.group(1)) / 1000 if m else -1
    user = float(re.search(r"([\d.]+) seconds user", out).group(1))
    sys_ = float(re.search(r"([\d.]+) seconds sys", out).group(1))
    if abs(tc - (user + sys_)) > 0.1 * (user + sys_):
        fail(f"task-clock {tc:.3f} s vs CPU time {user + sys_:.3f} s: more than 10% apart")
    if not has_pmu() and not re.search(r"<not supported>\s+cycles\s+\(no hardware PMU\)", out):
        fail("cycles is not reported as not supported (no hardware PMU)")


def case_json():
    need_root()
    p = run(["stat", "--json", "-e", "page-faults,task-clock,cycles,{cpu-clock,context-switches}",
             "--", TOUCH, "1000"])
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if p.returncode != 0 or len(lines) != 1:
        fail(f"exit {p.returncode}, {len(lines)} lines: {p.stdout} {p.stderr}")
    obj = json.loads(lines[0])
    ev = {e["event"]: e for e in obj["events"]}
    if set(ev) != {"page-faults", "task-clock", "cycles", "cpu-clock", "context-switches"}:
        fail(f"events: {list(ev)}")
    if not 1000 <= ev["page-faults"]["value"] <= 1500 or ev["page-faults"]["unit"] != "count":
        fail(f"page-faults: {ev['page-faults']}")
    if ev["task-clock"]["unit"] != "ns" or ev["task-clock"]["running_pct"] != 100:
        fail(f"task-clock: {ev['task-clock']}")
    if not has_pmu() and (ev["cycles"]["supported"] or ev["cycles"]["reason"] != "no hardware PMU"):
        fail(f"cycles: {ev['cycles']}")
    # intervals: one object per interval, elapsed ≈ the interval
    p = run(["stat", "--json", "-a", "-I", "200", "-d", "1", "-e", "cpu-clock"])
    objs = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
    # Every interval but the last lasts 200 ms or more, the last one ends the run, and
    # together they cover it.
    spans = [o["elapsed"] for o in objs]
    if not 2 <= len(objs) <= 6 or min(spans[:-1]) < 0.199 or \
            abs(sum(spans) - objs[-1]["interval"]) > 0.05 or objs[-1]["interval"] < 1:
        fail(f"{len(objs)} interval objects in 1 s at 200 ms: {spans}")
    # cpu-clock counts every CPU's time: the interval's own length × the CPUs, however late
    # a busy machine woke us.
    ncpu = os.cpu_count()
    mid = objs[1]["events"][0]
    span = objs[1]["elapsed"] * ncpu
    if abs(mid["value"] / 1e9 - span) > 0.1 * span:
        fail(f"cpu-clock over a {objs[1]['elapsed']:.3f} s interval on {ncpu} CPUs: "
             f"{mid['value']} ns")


def switcher(cpu):
    """A process pinned to cpu that sleeps 1 ms in a loop: hundreds of switches a second."""
    return subprocess.Popen(["taskset", "-c", str(cpu), sys.executable, "-c",
                             "import time\nwhile True: time.sleep(0.001)"])


def case_groups():
    """A group counted system-wide counts every member, not only its leader (-a, -C, -A)."""
    need_root()
    w = switcher(0)
    try:
        for target in (["-a"], ["-C", "0"], ["-C", "0", "-A"], ["-a", "-A"]):
            # The same event in and out of a group, over the same second.
            p = run(["stat", "--json", "-e", "{cpu-clock,context-switches},context-switches",
                     "-d", "1"] + target)
            if p.returncode != 0:
                fail(f"{target}: exit {p.returncode}: {p.stderr}")
            evs = json.loads(p.stdout.splitlines()[-1])["events"]
            grouped, alone = evs[1], evs[2]
            if grouped["running_pct"] < 99 or grouped["value"] <= 0:
                fail(f"{target}: the group member did not count: {grouped}")
            if not 0.5 * alone["value"] <= grouped["value"] <= 2 * alone["value"]:
                fail(f"{target}: grouped {grouped['value']} vs alone {alone['value']}")
            if "-A" in target and min(grouped["per_cpu"].values(), default=0) < 0:
                fail(f"{target}: per-CPU values {grouped['per_cpu']}")
        # Rates under 1000/s read as perf's "N /sec", not "0.000 M/sec".
        p = run(["stat", "-e", "cpu-clock,context-switches", "-C", "1", "-d", "1"])
        print(p.stdout)
        m = re.search(r"context-switches\s+#\s+([\d.]+) (/sec|K/sec|M/sec)", p.stdout)
        if not m or float(m.group(1)) <= 0 or "0.000 M/sec" in p.stdout:
            fail(f"no rate per second on context-switches: {p.stdout}")
    finally:
        w.kill()
        w.wait()


def case_system_wide_command():
    """perf stat -a -- CMD: every CPU counted while the command runs, its status passed on."""
    need_root()
    p = run(["stat", "-a", "-e", "cpu-clock", "--", "sh", "-c", "sleep 0.5; exit 5"])
    print(p.stdout)
    if p.returncode != 5:
        fail(f"exit {p.returncode}, want the command's 5: {p.stderr}")
    if "Performance counter stats for 'system wide'" not in p.stdout:
        fail(f"not counted system-wide: {p.stdout}")
    ms = float(re.search(r"([\d.]+) msec cpu-clock", p.stdout).group(1))
    elapsed = float(re.search(r"([\d.]+) seconds time elapsed", p.stdout).group(1))
    ncpu = os.cpu_count()
    # Every CPU's clock over the command's run, not the sleeping command's own few ms.
    if not elapsed >= 0.5 or abs(ms / 1e3 - ncpu * elapsed) > 0.1 * ncpu * elapsed:
        fail(f"cpu-clock {ms} ms over {elapsed} s on {ncpu} CPUs")
    p = run(["stat", "-p", "1", "--", "true"])
    if p.returncode != 2 or "give one target" not in p.stderr:
        fail(f"-p with a command: exit {p.returncode}: {p.stderr}")


PARANOID = "/proc/sys/kernel/perf_event_paranoid"


def case_user_fallback():
    """Not permitted to count the kernel (perf_event_paranoid 2, an ordinary user): count
    user space, name the events EVENT:u and say why, as perf stat does."""
    need_root()
    if not shutil.which("setpriv"):
        skip("needs setpriv (util-linux) to run as nobody")
    old = open(PARANOID).read().strip()
    try:
        with open(PARANOID, "w") as f:
            f.write("2")
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            PMUPROF, "stat", "-e", "task-clock,page-faults", "--", TOUCH, "300"],
                           capture_output=True, text=True, timeout=120, cwd="/")
    finally:
        with open(PARANOID, "w") as f:
            f.write(old)
    print(p.stdout, p.stderr)
    if p.returncode != 0:
        fail(f"as nobody with perf_event_paranoid=2: exit {p.returncode}: {p.stderr}")
    notes = [l for l in p.stderr.splitlines() if "user space only" in l]
    if len(notes) != 1 or "kernel.perf_event_paranoid=2" not in notes[0]:
        fail(f"want one line saying why only user space is counted: {p.stderr!r}")
    m = re.search(r"^\s+([\d,]+)\s+page-faults:u\s", p.stdout, re.M)
    if not re.search(r"^\s+[\d.]+ msec task-clock:u\s", p.stdout, re.M) or not m or \
            int(m.group(1).replace(",", "")) < 300:
        fail(f"events not counted as EVENT:u: {p.stdout}")
    # As root nothing falls back.
    q = run(["stat", "-e", "task-clock", "--", "true"])
    if ":u" in q.stdout or "user space only" in q.stderr:
        fail(f"root fell back to :u: {q.stdout} {q.stderr}")


def case_errors():
    for args, pattern in [
        (["stat", "-e", "bogus", "--", "true"], r"-e bogus: 'bogus': unknown event"),
        (["stat", "--", "no-such-command-xyz"], r"no-such-command-xyz: command not found"),
        (["stat", "-I", "1", "-a"], r"-I 1: give milliseconds, at least 10"),
        (["stat", "-p", "999999999", "-d", "1"], r"-p 999999999: no such process"),
        (["stat", "-C", "x", "-d", "1"], r"-C x: not a CPU list"),
        (["stat", "-a", "-p", "1"], r"give one target"),
    ]:
        p = run(args)
        if p.returncode != 2 or not re.search(pattern, p.stderr) or len(p.stderr.splitlines()) != 1:
            fail(f"{args}: exit {p.returncode}: {p.stderr!r}")


def case_json_names():
    """Event names with a quote, a backslash, a tab and a byte that is not UTF-8 come out
    as valid JSON (the names of a fake sysfs PMU whose type is the software one)."""
    need_root()
    import tempfile
    root = tempfile.mkdtemp(prefix="pmuprof-sysfs-")
    pmu = os.path.join(root, "bus", "event_source", "devices", "oddpmu")
    os.makedirs(os.path.join(pmu, "format"))
    os.makedirs(os.path.join(pmu, "events"))
    os.makedirs(os.path.join(root, "devices", "system", "cpu"))
    for f in ("online", "possible", "present"):
        if os.path.exists(f"/sys/devices/system/cpu/{f}"):
            shutil.copy(f"/sys/devices/system/cpu/{f}", os.path.join(root, "devices", "system", "cpu"))
    open(os.path.join(pmu, "type"), "w").write("1\n")  # PERF_TYPE_SOFTWARE
    open(os.path.join(pmu, "format", "config"), "w").write("config:0-63\n")
    names = [b'q"uote\\back', b"tab\there", b"bad\xffbyte"]
    for n in names:
        open(os.path.join(pmu.encode(), b"events", n), "w").write("config=0\n")  # cpu-clock
    spec = b",".join(b"oddpmu/" + n + b"/" for n in names)
    env = dict(os.environ, PMUPROF_SYSFS=root)
    for extra in ([], ["-A"], ["-a", "-I", "200", "-d", "0.5"]):
        args = [PMUPROF.encode(), b"stat", b"--json"] + [e.encode() for e in extra] + [b"-e", spec]
        if "-a" not in extra:
            args += [b"--", b"true"]
        p = subprocess.run(args, capture_output=True, timeout=60, env=env)
        if p.returncode != 0:
            fail(f"{extra}: exit {p.returncode}: {p.stderr!r}")
        for line in p.stdout.decode("utf-8").splitlines():
            try:
                obj = json.loads(line)
            except ValueError as e:
                fail(f"{extra}: not JSON ({e}): {line!r}")
            got = [e["event"] for e in obj["events"]]
            want = ['oddpmu/q"uote\\back/', "oddpmu/tab\there/", "oddpmu/bad\ufffdbyte/"]
            if got != want or not all(e["supported"] for e in obj["events"]):
                fail(f"{extra}: events {obj['events']}, want {want}")
    shutil.rmtree(root)


if __name__ == "__main__":
    sys.exit(run_case(globals()))
