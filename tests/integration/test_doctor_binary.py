#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pmuprof doctor --binary: CFI (rows, coverage), frame pointers where they matter, and
the user stacks a binary will get with each --call-graph mode.

Usage: test_doctor_binary.py cfi | frame-pointers | advice-holds
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from testlib import LAZY_LIBRARIES, PMUPROF, fail, lazy_libraries_in, need_root, run_case, skip

FIXTURE = os.environ.get("PMUPROF_UNWIND_FIXTURE", "build/tests/fixture-unwind")
# tests/fixtures/fpprog.cpp built -O2 with and without -fno-omit-frame-pointer.
FP_FIXTURE = os.environ.get("PMUPROF_FP_FIXTURE", "build/tests/fixture-fp")
NOFP_FIXTURE = os.environ.get("PMUPROF_NOFP_FIXTURE", "build/tests/fixture-nofp")
GO_SOURCE = """package main

import (
	"fmt"
	"os"
)

//go:noinline
func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i
	}
	return s
}

func main() {
	fmt.Println(work(len(os.Args) * 1000))
}
"""


def doctor_json(path):
    p = subprocess.run([PMUPROF, "doctor", "--json", "--binary", path], capture_output=True,
                       text=True, timeout=120)
    if p.returncode != 0:
        fail(f"doctor --binary {path}: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)["binary"]


def lazy_libraries_unmapped():
    # The disassembler is loaded for doctor's census only, libpfm4 for the first event
    # name it encodes, the agent's and debuginfod's libraries where they are used: any
    # other command goes without their resident tables (5 MB for the first two).
    p = subprocess.Popen([PMUPROF, "collapse"], stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL)
    try:
        with open(f"/proc/{p.pid}/maps") as f:
            maps = f.read()
        # Still the shell's image for a moment after the fork: wait for the exec.
        for _ in range(100):
            if "libbpf" in maps:
                break
            subprocess.run(["sleep", "0.05"])
            with open(f"/proc/{p.pid}/maps") as f:
                maps = f.read()
    finally:
        p.stdin.close()
        p.wait(timeout=60)
    if "libbpf" not in maps:
        fail("pmuprof collapse: its libraries were never seen mapped")
    for lib in lazy_libraries_in(maps):
        fail(f"pmuprof collapse maps {lib}: only {LAZY_LIBRARIES[lib]} should load it")


def case_cfi():
    lazy_libraries_unmapped()
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
        if "CFI:             none" not in text or \
                not re.search(r"^ +--call-graph=dwarf: short", text, re.M):
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


def fp_share(b):
    return b["callers_with_frame_pointer"] / b["callers"]


def case_frame_pointers():
    """-O2 -fno-omit-frame-pointer: every function that calls others keeps its frame
    (leaves have none, and need none); the same source without the option: none do, and
    the advice is to rebuild or use --call-graph=dwarf."""
    b = doctor_json(FP_FIXTURE)
    print(f"fp fixture: {b['frame_pointers']}")
    if b["callers"] < 4 or fp_share(b) != 1 or b["leaf_functions"] < 2:
        fail(f"fp fixture: {b}")
    if not b["user_stacks_fp"].startswith("complete") or "rebuild" in json.dumps(b):
        fail(f"fp fixture, advice: {b}")
    text = subprocess.run([PMUPROF, "doctor", "--binary", FP_FIXTURE], capture_output=True,
                          text=True, timeout=120).stdout
    if not re.search(r"frame pointers: +\d+ of \d+ functions that call others set one up "
                     r"\(100%\)", text) or "rebuild" in text:
        fail(f"fp fixture, text report:\n{text}")
    b = doctor_json(NOFP_FIXTURE)
    print(f"no-fp fixture: {b['frame_pointers']}")
    if b["callers"] < 4 or b["callers_with_frame_pointer"] != 0:
        fail(f"no-fp fixture: {b}")
    if not b["user_stacks_fp"].startswith("short") or \
            "rebuild with -fno-omit-frame-pointer, or record with --call-graph=dwarf" \
            not in b["user_stacks_fp"] or not b["user_stacks"].startswith("complete from CFI"):
        fail(f"no-fp fixture, advice: {b}")
    # Not an ELF file: every line says unknown, none is left empty.
    text = subprocess.run([PMUPROF, "doctor", "--binary", "/etc/passwd"], capture_output=True,
                          text=True, timeout=120).stdout
    if "(null)" in text or not re.search(r"frame pointers: +unknown: not an ELF", text):
        fail(f"/etc/passwd, text report:\n{text}")
    # Debian's gzip: stripped (functions from .eh_frame_hdr), built without frame pointers.
    b = doctor_json("/usr/bin/gzip")
    print(f"gzip: {b['frame_pointers']}")
    if "unknown" in b["frame_pointers"] or "no symbol table" not in b["frame_pointers"] or \
            b["callers"] < 20 or fp_share(b) > 0.5:
        fail(f"gzip: {b}")
    if not b["user_stacks_fp"].startswith("short") or \
            not b["user_stacks"].startswith("complete from CFI"):
        fail(f"gzip, advice: {b}")
    # Go keeps frame pointers on amd64.
    if not shutil.which("go"):
        print("go (golang-go) not installed: the Go binary is not checked")
        return
    tmp = tempfile.mkdtemp(prefix="pmuprof-doctor-go-")
    try:
        with open(os.path.join(tmp, "main.go"), "w") as f:
            f.write(GO_SOURCE)
        env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "cache"), GO111MODULE="off",
                   CGO_ENABLED="0")
        subprocess.run(["go", "build", "-o", "gobin", "main.go"], cwd=tmp, env=env, check=True,
                       timeout=600)
        b = doctor_json(os.path.join(tmp, "gobin"))
        print(f"go: {b['frame_pointers']}")
        if not b["go"] or "Go keeps frame pointers" not in b["frame_pointers"] or \
                fp_share(b) < 0.9 or not b["user_stacks_fp"].startswith("complete"):
            fail(f"go binary: {b}")
    finally:
        shutil.rmtree(tmp)


def case_advice_holds():
    """The advice matches what a frame-pointer walk gets: the fixture told 'complete'
    has its stacks reach main; the one told to rebuild has them stop short."""
    need_root("needs root (records the fixtures)")
    tmp = tempfile.mkdtemp(prefix="pmuprof-doctor-rec-")
    try:
        shares = {}
        for exe in (FP_FIXTURE, NOFP_FIXTURE):
            out = os.path.join(tmp, "p.folded")
            p = subprocess.run([PMUPROF, "record", "-q", "--call-graph=fp", "-U", "-e",
                                "cpu-clock", "-F", "999", "-o", out, "--", exe, "1.5"],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 0 and "not permitted" in p.stderr:
                skip("the kernel refuses BPF here")
            if p.returncode != 0:
                fail(f"record {exe}: exit {p.returncode}: {p.stderr}")
            total = reach = 0
            for line in open(out):
                stack, n = line.rsplit(" ", 1)
                if not stack.startswith(os.path.basename(exe)[:15] + ";"):
                    continue
                total += int(n)
                reach += int(n) if ";main;" in stack + ";" else 0
            if total < 100:
                fail(f"{exe}: only {total} samples")
            shares[exe] = reach / total
        print(f"samples whose stack reaches main: fp fixture {shares[FP_FIXTURE]:.1%}, "
              f"no-fp fixture {shares[NOFP_FIXTURE]:.1%}")
        if shares[FP_FIXTURE] < 0.9 or shares[NOFP_FIXTURE] > 0.5:
            fail(f"stacks reaching main: {shares}")
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(run_case(globals()))
