#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Checks that run inside each kernel of the kernels suite, as root, and print TAP.

Usage: guest.py [CHECK...]   (default: every check, in the order of CHECKS)

scripts/test-kernels.sh boots a kernel and runs this in the host's build tree; meson reads
the TAP it prints (one result per check, so `meson test` and scripts/test.sh count each
check of each kernel). A check is a function that raises Fail with what went wrong; what
it prints becomes TAP diagnostics. To add one, write the function and add it to CHECKS.
It also runs on the host as is: `sudo python3 tests/kernels/guest.py`.
"""
import contextlib
import io
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import traceback

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
DEMO = os.environ.get("PMUPROF_DEMO", "build/pmuprof-demo")
TOUCH = os.environ.get("PMUPROF_TOUCH", "build/pmuprof-touch")
STACKS = os.environ.get("PMUPROF_STACKS", "build/pmuprof-stacks")
UNWIND_FIXTURE = os.environ.get("PMUPROF_UNWIND_FIXTURE", "build/tests/fixture-unwind")

# The mainline release that brought each feature doctor probes (docs/kernels.md). On a
# stock kernel the probe must agree: a mismatch means the probe or the matrix is wrong.
FEATURE_SINCE = {
    "perf_link": (5, 15),
    "bpf_cookie": (5, 15),
    "no_prealloc": (6, 1),
    "bpf_loop": (5, 17),
    "batch_ops": (5, 6),
    "probe_read_user": (5, 5),
    "big_keys": (5, 11),
}


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def kernel_version():
    m = re.match(r"(\d+)\.(\d+)", platform.release())
    return (int(m.group(1)), int(m.group(2)))


def pmuprof(args, timeout=240):
    p = subprocess.run([PMUPROF] + args, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def must(args, timeout=240):
    """pmuprof ARGS must succeed; on failure its stderr (the verifier log with -vv) is shown."""
    rc, out, err = pmuprof(args, timeout)
    if rc != 0:
        print(err)
        raise Fail(f"pmuprof {' '.join(args)} exited {rc}: {err.strip().splitlines()[-1:]}")
    return out, err


# ---------------------------------------------------------------- checks

def check_doctor():
    out, _ = must(["doctor"])
    print(out)
    for field in ("kernel features:", "kernel lacks:"):
        check(field in out, f"doctor's output lacks '{field}'")
    d = json.loads(must(["doctor", "--json"])[0])
    check(d["kernel"] == f"Linux {platform.release()}", f"kernel {d['kernel']!r}")
    have = d["kernel_features"]
    check(set(have) == set(FEATURE_SINCE), f"features {sorted(have)}, want {sorted(FEATURE_SINCE)}")
    version = kernel_version()
    for key, since in FEATURE_SINCE.items():
        want = version >= since
        check(have[key] is not None, f"{key}: the probe could not tell (root in the guest)")
        check(have[key] == want, f"{key}: probed {have[key]} on {version}, but mainline "
              f"{since[0]}.{since[1]} brought it: the probe or the matrix is wrong")
    lacks = sorted(k for k, v in have.items() if not v)
    check(sorted(d["kernel_lacks"]) == lacks, f"kernel_lacks {d['kernel_lacks']}, want {lacks}")
    check(d["perf_links"] == have["perf_link"], "perf_links disagrees with kernel_features")


_features = None


def features():
    """doctor's probes on this kernel, which the record checks adapt to."""
    global _features
    if _features is None:
        _features = json.loads(must(["doctor", "--json"])[0])["kernel_features"]
    return _features


def parse_folded(path):
    stacks = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^(.*) (\d+)$", line.rstrip("\n"))
            check(m, f"{path}: not a folded line: {line!r}")
            stacks[m.group(1)] = stacks.get(m.group(1), 0) + int(m.group(2))
    return stacks


def summary(err, label):
    m = re.search(r"^\s+" + label + r":\s+(.*)$", err, re.M)
    check(m, f"record's summary has no '{label}:' line:\n{err}")
    return m.group(1)


