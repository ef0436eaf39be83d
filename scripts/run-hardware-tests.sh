#!/bin/bash
# Run pmuprof's hardware test suite on a bare-metal machine and write a report.
#
#   sudo ./scripts/run-hardware-tests.sh [--output DIR] [--no-build] [--require-pmu]
#                                        [--build-dir DIR]
#
# Exit code: 0 every test passed (skips are listed in the report), 1 a test failed (or
# --require-pmu without a PMU), 2 bad usage or not root. perf_event_paranoid is restored
# to its exact value on every exit path.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
output=""
do_build=yes
require_pmu=no

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--output) output=${2:?--output needs a directory}; shift 2 ;;
	--output=*) output=${1#--output=}; shift ;;
	--no-build) do_build=no; shift ;;
	--require-pmu) require_pmu=yes; shift ;;
	--build-dir) build=${2:?--build-dir needs a directory}; shift 2 ;;
	-h | --help) usage ;;
	*) echo "run-hardware-tests.sh: unknown option '$1'; see --help" >&2; exit 2 ;;
	esac
done

if [ "$(id -u)" -ne 0 ]; then
	echo "run-hardware-tests.sh: needs root (hardware counters, BPF); run it with sudo" >&2
	exit 2
fi

host=$(hostname -s 2>/dev/null || echo host)
[ -n "$output" ] || output="hwtest-report-$host-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$output"
output=$(cd "$output" && pwd)

# Restore perf_event_paranoid exactly, whatever happens.
paranoid_file=/proc/sys/kernel/perf_event_paranoid
saved_paranoid=$(cat "$paranoid_file")
restore() { echo "$saved_paranoid" >"$paranoid_file" 2>/dev/null || true; }
trap restore EXIT
trap 'restore; exit 130' INT
trap 'restore; exit 143' TERM

if [ "$do_build" = yes ]; then
	"$root/scripts/install-deps.sh"
	[ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
	ninja -C "$build" >/dev/null
fi
pmuprof="$build/pmuprof"
[ -x "$pmuprof" ] || { echo "run-hardware-tests.sh: $pmuprof not built; drop --no-build" >&2; exit 2; }

# ---- what this machine is ----
pmus=""
for p in /sys/bus/event_source/devices/*; do
	n=$(basename "$p")
	case "$n" in
	cpu | cpu_core | cpu_atom | armv8_pmuv3*) pmus="$pmus $n" ;;
	esac
done
uncore=$(ls /sys/bus/event_source/devices 2>/dev/null | grep -E '^(uncore|amd_df|amd_umc)' | tr '\n' ' ' || true)
virt="none"
if command -v systemd-detect-virt >/dev/null 2>&1; then
	virt=$(systemd-detect-virt 2>/dev/null || true)
	[ -n "$virt" ] || virt="none"
fi
if [ "$virt" = none ] && grep -qw hypervisor /proc/cpuinfo; then
	virt="hypervisor (cpuinfo flag)"
fi
nmi=$(cat /proc/sys/kernel/nmi_watchdog 2>/dev/null || echo 0)
has_pmu=$("$pmuprof" doctor --json | python3 -c 'import json,sys; print("yes" if json.load(sys.stdin)["hardware_pmu"] else "no")')
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
microcode=$(sed -n 's/^microcode[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
libpfm_pmus=$("$pmuprof" list --json | python3 -c '
import json, sys
print(" ".join(sorted({e["pmu"] for e in json.load(sys.stdin) if e["source"] == "libpfm4" and e["present"]})))')

{
	echo "kernel: $(uname -r)"
	echo "cpu: ${cpu_model:-unknown}"
	echo "microcode: ${microcode:-unknown}"
	echo "core PMUs (sysfs):${pmus:- none}"
	echo "hardware PMU usable: $has_pmu"
	echo "libpfm4 PMUs: ${libpfm_pmus:-none}"
	echo "uncore PMUs: ${uncore:-none}"
	echo "virtualization: $virt"
	echo "NMI watchdog: $nmi"
	echo "perf_event_paranoid: $saved_paranoid (restored after the run)"
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} >"$output/system.txt"
cat "$output/system.txt"

[ "$virt" = none ] || echo "warning: virtualized ($virt): counts may be wrong or missing; use bare metal" >&2
[ "$nmi" = 0 ] || echo "warning: the NMI watchdog holds a hardware counter (sysctl kernel.nmi_watchdog=0 frees it)" >&2

if [ "$has_pmu" = no ]; then
	echo "no hardware PMU: hardware tests skipped"
fi

# ---- the suite ----
echo -1 >"$paranoid_file" 2>/dev/null || true
rc=0
meson test -C "$build" --setup hw --suite hardware --no-rebuild --print-errorlogs \
	>"$output/meson-test.log" 2>&1 || rc=$?
restore
for f in testlog-hw.junit.xml testlog-hw.json testlog-hw.txt; do
	[ -f "$build/meson-logs/$f" ] && cp "$build/meson-logs/$f" "$output/"
done

python3 - "$output" "$has_pmu" "$build/meson-logs/testlog-hw.json" <<'PY'
import json, os, re, sys
out, has_pmu, log = sys.argv[1], sys.argv[2], sys.argv[3]
rows = []
if os.path.exists(log):
    for line in open(log):
        if line.strip():
            rows.append(json.loads(line))
counts = {"OK": 0, "SKIP": 0, "FAIL": 0}
lines = ["# pmuprof hardware tests", "", "```", open(os.path.join(out, "system.txt")).read().strip(),
         "```", ""]
if has_pmu == "no":
    lines += ["**no hardware PMU: hardware tests skipped** (a virtual machine? run on bare metal)", ""]
lines += ["| test | result | measured | reason |", "|---|---|---|---|"]
with open(os.path.join(out, "results.txt"), "w") as res:
    for r in rows:
        result = r.get("result", "?")
        key = "OK" if result == "OK" else "SKIP" if result == "SKIP" else "FAIL"
        counts[key] += 1
        stdout = (r.get("stdout") or "") + (r.get("stderr") or "")
        measured = "; ".join(m for m in re.findall(r"^.*: measured .*$", stdout, re.M))
        reason = "; ".join(re.findall(r"^SKIP: (.*)$", stdout, re.M))
        res.write(f"{r['name']}: {result}\n")
        for m in re.findall(r"^.*: measured .*$", stdout, re.M):
            res.write(f"  {m}\n")
        if reason:
            res.write(f"  skipped: {reason}\n")
        lines.append(f"| {r['name']} | {result} | {measured} | {reason} |")
lines += ["", f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"]
open(os.path.join(out, "summary.md"), "w").write("\n".join(lines) + "\n")
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
echo "report: $output"

if [ "$rc" -ne 0 ]; then
	exit 1
fi
if [ "$has_pmu" = no ] && [ "$require_pmu" = yes ]; then
	echo "run-hardware-tests.sh: --require-pmu and there is no hardware PMU" >&2
	exit 1
fi
exit 0
