#!/usr/bin/env python3
"""Style checks that CI runs over every C source (scripts/test.sh, meson suite cli).

  check-style.py format           clang-format --dry-run --Werror on every C file
  check-style.py function-length  no function body over 120 lines outside tests/

Both print one line per offender ("FILE:LINE: ...") and exit 1 when there is one.

The function-length check reads clang-formatted code (the format check keeps it so): in
that layout a function body opens with "{" alone at column 0 and closes with "}" at
column 0, and the line(s) just above the "{" hold the signature. A body is counted from
the "{" line to the "}" line inclusive. Functions longer than the limit today are listed
in ALLOWED with their current length: they may shrink, never grow.
"""
import os
import re
import subprocess
import sys

DIRS = ["src", "bpf", "pmu", "symbolize", "flamegraph", "tests", "hwtests", "bench"]
LIMIT = 120
# "file:function" -> its length today: it may shrink, never grow.
ALLOWED = {
}

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def c_files(dirs):
    out = subprocess.run(["git", "-C", root, "ls-files", "--cached", "--others",
                          "--exclude-standard", "--"] + dirs,
                         check=True, capture_output=True, text=True).stdout.split()
    return sorted(f for f in out if f.endswith((".c", ".h")) and
                  os.path.exists(os.path.join(root, f)))


def check_format():
    bad = []
    for f in c_files(DIRS):
        r = subprocess.run(["clang-format", "--dry-run", "--Werror", f], cwd=root,
                           capture_output=True, text=True)
        if r.returncode:
            first = (r.stderr.strip().splitlines() or ["differs from .clang-format"])[0]
            bad.append(f"{f}: not clang-formatted ({first}); run clang-format -i {f}")
    return bad


NAME = re.compile(r"([A-Za-z_]\w*)\s*\(")


def functions(path):
    """(name, first line, length) of each function body in a clang-formatted file."""
    lines = open(os.path.join(root, path), errors="replace").read().splitlines()
    i = 0
    while i < len(lines):
        if lines[i] != "{":
            i += 1
            continue
        # The signature: the lines above, back to one that starts at column 0.
        j = i - 1
        while j > 0 and lines[j][:1] in ("\t", " ") and lines[j].strip():
            j -= 1
        sig = " ".join(l.strip() for l in lines[j:i])
        m = NAME.search(sig)
        if not m or sig.startswith(("struct", "union", "enum", "#", "=")) and "(" not in sig:
            i += 1
            continue
        k = i + 1
        while k < len(lines) and lines[k] != "}" and not lines[k].startswith("};"):
            k += 1
        if k < len(lines) and lines[k] == "}" and "=" not in sig.split("(")[0]:
            yield m.group(1), i + 1, k - i + 1
        i = k + 1


def check_function_length():
    bad = []
    seen = set()
    for f in c_files([d for d in DIRS if d != "tests"]):
        if not f.endswith(".c"):
            continue
        for name, line, n in functions(f):
            key = f"{f}:{name}"
            seen.add(key)
            limit = max(LIMIT, ALLOWED.get(key, 0))
            if n > limit:
                why = (f"grew from {ALLOWED[key]} lines (allowed while it shrinks)"
                       if key in ALLOWED else f"over {LIMIT} lines")
                bad.append(f"{f}:{line}: {name}() is {n} lines, {why}; split it")
    return bad


def main():
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what == "format":
        bad = check_format()
    elif what == "function-length":
        bad = check_function_length()
    elif what == "list-lengths":
        for f in c_files([d for d in DIRS if d != "tests"]):
            if f.endswith(".c"):
                for name, line, n in functions(f):
                    if n > LIMIT:
                        print(f'    "{f}:{name}": {n},')
        return 0
    else:
        print("usage: check-style.py format|function-length|list-lengths", file=sys.stderr)
        return 2
    for b in bad:
        print(b)
    print(f"{len(bad)} offender(s)" if bad else "ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
