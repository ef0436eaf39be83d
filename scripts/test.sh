#!/bin/sh
# README command 2: install dependencies, build from scratch, run every test.
# Ends with one line: "N passed, N failed, N skipped".
#
# The cli suite holds the style checks too: 'clang-format' (every C source as
# .clang-format says) and 'function-length' (scripts/check-style.py), so they count here.
#
# Two builds: build/ runs every suite (unit, cli, integration on the real kernel);
# build-asan/ (-Db_sanitize=address,undefined) runs them all again, but for the exact
# page-fault counts (sanitizer shadow memory faults too) and the fork unwinding that races
# the table loader (suite timing: the sanitizer build is too slow for its share).
# Between the two, the kernels suite boots Debian's 6.1 and 6.12 kernels under qemu and
# runs the checks of tests/kernels/guest.py inside each (plain build only); each check
# counts as one test (TAP).
#
# A test that fails is run once more, alone, right after its build's run (meson's log
# base "rerun"). It counts as passed only if that second run passes, and it is then
# listed under "FLAKY:" with its first failure's output, so a load-sensitive test stays
# visible without failing the whole run; a test that fails twice counts as failed.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./scripts/install-deps.sh

# rerun_failed DIR [meson test options]: run once more each test DIR's log says failed.
rerun_failed() {
	dir=$1
	shift
	names=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line) if line.strip() else {}
    if e and e.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
        print(e["name"].split(" / ")[-1])
' "$dir/meson-logs/testlog.json")
	rm -f "$dir/meson-logs/rerun.json"
	[ -n "$names" ] || return 0
	# shellcheck disable=SC2086 # one word per test name
	meson test -C "$dir" --logbase rerun --print-errorlogs --num-processes 1 "$@" $names || true
}

rm -rf build build-asan
meson setup build -Dwerror=true >/dev/null
ninja -C build
meson test -C build --print-errorlogs --num-processes 1 || true
rerun_failed build
# Its logs: build/meson-logs/testlog-kernels.* (meson names them after the setup).
meson test -C build --setup kernels --suite kernels --print-errorlogs --num-processes 1 || true

meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --num-processes 1 --no-suite exact-counts --no-suite timing || true
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	rerun_failed build-asan

# Count from meson's machine-readable logs (one JSON object per test; a TAP test counts
# each of its results).
python3 - build/meson-logs/testlog.json build/meson-logs/testlog-kernels.json \
	build-asan/meson-logs/testlog.json <<'PY'
import json, re, sys
passed = failed = skipped = 0
failures = []
flaky = []


def rerun_results(path):
    """name -> result of the second run of the tests that failed in the log at path."""
    try:
        lines = open(path.replace("testlog.json", "rerun.json")).read().splitlines()
    except OSError:
        return {}
    return {e["name"]: e.get("result") for e in map(json.loads, filter(str.strip, lines))}


def count_tap(entry):
    """(passed, failed, skipped) from a TAP test's results, or None if it printed none."""
    out = entry.get("stdout") or ""
    if not re.search(r"^1\.\.\d+", out, re.M):
        return None
    results = re.findall(r"^(ok|not ok)\b[^\n#]*(#\s*\w+)?", out, re.M)
    if not results:
        return None
    p = sum(1 for r, d in results if r == "ok" and not d.upper().startswith("# SKIP"))
    s = sum(1 for r, d in results if r == "ok" and d.upper().startswith("# SKIP"))
    f = len(results) - p - s
    # A test that died after some results (or never finished) is one more failure.
    if entry.get("result") not in ("OK", "FAIL", "SKIP") and f == 0:
        f = 1
    return p, f, s


for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    reruns = rerun_results(path) if path.endswith("/testlog.json") else {}
    for line in lines:
        if not line.strip():
            continue
        entry = json.loads(line)
        tap = count_tap(entry)
        if tap:
            passed, failed, skipped = passed + tap[0], failed + tap[1], skipped + tap[2]
            if tap[1]:
                failures.append((path, entry))
            continue
        r = entry.get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        elif reruns.get(entry.get("name")) == "OK":
            passed += 1
            flaky.append((path, entry))
        else:
            failed += 1
            failures.append((path, entry))
# Flaky tests, then the failures, last, where a reader of the tail of this output looks first.
for label, entries in (("FLAKY (failed, then passed when run again)", flaky), ("FAILED", failures)):
    for path, entry in entries:
        print(f"\n{label}: {path.split('/')[0]} {entry.get('name')} ({entry.get('result')})")
        out = ((entry.get("stdout") or "") + (entry.get("stderr") or "")).splitlines()
        for line in out[-25:]:
            print(f"    {line[:300]}")
with open("build/test-summary.txt", "w") as f:
    f.write(f"{passed} passed, {failed} failed, {skipped} skipped\n")
PY
summary=$(cat build/test-summary.txt)
echo "$summary"
case "$summary" in
*" 0 failed,"*) exit 0 ;;
*) exit 1 ;;
esac
