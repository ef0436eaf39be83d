#!/bin/sh
# Overhead of pmuprof record against its peers, measured in one invocation:
#
#  1. BPF run time per sample (kernel bpf stats: run_time_ns / run_cnt) of pmuprof's
#     program and of bpftrace's  profile:hz:999 { @[ustack,kstack,comm]=count(); }
#     pmuprof's default reuses the perf callchain, walked by the kernel before the
#     program runs and so outside run_time_ns; bpftrace walks both stacks inside its
#     program. The like-for-like figure is pmuprof --stack-walk=bpf, which walks inside
#     the program too: the target (<= bpftrace) applies to that one.
#  2. CPU seconds (user + system) and peak RSS of `pmuprof record -a -F 999 -d 8`
#     (symbolization and output included) and of `perf record -F 999 -a -g -- sleep 8`.
#  Both on the same busy workload (one demo process per CPU).
#  3. The same two figures without a workload (what a long system-wide record costs on a
#     quiet machine): `record -a -F 999 -d IDLE_SECONDS` (default 60) against
#     `perf record -a -g -F 999 -- sleep IDLE_SECONDS`, run one after the other.
#
# Medians of RUNS runs (default 3). PARTS picks the parts (default "bpf cpu idle").
# NO_DEPS=1 skips scripts/install-deps.sh.
# PMUPROF_BASE=path/to/an/older/pmuprof adds that binary to parts 2 and 3, measured in
# the same runs, for a before/after comparison. Needs root. Prints figures and ratios; it
# is not a test.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNS:=3}"
: "${SECONDS_PER_RUN:=8}"
: "${IDLE_SECONDS:=60}"
: "${PARTS:=bpf cpu idle}"
: "${PMUPROF_BASE:=}"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/overhead.sh: needs root (BPF stats, perf and bpftrace)" >&2
	exit 2
fi
[ -n "${NO_DEPS:-}" ] || "$root/scripts/install-deps.sh"
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$RUNS" "$SECONDS_PER_RUN" "$IDLE_SECONDS" "$PARTS" "$PMUPROF_BASE" <<'PY'
import json, os, shutil, statistics, subprocess, sys, tempfile, time

root, runs, secs, idle_secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
parts, base = sys.argv[5].split(), sys.argv[6]
pmuprof = os.path.join(root, "build", "pmuprof")
demo = os.path.join(root, "build", "pmuprof-demo")
bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
ncpu = os.cpu_count()
tmp = tempfile.mkdtemp(prefix="pmuprof-bench-")

for tool in ("perf", "bpftrace"):
    if not shutil.which(tool):
        sys.exit(f"bench/overhead.sh: {tool} not found (scripts/install-deps.sh installs it)")

def prog_ids():
    out = subprocess.run([bpftool, "-j", "prog", "show"], capture_output=True, text=True).stdout
    return {p["id"]: p for p in json.loads(out or "[]")}

def bpf_ns_per_sample(cmd, settle):
    """Start cmd, let it run, read run_time_ns/run_cnt of the perf_event programs it loaded."""
    before = set(prog_ids())
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(settle)
    progs = [v for k, v in prog_ids().items() if k not in before and v.get("type") == "perf_event"]
    p.wait()
    ns = sum(v.get("run_time_ns", 0) for v in progs)
    cnt = sum(v.get("run_cnt", 0) for v in progs)
    return ns / cnt if cnt else float("nan"), cnt

