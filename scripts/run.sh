#!/bin/sh
# README command 1: install dependencies, build, profile.
#
#   ./scripts/run.sh                 profile the bundled demo workload
#   ./scripts/run.sh -- CMD ARGS     profile a command and its children
#   ./scripts/run.sh -a [-d SECS]    profile the whole system (10 s unless -d)
#   ./scripts/run.sh [pmuprof record options]
#
# Writes profile.folded in the current directory (or what -o names) and prints the
# top 10 stacks.
set -eu

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

"$pmuprof" record -o profile.folded "$@"

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
for f in $files; do
	echo
	echo "Top 10 stacks in $f (samples, stack):"
	awk '{ n = $NF; $NF = ""; sub(/ $/, ""); printf "%10d  %s\n", n, $0 }' "$f" |
		sort -rn | head -n 10 | cut -c1-220
done
echo
for f in $files; do
	echo "folded stacks: $(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
done
