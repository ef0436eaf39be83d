#!/bin/sh
# Symbolization speed against addr2line and eu-addr2line, measured in one invocation:
# N random addresses (default 1,000,000) inside a large ELF from Debian with a full
# symbol table and DWARF (libc's separate debug file from libc6-dbg), named by pmuprof's
# symbolizer with its inline and source-line lookups on (as record names frames), and
# as function, file:line and inline chain (-i), against `addr2line -f` and `addr2line -f
# -i` (binutils) and `eu-addr2line -f` (elfutils).
# Each figure is the CPU time (user + system, from the process's rusage) of one process,
# from its start to its exit: startup, reading and decompressing the DWARF, every lookup,
# the output; the machine's load does not inflate it as it does wall time.
# Medians of RUNS runs (default 3). Then, as a figure: the time from the end of a
# RECORD_SECONDS (default 60) system-wide record to its written output (needs root;
# RECORD_SECONDS=0 skips it). EU=0 leaves eu-addr2line out (about 400 µs an address:
# minutes per run). Prints figures and ratios; it is not a test.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
: "${N:=1000000}"
: "${RUNS:=3}"
: "${RECORD_SECONDS:=60}"
: "${EU:=1}"

"$root/scripts/install-deps.sh"
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$N" "$RUNS" "$RECORD_SECONDS" "$EU" <<'PY'
import os, random, re, shutil, statistics, subprocess, sys, tempfile

root, n, runs, rec_secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with_eu = sys.argv[5] != "0"
driver = os.path.join(root, "build", "bench", "pmuprof-symbolize-bench")
libc = "/lib/x86_64-linux-gnu/libc.so.6"
note = subprocess.run(["readelf", "-n", libc], capture_output=True, text=True).stdout
m = re.search(r"Build ID: ([0-9a-f]+)", note)
if not m:
    sys.exit("bench/symbolize.sh: no build id in " + libc)
elf = f"/usr/lib/debug/.build-id/{m.group(1)[:2]}/{m.group(1)[2:]}.debug"
if not os.path.exists(elf):
    sys.exit(f"bench/symbolize.sh: {elf} missing (libc6-dbg)")

nm = subprocess.run(["nm", "--defined-only", elf], capture_output=True, text=True).stdout
text = [int(f[0], 16) for f in (l.split() for l in nm.splitlines()) if len(f) == 3 and f[1] in "tT"]
lo, hi = min(text), max(text)
random.seed(42)
tmp = tempfile.mkdtemp(prefix="pmuprof-symbench-")
addrs = os.path.join(tmp, "addrs.txt")
with open(addrs, "w") as f:
    f.write("".join("%x\n" % random.randrange(lo, hi) for _ in range(n)))

tools = {
    "pmuprof": [driver, elf, addrs],
    "pmuprof -i": [driver, "-i", elf, addrs],
    "addr2line": ["addr2line", "-f", "-e", elf],
    "addr2line -i": ["addr2line", "-f", "-i", "-e", elf],
}
if with_eu:
    tools["eu-addr2line"] = ["eu-addr2line", "-f", "-e", elf]
times = {k: [] for k in tools}
for i in range(runs):
    for name, cmd in tools.items():
        if not shutil.which(cmd[0]) and not os.path.exists(cmd[0]):
            continue
        with open(addrs) as fin, open(os.devnull, "w") as fout:
            p = subprocess.Popen(cmd, stdin=fin if cmd[0] != driver else None, stdout=fout)
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
            if p.returncode:
                sys.exit(f"bench/symbolize.sh: {name} exited {p.returncode}")
            times[name].append(ru.ru_utime + ru.ru_stime)
    print(f"run {i + 1}/{runs}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in times.items() if v)
          + " (load %.1f %.1f %.1f)" % os.getloadavg(), flush=True)

med = {k: statistics.median(v) for k, v in times.items() if v}
print(f"\nmedians of {runs} runs, {n} addresses in {elf} ({len(text)} functions), "
      "CPU seconds (user + system) of each process, load %.1f %.1f %.1f" % os.getloadavg())
for k, v in med.items():
    print(f"  {k:14s} {v:8.3f} s  {v / n * 1e9:8.0f} ns/address")
for peer in ("addr2line", "eu-addr2line"):
    if peer in med:
        print(f"  speed-up vs {peer}: {med[peer] / med['pmuprof']:.1f}x")
if "addr2line -i" in med:
    print(f"  speed-up of pmuprof -i vs addr2line -f -i: "
          f"{med['addr2line -i'] / med['pmuprof -i']:.1f}x (target >= 20x)")

if rec_secs > 0 and os.geteuid() == 0:
    out = os.path.join(tmp, "sys.folded")
    p = subprocess.run([os.path.join(root, "build", "pmuprof"), "record", "-a", "-F", "999",
                        "-d", str(rec_secs), "-o", out], capture_output=True, text=True)
    fin = re.search(r"finish:\s+([0-9.]+) s", p.stderr)
    stacks = re.search(r"stacks:\s+(\d+) distinct", p.stderr)
    if fin:
        print(f"\nend of a {rec_secs} s system-wide record at 999 Hz to written output: "
              f"{fin.group(1)} s ({stacks.group(1) if stacks else '?'} distinct stacks)")
shutil.rmtree(tmp, ignore_errors=True)
PY
