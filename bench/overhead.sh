#!/bin/sh
# Overhead of pmuprof record against its peers, measured in one invocation:
#
#  1. BPF run time per sample (kernel bpf stats: run_time_ns / run_cnt) of pmuprof's
#     program and of bpftrace's  profile:hz:999 { @[ustack,kstack,comm]=count(); }
#     pmuprof's default reuses the perf callchain, walked by the kernel before the
#     program runs and so outside run_time_ns; bpftrace walks both stacks inside its
#     program. The like-for-like figure is pmuprof --stack-walk=bpf, which walks inside
#     the program too: the target (<= bpftrace) applies to that one.
#  2. CPU seconds (user + system) of `pmuprof record -a -F 999 -d 8` (symbolization and
#     output included) and of `perf record -F 999 -a -g -- sleep 8`.
#
# Both on the same busy workload (one demo process per CPU). Medians of RUNS runs
# (default 3). Needs root. Prints figures and ratios; it is not a test.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNS:=3}"
: "${SECONDS_PER_RUN:=8}"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/overhead.sh: needs root (BPF stats, perf and bpftrace)" >&2
	exit 2
fi
"$root/scripts/install-deps.sh"
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$RUNS" "$SECONDS_PER_RUN" <<'PY'
import json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

root, runs, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
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

def cpu_seconds(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

def busy():
    return [subprocess.Popen([demo, str(secs * 4 * runs + 60)], stdout=subprocess.DEVNULL)
            for _ in range(ncpu)]

stats_path = "/proc/sys/kernel/bpf_stats_enabled"
old_stats = open(stats_path).read().strip()
open(stats_path, "w").write("1")
workers = busy()
res = {"pmuprof_ns": [], "pmuprof_bpfwalk_ns": [], "bpftrace_ns": [], "pmuprof_cpu": [],
       "perf_cpu": []}
try:
    time.sleep(1)
    for i in range(runs):
        out = os.path.join(tmp, "p.folded")
        ns, cnt = bpf_ns_per_sample([pmuprof, "record", "-a", "-F", "999", "-d", str(secs),
                                     "-q", "-o", out], secs - 2)
        res["pmuprof_ns"].append(ns)
        nsb, cntb = bpf_ns_per_sample([pmuprof, "record", "-a", "-F", "999", "-d", str(secs),
                                       "--stack-walk=bpf", "-q", "-o", out], secs - 2)
        res["pmuprof_bpfwalk_ns"].append(nsb)
        prog = f"profile:hz:999 {{ @[ustack,kstack,comm]=count(); }} interval:s:{secs} {{ exit(); }}"
        ns2, cnt2 = bpf_ns_per_sample(["bpftrace", "-e", prog], secs - 2)
        res["bpftrace_ns"].append(ns2)
        res["pmuprof_cpu"].append(cpu_seconds([pmuprof, "record", "-a", "-F", "999", "-d",
                                               str(secs), "-q", "-o", out]))
        res["perf_cpu"].append(cpu_seconds(["perf", "record", "-F", "999", "-a", "-g", "-q",
                                            "-o", os.path.join(tmp, "perf.data"), "--",
                                            "sleep", str(secs)]))
        print(f"run {i + 1}/{runs}: BPF ns/sample pmuprof {ns:.0f} ({cnt} runs), pmuprof "
              f"--stack-walk=bpf {nsb:.0f} ({cntb} runs), bpftrace "
              f"{ns2:.0f} ({cnt2} runs); CPU s pmuprof {res['pmuprof_cpu'][-1]:.3f}, "
              f"perf record -g {res['perf_cpu'][-1]:.3f}", flush=True)
finally:
    for w in workers:
        w.kill()
        w.wait()
    open(stats_path, "w").write(old_stats)
    shutil.rmtree(tmp, ignore_errors=True)

med = {k: statistics.median(v) for k, v in res.items()}
print()
print(f"medians of {runs} runs, {ncpu} CPUs busy, 999 Hz, {secs} s each")
print(f"  BPF run time per sample, stacks walked in the program: pmuprof --stack-walk=bpf "
      f"{med['pmuprof_bpfwalk_ns']:.0f} ns, bpftrace {med['bpftrace_ns']:.0f} ns  -> ratio "
      f"pmuprof/bpftrace = {med['pmuprof_bpfwalk_ns'] / med['bpftrace_ns']:.2f} (target <= 1)")
print(f"  BPF run time per sample, default (perf callchain, walk not in run_time): pmuprof "
      f"{med['pmuprof_ns']:.0f} ns  -> ratio to bpftrace = "
      f"{med['pmuprof_ns'] / med['bpftrace_ns']:.2f}")
print(f"  CPU seconds of the whole record: pmuprof {med['pmuprof_cpu']:.3f} s, perf record -g "
      f"{med['perf_cpu']:.3f} s  -> ratio pmuprof/perf = "
      f"{med['pmuprof_cpu'] / med['perf_cpu']:.2f} (target <= 1)")
PY
