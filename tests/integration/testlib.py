# SPDX-License-Identifier: GPL-2.0
"""What every integration test file shares: the binaries under test, how a case fails or
skips, and the main that runs one case.

A case is a function case_NAME of the test file (NAME with '-' for '_' on the command
line), taking no argument or a fresh temporary directory. It passes by returning, fails by
raising Fail (check(), fail()) and skips by raising Skip (skip(), need_root()). The exit
status is meson's: 0 pass, 1 fail, 77 skip, 2 usage.
"""
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
DEMO = os.environ.get("PMUPROF_DEMO", "build/pmuprof-demo")
SKIP = 77


# Libraries loaded only by the commands that use them (src/lazylib.h), with who needs
# each: any other command must run without them and their dependencies.
LAZY_LIBRARIES = {
    "libcapstone": "doctor's frame-pointer census",
    "libpfm": "a libpfm4 event name",
    "libmicrohttpd": "the agent's HTTP server",
    "libcurl": "the agent's --push and libdebuginfod",
    "libgnutls": "libdebuginfod's libcurl",
    "libssl": "the agent's --push",
    "libdebuginfod": "a debug file asked of a debuginfod server",
    "libsystemd": "the agent under a service manager (NOTIFY_SOCKET)",
}


def lazy_libraries_in(maps):
    """The LAZY_LIBRARIES named in the text of a /proc/PID/maps."""
    return sorted(lib for lib in LAZY_LIBRARIES if re.search(r"/" + lib + r"[-.]", maps))


def library_path(soname):
    """Where the dynamic loader finds soname (ldconfig's cache), or None."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    m = re.search(r"^\s*" + re.escape(soname) + r" \(libc6,x86-64\) => (\S+)$", out, re.M)
    return m.group(1) if m else None


# sh -c SCRIPT sh LIBRARY CMD...: runs CMD with /dev/null mounted over LIBRARY.
HIDE_LIBRARY = 'mount --bind /dev/null "$1" && shift && exec "$@"'


def without_library(soname, tmp):
    """A pmuprof wrapper in tmp that runs PMUPROF in its own mount namespace with soname
    hidden (/dev/null in its place). Skips without unshare; fails if soname is missing."""
    if not shutil.which("unshare"):
        raise Skip("needs unshare (a mount namespace)")
    path = library_path(soname)
    check(path, f"{soname} is not installed (scripts/install-deps.sh)")
    wrapper = os.path.join(tmp, "pmuprof")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec unshare --mount --propagation private sh -c '{HIDE_LIBRARY}' "
                f"sh {path} {os.path.abspath(PMUPROF)} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    return wrapper


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def fail(msg):
    raise Fail(msg)


def skip(msg):
    raise Skip(msg)


def need_root(why="needs root (CAP_BPF and CAP_PERFMON)"):
    if os.geteuid() != 0:
        raise Skip(why)


def cases_of(namespace):
    return {name[5:].replace("_", "-"): fn for name, fn in namespace.items()
            if name.startswith("case_") and callable(fn)}


def run_case(namespace, prefix="pmuprof-test-"):
    """The test files' main: run the case of namespace that argv[1] names and return the
    exit status."""
    cases = cases_of(namespace)
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        print(f"usage: {sys.argv[0]} CASE\ncases: {' '.join(sorted(cases))}", file=sys.stderr)
        return 2
    fn = cases[sys.argv[1]]
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        fn(tmp) if inspect.signature(fn).parameters else fn()
    except Skip as e:
        print(f"SKIP: {e}", file=sys.stderr)
        return SKIP
    except Fail as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0
