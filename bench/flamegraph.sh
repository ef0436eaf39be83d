#!/bin/sh
# Speed of `pmuprof collapse` and `pmuprof flamegraph` against FlameGraph's Perl scripts,
# measured in one invocation when FLAMEGRAPH_DIR points at a FlameGraph checkout
# (stackcollapse-perf.pl, flamegraph.pl); otherwise absolute MB/s and stacks/s.
#   collapse:   the corpus's example-perf-stacks repeated 8 times (~25 MB of perf script)
#   flamegraph: a 200,000-stack folded file
# Medians of RUNS runs (default 3). Prints figures and ratios; it is not a test.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
: "${RUNS:=3}"
: "${FLAMEGRAPH_DIR:=}"
"$root/scripts/install-deps.sh"
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" >/dev/null
ninja -C "$root/build" >/dev/null

exec python3 - "$root" "$RUNS" "$FLAMEGRAPH_DIR" <<'PY'
import gzip, os, random, shutil, statistics, subprocess, sys, tempfile, time

root, runs, fg = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
    with open(stdin_path, "rb") as fin, open(os.devnull, "wb") as fout:
        t0 = time.perf_counter()
        subprocess.run(cmd, stdin=fin, stdout=fout, stderr=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t0

tools = {"collapse": {"pmuprof": [pmuprof, "collapse"]},
         "flamegraph": {"pmuprof": [pmuprof, "flamegraph"]}}
if fg:
    tools["collapse"]["stackcollapse-perf.pl"] = ["perl", os.path.join(fg, "stackcollapse-perf.pl")]
    tools["flamegraph"]["flamegraph.pl"] = ["perl", os.path.join(fg, "flamegraph.pl")]
inputs = {"collapse": perf_in, "flamegraph": folded_in}
res = {(k, t): [] for k in tools for t in tools[k]}
for i in range(runs):
    for k in tools:
        for t, cmd in tools[k].items():
            res[(k, t)].append(timed(cmd, inputs[k]))
    print(f"run {i + 1}/{runs}: " + ", ".join(f"{k}/{t} {v[-1]:.2f} s" for (k, t), v in res.items()),
          flush=True)
med = {key: statistics.median(v) for key, v in res.items()}
print(f"\nmedians of {runs} runs")
print(f"  collapse   {mb:.1f} MB of perf script: pmuprof {med[('collapse', 'pmuprof')]:.2f} s "
      f"({mb / med[('collapse', 'pmuprof')]:.0f} MB/s)")
print(f"  flamegraph 200,000 stacks: pmuprof {med[('flamegraph', 'pmuprof')]:.2f} s "
      f"({200000 / med[('flamegraph', 'pmuprof')]:.0f} stacks/s)")
if fg:
    c = med[("collapse", "stackcollapse-perf.pl")] / med[("collapse", "pmuprof")]
    g = med[("flamegraph", "flamegraph.pl")] / med[("flamegraph", "pmuprof")]
    print(f"  speed-up vs stackcollapse-perf.pl: {c:.1f}x (target >= 20x)")
    print(f"  speed-up vs flamegraph.pl: {g:.1f}x (target >= 40x)")
else:
    print("  (set FLAMEGRAPH_DIR to a FlameGraph checkout for the ratios against the Perl scripts)")
shutil.rmtree(tmp, ignore_errors=True)
PY
