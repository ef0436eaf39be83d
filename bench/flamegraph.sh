#!/bin/sh
# Speed of `pmuprof collapse` and `pmuprof flamegraph` against FlameGraph's Perl scripts
# (stackcollapse-perf.pl, flamegraph.pl) from FLAMEGRAPH_DIR, by default the copies in
# ../shared/compat/flamegraph-scripts; without them, absolute MB/s and stacks/s only.
#   collapse:   the corpus's example-perf-stacks repeated 8 times (~25 MB of perf script)
#   flamegraph: a 200,000-stack folded file
# Medians of RUNS runs (default 5), wall time and CPU time (user+sys of the child: on a
# shared machine the CPU-time ratio is the steadier one). Prints figures and ratios; it is
# not a test. ONLY=collapse or ONLY=flamegraph runs one of the two (flamegraph.pl takes
# about a minute a run here).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNS:=5}"
if [ -z "${FLAMEGRAPH_DIR:-}" ] && [ -f "$root/../shared/compat/flamegraph-scripts/stackcollapse-perf.pl" ]; then
	FLAMEGRAPH_DIR=$(cd "$root/../shared/compat/flamegraph-scripts" && pwd)
fi
: "${FLAMEGRAPH_DIR:=}"
"$root/scripts/install-deps.sh"
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$RUNS" "$FLAMEGRAPH_DIR" "${ONLY:-}" <<'PY'
import gzip, os, random, shutil, statistics, subprocess, sys, tempfile, time

root, runs, fg, only = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
pmuprof = os.path.join(root, "build", "pmuprof")
tmp = tempfile.mkdtemp(prefix="pmuprof-fgbench-")
example = None
for cand in (os.path.join(root, "..", "shared", "compat", "flamegraph-tests",
                          "example-perf-stacks.txt.gz"),
             os.path.join(root, "tests", "data", "flamegraph", "example-perf-stacks.txt.gz")):
    if os.path.exists(cand):
        example = cand
        break
perf_in = os.path.join(tmp, "perf.txt")
if example:
    data = gzip.open(example).read()
else:
    data = b"".join(open(os.path.join(root, "tests", "data", "flamegraph", "test", f), "rb").read()
                    for f in sorted(os.listdir(os.path.join(root, "tests", "data", "flamegraph", "test")))
                    if f.endswith(".txt"))
with open(perf_in, "wb") as f:
    for _ in range(8):
        f.write(data)
mb = os.path.getsize(perf_in) / 1e6

random.seed(7)
names = [f"fn_{i}" for i in range(5000)]
folded_in = os.path.join(tmp, "stacks.folded")
with open(folded_in, "w") as f:
    for i in range(200000):
        depth = random.randint(3, 40)
        f.write(";".join(random.choice(names) for _ in range(depth)) + f" {random.randint(1, 1000)}\n")

def timed(cmd, stdin_path):
    """(wall seconds, CPU seconds) of one run."""
    with open(stdin_path, "rb") as fin, open(os.devnull, "wb") as fout:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode:
            sys.exit(f"{cmd[0]} failed ({p.returncode})")
        return wall, ru.ru_utime + ru.ru_stime


tools = {"collapse": {"pmuprof": [pmuprof, "collapse"]},
         "flamegraph": {"pmuprof": [pmuprof, "flamegraph"]}}
if fg:
    tools["collapse"]["stackcollapse-perf.pl"] = ["perl", os.path.join(fg, "stackcollapse-perf.pl")]
    tools["flamegraph"]["flamegraph.pl"] = ["perl", os.path.join(fg, "flamegraph.pl")]
inputs = {"collapse": perf_in, "flamegraph": folded_in}
if only:
    tools = {only: tools[only]}
res = {(k, t): [] for k in tools for t in tools[k]}
for i in range(runs):
    for k in tools:
        for t, cmd in tools[k].items():
            res[(k, t)].append(timed(cmd, inputs[k]))
    print(f"run {i + 1}/{runs}: " + ", ".join(f"{k}/{t} {v[-1][0]:.2f} s ({v[-1][1]:.2f} s cpu)"
                                             for (k, t), v in res.items()), flush=True)
wall = {key: statistics.median(x[0] for x in v) for key, v in res.items()}
cpu = {key: statistics.median(x[1] for x in v) for key, v in res.items()}
print(f"\nmedians of {runs} runs (wall / cpu)")
if "collapse" in tools:
    k = ("collapse", "pmuprof")
    print(f"  collapse   {mb:.1f} MB of perf script: pmuprof {wall[k]:.3f} s / {cpu[k]:.3f} s "
          f"({mb / wall[k]:.0f} / {mb / cpu[k]:.0f} MB/s)")
if "flamegraph" in tools:
    k = ("flamegraph", "pmuprof")
    print(f"  flamegraph 200,000 stacks: pmuprof {wall[k]:.3f} s / {cpu[k]:.3f} s "
          f"({200000 / wall[k]:.0f} / {200000 / cpu[k]:.0f} stacks/s)")
if fg:
    for k, script, target in (("collapse", "stackcollapse-perf.pl", 20),
                              ("flamegraph", "flamegraph.pl", 40)):
        p = (k, script)
        if k not in tools:
            continue
        print(f"  {script}: {wall[p]:.2f} s / {cpu[p]:.2f} s; speed-up "
              f"{wall[p] / wall[(k, 'pmuprof')]:.1f}x wall, {cpu[p] / cpu[(k, 'pmuprof')]:.1f}x cpu "
              f"(target >= {target}x)")
else:
    print("  (no stackcollapse-perf.pl found: set FLAMEGRAPH_DIR for the ratios)")
shutil.rmtree(tmp, ignore_errors=True)
PY