def record_demo(mode, want_attach):
    """The demo's 60/30/10 split under --attach=MODE. TCG is slow and its clock coarse:
    99 Hz for 6 s, shares within 10 points. Before 5.11 keys must fit in 512 bytes."""
    depth = [] if features()["big_keys"] else ["--max-stack", "29"]
    with tempfile.TemporaryDirectory(prefix="pmuprof-kernels-") as tmp:
        out = os.path.join(tmp, "demo.folded")
        _, err = must(["record", "-vv", f"--attach={mode}", "-F", "99", "-o", out] + depth +
                      ["--", DEMO, "6"])
        stacks = parse_folded(out)
    attach = summary(err, "attach")
    print(f"attach: {attach}; samples: {summary(err, 'samples')}")
    check(attach.startswith(want_attach), f"--attach={mode}: summary says {attach!r}")
    m = re.match(r"(\d+) taken, (\d+) in stacks, (\d+) lost", summary(err, "samples"))
    taken, kept, lost = (int(x) for x in m.groups())
    check(taken == kept + lost, f"ledger: {taken} taken != {kept} + {lost}")
    demo = {s: c for s, c in stacks.items() if s.split(";")[0] == "pmuprof-demo"}
    total = sum(demo.values())
    # A guest starved by a busy host takes fewer samples (its timer fires late): the
    # tolerance widens with the sampling error, 10 points at least.
    check(total >= 150, f"only {total} demo samples in 6 s at 99 Hz")
    for fn, want in (("hot_60", 60), ("hot_30", 30), ("hot_10", 10)):
        n = sum(c for s, c in demo.items() if fn in s.split(";"))
        full = sum(c for s, c in demo.items() if re.search(r";main;.*demo_loop;" + fn + "(;|$)", s))
        share = 100.0 * n / total
        tol = max(10.0, 3 + 4 * 100 * math.sqrt(want / 100 * (1 - want / 100) / total))
        print(f"{fn}: {share:.1f}% ({n} of {total}), {full} with main→demo_loop→{fn}")
        check(abs(share - want) <= tol, f"{fn}: share {share:.1f}%, want {want}±{tol:.0f}")
        check(full >= 0.9 * n, f"{fn}: only {full} of {n} samples have main→demo_loop→{fn}")


def check_record_link():
    """bpf_link where the kernel has perf links; elsewhere --attach=link is a clear error
    and the default (auto) records through the ioctl."""
    if features()["perf_link"]:
        record_demo("link", "bpf_link")
        return
    with tempfile.TemporaryDirectory(prefix="pmuprof-kernels-") as tmp:
        rc, _, err = pmuprof(["record", "--attach=link", "-d", "0.5", "-o",
                              os.path.join(tmp, "link.folded")])
    print(f"--attach=link without perf links: exit {rc}: {err.strip()}")
    check(rc != 0 and "pmuprof: " in err, "--attach=link on a kernel without perf links")
    record_demo("auto", "ioctl")


def check_record_ioctl():
    record_demo("ioctl", "ioctl")


def check_stat():
    rc, out, err = pmuprof(["stat", "-e", "page-faults,task-clock,cycles", "--", TOUCH,
                            "20000", "300", "3"])
    print(out)
    check(rc == 3, f"exit {rc}, want the command's 3: {err}")
    m = re.search(r"^\s+([\d,]+)\s+page-faults", out, re.M)
    faults = int(m.group(1).replace(",", "")) if m else -1
    check(20000 <= faults <= 22000, f"page-faults {faults}, want 20000..22000")
    m = re.search(r"^\s+([\d.]+) msec task-clock", out, re.M)
    check(m, "no task-clock line")
    tc = float(m.group(1)) / 1000
    cpu = sum(float(x) for x in re.findall(r"([\d.]+) seconds (?:user|sys)", out))
    check(abs(tc - cpu) <= 0.25 * cpu, f"task-clock {tc:.3f} s vs CPU time {cpu:.3f} s")
    check(re.search(r"<not supported>\s+cycles", out) or re.search(r"[\d,]+\s+cycles", out),
          "no cycles line")


