#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""meson install --destdir: the binary, a manual page per command and the bash completion
land where Debian expects them (under the prefix: bin/, share/man/man1/,
share/bash-completion/completions/); each page renders without warnings and documents
every option its command's --help lists. Usage: test_install.py BUILD_DIR"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def skip(msg):
    print(f"SKIP: {msg}", file=sys.stderr)
    sys.exit(77)


def options_of(build):
    opts = json.loads(subprocess.run(["meson", "introspect", "--buildoptions", build],
                                     capture_output=True, text=True, check=True).stdout)
    return {o["name"]: o["value"] for o in opts}


def long_options(help_text):
    text = help_text.split("\nExamples:")[0]
    return sorted(set(re.findall(r"(?:^|[\s,\[])(--[a-z][a-z-]+)", text)))


def check_completion(comp, bindir):
    script = f"""
source /usr/share/bash-completion/bash_completion
source {comp}
PATH={bindir}:$PATH
t() {{ COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${{#COMP_LINE}};
      COMPREPLY=(); _pmuprof; echo "${{COMPREPLY[*]}}"; }}
t pmuprof re
t pmuprof stat --js
t pmuprof record -e cpu-cl
t pmuprof help dif
t pmuprof collect --collectors profile,sc
"""
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    got = p.stdout.splitlines()
    want = ["record report", "--json", "cpu-clock", "diff", "profile,sched"]
    if got != want:
        fail(f"completion: {got} (stderr {p.stderr!r}), want {want}")


def check_unit(dest, binary, o):
    """The agent's unit: installed, notify when built with libsystemd, the capabilities
    the agent needs, and systemd-analyze finds nothing wrong but the paths of this test."""
    units = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs
             if f == "pmuprof-agent.service"]
    if not units or "/systemd/system/" not in units[0]:
        fail(f"the agent's unit is not installed in a systemd unit directory: {units}")
    text = open(units[0]).read()
    bindir = os.path.join(o["prefix"], o["bindir"])
    for want in (f"ExecStart={bindir}/pmuprof agent\n", "AmbientCapabilities=CAP_BPF CAP_PERFMON",
                 "NoNewPrivileges=yes", "ProtectSystem=strict"):
        if want not in text:
            fail(f"{units[0]} lacks {want!r}")
    if not re.search(r"^Type=(notify|simple)$", text, re.M):
        fail(f"{units[0]}: Type")
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        return
    with tempfile.TemporaryDirectory() as d:
        unit = os.path.join(d, "pmuprof-agent.service")
        with open(unit, "w") as f:
            f.write(text.replace(f"{bindir}/pmuprof", binary))
        p = subprocess.run([analyze, "verify", unit], capture_output=True, text=True, timeout=60)
        bad = [line for line in (p.stdout + p.stderr).splitlines()
               if line.strip() and "man pmuprof-agent" not in line]
        if bad:
            fail(f"systemd-analyze verify: {bad}")


def main():
    build = sys.argv[1]
    if not shutil.which("man") or not shutil.which("scdoc"):
        skip("needs man-db and scdoc (scripts/install-deps.sh)")
    o = options_of(build)
    prefix = o["prefix"].lstrip("/")
    with tempfile.TemporaryDirectory() as dest:
        p = subprocess.run(["meson", "install", "-C", build, "--destdir", dest, "--no-rebuild"],
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            fail(f"meson install: {p.stdout} {p.stderr}")
        root = os.path.join(dest, prefix)
        binary = os.path.join(root, "bin", "pmuprof")
        q = subprocess.run([binary, "--help"], capture_output=True, text=True)
        if q.returncode != 0:
            fail(f"{binary} --help: exit {q.returncode}")
        commands = re.findall(r"^  ([a-z]+) ", q.stdout.split("Commands:")[1].split("\n\n")[0],
                              re.M)
        if len(commands) < 9:
            fail(f"commands in --help: {commands}")
        for page in ["pmuprof"] + [f"pmuprof-{c}" for c in commands]:
            path = os.path.join(root, "share", "man", "man1", page + ".1")
            if not os.path.isfile(path):
                fail(f"no manual page {path}")
            env = dict(os.environ, MANWIDTH="80", LC_ALL="C", MAN_DISABLE_SECCOMP="1")
            r = subprocess.run(["man", "-l", "--warnings", path], capture_output=True,
                               text=True, env=env, timeout=60)
            if r.returncode != 0 or r.stderr.strip():
                fail(f"man -l {page}: exit {r.returncode}: {r.stderr}")
            if not re.search(rf"^NAME\n\s+{re.escape(page)} - ", r.stdout, re.M) or \
                    "EXAMPLES" not in r.stdout:
                fail(f"{page}: no NAME line or EXAMPLES section: {r.stdout[:300]}")
            # What it says, on lines too long to break or hyphenate a word.
            env["MANWIDTH"] = "1000"
            flat = subprocess.run(["man", "-l", path], capture_output=True, text=True,
                                  env=env, timeout=60).stdout
            if page == "pmuprof":
                missing = [c for c in commands if f"pmuprof-{c}(1)" not in flat]
            else:
                h = subprocess.run([binary, page[len("pmuprof-"):], "--help"],
                                   capture_output=True, text=True).stdout
                missing = [opt for opt in long_options(h) if opt not in flat]
            if missing:
                fail(f"{page}: does not document {missing}")
        comp = os.path.join(root, "share", "bash-completion", "completions", "pmuprof")
        if not os.path.isfile(comp):
            fail(f"no bash completion at {comp}")
        check_completion(comp, os.path.dirname(binary))
        check_unit(dest, binary, o)
    print("PASS")


if __name__ == "__main__":
    main()
