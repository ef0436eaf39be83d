#!/bin/sh
# CPU of a long system-wide record against perf's, in one invocation, under the soak's load:
# a fork-heavy load (pmuprof-forker and a shell starting /bin/true in a loop) and a
# many-stacks load (pmuprof-stacks: 16,384 distinct stacks). Each run starts
#   pmuprof record -a -F 999 -d DURATION   and   perf record -a -g -F 999 -- sleep DURATION
# at the same moment, so both see the same load, and takes each one's CPU seconds
# (user + system, from wait4) and peak RSS. Prints every run and the medians and the ratio
# pmuprof/perf (target: below 1).
#
#   bench/record-cpu.sh [DURATION [RUNS]]      (defaults: 30 s, 3 runs)
# PMUPROF=path/to/pmuprof records with another binary; PMUPROF_BASE=path/to/an/older/pmuprof
# adds that binary to every run (same moment, same load) for a before/after figure.
# EXTRA="--call-graph=fp" passes options to the pmuprof records. Needs root. Not a test.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-30}
runs=${2:-3}
: "${PMUPROF:=$root/build/pmuprof}"
: "${PMUPROF_BASE:=}"
: "${EXTRA:=}"
export PMUPROF PMUPROF_BASE EXTRA

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/record-cpu.sh: needs root" >&2
	exit 2
fi
command -v perf >/dev/null || { echo "bench/record-cpu.sh: perf not found" >&2; exit 2; }
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$duration" "$runs" <<'PY'
import os, re, shutil, statistics, subprocess, sys, tempfile, time

root, duration, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
b = lambda n: os.path.join(root, "build", n)
tmp = tempfile.mkdtemp(prefix="pmuprof-record-cpu-")
extra = os.environ["EXTRA"].split()
tools = [("pmuprof", os.environ["PMUPROF"])]
if os.environ["PMUPROF_BASE"]:
    tools.append(("base", os.environ["PMUPROF_BASE"]))

def start(name, binary):
    if name == "perf":
        cmd = ["perf", "record", "-a", "-g", "-F", "999", "-q", "-o",
               os.path.join(tmp, "perf.data"), "--", "sleep", str(duration)]
    else:
        cmd = [binary, "record", "-a", "-F", "999", "-d", str(duration), "-o",
               os.path.join(tmp, name + ".folded")] + extra
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

def finish(procs):
    """CPU seconds and peak RSS (MB) of each; None for one killed 120 s past its duration
    (perf opens every file its samples hit at the end, and blocks on a FIFO put in place
    of one)."""
    res, deadline = {}, time.time() + duration + 120
    while len(res) < len(procs):
        for name, p in procs.items():
            if name in res:
                continue
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                err = p.stderr.read().decode(errors="replace")
                if os.waitstatus_to_exitcode(status) != 0:
                    sys.exit(f"bench/record-cpu.sh: {name} failed:\n{err}")
                lost = re.search(r"samples:\s+(\d+) taken, (\d+) in stacks, (\d+) lost", err)
                res[name] = (ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0,
                             f" (taken {lost.group(1)}, lost {lost.group(3)})" if lost else "")
            elif time.time() > deadline:
                p.kill()
                os.wait4(p.pid, 0)
                res[name] = None
        time.sleep(0.2)
    return res

loads = [subprocess.Popen([b("pmuprof-forker"), "100000000", "3"], stdout=subprocess.DEVNULL),
         subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"]),
         subprocess.Popen([b("pmuprof-stacks"), str((duration + 30) * runs + 60), "14"],
                          stdout=subprocess.DEVNULL)]
all_runs = {name: [] for name, _ in tools + [("perf", None)]}
try:
    time.sleep(1)
    for i in range(runs):
        procs = {name: start(name, binary) for name, binary in tools + [("perf", None)]}
        res = finish(procs)
        for name, r in res.items():
            if r:
                all_runs[name].append(r)
        load = os.getloadavg()[0]
        print(f"run {i + 1}/{runs} (load {load:.1f}): " + ", ".join(
            f"{n} {r[0]:.2f} s CPU, {r[1]:.1f} MB{r[2]}" if r else f"{n} hung"
            for n, r in res.items()), flush=True)
finally:
    for p in loads:
        p.kill()
        p.wait()
    shutil.rmtree(tmp, ignore_errors=True)

med = {n: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
       for n, v in all_runs.items() if v}
print()
print(f"record -a -F 999 for {duration} s under a fork-heavy + many-stacks load, medians of "
      f"{runs}{', pmuprof options ' + ' '.join(extra) if extra else ''}")
for n, (c, m) in med.items():
    print(f"  {n:8s} CPU {c:7.2f} s   peak RSS {m:6.1f} MB")
print(f"  ratio pmuprof/perf: CPU {med['pmuprof'][0] / med['perf'][0]:.2f} (target < 1), "
      f"RSS {med['pmuprof'][1] / med['perf'][1]:.2f}")
if "base" in med:
    print(f"  ratio pmuprof/base: CPU {med['pmuprof'][0] / med['base'][0]:.2f}")
PY