def check_record_drain():
    """Continuous draining: a workload that makes a new stack on nearly every sample,
    drained every 250 ms: the map sets flip, batch lookup-and-delete and the grace period
    work on this kernel, the ledger adds up and the stacks are named. Under emulation a
    drain takes seconds (files read over 9p, the grace-period wait), so the
    maps are sized to hold the run; that draining keeps far more stacks than the maps
    hold is the host's many-stacks test."""
    depth = [] if features()["big_keys"] else ["--max-stack", "29"]
    with tempfile.TemporaryDirectory(prefix="pmuprof-kernels-") as tmp:
        out = os.path.join(tmp, "stacks.folded")
        _, err = must(["record", "-vv", "-F", "99", "--drain-interval", "250", "--max-stacks",
                       "2048", "-o", out] + depth + ["--", STACKS, "10"])
        stacks = parse_folded(out)
    m = re.match(r"(\d+) taken, (\d+) in stacks, (\d+) lost", summary(err, "samples"))
    taken, kept, lost = (int(x) for x in m.groups())
    d = re.match(r"(\d+) \(fullest map ([\d.]+)%", summary(err, "drains"))
    check(d, f"no drains line:\n{err}")
    drains = int(d.group(1))
    mine = {s: c for s, c in stacks.items() if s.startswith("pmuprof-stacks;")}
    samples = sum(mine.values())
    map_full = stacks.get("[lost:map_full]", 0)
    named = sum(c for s, c in mine.items() if ";main;left;" in s)
    print(f"taken {taken}, kept {kept}, lost {lost}, map_full {map_full}; {drains} drains "
          f"(fullest {d.group(2)}%); workload {samples} samples in {len(mine)} stacks, "
          f"{named} named main;left;...")
    check(taken == kept + lost, f"ledger: {taken} taken != {kept} + {lost}")
    check(sum(stacks.values()) == taken, f"folded total {sum(stacks.values())} != {taken}")
    check(len(mine) >= 0.8 * samples, "the workload does not make a new stack per sample")
    check(map_full <= 0.005 * taken, f"[lost:map_full] {map_full} of {taken} taken")
    # A drain under emulation can take seconds on a busy host: two (one while the workload
    # runs, the final one) show that the sets flip and drain more than once.
    check(drains >= 2, f"only {drains} drains in 10 s at 250 ms")
    # Under emulation the workload's own loop and libc calls take a larger share than on
    # the host (95% there).
    others = sorted(((c, s) for s, c in mine.items() if ";main;left;" not in s), reverse=True)
    check(named >= 0.85 * samples, f"only {named} of {samples} samples named main;left;...; "
          "the others:\n" + "\n".join(f"{c} {s}" for c, s in others[:8]))


def check_record_dwarf():
    """--call-graph=dwarf: the kernel loads the CFI walk (no fallback to frame pointers)
    and the unwind fixture, built without frame pointers, gets its whole chain through the
    PLT into its library in >= 95 % of its samples (a running process: its tables load
    before sampling starts)."""
    chain = "main;run_plt;unwind_lib_entry;unwind_lib_mid;unwind_lib_leaf"
    fx = subprocess.Popen([UNWIND_FIXTURE, "plt"], stdout=subprocess.PIPE, text=True)
    try:
        check(fx.stdout.readline().strip() == "ready", "the unwind fixture did not start")
        with tempfile.TemporaryDirectory(prefix="pmuprof-kernels-") as tmp:
            out = os.path.join(tmp, "fixture.folded")
            _, err = must(["record", "-vv", "--call-graph=dwarf", "-F", "199", "-d", "5",
                           "-p", str(fx.pid), "-o", out])
            stacks = parse_folded(out)
    finally:
        fx.kill()
        fx.wait()
    check("refused" not in err, "the kernel refused the CFI walk:\n" + err[-3000:])
    print(f"unwind: {summary(err, 'unwind')}")
    print(f"tables: {summary(err, 'tables')}")
    mine = {s: c for s, c in stacks.items() if s.startswith("fixture-unwind;")}
    total = sum(mine.values())
    full = sum(c for s, c in mine.items()
               if "_start;" in s and chain in ";".join(f for f in s.split(";")
                                                      if not f.endswith("_[k]")))
    print(f"fixture: {full} of {total} samples with _start … {chain}")
    check(total >= 100, f"only {total} fixture samples in 5 s at 199 Hz")
    check(full >= 0.95 * total, f"only {full} of {total} samples have the whole chain")


