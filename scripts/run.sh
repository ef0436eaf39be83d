#!/bin/bash
# README command 1: install dependencies, build, profile.
#
#   ./scripts/run.sh                 profile the bundled demo workload
#   ./scripts/run.sh -- CMD ARGS     profile a command and its children
#   ./scripts/run.sh -a [-d SECS]    profile the whole system (10 s unless -d)
#   ./scripts/run.sh [pmuprof record options]
#
# Writes profile.folded and profile.svg in the current directory and prints the top 10
# stacks. -o NAME.folded or -o NAME.svg writes NAME.folded and NAME.svg; -o NAME.pb.gz
# writes that pprof profile and prints the top functions. The exit status is record's:
# with a command, the command's own (the outputs are written all the same).
#
# PMUPROF_BUILD_DIR=DIR uses the pmuprof already built in DIR: no dependency install, no
# build (the tests run this script against their own build).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${PMUPROF_BUILD_DIR:-}" ]; then
	build=$PMUPROF_BUILD_DIR
else
	build=$root/build
	"$root/scripts/install-deps.sh"
	if [ ! -f "$build/build.ninja" ]; then
		meson setup "$build" >/dev/null
	fi
	ninja -C "$build" >/dev/null
fi

pmuprof="$build/pmuprof"
if [ $# -eq 0 ]; then
	set -- -F 999 -- "$build/pmuprof-demo" 5
fi

# -o and --format are run.sh's own (it chooses what record writes); the rest go to
# record as given.
output=profile.folded
format=
has_duration=no
has_cmd=no
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--) has_cmd=yes; break ;;
	-o | --output) [ $# -ge 2 ] || break; output=$2; shift 2; continue ;;
	--output=*) output=${1#--output=}; shift; continue ;;
	-o?*) output=${1#-o}; shift; continue ;;
	--format) [ $# -ge 2 ] || break; format=$2; shift 2; continue ;;
	--format=*) format=${1#--format=}; shift; continue ;;
	-d | --duration | --duration=*) has_duration=yes ;;
	esac
	args+=("$1")
	shift
done
args+=("$@")
if [ "$has_cmd" = no ] && [ "$has_duration" = no ]; then
	args=(-d 10 "${args[@]}")
fi

# What to write: the format (--format, else the extension) and the name without it.
stem=$output
case "$output" in
*.pb.gz) stem=${output%.pb.gz}; : "${format:=pprof}" ;;
*.pb) stem=${output%.pb}; : "${format:=pprof}" ;;
*.svg) stem=${output%.svg}; : "${format:=svg}" ;;
*.folded | *.txt | *.collapsed) stem=${output%.*}; : "${format:=folded}" ;;
*.*)
	# An extension record does not know: its one-line error, exit 2.
	[ -n "$format" ] || exec "$pmuprof" record -o "$output" "${args[@]}"
	;;
esac
: "${format:=folded}"
if [ "$output" = - ]; then
	exec "$pmuprof" record -o - ${format:+--format "$format"} "${args[@]}"
fi

summary=$(mktemp)
report=$(mktemp)
trap 'rm -f "$summary" "$report"' EXIT
status=0
if [ "$format" = pprof ]; then
	# The profile as asked; its top functions from record itself (no folded file).
	"$pmuprof" record --format pprof --report -o "$output" "${args[@]}" \
		>"$report" 2> >(tee "$summary" >&2) || status=$?
	sed '/^# pmuprof report:/,$d' "$report"
	wait
	files=$(ls -d "$output" "$stem".*.pb.gz 2>/dev/null || true)
	if [ -z "$files" ]; then
		exit $((status ? status : 1))
	fi
	echo
	sed -n '/^# pmuprof report:/,$p' "$report" | head -n 40 || true
	echo
	for f in $files; do
		echo "pprof profile: $(cd "$(dirname "$f")" && pwd)/$(basename "$f")"
	done
	exit "$status"
fi

# Folded stacks first; the flame graph is drawn from them (several events: one
# NAME.EVENT.folded each).
folded=$stem.folded
[ "$format" = folded ] && folded=$output
"$pmuprof" record --format folded -o "$folded" "${args[@]}" 2>&1 | tee "$summary" >&2 ||
	status=$?
if [ -f "$folded" ]; then
	files=$folded
elif [ "$folded" != "${folded%.*}" ]; then
	files=$(ls -d "${folded%.*}".*."${folded##*.}" 2>/dev/null || true)
else
	files=$(ls -d "$folded".* 2>/dev/null || true)
fi
if [ -z "$files" ]; then
	exit $((status ? status : 1))
fi

svg_of() {
	local f=$1
	case "$f" in
	*.folded) echo "${f%.folded}.svg" ;;
	*.txt | *.collapsed) echo "${f%.*}.svg" ;;
	*) echo "$f.svg" ;;
	esac
}

# A flame graph next to each folded file, subtitled with the event actually sampled.
event=$(sed -n 's/^  event: *//p' "$summary" | head -n 1)
for f in $files; do
	b=$(basename "$f")
	svg=$(svg_of "$f")
	if ! "$pmuprof" flamegraph --title "pmuprof: ${b%.*}" --subtitle "$event" "$f" \
		>"$svg"; then
		rm -f "$svg"
		echo "run.sh: no flame graph for $f: it holds no stacks" >&2
	fi
done

for f in $files; do
	echo
	echo "Top 10 stacks in $f (samples, stack):"
	awk '{ n = $NF; $NF = ""; sub(/ $/, ""); printf "%10d  %s\n", n, $0 }' "$f" |
		sort -rn | head -n 10 | cut -c1-220 || true
done
echo
for f in $files; do
	dir=$(cd "$(dirname "$f")" && pwd)
	echo "folded stacks: $dir/$(basename "$f")"
	[ -f "$(svg_of "$f")" ] && echo "flame graph:   $dir/$(basename "$(svg_of "$f")")"
done
exit "$status"