def cost(cmd, seconds):
    """CPU seconds (user + system) and peak RSS (MB) of one run of cmd; None when it hung
    (perf reads every file its samples hit at the end, and blocks on a FIFO put in place
    of one) and was killed 120 s after its duration."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + seconds + 120
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline:
            p.kill()
            os.wait4(p.pid, 0)
            p.returncode = -9
            print(f"  {cmd[0]} hung at the end of its record: killed, run not counted")
            return None
        time.sleep(0.2)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"bench/overhead.sh: {' '.join(cmd)} failed")
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0

def record_cmd(binary, seconds, out):
    return [binary, "record", "-a", "-F", "999", "-d", str(seconds), "-q", "-o", out]

def perf_cmd(seconds):
    return ["perf", "record", "-F", "999", "-a", "-g", "-q", "-o",
            os.path.join(tmp, "perf.data"), "--", "sleep", str(seconds)]

def cost_runs(seconds, label):
    """pmuprof (and the base binary), then perf, RUNS times: medians of CPU and RSS."""
    tools = [("pmuprof", pmuprof)] + ([("base", base)] if base else [])
    res = {name: [] for name, _ in tools + [("perf", None)]}
    out = os.path.join(tmp, "p.folded")
    for i in range(runs):
        for name, binary in tools:
            res[name].append(cost(record_cmd(binary, seconds, out), seconds))
        res["perf"].append(cost(perf_cmd(seconds), seconds))
        print(f"{label} run {i + 1}/{runs}: " + ", ".join(
            f"{n} {v[-1][0]:.3f} s CPU {v[-1][1]:.1f} MB" if v[-1] else f"{n} hung"
            for n, v in res.items()), flush=True)
    res = {n: [x for x in v if x] or [(float("nan"), float("nan"))] for n, v in res.items()}
    return {n: (statistics.median(c for c, _ in v), statistics.median(m for _, m in v))
            for n, v in res.items()}

def print_cost(title, med):
    print(f"  {title}")
    for n, (c, m) in med.items():
        what = {"pmuprof": "pmuprof record -a -F 999", "perf": "perf record -a -g -F 999",
                "base": f"pmuprof record ({base})"}[n]
        print(f"    {what:40s} CPU {c:7.3f} s   peak RSS {m:6.1f} MB")
    print(f"    ratio pmuprof/perf: CPU {med['pmuprof'][0] / med['perf'][0]:.2f} (target <= 1),"
          f" RSS {med['pmuprof'][1] / med['perf'][1]:.2f}")
    if "base" in med:
        print(f"    ratio pmuprof/base: CPU {med['pmuprof'][0] / med['base'][0]:.2f}, RSS "
              f"{med['pmuprof'][1] / med['base'][1]:.2f}")

def busy():
    return [subprocess.Popen([demo, str(secs * 4 * runs + 60)], stdout=subprocess.DEVNULL)
            for _ in range(ncpu)]

idle = None
if "idle" in parts:
    # First, while nothing else runs.
    idle = cost_runs(idle_secs, "idle")
res = {"pmuprof_ns": [], "pmuprof_bpfwalk_ns": [], "bpftrace_ns": []}
busy_cost = None
sys.path.insert(0, os.path.join(root, "bench"))
import bpfstats  # noqa: E402
bpfstats.enable()  # on until this process ends
workers = busy() if "bpf" in parts or "cpu" in parts else []
try:
    time.sleep(1)
    for i in range(runs if "bpf" in parts else 0):
        out = os.path.join(tmp, "p.folded")
        ns, cnt = bpf_ns_per_sample(record_cmd(pmuprof, secs, out), secs - 2)
        res["pmuprof_ns"].append(ns)
        nsb, cntb = bpf_ns_per_sample(record_cmd(pmuprof, secs, out) + ["--stack-walk=bpf"],
                                      secs - 2)
        res["pmuprof_bpfwalk_ns"].append(nsb)
        prog = f"profile:hz:999 {{ @[ustack,kstack,comm]=count(); }} interval:s:{secs} {{ exit(); }}"
        ns2, cnt2 = bpf_ns_per_sample(["bpftrace", "-e", prog], secs - 2)
        res["bpftrace_ns"].append(ns2)
        print(f"run {i + 1}/{runs}: BPF ns/sample pmuprof {ns:.0f} ({cnt} runs), pmuprof "
              f"--stack-walk=bpf {nsb:.0f} ({cntb} runs), bpftrace "
              f"{ns2:.0f} ({cnt2} runs)", flush=True)
    if "cpu" in parts:
        busy_cost = cost_runs(secs, "busy")
finally:
    for w in workers:
        w.kill()
        w.wait()
    shutil.rmtree(tmp, ignore_errors=True)

print()
print(f"medians of {runs} runs, 999 Hz, {ncpu} CPUs")
if "bpf" in parts:
    med = {k: statistics.median(v) for k, v in res.items()}
    print(f"  BPF run time per sample, stacks walked in the program: pmuprof --stack-walk=bpf "
          f"{med['pmuprof_bpfwalk_ns']:.0f} ns, bpftrace {med['bpftrace_ns']:.0f} ns  -> ratio "
          f"pmuprof/bpftrace = {med['pmuprof_bpfwalk_ns'] / med['bpftrace_ns']:.2f} (target <= 1)")
    print(f"  BPF run time per sample, default (perf callchain, walk not in run_time): pmuprof "
          f"{med['pmuprof_ns']:.0f} ns  -> ratio to bpftrace = "
          f"{med['pmuprof_ns'] / med['bpftrace_ns']:.2f}")
if busy_cost:
    print_cost(f"whole record, {secs} s, every CPU busy (one demo process each):", busy_cost)
if idle:
    print_cost(f"whole record, {idle_secs} s, no workload started:", idle)
PY
