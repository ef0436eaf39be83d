#!/bin/sh
# Run the libFuzzer targets (folded reader + SVG renderer, perf script collapser,
# two-profile diff with -n/-s, perf-map reader, debug files: ELF symbols, DWARF lines and
# inline scopes) for SECONDS each (default 60) with
# AddressSanitizer and UBSan; fails on any crash.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
: "${SECONDS_PER_TARGET:=${1:-60}}"
"$root/scripts/install-deps.sh"
dir="$root/build-fuzz"
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" "$root" -Dfuzz=enabled -Dtests=false -Dwerror=false \
		-Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fsanitize=fuzzer-no-link >/dev/null
fi
ninja -C "$dir" fuzz_folded fuzz_collapse fuzz_diff fuzz_perfmap fuzz_dwarf >/dev/null
corpus="$dir/corpus"
mkdir -p "$corpus/folded" "$corpus/collapse" "$corpus/diff" "$corpus/perfmap" "$corpus/dwarf"
cp "$root"/tests/data/svg/*.folded "$corpus/folded/" 2>/dev/null || true
cp "$root"/tests/data/flamegraph/test/perf-dd-stacks-01.txt \
	"$root"/tests/data/flamegraph/test/perf-java-faults-01.txt "$corpus/collapse/"
# Two profiles separated by a NUL byte, with addresses for -s.
printf 'main;0x1;f 5\nmain;[libc.so+0x27249] 2\n\000main;0x2;f 7\nmain;0xdeadbeef 1\n' \
	>"$corpus/diff/seed"
printf '7f0000001000 100 LazyCompile:*hot /app/x.js:10\n7f0000000000 40 Interpreter:stub\n' \
	>"$corpus/perfmap/v8.map"
# A small object with DWARF 5 lines and an inlined function.
cc -O2 -g -c -o "$corpus/dwarf/inline.o" "$root/tests/fixtures/inlineprog.c"
status=0
for t in folded collapse diff perfmap dwarf; do
	echo "fuzz_$t: $SECONDS_PER_TARGET s"
	if ! UBSAN_OPTIONS=halt_on_error=1 "$dir/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" \
		-max_len=65536 -print_final_stats=1 "$corpus/$t" >"$dir/fuzz_$t.log" 2>&1; then
		echo "fuzz_$t: CRASH, see $dir/fuzz_$t.log" >&2
		status=1
	else
		grep -E "stat::number_of_executed_units|Done" "$dir/fuzz_$t.log" | tail -2
	fi
done
exit $status
