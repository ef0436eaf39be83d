#!/bin/sh
# Run the libFuzzer targets (folded reader + SVG renderer, perf script collapser,
# two-profile diff with -n/-s, perf-map reader, debug files: ELF symbols, DWARF lines and
# inline scopes) for SECONDS each (default 60) with AddressSanitizer and UBSan; fails on
# any crash. TARGETS="dwarf perfmap" runs some only. Prints each target's coverage
# (libFuzzer's cov: edges of pmuprof's code; Debian's libelf and libdw are not
# instrumented) and runs.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
: "${SECONDS_PER_TARGET:=${1:-60}}"
"$root/scripts/install-deps.sh"
dir="$root/build-fuzz"
# The library too is built with -fsanitize=fuzzer-no-link: without it libFuzzer sees the
# edges of the target's own file only (fuzz_dwarf once reported 8). A build directory made
# with other options is set up again with these.
opts="-Dfuzz=enabled -Dtests=false -Dwerror=false -Db_sanitize=address,undefined
	-Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link"
if [ ! -f "$dir/build.ninja" ]; then
	# shellcheck disable=SC2086
	CC=clang meson setup "$dir" "$root" $opts >/dev/null
else
	# shellcheck disable=SC2086
	meson configure "$dir" $opts >/dev/null
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
# Debug files as the symbolizer meets them: linked programs (a relocatable object's code
# addresses all start at 0, so its lookups never reach a compilation unit's table) with
# DWARF 5 lines and an inlined function, DWARF 4, C++ (namespaces, linkage names); the
# separate debug file, zlib-compressed as Debian ships them, and MiniDebugInfo
# (tests/fixtures/mkdebug.sh makes them).
seeds="$dir/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"
cc -O2 -g -o "$seeds/inline" "$root/tests/fixtures/inlineprog.c"
cc -O2 -gdwarf-4 -o "$corpus/dwarf/inline-dwarf4" "$root/tests/fixtures/inlineprog.c"
c++ -O2 -g -o "$corpus/dwarf/cpp" "$root/tests/fixtures/cppprog.cpp"
cp "$seeds/inline" "$corpus/dwarf/inline"
"$root/tests/fixtures/mkdebug.sh" "$seeds/inline" "$seeds/debug" >/dev/null
cp "$seeds/debug/debuglink/prog.debug" "$corpus/dwarf/inline.debug"
cp "$seeds/debug/zlib-root/.build-id"/*/*.debug "$corpus/dwarf/inline-zlib.debug"
cp "$seeds/debug/minidebug/prog" "$corpus/dwarf/inline-minidebug"
status=0
# Crashing inputs are written next to the logs (crash-*, leak-*), not where it was run.
for t in ${TARGETS:-folded collapse diff perfmap dwarf}; do
	echo "fuzz_$t: $SECONDS_PER_TARGET s"
	if ! UBSAN_OPTIONS=halt_on_error=1 "$dir/fuzz_$t" -max_total_time="$SECONDS_PER_TARGET" \
		-max_len=65536 -print_final_stats=1 -artifact_prefix="$dir/" "$corpus/$t" \
		>"$dir/fuzz_$t.log" 2>&1; then
		echo "fuzz_$t: CRASH, see $dir/fuzz_$t.log" >&2
		status=1
	else
		grep -E "^#[0-9]+.*cov:" "$dir/fuzz_$t.log" | tail -1
		grep -E "stat::number_of_executed_units|Done" "$dir/fuzz_$t.log" | tail -2
	fi
done
exit $status
