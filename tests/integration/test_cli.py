#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The command line a perf user meets first: help, option errors, report.
Usage: test_cli.py CASE"""
import os
import re
import subprocess
import sys
import tempfile

from testlib import PMUPROF, fail, run_case

COMMANDS = ["record", "stat", "report", "collect", "doctor", "list", "flamegraph", "collapse",
            "diff"]


def run(args, **kw):
    return subprocess.run([PMUPROF] + args, capture_output=True, text=True, timeout=60, **kw)


def case_help():
    for cmd in COMMANDS:
        p = run([cmd, "--help"])
        out = p.stdout
        if p.returncode != 0 or p.stderr:
            fail(f"{cmd} --help: exit {p.returncode}, stderr {p.stderr!r}")
        if not out.startswith(f"Usage: pmuprof {cmd}"):
            fail(f"{cmd} --help does not start with its usage: {out[:80]!r}")
        if not re.search(r"^  -h, --help\s+this help$", out, re.M):
            fail(f"{cmd} --help does not list -h, --help")
        m = re.search(r"^Examples:\n((?:  .+\n)+)", out, re.M)
        if not m or not all(re.match(r"  (\S+=\S+ )?(pmuprof|perf) ", l)
                            for l in m.group(1).splitlines()):
            fail(f"{cmd} --help has no Examples block of commands: {out!r}")
        for other in ([cmd, "-h"], ["help", cmd]):
            q = run(other)
            if q.returncode != 0 or q.stdout != out or q.stderr:
                fail(f"{' '.join(other)}: exit {q.returncode}, not the same text as {cmd} --help")
    for args in (["--help"], ["-h"], ["help"]):
        p = run(args)
        if p.returncode != 0 or p.stderr:
            fail(f"{args}: exit {p.returncode}: {p.stderr!r}")
        for cmd in COMMANDS:
            if not re.search(rf"^  {cmd} +\S", p.stdout, re.M):
                fail(f"{args}: {cmd} is not in the command list")
    p = run([])
    if p.returncode != 2 or "Usage: pmuprof COMMAND" not in p.stderr:
        fail(f"no command: exit {p.returncode}: {p.stderr!r}")


def one_line_error(args, pattern):
    p = run(args)
    if p.returncode != 2 or p.stdout or len(p.stderr.splitlines()) != 1 or \
            not re.fullmatch(pattern, p.stderr.strip()):
        fail(f"{args}: exit {p.returncode}, stdout {p.stdout!r}, stderr {p.stderr!r}; "
             f"want one line matching {pattern!r}")


def case_option_errors():
    cases = [
        (["stat", "-x,"], "unknown option '-x'"),
        (["stat", "-ax"], "unknown option '-x'"),
        (["stat", "--json", "-Ax,"], "unknown option '-x'"),
        (["stat", "--bogus=3"], "unknown option '--bogus'"),
        (["stat", "-e"], "option '-e' needs a value"),
        (["stat", "--event"], "option '--event' needs a value"),
        (["stat", "--json=1"], "option '--json' takes no value"),
        (["stat", "--jso=1"], "option '--json' takes no value"),
        (["stat", "--even"], "option '--event' needs a value"),
        (["record", "-Z"], "unknown option '-Z'"),
        (["record", "-aZ"], "unknown option '-Z'"),
        (["record", "-F"], "option '-F' needs a value"),
        (["diff", "--bogus", "a", "b"], "unknown option '--bogus'"),
        (["diff", "-x"], "unknown option '-x'"),
        (["report", "-q"], "unknown option '-q'"),
        (["report", "--limit"], "option '--limit' needs a value"),
        (["collect", "-o"], "option '-o' needs a value"),
        (["list", "--bogus"], "unknown option '--bogus'"),
        (["doctor", "-z"], "unknown option '-z'"),
        (["flamegraph", "--title"], "option '--title' needs a value"),
        (["collapse", "-k"], "unknown option '-k'"),
    ]
    for args, what in cases:
        cmd = args[0]
        one_line_error(args, re.escape(f"pmuprof: {cmd}: {what}; see 'pmuprof {cmd} --help'"))
    # One target model: the same rule and words in record, stat and collect.
    for args, prefix, offered in (
            (["record", "-a", "-p", "1"], "pmuprof: ", "-a, -C CPUS, -p PIDS, -t TIDS or -- COMMAND"),
            (["record", "-t", "1", "--", "true"], "pmuprof: ",
             "-a, -C CPUS, -p PIDS, -t TIDS or -- COMMAND"),
            (["stat", "-C", "0", "-p", "1"], "pmuprof: stat: ", "-a, -C CPUS, -p PIDS or -- COMMAND"),
            (["collect", "-o", "x", "-p", "1", "--", "true"], "pmuprof: collect: ",
             "-a, -p PIDS or -- COMMAND")):
        one_line_error(args, re.escape(f"{prefix}give one target: {offered}"))
    one_line_error(["help", "bogus"], r"pmuprof: help: unknown command 'bogus'.*")
    one_line_error(["bogus"], r"pmuprof: unknown command 'bogus'.*")


# 100 samples with known shares: mul 40 self, lex 30, fact 15 (recursive), parse 10, compute 5.
PROFILE = """app;main;parse;lex 30
app;main;parse 10
app;main;compute;mul 40
app;main;compute;fact;fact;fact 15
app;main;compute 5
"""


def case_report():
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "p.folded")
        with open(path, "w") as f:
            f.write(PROFILE)
        p = run(["report", path])
        if p.returncode != 0 or p.stderr:
            fail(f"report: exit {p.returncode}: {p.stderr}")
        rows = [l.split() for l in p.stdout.splitlines() if not l.startswith("#")]
        want = [["40.00%", "40.00%", "mul"], ["30.00%", "30.00%", "lex"],
                ["15.00%", "15.00%", "fact"], ["10.00%", "40.00%", "parse"],
                ["5.00%", "60.00%", "compute"], ["0.00%", "100.00%", "app"],
                ["0.00%", "100.00%", "main"]]
        if rows != want:
            fail(f"report by self: {rows}")
        if "\033[" in p.stdout:
            fail("colours in output that is not a terminal")
        if not re.search(r"5 stacks, 100 samples", p.stdout):
            fail(f"report header: {p.stdout.splitlines()[0]}")
        # Columns line up with their headings.
        head = next(l for l in p.stdout.splitlines() if "Function" in l)
        first = p.stdout.splitlines()[p.stdout.splitlines().index(head) + 2]
        if head.index("Function") != first.index("mul"):
            fail(f"misaligned: {head!r} / {first!r}")
        # --sort total --limit 3, from stdin
        p = run(["report", "--sort", "total", "--limit", "3"], input=PROFILE)
        rows = [l.split() for l in p.stdout.splitlines() if not l.startswith("#")]
        if rows != [["0.00%", "100.00%", "app"], ["0.00%", "100.00%", "main"],
                    ["5.00%", "60.00%", "compute"]] or "4 more" not in p.stdout:
            fail(f"--sort total --limit 3: {p.stdout}")
        # --focus: callers and callees of compute add up to its 60%
        p = run(["report", "--focus", "compute", path])
        out = p.stdout
        if p.returncode != 0 or not re.search(r"compute: total 60\.00%, self 5\.00%", out):
            fail(f"--focus compute: {out} {p.stderr}")
        callers = out.split("# Callers")[1].split("# Callees")[0]
        callees = out.split("# Callees")[1]

        def rows_of(text):
            return [l.split() for l in text.splitlines() if not l.startswith("#") and "%" in l]
        if rows_of(callers) != [["60.00%", "main"]]:
            fail(f"callers of compute: {callers}")
        if rows_of(callees) != [["5.00%", "[self]"], ["40.00%", "mul"], ["15.00%", "fact"]]:
            fail(f"callees of compute: {callees}")
        # Colours when asked (as on a terminal): red from 5%.
        p = run(["report", "--color", "always", path])
        if "\033[31m  40.00%\033[m" not in p.stdout:
            fail(f"--color always: {p.stdout!r}")
        # A name holding an escape sequence reaches the terminal as '?', not as a command.
        p = run(["report", "--color", "never"], input="app;evil\x1b[2J\x07name 5\n")
        if "\x1b" in p.stdout or "\x07" in p.stdout or "evil?[2J?name" not in p.stdout:
            fail(f"control characters in names: {p.stdout!r}")
        # Bad input: one line, exit 2, nothing on stdout.
        bad = os.path.join(tmp, "bad.folded")
        with open(bad, "w") as f:
            f.write("not a folded line\n")
        one_line_error(["report", bad], re.escape(f"pmuprof: report: {bad}: ") + r".*folded.*")
        one_line_error(["report", os.path.join(tmp, "missing")], r".*missing: No such file.*")
        one_line_error(["report", "--focus", "nope", path], r".*--focus nope: no stack.*")
        one_line_error(["report", "--sort", "name", path], r".*--sort name: use self or total")
        one_line_error(["report", "--limit", "x", path], r".*--limit x: give a number.*")


def case_list_glob():
    """A glob matches event names with or without their PMU, as perf list's filter does."""
    p = run(["list", "--all-pmus", "INST_RETIRED*"])
    names = [l.split()[0] for l in p.stdout.splitlines() if l.startswith("  ")]
    if p.returncode != 0 or "skl::INST_RETIRED" not in names or \
            not all(n.split("::")[-1].upper().startswith("INST_RETIRED") for n in names):
        fail(f"list --all-pmus 'INST_RETIRED*': exit {p.returncode}: {names[:5]} {p.stderr}")
    p = run(["list", "cpu-clock"])
    if [l.split()[0] for l in p.stdout.splitlines() if l.startswith("  ")] != ["cpu-clock"]:
        fail(f"list cpu-clock: {p.stdout}")
    one_line_error(["list", "no-such-event-xyz*"], r"pmuprof: list: no event matches .*")


if __name__ == "__main__":
    sys.exit(run_case(globals()))