def check_ksyms():
    """Kernel frames are named by the kernel itself (its %pS through a BPF iterator) as
    /proc/kallsyms names them: the unit test comparing both, run on this kernel, then a
    record whose kernel frames are all named by code symbols of /proc/kallsyms."""
    exe = os.path.join(os.path.dirname(UNWIND_FIXTURE), "test_symbolize_kallsyms")
    p = subprocess.run([exe, "--verbose", "--filter", "kallsyms/kernel_names_match_text"],
                       capture_output=True, text=True, timeout=180)
    out = p.stdout + p.stderr
    print("\n".join(l for l in out.splitlines() if "kallsyms::" in l or "Synthesis" in l))
    check(p.returncode == 0, f"{exe} failed:\n{out[-3000:]}")
    check("[PASS] kallsyms::kernel_names_match_text" in out,
          "the kernel's names were not compared (skipped?)")
    with open("/proc/kallsyms") as f:
        code = {l.split()[2] for l in f if l.split()[1] in "tTwW"}
    with tempfile.TemporaryDirectory(prefix="pmuprof-kernels-") as tmp:
        out = os.path.join(tmp, "k.folded")
        _, err = must(["record", "-vv", "-F", "199", "-d", "3", "-o", out, "--", "dd",
                       "if=/dev/zero", "of=/dev/null", "bs=4k", "count=100000000"])
        stacks = parse_folded(out)
    check("kernel frames named by the kernel" in err,
          "the record did not have the kernel name its kernel frames:\n" + err[-2000:])
    kframes = [f[:-4] for s in stacks for f in s.split(";") if f.endswith("_[k]")]
    unknown = [f for f in kframes if f not in code]
    print(f"kernel frames: {len(kframes)}, not code symbols of /proc/kallsyms: {unknown[:5]}")
    check(len(kframes) >= 20, f"only {len(kframes)} kernel frames")
    check(not unknown, f"kernel frames not named from /proc/kallsyms: {unknown[:10]}")


def check_kernel_btf():
    """The offsets record reads task_struct at, from the kernel's BTF by pmuprof's own
    reader, are those libbpf's BTF API finds on this kernel (its unit test, run here)."""
    exe = os.path.join(os.path.dirname(UNWIND_FIXTURE), "test_kernel_btf")
    name = "kernel_btf::matches_libbpf_on_this_kernel"
    p = subprocess.run([exe, "--verbose", "--filter", name.replace("::", "/")],
                       capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    print("\n".join(l for l in out.splitlines() if "kernel_btf::" in l or "Synthesis" in l))
    check(p.returncode == 0, f"{exe} failed:\n{out[-3000:]}")
    check(f"[PASS] {name}" in out, "the offsets were not compared (skipped?)")


CHECKS = [
    ("doctor", check_doctor),
    ("kernel-btf", check_kernel_btf),
    ("record-link", check_record_link),
    ("record-ioctl", check_record_ioctl),
    ("record-dwarf", check_record_dwarf),
    ("stat", check_stat),
    ("record-drain", check_record_drain),
    ("ksyms", check_ksyms),
]


def main(names):
    table = dict(CHECKS)
    unknown = [n for n in names if n not in table]
    if unknown:
        print(f"guest.py: unknown checks {unknown}; known: {[n for n, _ in CHECKS]}",
              file=sys.stderr)
        return 2
    names = names or [n for n, _ in CHECKS]
    print(f"1..{len(names)}")
    kernel = platform.release()
    for i, name in enumerate(names, 1):
        # Diagnostics first (TAP wants them as '#' lines), then the result line.
        buf = io.StringIO()
        ok, why, start = True, "", time.monotonic()
        with contextlib.redirect_stdout(buf):
            try:
                table[name]()
            except Fail as e:
                ok, why = False, str(e)
            except Exception:  # a broken check is a failed check, with its traceback
                ok, why = False, traceback.format_exc()
        text = buf.getvalue() + f"{name}: {time.monotonic() - start:.1f} s\n"
        for line in (text + ("\nFAIL: " + why if why else "")).splitlines():
            print("# " + line if line else "#")
        print(f"{'ok' if ok else 'not ok'} {i} - {name} ({kernel})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
