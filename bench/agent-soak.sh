#!/bin/sh
# Agent soak: pmuprof agent -F HZ (default 99) for DURATION seconds (default 300) under a
# fork-heavy load (pmuprof-forker and a shell starting /bin/true in a loop) and a
# many-stacks load (pmuprof-stacks: 16,384 distinct stacks), scraped every second on
# /metrics, with a 5 s profile request every 30 s.
#
# Prints: the agent's RSS at start (5 s), peak and end; its CPU time as a share of the
# machine (all CPUs) and of one CPU; samples lost (%); scrapes and profile requests that
# failed; what the ring of recent windows holds at the end. Targets: RSS flat and under 64 MB, agent CPU under 1% of the machine at 99 Hz.
# Needs root. Not a test.
#
#   bench/agent-soak.sh [DURATION [HZ [AGENT OPTIONS...]]]
#   (e.g. bench/agent-soak.sh 300 99 --call-graph=fp)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-300}
hz=${2:-99}
[ $# -ge 2 ] && shift 2 || shift $#

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/agent-soak.sh: needs root" >&2
	exit 2
fi
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$duration" "$hz" "$@" <<'PY'
import os, re, signal, subprocess, sys, tempfile, time, urllib.request

root, duration, hz = sys.argv[1], int(sys.argv[2]), sys.argv[3]
extra = sys.argv[4:]
b = lambda n: os.path.join(root, "build", n)
log = tempfile.NamedTemporaryFile(prefix="pmuprof-agent-soak-", suffix=".log")
tick = os.sysconf("SC_CLK_TCK")
ncpu = os.cpu_count()

def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick

def metric_sum(text, name):
    return sum(float(m.group(1)) for m in
               re.finditer(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M))

loads = [subprocess.Popen([b("pmuprof-forker"), "100000000", "3"], stdout=subprocess.DEVNULL),
         subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"]),
         subprocess.Popen([b("pmuprof-stacks"), str(duration + 60), "14"],
                          stdout=subprocess.DEVNULL)]
agent = subprocess.Popen([b("pmuprof"), "agent", "--listen", "127.0.0.1:0", "-F", hz, *extra],
                         stderr=log)
try:
    port = None
    for _ in range(300):
        m = re.search(r"\(port (\d+)\)", open(log.name).read())
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.1)
    if not port:
        sys.exit(f"agent did not start: {open(log.name).read()}")
    base = f"http://127.0.0.1:{port}"
    rss, bad_scrapes, scrapes, prof_ok, prof_bad = [], 0, 0, 0, 0
    t0 = time.time()
    c0, text = cpu_s(agent.pid), ""
    next_prof = t0 + 30
    while time.time() - t0 < duration and agent.poll() is None:
        time.sleep(1)
        el = time.time() - t0
        rss.append((el, rss_kb(agent.pid)))
        try:
            with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
                text = r.read().decode()
            scrapes += 1
        except OSError:
            bad_scrapes += 1
        if time.time() >= next_prof:
            next_prof += 30
            try:
                with urllib.request.urlopen(base + "/debug/pprof/profile?seconds=5",
                                            timeout=30) as r:
                    prof_ok += r.status == 200 and len(r.read()) > 0
            except OSError:
                prof_bad += 1
        if int(el) % 30 == 0:
            print(f"  {el:5.0f} s  RSS {rss[-1][1] / 1024:6.1f} MB", flush=True)
    wall = time.time() - t0
    cpu = cpu_s(agent.pid) - c0
finally:
    agent.send_signal(signal.SIGTERM)
    t_stop = time.time()
    agent.wait(timeout=30)
    t_stop = time.time() - t_stop
    for p in loads:
        p.kill()
        p.wait()

start = next((kb for el, kb in rss if el >= 5), rss[0][1])
peak = max(kb for _, kb in rss)
taken = metric_sum(text, "pmuprof_samples_total")
lost = metric_sum(text, "pmuprof_samples_lost_total")
print(f"agent -F {hz} {' '.join(extra)}, {wall:.0f} s, {ncpu} CPUs, {scrapes} scrapes ({bad_scrapes} failed), "
      f"{prof_ok} profile requests ({prof_bad} failed)")
print(f"RSS start {start / 1024:.1f} MB, peak {peak / 1024:.1f} MB, end {rss[-1][1] / 1024:.1f} MB "
      f"(target: flat, < 64 MB)")
print(f"CPU {100 * cpu / wall / ncpu:.2f}% of the machine ({100 * cpu / wall:.2f}% of one CPU; "
      f"target < 1% of the machine)")
print(f"samples {taken:.0f}, lost {lost:.0f} ({100 * lost / taken if taken else 0:.3f}%)")
print(f"ring of recent windows: {metric_sum(text, 'pmuprof_recent_windows'):.0f} windows, "
      f"{metric_sum(text, 'pmuprof_recent_bytes') / 1024:.0f} KB "
      f"({metric_sum(text, 'pmuprof_recent_dropped_total'):.0f} dropped)")
print(f"SIGTERM to exit: {t_stop:.2f} s, exit {agent.returncode}")
PY
