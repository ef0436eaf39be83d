#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Integration tests: the real pmuprof on the real kernel (root + BPF).

Usage: test_record.py CASE   (meson runs one process per case)
Exit 0 pass, 1 fail, 77 skip (with the reason on stderr).
"""
import gzip
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import xml.dom.minidom

from testlib import PMUPROF, DEMO, SKIP, Skip, Fail, check, need_root, run_case  # noqa: F401
from testlib import LAZY_LIBRARIES, lazy_libraries_in


def run(args, timeout=60, **kw):
    p = subprocess.run([PMUPROF] + args, capture_output=True, text=True, timeout=timeout, **kw)
    return p.returncode, p.stdout, p.stderr


def parse_folded(path):
    stacks = {}
    # Under -a, names of other processes may be any bytes (a comm cut inside a character).
    with open(path, errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            m = re.match(r"^(.*) (\d+)$", line)
            check(m, f"{path}:{n}: not a folded line: {line!r}")
            check(m.group(1) not in stacks, f"{path}:{n}: duplicate stack {m.group(1)!r}")
            stacks[m.group(1)] = int(m.group(2))
    return stacks


def summary_value(stderr, label):
    m = re.search(r"^\s+" + label + r":\s+(.*)$", stderr, re.M)
    check(m, f"summary has no '{label}:' line:\n{stderr}")
    return m.group(1)


def samples_from_summary(stderr):
    line = summary_value(stderr, "samples")
    m = re.match(r"(\d+) taken, (\d+) in stacks, (\d+) lost", line)
    check(m, f"bad samples line: {line}")
    return tuple(int(x) for x in m.groups())


def record_ok(args, timeout=60):
    """Run a record that must succeed; skip only where the kernel refuses BPF."""
    need_root()
    rc, out, err = run(args, timeout=timeout)
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(rc == 0, f"pmuprof record {' '.join(args)} exited {rc}:\n{err}")
    return out, err


def has_hw_pmu():
    """True when 'cycles' opens (bare metal): the fallback cases then do not apply."""
    rc, _, err = run(["record", "--no-fallback", "-e", "cycles", "-d", "0.1", "-q",
                      "-o", os.path.join(tempfile.gettempdir(), "pmuprof-probe.folded")])
    if rc == 0:
        return True
    return False


def share_report(stacks, comm="pmuprof-demo"):
    total = sum(c for s, c in stacks.items() if s.split(";")[0] == comm)
    shares, complete = {}, {}
    for fn in ("hot_60", "hot_30", "hot_10"):
        n = sum(c for s, c in stacks.items() if s.split(";")[0] == comm and fn in s.split(";"))
        full = sum(c for s, c in stacks.items()
                   if s.split(";")[0] == comm
                   and re.search(r";main;descend;demo_loop;" + fn + r"(;|$)", s))
        shares[fn] = 100.0 * n / total if total else 0
        complete[fn] = 100.0 * full / n if n else 0
    return total, shares, complete


def check_shares(stacks):
    total, shares, complete = share_report(stacks)
    print(f"demo samples {total}; shares " +
          ", ".join(f"{k} {v:.1f}%" for k, v in shares.items()) +
          "; complete stacks " + ", ".join(f"{k} {v:.1f}%" for k, v in complete.items()))
    # A busy machine gives the demo less CPU, so fewer samples: the bound on each share is
    # 5 points or 4 standard deviations of a binomial share, whichever is wider.
    check(total >= 100, f"too few samples to measure any share: {total}")
    for fn, want in (("hot_60", 60), ("hot_30", 30), ("hot_10", 10)):
        tol = max(5.0, 400 * (want / 100 * (1 - want / 100) / total) ** 0.5)
        check(abs(shares[fn] - want) <= tol,
              f"{fn}: share {shares[fn]:.1f}%, want {want}±{tol:.1f} ({total} samples)")
        check(complete[fn] >= 95, f"{fn}: only {complete[fn]:.1f}% of samples have main→{fn}")


# ---------------------------------------------------------------- cases

def case_shares_cmd(tmp):
    out = os.path.join(tmp, "cmd.folded")
    report, err = record_ok(["record", "-F", "999", "--report", "-o", out, "--", DEMO, "4"])
    stacks = parse_folded(out)
    check_shares(stacks)
    taken, in_stacks, lost = samples_from_summary(err)
    check(taken == in_stacks + lost, f"ledger: {taken} taken != {in_stacks} + {lost}")
    # --report: the top functions of what was written, with the file's exact shares.
    total = sum(stacks.values())
    self_60 = sum(c for s, c in stacks.items() if s.endswith(";hot_60"))
    m = re.search(r"^\s+([\d.]+)%\s+([\d.]+)%\s+hot_60$", report, re.M)
    check(m and abs(float(m.group(1)) - 100 * self_60 / total) < 0.006,
          f"--report's hot_60 line vs the file's {100 * self_60 / total:.2f}%:\n{report}")
    first = [l for l in report.splitlines() if l.strip() and not l.startswith("#")
             and "%" in l][0]
    check(first.split()[-1] == "hot_60", f"--report's top function: {first}")


def case_shares_pid(tmp):
    need_root()
    out = os.path.join(tmp, "pid.folded")
    demo = subprocess.Popen([DEMO, "6"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        record_ok(["record", "-F", "999", "-d", "3.5", "-p", str(demo.pid), "-o", out])
    finally:
        demo.wait()
    stacks = parse_folded(out)
    check(all(s.startswith("pmuprof-demo;") or s.startswith("[lost:") for s in stacks),
          "-p recorded other processes: " + repr([s for s in stacks][:3]))
    check_shares(stacks)


def case_fallback_line(tmp):
    need_root()
    if has_hw_pmu():
        raise Skip("this machine has a hardware PMU: cycles needs no fallback")
    out = os.path.join(tmp, "fb.folded")
    _, err = record_ok(["record", "-e", "cycles", "-F", "199", "-o", out, "--", DEMO, "1"])
    lines = [l for l in err.splitlines() if "no hardware PMU" in l and "instead" in l]
    check(len(lines) == 1, f"want one fallback line, got:\n{err}")
    check(re.match(r"^pmuprof: cycles: no hardware PMU \((ENOENT|EOPNOTSUPP|ENODEV)\b.*; "
                   r"sampling cpu-clock at 199 Hz instead$", lines[0]), f"fallback line: {lines[0]}")
    check("cpu-clock" in summary_value(err, "event") and "fallback" in summary_value(err, "event"),
          "summary does not name the event used")
    check(parse_folded(out), "no stacks after the fallback")
    # A period of hardware events does not carry over to cpu-clock: the line says so.
    _, err = record_ok(["record", "-e", "instructions", "-c", "1000000", "-o", out, "--", DEMO,
                        "0.3"])
    lines = [l for l in err.splitlines() if "instead" in l]
    check(len(lines) == 1 and re.search(r"at 99 Hz instead \(-c counts hardware events, not "
                                         r"cpu-clock's ns: give -F HZ", lines[0]),
          f"fallback line with -c: {lines}")


def case_no_fallback(tmp):
    need_root()
    if has_hw_pmu():
        raise Skip("this machine has a hardware PMU: cycles needs no fallback")
    out = os.path.join(tmp, "nofb.folded")
    rc, _, err = run(["record", "--no-fallback", "-e", "cycles", "-o", out, "--", DEMO, "1"])
    check(rc == 2, f"exit {rc}, want 2")
    check(len(err.strip().splitlines()) == 1, f"want one line, got:\n{err}")
    check("no hardware PMU" in err and "cycles" in err, f"message: {err}")
    check(not os.path.exists(out), "an output file was left behind")
    check(os.listdir(tmp) == [], f"files left in the output directory: {os.listdir(tmp)}")


def top_stack(path):
    stacks = parse_folded(path)
    return max(stacks.items(), key=lambda kv: kv[1])[0]


def case_attach_link_ioctl(tmp):
    tops = {}
    for mode, want in (("link", "bpf_link"), ("ioctl", "ioctl")):
        out = os.path.join(tmp, f"{mode}.folded")
        _, err = record_ok(["record", f"--attach={mode}", "-e", "cpu-clock", "-F", "999",
                            "-o", out, "--", DEMO, "2"])
        check(summary_value(err, "attach").startswith(want), f"{mode}: summary says "
              + summary_value(err, "attach"))
        taken, in_stacks, lost = samples_from_summary(err)
        check(taken >= 50 and in_stacks + lost == taken,
              f"{mode}: {taken} samples, {in_stacks} in stacks, {lost} lost")
        tops[mode] = top_stack(out)
        print(f"{mode}: top stack {tops[mode]}")
    check(tops["link"] == tops["ioctl"], f"top stacks differ: {tops}")
    check(tops["link"].endswith(";main;descend;demo_loop;hot_60"), f"top stack: {tops['link']}")


def case_ledger(tmp):
    # A map far too small: most stacks cannot be stored and must show up as losses.
    need_root()
    out = os.path.join(tmp, "ledger.folded")
    demo = subprocess.Popen([DEMO, "3"], stdout=subprocess.DEVNULL)
    try:
        _, err = record_ok(["record", "-a", "-e", "cpu-clock", "-F", "999", "--max-stacks", "2",
                            "-d", "2", "-o", out])
    finally:
        demo.wait()
    taken, in_stacks, lost = samples_from_summary(err)
    stacks = parse_folded(out)
    lost_lines = {s: c for s, c in stacks.items() if s.startswith("[lost:")}
    print(f"taken {taken}, in stacks {in_stacks}, lost {lost}: {lost_lines}")
    check(taken == in_stacks + lost, f"ledger: {taken} != {in_stacks} + {lost}")
    check(sum(stacks.values()) == taken, f"folded total {sum(stacks.values())} != taken {taken}")
    check(lost_lines.get("[lost:map_full]", 0) > 0, "no [lost:map_full] line")
    check(lost_lines.get("[lost:map_full]", 0) == lost - lost_lines.get("[lost:stack]", 0),
          "lost lines do not match the summary")


def fd_targets(pid, word):
    """The targets of pid's open fds that contain word (fds closed meanwhile left out)."""
    found = []
    for f in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{f}")
        except FileNotFoundError:
            continue
        if word in target:
            found.append(target)
    return found


