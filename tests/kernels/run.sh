#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The kernels suite's driver: boot KERNEL-PACKAGE under qemu (scripts/test-kernels.sh) and
# run tests/kernels/guest.py's checks inside it, in this build tree. Prints TAP: one result
# per check; "1..0 # SKIP" with the reason where qemu cannot run here.
#
#   tests/kernels/run.sh KERNEL-PACKAGE [CHECK...]
set -u

here=$(cd "$(dirname "$0")" && pwd)
pkg=$1
shift
err=$(mktemp)
trap 'rm -f "$err"' EXIT

# Debian's own interpreter: a python3 found first on PATH may be a version manager's shim
# that runs several programs per start, each read over 9p under emulation.
py=/usr/bin/python3
[ -x "$py" ] || py=python3

# Each boot gets its own deadline below meson's, so a stuck guest still shows its console.
"$here/../../scripts/test-kernels.sh" --timeout "${PMUPROF_KERNELS_TIMEOUT:-270}" "$pkg" -- \
	"$py" "$here/guest.py" "$@" 2>"$err"
rc=$?
cat "$err" >&2
if [ "$rc" = 77 ]; then
	echo "1..0 # SKIP $(sed -n 's/^test-kernels: SKIP: //p' "$err" | head -n 1)"
	exit 0
fi
exit "$rc"
