#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pmuprof doctor --binary: CFI (rows, coverage) and the user stacks a binary will get."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
FIXTURE = os.environ.get("PMUPROF_UNWIND_FIXTURE", "build/tests/fixture-unwind")


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def doctor_json(path):
    p = subprocess.run([PMUPROF, "doctor", "--json", "--binary", path], capture_output=True,
                       text=True, timeout=120)
    if p.returncode != 0:
        fail(f"doctor --binary {path}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)["binary"]


def main():
    # No frame pointers, full CFI: stacks come from the tables.
    b = doctor_json(FIXTURE)
    if b["cfi"] != ".eh_frame" or b["cfi_fdes"] < 10 or b["cfi_rows"] < b["cfi_fdes"]:
        fail(f"fixture CFI: {b}")
    if b["cfi_functions"] != b["functions_seen"] or b["cfi_unsupported_rows"] != 0:
        fail(f"fixture: every function has CFI: {b}")
    if not b["user_stacks"].startswith("complete from CFI"):
        fail(f"fixture stacks: {b['user_stacks']}")
    if b["unwind_bytes"] != 8 * b["unwind_rows"]:
        fail(f"8-byte rows: {b}")
    # The same binary without .eh_frame: nothing to unwind with.
    tmp = tempfile.mkdtemp(prefix="pmuprof-doctor-")
    try:
        bare = os.path.join(tmp, "bare")
        subprocess.run(["objcopy", "--remove-section=.eh_frame", "--remove-section=.eh_frame_hdr",
                        FIXTURE, bare], check=True)
        b = doctor_json(bare)
        if b["cfi"] != "" or not b["user_stacks"].startswith("short"):
            fail(f"without .eh_frame: {b}")
        text = subprocess.run([PMUPROF, "doctor", "--binary", bare], capture_output=True,
                              text=True, timeout=120).stdout
        if "CFI:             none" not in text or "user stacks:     short" not in text:
            fail(f"text report:\n{text}")
    finally:
        shutil.rmtree(tmp)
    # Debian's python3 has no frame pointers but full CFI.
    if os.path.exists("/usr/bin/python3.11"):
        b = doctor_json("/usr/bin/python3.11")
        if b["cfi"] != ".eh_frame" or b["cfi_text_coverage"] < 0.9 or \
                not b["user_stacks"].startswith("complete from CFI"):
            fail(f"python3.11: {b}")
    print("ok")


if __name__ == "__main__":
    main()
