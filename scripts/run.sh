#!/bin/bash
# README command 1: install dependencies, build, profile.
#
#   ./scripts/run.sh                 profile the bundled demo workload
#   ./scripts/run.sh -- CMD ARGS     profile a command and its children
#   ./scripts/run.sh -a [-d SECS]    profile the whole system (10 s unless -d)
#   ./scripts/run.sh [pmuprof record options]
#
# Writes profile.folded and profile.svg in the current directory (or what -o names)
# and prints the top 10 stacks.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
if [ ! -f "$root/build/build.ninja" ]; then
	meson setup "$root/build" >/dev/null
fi
ninja -C "$root/build" >/dev/null

pmuprof="$root/build/pmuprof"
if [ $# -eq 0 ]; then
	set -- -F 999 -- "$root/build/pmuprof-demo" 5
fi

# Defaults that the caller's own options override.
output=profile.folded
has_duration=no
has_cmd=no
prev=
for arg in "$@"; do
	case "$prev" in
	-o | --output) output=$arg ;;
	esac
	case "$arg" in
	--output=*) output=${arg#--output=} ;;
	-d | --duration | --duration=*) has_duration=yes ;;
	--) has_cmd=yes; break ;;
	esac
	prev=$arg
done
if [ "$has_cmd" = no ] && [ "$has_duration" = no ]; then
	set -- -d 10 "$@"
fi

summary=$(mktemp)
trap 'rm -f "$summary"' EXIT
"$pmuprof" record -o profile.folded "$@" 2>&1 | tee "$summary" >&2

# With several events pmuprof writes one file per event: NAME.EVENT.folded.
base=${output%.folded}
files=
if [ -f "$output" ]; then
	files=$output
else
	for f in "$base".*.folded; do
		[ -f "$f" ] && files="$files $f"
	done
fi
# A flame graph next to each folded file, subtitled with the event actually sampled.
event=$(sed -n 's/^  event: *//p' "$summary" | head -n 1)
for f in $files; do
	"$pmuprof" flamegraph --title "pmuprof: $(basename "$f" .folded)" --subtitle "$event" \
		"$f" >"${f%.folded}.svg"
done

for f in $files; do
	echo
	echo "Top 10 stacks in $f (samples, stack):"
	awk '{ n = $NF; $NF = ""; sub(/ $/, ""); printf "%10d  %s\n", n, $0 }' "$f" |
		sort -rn | head -n 10 | cut -c1-220
done
echo
for f in $files; do
	dir=$(cd "$(dirname "$f")" && pwd)
	echo "folded stacks: $dir/$(basename "$f")"
	echo "flame graph:   $dir/$(basename "${f%.folded}.svg")"
done
