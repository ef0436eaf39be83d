#!/bin/sh
# Soak: pmuprof record -a -F 999 for DURATION seconds (default 600) under a fork-heavy load
# (pmuprof-forker: a child every few ms, and a shell starting /bin/true in a loop) plus a
# many-stacks load (pmuprof-stacks: 16,384 distinct stacks, all seen within the first
# minute, so the stack table is full by then and RSS should stay flat after it). Every 10 s
# it samples the recorder's RSS (and how much of it is the malloc heap and anonymous
# mappings, where malloc puts large blocks) and open fds. In the middle of the run,
# `perf record -a -g` records the same load for up to 60 s, for comparison.
#
# Prints: RSS at start, at 1 minute, peak and end; fds; samples lost (%); the [unknown]
# share of the short-lived processes' samples, pmuprof's and perf's.
# Targets: lost < 0.1%, end RSS within 20% of the 1-minute RSS, under 64 MB,
# [unknown] no worse than perf's. Needs root. Not a test.
#
#   bench/soak.sh [DURATION]
# PMUPROF=path/to/pmuprof records with another binary (an older build, say); the loads
# still come from build/.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
duration=${1:-600}
: "${PMUPROF:=$root/build/pmuprof}"
export PMUPROF

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/soak.sh: needs root" >&2
	exit 2
fi
command -v perf >/dev/null || { echo "bench/soak.sh: perf not found" >&2; exit 2; }
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$duration" <<'PY'
import os, re, shutil, signal, subprocess, sys, tempfile, time

root, duration = sys.argv[1], int(sys.argv[2])
b = lambda n: os.path.join(root, "build", n)
tmp = tempfile.mkdtemp(prefix="pmuprof-soak-")
out = os.path.join(tmp, "soak.folded")
SHORT = ("pmuprof-forker", "true", "sh")

def status_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def heap_anon_kb(pid):
    """Resident kB of the brk heap and of anonymous mappings (malloc's large blocks)."""
    heap = anon = 0
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and not head[0].endswith(":"):
                name = head[5] if len(head) > 5 else ""
            elif head[0] == "Rss:":
                if name == "[heap]":
                    heap += int(head[1])
                elif name == "":
                    anon += int(head[1])
    return heap, anon

def exe_is_ours(pid):
    try:
        return os.path.samefile(f"/proc/{pid}/exe", os.environ["PMUPROF"])
    except OSError:
        return False

def folded(path):
    stacks = {}
    # Frames are bytes as the binaries name them, not always UTF-8.
    with open(path, errors="replace") as f:
        for line in f:
            s, _, c = line.rstrip("\n").rpartition(" ")
            stacks[s] = stacks.get(s, 0) + int(c)
    return stacks

def unknown_share(stacks):
    short = {s: c for s, c in stacks.items() if s.split(";")[0] in SHORT}
    total = sum(short.values())
    unk = sum(c for s, c in short.items() if "[unknown]" in s.split(";")[1:])
    return total, (100.0 * unk / total if total else float("nan"))

loads = [subprocess.Popen([b("pmuprof-forker"), "100000000", "3"], stdout=subprocess.DEVNULL),
         subprocess.Popen(["sh", "-c", "while :; do /bin/true; done"]),
         subprocess.Popen([b("pmuprof-stacks"), str(duration + 120), "14"],
                          stdout=subprocess.DEVNULL)]
rec = None
try:
    time.sleep(1)
    rec = subprocess.Popen([os.environ["PMUPROF"], "record", "-a", "-F", "999", "-d",
                            str(duration), "-o", out], stderr=subprocess.PIPE, text=True,
                           errors="replace")
    perf_len = min(60, max(10, duration // 3))
    perf_at = max(0, duration // 2 - perf_len // 2)
    perf = None
    rss, fds, t0 = [], [], time.time()
    while rec.poll() is None:
        el = time.time() - t0
        try:
            kb = status_kb(rec.pid)
            nfd = len(os.listdir(f"/proc/{rec.pid}/fd"))
            heap, anon = heap_anon_kb(rec.pid)
        except OSError:
            if rec.poll() is not None:
                break
            time.sleep(0.5)
            continue
        # Not yet running its own code (exec'd a moment ago, libraries not yet
        # mapped): no figure.
        if kb and el >= 1 and exe_is_ours(rec.pid):
            rss.append((el, kb))
            fds.append(nfd)
        else:
            time.sleep(0.5)
            continue
        print(f"  {el:6.0f} s  RSS {rss[-1][1] / 1024:6.1f} MB (heap {heap / 1024:5.1f}, "
              f"anonymous {anon / 1024:5.1f})  fds {fds[-1]}", flush=True)
        if perf is None and el >= perf_at:
            perf = subprocess.Popen(["perf", "record", "-a", "-g", "-F", "999", "-q", "-o",
                                     os.path.join(tmp, "perf.data"), "--", "sleep",
                                     str(perf_len)], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
        for _ in range(100):
            if rec.poll() is not None:
                break
            time.sleep(0.1)
    err = rec.stderr.read()
    rec.wait()
    if perf:
        try:
            perf.wait(timeout=perf_len + 120)
        except subprocess.TimeoutExpired:
            # It opens every file its samples hit at the end: a FIFO in place of one
            # blocks it. What it wrote is complete.
            perf.kill()
            perf.wait()
finally:
    for p in loads:
        p.kill()
        p.wait()
if rec.returncode != 0:
    sys.exit(f"bench/soak.sh: record exited {rec.returncode}:\n{err}")

m = re.search(r"samples:\s+(\d+) taken, (\d+) in stacks, (\d+) lost", err)
taken, lost = int(m.group(1)), int(m.group(3))
drains = re.search(r"drains:\s+(.*)", err).group(1)
distinct = re.search(r"stacks:\s+(\d+) distinct", err).group(1)
stacks = folded(out)
total, unk = unknown_share(stacks)
LOADS = SHORT + ("pmuprof-stacks",)
ours = sum(1 for s in stacks if s.split(";")[0] in LOADS)
script = subprocess.run(["perf", "script", "-i", os.path.join(tmp, "perf.data")],
                        capture_output=True, text=True, errors="replace").stdout
col = subprocess.run([b("pmuprof"), "collapse"], input=script, capture_output=True, text=True,
                     errors="replace")
with open(os.path.join(tmp, "perf.folded"), "w") as f:
    f.write(col.stdout)
ptotal, punk = unknown_share(folded(os.path.join(tmp, "perf.folded")))
at60 = next((kb for el, kb in rss if el >= 60), rss[-1][1])
print()
print(f"soak of {duration} s: pmuprof record -a -F 999, fork-heavy + many-stacks load")
print(f"  RSS: start {rss[0][1] / 1024:.1f} MB, 1 min {at60 / 1024:.1f} MB, peak "
      f"{max(kb for _, kb in rss) / 1024:.1f} MB, end {rss[-1][1] / 1024:.1f} MB "
      f"(end/1 min = {rss[-1][1] / at60:.2f}); fds {min(fds)}..{max(fds)}")
print(f"  samples: {taken} taken, {lost} lost = {100.0 * lost / taken:.3f}%")
print(f"  drains: {drains}")
print(f"  distinct stacks: {distinct}, {ours} of them the soak's loads' (the rest: whatever "
      "else ran; the table grows with them)")
print(f"  [unknown] in the short-lived processes' samples: pmuprof {unk:.1f}% (of {total} "
      f"samples), perf record -a -g ({perf_len} s of the same run) {punk:.1f}%")
shutil.rmtree(tmp, ignore_errors=True)
PY