def wait_fd(pid, word, what, timeout=60):
    """Wait until pid holds an fd whose target contains word (a sanitizer build on a busy
    machine takes seconds to open its events and links); fails with what otherwise."""
    deadline = time.time() + timeout
    while not fd_targets(pid, word) and time.time() < deadline:
        time.sleep(0.05)
    check(fd_targets(pid, word), what)


def case_sigint(tmp):
    need_root()
    out = os.path.join(tmp, "sig.folded")
    demo = subprocess.Popen([DEMO, "60"], stdout=subprocess.DEVNULL)
    p = subprocess.Popen([PMUPROF, "record", "-a", "-e", "cpu-clock", "-F", "999", "-o", out],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Interrupted 1.5 s after sampling starts (a sanitizer build on a busy machine
        # takes seconds to get there; a fixed sleep from launch caught it before).
        wait_fd(p.pid, "perf_event", "no perf event fds while recording", timeout=30)
        time.sleep(1.5)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        demo.kill()
        demo.wait()
    if p.returncode != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF here")
    check(p.returncode == 0, f"exit {p.returncode} after SIGINT:\n{err}")
    taken, in_stacks, lost = samples_from_summary(err)
    stacks = parse_folded(out)
    check(sum(stacks.values()) == taken, f"folded total {sum(stacks.values())} != {taken}")
    check(any("hot_60" in s for s in stacks), "the demo is missing from the profile")
    check(os.listdir(tmp) == ["sig.folded"], f"stray files: {os.listdir(tmp)}")


def case_all_cpus(tmp):
    need_root()
    out = os.path.join(tmp, "all.folded")
    demo = subprocess.Popen([DEMO, "3"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        _, err = record_ok(["record", "-e", "cpu-clock", "-F", "499", "-d", "2", "-o", out])
    finally:
        demo.wait()
    stacks = parse_folded(out)
    comms = {s.split(";")[0] for s in stacks}
    print(f"{len(stacks)} stacks, comms: {sorted(comms)[:10]}")
    check("pmuprof-demo" in comms, "the demo is missing from a system-wide profile")
    kern = [s for s in stacks if "_[k]" in s]
    check(kern, "no kernel frames in a system-wide profile")
    named = [s for s in kern if re.search(r";[a-z_][A-Za-z0-9_.]*_\[k\]", s)]
    check(len(named) >= len(kern) * 0.9, "kernel frames are not symbolized")


def case_multi_event(tmp):
    out = os.path.join(tmp, "multi.folded")
    _, err = record_ok(["record", "-e", "cpu-clock,page-faults", "-F", "499", "-o", out,
                        "--", DEMO, "2"])
    files = sorted(os.listdir(tmp))
    check(files == ["multi.cpu-clock.folded", "multi.page-faults.folded"], f"files: {files}")
    cpu = parse_folded(os.path.join(tmp, "multi.cpu-clock.folded"))
    top = sorted(cpu.items(), key=lambda kv: -kv[1])[:8]
    check(any(s.endswith("hot_60") for s in cpu), "cpu-clock file lacks the hot function:\n"
          + "\n".join(f"{n} {s}" for s, n in top) + f"\n{err}")
    check(err.count("  event:") == 2, "summary does not list both events")


def case_not_permitted(tmp):
    need_root()
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is not installed")
    out = os.path.join(tmp, "np.folded")
    os.chmod(tmp, 0o777)
    p = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        "--inh-caps=-all", PMUPROF, "record", "-d", "1", "-o", out, "--", "true"],
                       capture_output=True, text=True, timeout=60)
    err = p.stderr
    check(p.returncode == 2, f"exit {p.returncode}, want 2:\n{err}")
    # With kernel.perf_event_paranoid <= 0 the unprivileged cycles open reaches ENOENT: the
    # fallback line comes first, then the error.
    lines = [l for l in err.strip().splitlines() if "no hardware PMU" not in l]
    check(len(lines) == 1, f"want one line:\n{err}")
    check("not permitted" in err and "CAP_PERFMON" in err and "perf_event_paranoid" in err,
          f"message: {err}")
    check(not os.path.exists(out), "output left behind")


def case_tid_and_cpu(tmp):
    need_root()
    demo = subprocess.Popen([DEMO, "3"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        out = os.path.join(tmp, "tid.folded")
        record_ok(["record", "-e", "cpu-clock", "-F", "999", "-t", str(demo.pid), "-d", "1",
                   "-o", out])
        stacks = parse_folded(out)
        check(stacks and all(s.startswith("pmuprof-demo;") for s in stacks),
              f"-t recorded: {list(stacks)[:3]}")
        out = os.path.join(tmp, "cpu.folded")
        _, err = record_ok(["record", "-e", "cpu-clock", "-F", "999", "-C", "0", "-d", "1",
                            "-o", out])
        taken, _, _ = samples_from_summary(err)
        dur = float(summary_value(err, "duration").split()[0])
        # One CPU at 999 Hz for the run's own duration (idle time may be skipped by the tick).
        check(0 < taken <= 999 * dur * 1.1 + 10, f"-C 0: {taken} samples for one CPU in {dur} s")
    finally:
        demo.wait()


def case_deep_stacks(tmp):
    # 60 recursive calls: deeper than the short-key map, stored whole in the long one.
    out = os.path.join(tmp, "deep.folded")
    record_ok(["record", "-e", "cpu-clock", "-F", "999", "-o", out, "--", DEMO, "2", "60"])
    stacks = parse_folded(out)
    hot = {s: c for s, c in stacks.items() if s.endswith(";hot_60")}
    total = sum(hot.values())
    exact = sum(c for s, c in hot.items()
                if re.search(r";main(;descend){61};demo_loop;hot_60$", s))
    print(f"hot_60 samples {total}, with main and exactly 61 descend frames {exact}")
    check(total >= 100, f"too few hot_60 samples to judge completeness: {total}")
    check(exact >= 0.95 * total, f"only {exact}/{total} deep stacks are complete")

    # A depth limit keeps the leaf end, marks the cut, and says so in the summary.
    out = os.path.join(tmp, "cut.folded")
    _, err = record_ok(["record", "-e", "cpu-clock", "-F", "999", "--max-stack", "20", "-o", out,
                        "--", DEMO, "1", "60"])
    stacks = parse_folded(out)
    cut = {s: c for s, c in stacks.items() if s.endswith(";descend;demo_loop;hot_60")}
    # [unwind:depth] where the CFI walk cut it (the default call graph), [truncated] where
    # frame pointers did (the first samples, before the demo's tables are loaded).
    check(cut and all(re.match(r"pmuprof-demo;\[(truncated|unwind:depth)\];descend;", s)
                      for s in cut), f"truncated stacks: {list(cut)[:2]}")
    check(re.search(r"note:\s+\d+ samples?: stack truncated at --max-stack \(kept\)$", err, re.M),
          "summary lacks the truncation note")


def case_user_kernel_only(tmp):
    out = os.path.join(tmp, "u.folded")
    _, err = record_ok(["record", "-U", "-e", "cpu-clock", "-F", "999", "-o", out,
                        "--", DEMO, "1"])
    stacks = parse_folded(out)
    check(not any("_[k]" in s for s in stacks), "-U recorded kernel frames")
    check(any(s.endswith("main;descend;demo_loop;hot_60") for s in stacks),
          "-U lost the user stack")
    out = os.path.join(tmp, "k.folded")
    _, err = record_ok(["record", "-K", "-e", "cpu-clock", "-F", "999", "-o", out,
                        "--", DEMO, "1"])
    stacks = parse_folded(out)
    taken, in_stacks, lost = samples_from_summary(err)
    check(all(f.endswith("_[k]") for s in stacks for f in s.split(";")[1:]),
          "-K recorded user frames")
    # User-mode samples have no kernel frame: they count for the process alone.
    check(stacks.get("pmuprof-demo", 0) > 0.8 * taken, "user-mode samples missing under -K")
    check(taken == in_stacks + lost, "ledger does not add up under -K")


def case_kernel_names(tmp):
    """Kernel frames are named by the kernel for the addresses sampled, without reading
    its whole table: each is a code symbol of /proc/kallsyms, hardly any unknown."""
    need_root()
    with open("/proc/kallsyms") as f:
        rows = [line.split() for line in f]
    code = {r[2] for r in rows if len(r) > 2 and r[1] in "tTwW"}
    if not any(int(r[0], 16) for r in rows[:100]):
        raise Skip("kernel addresses are hidden here")
    out = os.path.join(tmp, "k.folded")
    _, err = record_ok(["record", "-vv", "-K", "-e", "cpu-clock", "-F", "999", "-d", "1",
                        "-o", out, "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=4k",
                        "count=100000000"])
    m = re.search(r"kernel frames named by the kernel, (\d+) addresses at first", err)
    check(m, "-vv does not say the kernel named the kernel frames:\n" + err[-1500:])
    check(0 < int(m.group(1)) < len(code) / 20,
          f"{m.group(1)} addresses asked for: more than the stacks hold")
    frames = {}
    for stack, n in parse_folded(out).items():
        for f in stack.split(";")[1:]:
            frames[f[:-4]] = frames.get(f[:-4], 0) + n
    total = sum(frames.values())
    unknown = frames.get("[unknown]", 0)
    print(f"kernel frames: {total}, unknown {unknown}, {len(frames)} distinct")
    check(total >= 100, f"only {total} kernel frames")
    check(unknown <= 0.01 * total, f"{unknown} of {total} kernel frames unknown")
    strange = [f for f in frames if f != "[unknown]" and f not in code]
    check(not strange, f"kernel frames that are no code symbol: {strange[:10]}")


def case_follow_children(tmp):
    # The command is a shell that starts the demo: its child must be in the profile.
    out = os.path.join(tmp, "kids.folded")
    _, err = record_ok(["record", "-e", "cpu-clock", "-F", "999", "-o", out, "--",
                        "sh", "-c", f"{DEMO} 2 >/dev/null; {DEMO} 1 >/dev/null"])
    stacks = parse_folded(out)
    demo = sum(c for s, c in stacks.items() if s.startswith("pmuprof-demo;"))
    total = sum(stacks.values())
    print(f"samples in the shell's children: {demo} of {total}")
    # The shell only waits: nearly every sample is its children's, however busy the machine.
    check(total > 0 and demo >= 0.9 * total,
          f"children of the command were not followed: {demo} of {total} samples")
    check(any(s.endswith(";main;descend;demo_loop;hot_60") for s in stacks),
          "children are not symbolized")


def case_tty_status(tmp):
    # A live status line on a terminal, nothing extra when stderr is not one.
    need_root()
    if not shutil.which("script"):
        raise Skip("script (util-linux) is not installed")
    out = os.path.join(tmp, "tty.folded")
    cmd = f"{PMUPROF} record -e cpu-clock -F 99 -o {out} -- {DEMO} 1.6"
    # Bytes, not text: text mode would turn the carriage returns into newlines.
    t0 = time.monotonic()
    p = subprocess.run(["script", "-q", "-e", "-c", cmd, "/dev/null"], capture_output=True,
                       timeout=60)
    wall = time.monotonic() - t0
    tty = p.stdout.decode(errors="replace")
    check(p.returncode == 0, f"exit {p.returncode}: {tty}")
    status = re.findall(r"\r\x1b\[Kpmuprof: [0-9.]+ s, \d+ samples, \d+ lost", tty)
    # Twice a second at most, over however long the run took on this machine.
    check(1 <= len(status) <= 2 * wall + 1,
          f"want 1 to {2 * wall + 1:.0f} status updates in {wall:.1f} s, got {len(status)}")
    need_root()
    p = subprocess.run([PMUPROF, "record", "-e", "cpu-clock", "-F", "99", "-o", out, "--", DEMO,
                        "1"], capture_output=True, timeout=60)
    check(p.returncode == 0, f"exit {p.returncode}")
    check(b"\r" not in p.stderr and b"\x1b" not in p.stderr,
          "control characters on a non-terminal")


def case_three_software_events(tmp):
    # Every event on every target, tagged: by BPF cookie (link) and by program (ioctl).
    for mode in ("link", "ioctl"):
        out = os.path.join(tmp, f"{mode}.folded")
        _, err = record_ok(["record", f"--attach={mode}", "-e", "cpu-clock,task-clock,page-faults",
                            "-F", "499", "-o", out, "--", DEMO, "1.5"])
        files = sorted(f for f in os.listdir(tmp) if f.startswith(mode + "."))
        want = [f"{mode}.cpu-clock.folded", f"{mode}.page-faults.folded",
                f"{mode}.task-clock.folded"]
        check(files == want, f"{mode}: files {files}")
        for ev in ("cpu-clock", "task-clock"):
            stacks = parse_folded(os.path.join(tmp, f"{mode}.{ev}.folded"))
            check(any(s.endswith(";demo_loop;hot_60") for s in stacks),
                  f"{mode}: {ev} lacks the hot function")
        faults = parse_folded(os.path.join(tmp, f"{mode}.page-faults.folded"))
        clock = parse_folded(os.path.join(tmp, f"{mode}.cpu-clock.folded"))
        # The demo computes in registers: faults happen at start-up, not in hot_60.
        check(faults and sum(faults.values()) * 5 < sum(clock.values()),
              f"{mode}: page-faults look like clock samples: {list(faults)[:3]}")
        check(not any(s.endswith(";hot_60") for s in faults),
              f"{mode}: page faults attributed to the compute loop")
        events = re.findall(r"^  event:\s+(\S+)", err, re.M)
        check(events == ["cpu-clock", "task-clock", "page-faults"], f"summary events {events}")
        check(err.count("  counts:     samples") == 3, "software events must count samples")


def case_mixed_fallback_once(tmp):
    need_root()
    if has_hw_pmu():
        raise Skip("this machine has a hardware PMU: cycles needs no fallback")
    out = os.path.join(tmp, "mixed.folded")
    _, err = record_ok(["record", "-e", "cycles,instructions,cpu-clock", "-F", "299", "-o", out,
                        "--", DEMO, "1"])
    lines = [l for l in err.splitlines() if "no hardware PMU" in l and l.startswith("pmuprof:")]
    check(len(lines) == 1, f"want one fallback line:\n{err}")
    check("cycles,instructions" in lines[0] and "cpu-clock" in lines[0], lines[0])
    check(re.findall(r"^  event:\s+(\S+)", err, re.M) == ["cpu-clock"], "want one cpu-clock event")
    check(os.listdir(tmp) == ["mixed.folded"], f"files: {os.listdir(tmp)}")
    # Only hardware events: one cpu-clock replaces them all.
    out = os.path.join(tmp, "hw.folded")
    _, err = record_ok(["record", "-e", "cycles,instructions,LLC-load-misses", "-o", out,
                        "--", DEMO, "0.5"])
    check(re.findall(r"^  event:\s+(\S+)", err, re.M) == ["cpu-clock"], err)
    check(os.path.exists(out), "the single fallback event keeps the plain file name")


def case_list(tmp):
    need_root()
    rc, out, err = run(["list"])
    check(rc == 0, f"exit {rc}: {err}")
    line = {l.split()[0]: l for l in out.splitlines() if l.startswith("  ")}
    check("cpu-clock" in line and "[openable]" in line["cpu-clock"], "cpu-clock not openable")
    if not has_hw_pmu():
        for ev in ("cycles", "instructions", "LLC-load-misses"):
            check(ev in line and "no hardware PMU" in line[ev], f"{ev}: {line.get(ev)}")
    rc, out, _ = run(["list", "--json", "*clock*"])
    data = json.loads(out)
    check({e["name"] for e in data} == {"cpu-clock", "task-clock"}, f"json: {data}")
    check(all(e["openable"] for e in data), "clock events must be openable")
    env = dict(os.environ, LIBPFM_ENCODE_INACTIVE="1")
    rc, out, err = run(["list", "--details", "skl::INST_RETIRED:ANY_P:u"], env=env)
    check(rc == 0 and out.startswith("skl::INST_RETIRED:ANY_P:u type=4 config=0xc0 config1=0x0 "
                                     "config2=0x0 exclude_user=0 exclude_kernel=1 exclude_hv=0 "
                                     "precise_ip=0"), f"details: {out} {err}")
    rc, _, err = run(["record", "-e", "cyclse", "--", "true"])
    check(rc == 2 and "did you mean cycles" in err, f"no suggestion: {err}")
    rc, out, _ = run(["list", "--all-pmus", "skl::INST_RETIRED*"])
    check(rc == 0 and "skl::INST_RETIRED" in out and "PMU not on this machine" in out,
          "--all-pmus does not list inactive PMUs")


def case_count_events(tmp):
    # --count=events: folded counts are the summed periods (ns for cpu-clock).
    out = os.path.join(tmp, "ev.folded")
    _, err = record_ok(["record", "-e", "cpu-clock", "-F", "1000", "--count=events", "-o", out,
                        "--", DEMO, "1"])
    stacks = parse_folded(out)
    taken, _, _ = samples_from_summary(err)
    weight = int(summary_value(err, "weight").split()[0])
    total = sum(stacks.values())
    print(f"taken {taken}, weight {weight} ns, folded total {total}")
    check(total == weight, f"folded total {total} != weight {weight}")
    check(abs(total / taken - 1e6) < 2e5, f"{total / taken:.0f} ns per sample at 1000 Hz")
    check("counts:     ns (sum of sample periods: --count=events)" in err,
          "summary does not state the counting rule in cpu-clock's unit")
    # A period of cpu-clock is in nanoseconds, and the summary says so.
    _, err = record_ok(["record", "-e", "cpu-clock", "-c", "2000000", "-o", out, "--", DEMO, "1"])
    check(summary_value(err, "event") == "cpu-clock every 2000000 ns", summary_value(err, "event"))
    # -v says what is opened (the encoding); libbpf's own messages wait for -vv.
    _, err = record_ok(["record", "-v", "-e", "cpu-clock", "-o", out, "--", DEMO, "0.2"])
    check(re.search(r"^pmuprof: event cpu-clock: type=1 config=0x0 .*: opens$", err, re.M),
          f"-v does not show the event's encoding:\n{err}")
    check("libbpf:" not in err, "-v shows libbpf's messages")
    _, err = record_ok(["record", "-e", "cpu-clock", "-o", out, "--", DEMO, "0.2"])
    check("pmuprof: event cpu-clock:" not in err, "the encoding line without -v")


FORKER = os.environ.get("PMUPROF_FORKER", "build/pmuprof-forker")
JIT = os.environ.get("PMUPROF_JIT", "build/pmuprof-jit")


def case_short_lived_children(tmp):
    # 30 children of ~60 ms each, gone long before the record ends: system-wide (the
    # mmap/fork records) and as a launched command (inherited events).
    for how in ("-a", "cmd"):
        out = os.path.join(tmp, f"kids{how}.folded")
        if how == "-a":
            need_root()
            p = subprocess.Popen([FORKER, "30", "60"], stdout=subprocess.DEVNULL)
            try:
                record_ok(["record", "-a", "-e", "cpu-clock", "-F", "999", "-d", "3.5", "-o", out])
            finally:
                p.wait()
        else:
            record_ok(["record", "-e", "cpu-clock", "-F", "999", "-o", out, "--", FORKER, "30",
                       "60"])
        stacks = parse_folded(out)
        # Samples taken in user space: the kernel's fork and exit paths (heavier where the
        # children map more, as under a sanitizer) are not the children's own code.
        kids = {s: c for s, c in stacks.items()
                if s.startswith("pmuprof-forker;") and not s.endswith("_[k]")}
        total = sum(kids.values())
        named = sum(c for s, c in kids.items() if ";child_work" in s)
        print(f"{how}: children samples in user space {total}, in child_work {named}")
        check(total >= 100, f"{how}: only {total} samples of the children")
        check(named >= 0.95 * total, f"{how}: {named}/{total} name child_work: "
              + repr(sorted(kids.items(), key=lambda kv: -kv[1])[:3]))


def case_deleted_binary(tmp):
    need_root()
    copy = os.path.join(tmp, "demo-to-delete")
    shutil.copy(DEMO, copy)
    p = subprocess.Popen([copy, "4"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        os.unlink(copy)
        out = os.path.join(tmp, "deleted.folded")
        record_ok(["record", "-e", "cpu-clock", "-F", "999", "-p", str(p.pid), "-d", "2",
                   "-o", out])
    finally:
        p.wait()
    check_named_hot(parse_folded(out), "demo-to-delete")


def check_named_hot(stacks, comm):
    mine = {s: c for s, c in stacks.items() if s.startswith(comm[:15] + ";")}
    total = sum(mine.values())
    hot = sum(c for s, c in mine.items() if s.endswith(";main;descend;demo_loop;hot_60"))
    print(f"{comm}: {total} samples, {hot} in main→hot_60")
    check(total >= 100, f"{comm}: too few samples to judge: {total}")
    check(hot >= 0.5 * total, f"{comm}: hot_60 not symbolized: "
          + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:2]))


def case_mount_namespace(tmp):
    # The binary lives at a path that exists only inside the process's mount namespace.
    need_root()
    if not shutil.which("unshare"):
        raise Skip("unshare (util-linux) is not installed")
    nsdir = os.path.join(tmp, "ns-only")
    os.mkdir(nsdir)
    script = (f"mount -t tmpfs tmpfs {nsdir} && cp {DEMO} {nsdir}/nsdemo && "
              f"exec {nsdir}/nsdemo 4")
    p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.6)
        if p.poll() is not None:
            raise Skip("unshare -m refused here: " + p.stderr.read().strip())
        check(not os.path.exists(os.path.join(nsdir, "nsdemo")), "the path leaks outside")
        out = os.path.join(tmp, "ns.folded")
        record_ok(["record", "-e", "cpu-clock", "-F", "999", "-p", str(p.pid), "-d", "2",
                   "-o", out])
    finally:
        p.wait()
    check_named_hot(parse_folded(out), "nsdemo")


def case_jit_map(tmp):
    import platform
    if platform.machine() != "x86_64":
        raise Skip("the JIT workload is x86-64 code")
    out = os.path.join(tmp, "jit.folded")
    try:
        _, err = record_ok(["record", "-e", "cpu-clock", "-F", "999", "-o", out, "--", JIT, "2"])
        stacks = parse_folded(out)
        mine = {s: c for s, c in stacks.items() if s.startswith("pmuprof-jit;")}
        total = sum(mine.values())
        jit = sum(c for s, c in mine.items() if ";jit_spin_loop_[j]" in s + ";" or
                  s.endswith(";jit_spin_loop_[j]"))
        print(f"jit samples {jit}/{total}")
        check(total >= 100 and jit >= 0.8 * total, f"JIT frames: {jit}/{total}: "
              + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:3]))
    finally:
        # Only our own regular files, read within bounds: other maps in /tmp may be
        # hostile (a FIFO, a link to /dev/zero).
        for f in os.listdir("/tmp"):
            path = os.path.join("/tmp", f)
            if f.startswith("perf-") and f.endswith(".map"):
                try:
                    if not stat.S_ISREG(os.lstat(path).st_mode):
                        continue
                    with open(path, "rb") as fh:
                        if b"jit_spin_loop" in fh.read(65536):
                            os.unlink(path)
                except OSError:
                    pass


# Option and input errors: one line naming the input, exit 2, no output file.
CLI_ERRORS = [
    (["--max-table", "0"], r"--max-table 0: give a number from 1 to"),
    (["--max-processes", "-5"], r"--max-processes -5: give a number from 1 to"),
    (["--drain-interval", "1.5"], r"--drain-interval 1.5: give milliseconds from 1 to"),
    (["-e", "bogus"], r"-e bogus: unknown event 'bogus'"),
    (["--call-graph=lbr"], r"--call-graph=lbr: use fp \(frame pointers\) or dwarf"),
    (["--call-graph=dwarf,x"], r"--call-graph=dwarf,x: use fp"),
    (["--unwind-memory", "12"], r"--unwind-memory 12: give a size such as 64M or 1G \(at least 64K\)"),
    (["--unwind-memory", "5X"], r"--unwind-memory 5X: give a size"),
    (["-e", "cycles,nope"], r"unknown event 'nope'"),
    (["-p", "999999999"], r"-p 999999999: no process with ID 999999999"),
    (["-p", "12ab"], r"'12ab' is not a process or thread ID"),
    (["-t", "999999999"], r"-t 999999999: no thread with ID"),
    (["-C", "4096"], r"-C 4096: CPU 4096 is not online"),
    (["-C", "0-x"], r"-C 0-x: not a CPU list"),
    (["-F", "0"], r"-F 0: the frequency must be a positive"),
    (["-F", "fast"], r"-F fast: the frequency must be a positive"),
    (["-F", "10000000"], r"-F 10000000: above the kernel's limit"),
    (["-c", "0"], r"-c 0: the period must be a positive"),
    (["-c", "-5"], r"-c -5: the period must be a positive"),
    (["-F", "99", "-c", "1000"], r"-F 99 and -c 1000: give a frequency or a period, not both"),
    (["--attach=bogus"], r"--attach=bogus: unknown mode; use auto, link or ioctl"),
    (["-d", "soon"], r"-d soon: the duration must be a positive number"),
    (["--max-stack", "0"], r"--max-stack 0: give a number of frames"),
    (["-o", "/nonexistent-dir/out.folded"], r"-o /nonexistent-dir/out.folded: cannot write"),
    (["--bogus-option"], r"unknown option '--bogus-option'"),
    (["-p", "1", "-t", "1"], r"give one target"),
    (["--", "/nonexistent/cmd"], r"/nonexistent/cmd: command not found"),
    (["--", "no-such-command-pmuprof"], r"no-such-command-pmuprof: command not found"),
    (["-e", "cycles:x"], r"-e cycles:x: 'cycles:x': unknown modifier ':x'"),
    (["-e", "cycles:pppp"], r"bad precise level"),
    (["-e", "skl::INST_RETIRED:ANY_P:period=10:freq=10"], r"period and freq together",
     {"LIBPFM_ENCODE_INACTIVE": "1"}),
    (["-e", "skl::INST_RETIRED:ANY_P"], r"the skl PMU .* is not on this machine"),
    (["-e", "cpu/event=0x3c/"], r"no PMU named 'cpu'|PMU terms"),
    (["--count=often"], r"--count=often: use samples or events"),
]


def case_cli_errors(tmp):
    failures = []
    for args, pattern, *env in CLI_ERRORS:
        out = os.path.join(tmp, "x.folded")
        extra = [] if any(a.startswith("-o") for a in args) else ["-o", out]
        rc, _, err = run(["record"] + extra + args, timeout=30,
                         env=dict(os.environ, **env[0]) if env else None)
        lines = err.strip().splitlines()
        problems = []
        if rc != 2:
            problems.append(f"exit {rc}")
        if len(lines) != 1:
            problems.append(f"{len(lines)} lines")
        if not re.search(pattern, err):
            problems.append("message does not match")
        if not lines or not lines[0].startswith("pmuprof: "):
            problems.append("no 'pmuprof:' prefix")
        if os.listdir(tmp):
            problems.append(f"left files {os.listdir(tmp)}")
            for f in os.listdir(tmp):
                os.unlink(os.path.join(tmp, f))
        print(f"{'ok  ' if not problems else 'FAIL'} {' '.join(args)} -> {err.strip()}")
        if problems:
            failures.append(f"{args}: {', '.join(problems)}: {err.strip()!r}")
    rc, _, err = run(["bogus-command"])
    check(rc == 2 and "unknown command 'bogus-command'" in err, f"unknown command: {rc} {err}")
    check(not failures, "\n".join(failures))



# ---------------------------------------------------------------- draining, generations

STACKS = os.environ.get("PMUPROF_STACKS", "build/pmuprof-stacks")
TWIN = os.environ.get("PMUPROF_TWIN", "build/pmuprof-twin")


def drains_from_summary(err):
    m = re.match(r"(\d+) \(fullest map ([\d.]+)% of --max-stacks.*\); (\d+) exited processes freed",
                 summary_value(err, "drains"))
    check(m, "bad drains line: " + summary_value(err, "drains"))
    return int(m.group(1)), float(m.group(2)), int(m.group(3))


def check_ledger(err, out):
    taken, in_stacks, lost = samples_from_summary(err)
    stacks = parse_folded(out)
    check(taken == in_stacks + lost, f"ledger: {taken} != {in_stacks} + {lost}")
    check(sum(stacks.values()) == taken, f"folded total {sum(stacks.values())} != taken {taken}")
    return taken, stacks


def case_many_stacks(tmp):
    # A new stack on nearly every sample for 30 s: the kernel maps only hold one interval,
    # so nothing is lost to a full map, and the ledger still adds up.
    need_root()
    out = os.path.join(tmp, "many.folded")
    work = [subprocess.Popen([STACKS, "31"], stdout=subprocess.DEVNULL) for _ in range(2)]
    try:
        time.sleep(0.3)
        _, err = record_ok(["record", "-a", "-F", "999", "-d", "30", "-o", out], timeout=75)
    finally:
        for w in work:
            w.wait()
    taken, stacks = check_ledger(err, out)
    mine = {s: c for s, c in stacks.items() if s.startswith("pmuprof-stacks;")}
    samples = sum(mine.values())
    map_full = stacks.get("[lost:map_full]", 0)
    drains, fill, _ = drains_from_summary(err)
    print(f"taken {taken}, map_full {map_full}; workload: {samples} samples in {len(mine)} "
          f"distinct stacks; {drains} drains, fullest map {fill}%")
    check(samples >= 3000, f"too few samples of the workload: {samples}")
    # Nearly every sample a new stack: 80.0% on a quiet machine (46,783 of 58,504), more
    # when busy; what the test needs is tens of thousands of stacks, not an exact share.
    check(len(mine) >= 0.7 * samples, "the workload does not make a new stack per sample")
    check(map_full <= 0.005 * taken, f"[lost:map_full] {map_full} of {taken} taken")
    check(drains >= 20, f"only {drains} drains in 30 s")
    named = sum(c for s, c in mine.items() if ";main;left;" in s)
    check(named >= 0.95 * samples, f"only {named}/{samples} samples named main;left;...")


def case_lazy_libraries(tmp):
    """A system-wide record maps none of the libraries only other commands need (the
    agent's HTTP server and push client, libsystemd, libdebuginfod and its TLS stack,
    capstone, libpfm4): read from its /proc/PID/maps all along, the finish included."""
    need_root()
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUGINFOD_URLS", "NOTIFY_SOCKET")}
    out = os.path.join(tmp, "out.folded")
    p = subprocess.Popen([PMUPROF, "record", "-a", "-F", "999", "-d", "3", "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    seen, reads = "", 0
    while p.poll() is None:
        try:
            with open(f"/proc/{p.pid}/maps") as f:
                seen += f.read()
            reads += 1
        except OSError:
            break
        time.sleep(0.05)
    err = p.communicate(timeout=60)[1].decode(errors="replace")
    if p.returncode != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(p.returncode == 0, f"record exited {p.returncode}:\n{err}")
    check("libbpf" in seen and reads >= 20, f"the record's maps were read {reads} times")
    for lib in lazy_libraries_in(seen):
        check(False, f"record maps {lib}: only {LAZY_LIBRARIES[lib]} should load it")


def case_named_once(tmp):
    # The demo's few stacks recur in every drain: each drained key is symbolized once,
    # later drains only count it, and the profile is the same as ever.
    out = os.path.join(tmp, "once.folded")
    _, err = record_ok(["record", "-v", "-F", "999", "--drain-interval", "100", "-o", out,
                        "--", DEMO, "3"])
    _, stacks = check_ledger(err, out)
    check_shares(stacks)
    drains, _, _ = drains_from_summary(err)
    m = re.match(r"(\d+) drained stacks symbolized, (\d+) counted under an earlier name",
                 summary_value(err, "named"))
    check(m, "bad named line: " + summary_value(err, "named"))
    named, again = int(m.group(1)), int(m.group(2))
    m = re.match(r"(\d+) distinct \((\d+) drained from the kernel\)", summary_value(err, "stacks"))
    check(m, "bad stacks line: " + summary_value(err, "stacks"))
    drained = int(m.group(2))
    print(f"{drains} drains; {drained} keys drained: {named} symbolized, {again} counted again")
    check(drains >= 10, f"only {drains} drains in 3 s at --drain-interval 100")
    check(named + again == drained, f"{named} + {again} != {drained} drained")
    check(again > named, f"recurring keys symbolized again: {named} named, {again} reused")


def case_drain_slow_naming(tmp):
    # Naming made far slower than the stacks come (a test knob adds 2 ms per new stack,
    # about 2 s of naming per second here): the drains still come every interval, so the
    # kernel maps hold one interval and lose nothing, and every stack is named at the end.
    need_root()
    out = os.path.join(tmp, "slow.folded")
    env = dict(os.environ, PMUPROF_TEST_NAME_DELAY_US="2000")
    work = subprocess.Popen([STACKS, "8"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        p = subprocess.run([PMUPROF, "record", "-a", "-e", "cpu-clock", "-F", "999", "-d", "5",
                            "--drain-interval", "200", "--max-stacks", "4096", "-o", out],
                           capture_output=True, text=True, env=env, timeout=150)
    finally:
        work.kill()
        work.wait()
    if p.returncode != 0 and "not permitted" in p.stderr:
        raise Skip("the kernel refuses BPF here")
    check(p.returncode == 0, f"record exited {p.returncode}:\n{p.stderr}")
    taken, stacks = check_ledger(p.stderr, out)
    drains, fill, _ = drains_from_summary(p.stderr)
    mine = {s: c for s, c in stacks.items() if s.startswith("pmuprof-stacks;")}
    samples = sum(mine.values())
    named = sum(c for s, c in mine.items() if ";main;left;" in s)
    map_full = stacks.get("[lost:map_full]", 0)
    print(f"{drains} drains in 5 s at 200 ms, fullest map {fill}%; taken {taken}, map_full "
          f"{map_full}; workload {samples} samples, {named} named main;left;...")
    check(drains >= 12, f"only {drains} drains: naming held the flips")
    check(map_full <= 0.005 * taken, f"[lost:map_full] {map_full} of {taken} taken")
    check(samples >= 500, f"too few samples of the workload: {samples}")
    check(named >= 0.95 * samples, f"only {named}/{samples} samples named main;left;...")


def spawn_on_pid(pid, argv):
    """Start argv as process pid (through ns_last_pid); None when another process took it."""
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(pid - 1))
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    if p.pid == pid:
        return p
    p.wait()
    return None


def case_pid_reuse(tmp):
    # Two binaries named alike, the second one on the first one's pid, both drained only
    # at the end: each one's samples are named from its own file.
    need_root()
    for d in ("a", "b"):
        os.mkdir(os.path.join(tmp, d))
    first, second = os.path.join(tmp, "a", "worker"), os.path.join(tmp, "b", "worker")
    shutil.copy(DEMO, first)
    shutil.copy(TWIN, second)
    out = os.path.join(tmp, "reuse.folded")
    # Interrupted once the second process is done, not after a fixed time: on a busy
    # machine the first one's 2 s of work took 2.8 s, and the record's end cut the second.
    rec = subprocess.Popen([PMUPROF, "record", "-a", "-e", "cpu-clock", "-F", "999", "-d", "60",
                            "--drain-interval", "60000", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        for attempt in range(20):
            pid = max(int(p) for p in os.listdir("/proc") if p.isdigit()) + 500 + 97 * attempt
            if pid >= int(open("/proc/sys/kernel/pid_max").read()) - 10:
                pid = 1000 + 97 * attempt
            if os.path.exists(f"/proc/{pid}"):
                continue
            a = spawn_on_pid(pid, [first, "2"])
            if not a:
                continue
            a.wait()
            b = spawn_on_pid(pid, [second, "2"])
            if b:
                b.wait()
                break
        else:
            raise Skip("could not start two processes on one pid (a busy machine)")
        rec.send_signal(signal.SIGINT)
        _, err = rec.communicate(timeout=60)
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
    if rec.returncode != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF here")
    check(rec.returncode == 0, f"record exited {rec.returncode}:\n{err}")
    stacks = parse_folded(out)
    mine = {s: c for s, c in stacks.items() if s.startswith("worker;")}
    total = sum(mine.values())
    hot = sum(c for s, c in mine.items() if re.search(r";main;descend;demo_loop;hot_\d0$", s))
    twin = sum(c for s, c in mine.items() if re.search(r";main;descend;twin_loop;twin_\d0$", s))
    print(f"pid {pid}: worker samples {total}: first binary's functions {hot}, "
          f"second's {twin}")
    # Each worker runs 2 s of wall time: a machine busy with other work gives them far
    # fewer samples than 4,000, and not always alike (a loaded run gave 1306 and 671). A
    # process named from the other's file would leave its own count near 0.
    check(total >= 200, f"too few samples: {total}")
    check(hot >= 0.2 * total, f"the first process is not named from its file: {hot}/{total}")
    check(twin >= 0.2 * total, f"the second process is not named from its file: {twin}/{total}")
    check(hot + twin >= 0.9 * total, "unnamed samples: "
          + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:3]))


def forker_named(stacks):
    """Samples of the forker and its children: all, with every frame named, in child_work.
    Forks and exits take kernel time outside child_work: those frames are named too."""
    kids = {s: c for s, c in stacks.items() if s.startswith("pmuprof-forker;")}
    named = sum(c for s, c in kids.items() if "[unknown]" not in s.split(";")
                and not re.search(r";\[(?!unknown\]|truncated\]|unwind:)[^;\]]+\](;|$)", s))
    unnamed = sorted(((c, s) for s, c in kids.items() if "[unknown]" in s.split(";")),
                     reverse=True)[:3]
    if unnamed:
        print("most frequent unnamed:", unnamed)
    return (sum(kids.values()), named,
            sum(c for s, c in kids.items() if ";child_work" in s))


def case_short_lived_30s(tmp):
    # Short-lived processes spawned for 30 s under -a: their samples are named.
    need_root()
    out = os.path.join(tmp, "kids.folded")
    p = subprocess.Popen([FORKER, "100000", "20"], stdout=subprocess.DEVNULL)
    try:
        time.sleep(0.2)
        _, err = record_ok(["record", "-a", "-e", "cpu-clock", "-F", "999", "-d", "30",
                            "-o", out], timeout=75)
    finally:
        p.kill()
        p.wait()
    _, stacks = check_ledger(err, out)
    total, named, work = forker_named(stacks)
    _, _, reaped = drains_from_summary(err)
    print(f"forker samples {total}, named {named}, in child_work {work}; {reaped} address "
          "spaces freed")
    check(total >= 2000, f"only {total} samples of the children")
    check(named >= 0.95 * total, f"only {named}/{total} samples named")
    # Forks, execs and exits are kernel time outside child_work: a sanitizer build at
    # load 20 had 79% of the samples in child_work (and 99.4% named).
    check(work >= 0.7 * total, f"only {work}/{total} samples in child_work")
    check(reaped >= 100, f"only {reaped} exited processes freed")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def case_many_processes(tmp):
    # Far more processes than the tracking bound (shortened with --max-processes) over one
    # run: exited ones are freed, the record goes on, memory stays flat.
    need_root()
    out = os.path.join(tmp, "procs.folded")
    p = subprocess.Popen([FORKER, "1000000", "2"], stdout=subprocess.DEVNULL)
    # -p: the forker's children are sampled, while every process of the system is tracked
    # (the tracking events are per CPU); the stack table stays small, so RSS shows the
    # address-space table. Under ASan, freed memory waits in a 256 MB quarantine, which
    # grows RSS for the whole run: a small one keeps the comparison about pmuprof's tables.
    env = dict(os.environ)
    if "ASAN_OPTIONS" in env:
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=4"
    rec = subprocess.Popen([PMUPROF, "record", "-p", str(p.pid), "-e", "cpu-clock", "-F", "999",
                            "-d", "24", "--max-processes", "1000", "-o", out],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(6)
        early = rss_kb(rec.pid)
        time.sleep(16)
        late = rss_kb(rec.pid)
        _, err = rec.communicate(timeout=60)
    finally:
        p.kill()
        p.wait()
        if rec.poll() is None:
            rec.kill()
            rec.wait()
    if rec.returncode != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF here")
    check(rec.returncode == 0, f"record exited {rec.returncode}:\n{err}")
    _, stacks = check_ledger(err, out)
    _, _, reaped = drains_from_summary(err)
    total, named, work = forker_named(stacks)
    print(f"{reaped} processes freed (bound 1000); RSS {early} kB at 6 s, {late} kB at 22 s; "
          f"forker samples {total}, named {named}, in child_work {work}")
    check(reaped >= 1500, f"only {reaped} processes over the run")
    check("beyond the tracking bound" not in err, "processes beyond the bound:\n" + err)
    check(late <= early * 1.2 + 2048, f"memory grew: {early} kB -> {late} kB")
    check(total >= 500 and named >= 0.95 * total, f"only {named}/{total} samples named")


def case_pid_exits(tmp):
    """-p ends the record when every process given has exited, not at -d: two demos that
    exit 3 s and 5 s in end a 60 s record within 2 s of the later one, output written (both
    still run once the record has attached, even when starting it takes seconds)."""
    need_root()
    out = os.path.join(tmp, "exits.folded")
    demos = [subprocess.Popen([DEMO, secs], stdout=subprocess.DEVNULL) for secs in ("3", "5")]
    ended = {}

    def reap(p):
        p.wait()
        ended[p.pid] = time.monotonic()

    try:
        waiters = [threading.Thread(target=reap, args=(d,)) for d in demos]
        for w in waiters:
            w.start()
        pids = ",".join(str(d.pid) for d in demos)
        rc, _, err = run(["record", "-F", "499", "-d", "60", "-p", pids, "-o", out],
                         timeout=90)
        done = time.monotonic()
        for w in waiters:
            w.join()
    finally:
        for d in demos:
            if d.poll() is None:
                d.kill()
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(rc == 0, f"record -p {pids} exited {rc}:\n{err}")
    last = max(ended.values())
    print(f"record ended {done - last:+.2f} s after the last process exited")
    check(done >= last, "record ended before the second process exited")
    check(done - last <= 2.0, f"record ended {done - last:.2f} s after the processes exited")
    stacks = parse_folded(out)
    check(any(s.startswith("pmuprof-demo;") and s.endswith(";hot_60") for s in stacks),
          "the output lacks the demos' stacks: " + repr(list(stacks)[:3]))
    taken, in_stacks, lost = samples_from_summary(err)
    check(taken == in_stacks + lost, f"ledger: {taken} taken != {in_stacks} + {lost}")


def case_pid_others(tmp):
    """-p follows its process and its children only: the hundreds of processes that start
    and exit elsewhere on the machine meanwhile are not tracked (on a busy machine their
    records cost more than the profile), so the summary frees none of them."""
    need_root()
    out = os.path.join(tmp, "others.folded")
    churn = subprocess.Popen(["sh", "-c", 'end=$(($(date +%s) + 4)); n=0; '
                              'while [ "$(date +%s)" -lt "$end" ]; do /bin/true; n=$((n + 2)); '
                              'done; echo "$n"'], stdout=subprocess.PIPE, text=True)
    demo = subprocess.Popen([DEMO, "3"], stdout=subprocess.DEVNULL)
    try:
        rc, _, err = run(["record", "-F", "499", "-d", "60", "-p", str(demo.pid), "-o", out],
                         timeout=90)
    finally:
        demo.wait()
        others = int(churn.communicate()[0].strip() or 0)
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(rc == 0, f"record -p {demo.pid} exited {rc}:\n{err}")
    check(others >= 100, f"only {others} other processes ran")
    _, _, freed = drains_from_summary(err)
    print(f"{freed} exited processes freed, {others} others ran")
    # The demo's own: 1, 2 in the sanitizer build.
    check(freed <= 3, f"{freed} exited processes freed: others were tracked:\n{err}")
    check(any(s.startswith("pmuprof-demo;") and s.endswith(";hot_60")
              for s in parse_folded(out)), "the output lacks the demo's stacks:\n" + err)


def case_exit_status(tmp):
    """record -- CMD exits with CMD's status (128 + signal when a signal ended it), as
    perf does, and writes the output all the same; a command stopped by -d gives 0."""
    need_root()
    for argv, want in ((["sh", "-c", "exit 3"], 3),
                       (["sh", "-c", "kill -SEGV $$"], 128 + signal.SIGSEGV),
                       ([DEMO, "1"], 0), (["sleep", "30"], 0)):
        out = os.path.join(tmp, f"status{want}.folded")
        if os.path.exists(out):
            os.unlink(out)
        extra = ["-d", "0.5"] if argv[0] == "sleep" else []
        rc, _, err = run(["record", "-q", "-e", "cpu-clock", "-o", out] + extra + ["--"] + argv)
        if rc != 0 and "not permitted" in err:
            raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
        check(rc == want, f"record -- {' '.join(argv)}: exit {rc}, expected {want}:\n{err}")
        check(os.path.exists(out), f"record -- {' '.join(argv)}: no output written")
        parse_folded(out)


def case_no_samples(tmp):
    """A record of an idle process takes no sample: it says so on stderr, with why it may
    be, exits 0 and writes a valid empty profile in each format."""
    need_root()
    idle = subprocess.Popen(["sleep", "60"])
    try:
        for name in ("idle.folded", "idle.svg", "idle.pb.gz"):
            out = os.path.join(tmp, name)
            rc, _, err = run(["record", "-q", "-e", "cpu-clock", "-d", "1", "-p",
                              str(idle.pid), "-o", out])
            if rc != 0 and "not permitted" in err:
                raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
            check(rc == 0, f"record -o {name}: exit {rc}:\n{err}")
            lines = [l for l in err.splitlines() if "no samples" in l]
            check(len(lines) == 1 and "idle" in lines[0] and out in lines[0],
                  f"no 'no samples' line naming the idle target and {out}:\n{err}")
            check(os.path.exists(out), f"{name} not written")
            data = open(out, "rb").read()
            if name.endswith(".folded"):
                check(data == b"", f"{name}: not empty: {data[:200]!r}")
            elif name.endswith(".svg"):
                doc = xml.dom.minidom.parseString(data)
                check(doc.documentElement.tagName == "svg", f"{name}: not an SVG")
                check(b"No samples" in data, f"{name}: does not say 'No samples'")
            else:
                check(len(data) > 0 and gzip.decompress(data) is not None,
                      f"{name}: not gzip data")
                if shutil.which("go"):
                    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "gocache"))
                    p = subprocess.run(["go", "tool", "pprof", "-raw", out], capture_output=True,
                                       text=True, env=env, timeout=300)
                    check(p.returncode == 0, f"go tool pprof -raw {name}: {p.stderr}")
        # A busy target gives samples and no such line.
        out = os.path.join(tmp, "busy.folded")
        rc, _, err = run(["record", "-q", "-e", "cpu-clock", "-F", "999", "-o", out, "--",
                          DEMO, "1"])
        check(rc == 0 and "no samples" not in err, f"busy record: {rc}\n{err}")
    finally:
        idle.kill()
        idle.wait()


def case_precise_half_stack(tmp):
    """A precise event (cycles:pp on hardware; cpu-clock:p here) with one half of the
    stack: the kernel refuses bpf_get_stack() on it without the full callchain (EPROTO),
    so the event keeps the whole chain and the program drops the other half. -U gives
    user-only stacks, -K kernel-only ones, --stack-walk=bpf says it uses the chain."""
    need_root()
    u = os.path.join(tmp, "pu.folded")
    _, err = record_ok(["record", "-U", "-e", "cpu-clock:p", "-F", "999", "-o", u,
                        "--", DEMO, "2"])
    stacks = parse_folded(u)
    check(not any("_[k]" in s for s in stacks), "-U with :p recorded kernel frames")
    check_shares(stacks)
    check("truncated" not in err, "-U with :p counted shallow stacks as truncated:\n" + err)
    k = os.path.join(tmp, "pk.folded")
    _, err = record_ok(["record", "-K", "-e", "cpu-clock:p", "-F", "999", "-o", k,
                        "--", DEMO, "1"])
    stacks = parse_folded(k)
    taken, in_stacks, lost = samples_from_summary(err)
    check(all(f.endswith("_[k]") for s in stacks for f in s.split(";")[1:]),
          "-K with :p recorded user frames")
    check(stacks.get("pmuprof-demo", 0) > 0.8 * taken, "user-mode samples missing under -K")
    check(taken == in_stacks + lost, "ledger does not add up under -K with :p")
    b = os.path.join(tmp, "pb.folded")
    _, err = record_ok(["record", "--stack-walk=bpf", "-U", "-e", "cpu-clock:p", "-F", "999",
                        "-o", b, "--", DEMO, "2"])
    check(re.search(r"--stack-walk=bpf: cpu-clock:p is precise: .*perf callchain", err),
          "--stack-walk=bpf with :p does not say the chain is used:\n" + err)
    stacks = parse_folded(b)
    check(not any("_[k]" in s for s in stacks), "bpf walk, -U, :p recorded kernel frames")
    check_shares(stacks)


if __name__ == "__main__":
    sys.exit(run_case(globals()))
