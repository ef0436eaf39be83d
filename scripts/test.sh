#!/bin/sh
# README command 2: install dependencies, build from scratch, run every test.
# Ends with one line: "N passed, N failed, N skipped".
#
# Two builds: build/ runs every suite (unit, cli, integration on the real kernel);
# build-asan/ (-Db_sanitize=address,undefined) runs them all again, but for the exact
# page-fault counts (sanitizer shadow memory faults too).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

./scripts/install-deps.sh

rm -rf build build-asan
meson setup build -Dwerror=true >/dev/null
ninja -C build
meson test -C build --print-errorlogs --num-processes 1 || true

meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --num-processes 1 --no-suite exact-counts || true

# Count from meson's machine-readable logs (one JSON object per test).
python3 - build/meson-logs/testlog.json build-asan/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        failed += 1
        continue
    for line in lines:
        if not line.strip():
            continue
        r = json.loads(line).get("result")
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
with open("build/test-summary.txt", "w") as f:
    f.write(f"{passed} passed, {failed} failed, {skipped} skipped\n")
PY
summary=$(cat build/test-summary.txt)
echo "$summary"
case "$summary" in
*" 0 failed,"*) exit 0 ;;
*) exit 1 ;;
esac
