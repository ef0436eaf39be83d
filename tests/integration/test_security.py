#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The rule of docs/security.md, tried as an attacker would: an unprivileged process
(setpriv to nobody) prepares its perf map, its debug file or its binary; a root
`pmuprof record` must finish on time, write a whole output, name what it can, never
read what the process's user may not, and count what it skipped.

Usage: test_security.py CASE   (meson runs one process per case)
Exit 0 pass, 1 fail, 77 skip (with the reason on stderr).
"""
import os
import platform
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_record as tr  # noqa: E402  (the helpers of the record tests)
from test_record import check, Fail, Skip  # noqa: E402

PMUPROF = tr.PMUPROF
JIT = os.environ.get("PMUPROF_JIT", "build/pmuprof-jit")
SECRET = "ROOT_ONLY_SECRET_7f3a"
DURATION = 2
BOUND = 15  # seconds a record of -d 2 may take, however hostile the process
LIFETIME = 30  # seconds the attacker's workload runs (it is killed after the record)


def need_attacker():
    tr.need_root()
    if not shutil.which("setpriv"):
        raise Skip("setpriv (util-linux) is not installed")
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise Skip("there is no user 'nobody'")


def need_jit():
    if platform.machine() != "x86_64":
        raise Skip("the JIT workload is x86-64 code")


def as_nobody(script):
    """Run a shell script as nobody:nogroup; `exec` in it keeps the pid."""
    return subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                             "--", "sh", "-c", script],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def attacker_dir(tmp):
    """A directory nobody owns, reachable by nobody."""
    os.chmod(tmp, 0o755)
    d = os.path.join(tmp, "attacker")
    os.mkdir(d)
    nobody = pwd.getpwnam("nobody")
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    return d


def record(args):
    """A root record that must end within BOUND seconds and succeed: (stderr, stacks)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([PMUPROF, "record"] + args, capture_output=True, text=True,
                           timeout=BOUND + 30)
    except subprocess.TimeoutExpired:
        raise Fail(f"pmuprof record {' '.join(args)} still running after {BOUND + 30} s")
    secs = time.monotonic() - t0
    if p.returncode != 0 and "not permitted" in p.stderr:
        raise Skip("the kernel refuses BPF or perf events here: " + p.stderr.strip())
    check(p.returncode == 0, f"record {' '.join(args)} exited {p.returncode}:\n{p.stderr}")
    print(f"record took {secs:.2f} s")
    check(secs < BOUND, f"record -d {DURATION} took {secs:.1f} s (bound {BOUND} s)")
    out = args[args.index("-o") + 1]
    return p.stderr, tr.parse_folded(out)


def record_pid(tmp, pid, extra=()):
    out = os.path.join(tmp, "out.folded")
    return record(["-e", "cpu-clock", "-F", "999", "-p", str(pid), "-d", str(DURATION),
                   "-o", out, "-v"] + list(extra))


def finish(p):
    """The workload runs well past the record (its files must be there at the finish
    phase, under load too); stop it."""
    if p.poll() is None:
        p.kill()
    p.wait(timeout=60)


def started(p, comm):
    """Wait until the attacker's script has exec'd the workload (its setup done)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise Fail(f"{comm} exited early ({p.returncode}): {p.stderr.read().strip()}")
        try:
            with open(f"/proc/{p.pid}/comm") as f:
                if f.read().strip() == comm:
                    time.sleep(0.2)
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise Fail(f"{comm} did not start")


def skipped(stderr, pattern):
    check(re.search(r"^\s+skipped:\s+" + pattern, stderr, re.M),
          f"no 'skipped: {pattern}' in the summary:\n{stderr}")


def no_secret(tmp, stderr):
    check(SECRET not in stderr, "the secret is in pmuprof's messages")
    with open(os.path.join(tmp, "out.folded")) as f:
        check(SECRET not in f.read(), "the root-only secret is in the output")


def jit_stacks(stacks):
    mine = {s: c for s, c in stacks.items() if s.startswith("pmuprof-jit;")}
    total = sum(mine.values())
    print(f"pmuprof-jit: {total} samples; top "
          + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:2]))
    check(total > 100, f"too few samples of the workload: {total}")
    named = sum(c for s, c in mine.items() if ";__libc_start_call_main;" in s + ";")
    check(named >= 0.8 * total, "the workload's own frames are not named: "
          + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:3]))
    return mine, total


def perf_map_attack(tmp, prepare, mode="keep"):
    """nobody's JIT process, its /tmp/perf-PID.map made by `prepare` (shell, $$ = pid)."""
    need_attacker()
    need_jit()
    attacker_dir(tmp)
    p = as_nobody(f"{prepare}; exec {JIT} {LIFETIME} {mode}")
    try:
        started(p, "pmuprof-jit")
        err, stacks = record_pid(tmp, p.pid)
    finally:
        finish(p)
        for f in (f"/tmp/perf-{p.pid}.map",):
            if os.path.lexists(f):
                os.unlink(f)
    return err, stacks


def secret_file(tmp):
    """A root-only file (0600) that would name every address if it were read."""
    path = os.path.join(tmp, "secret.map")
    with open(path, "w") as f:
        f.write(f"0 7fffffffffff {SECRET}\n")
    os.chmod(path, 0o600)
    return path


# ---------------------------------------------------------------- perf maps

def case_perf_map_fifo(tmp):
    err, stacks = perf_map_attack(tmp, "mkfifo /tmp/perf-$$.map")
    jit_stacks(stacks)
    skipped(err, r"1 file not read: not a regular file")


def case_perf_map_symlink_secret(tmp):
    secret = secret_file(tmp)
    err, stacks = perf_map_attack(tmp, f"ln -s {secret} /tmp/perf-$$.map")
    jit_stacks(stacks)
    no_secret(tmp, err)
    skipped(err, r"1 perf map ignored: a symbolic link")
    check(re.search(r"^pmuprof: perf map /tmp/perf-\d+\.map: ignored: a symbolic link$", err,
                    re.M), "-v does not name the perf map")


def case_perf_map_userns_tmpfs(tmp):
    # In its own user and mount namespace with a private /tmp, fs.protected_symlinks
    # does not apply (the link's owner owns the directory): the link is still refused.
    # The JIT is run through a directory fd opened before the mount, since the build
    # directory itself may be under /tmp.
    need_attacker()
    if not shutil.which("unshare"):
        raise Skip("unshare (util-linux) is not installed")
    probe = as_nobody("unshare -Urm true")
    if probe.wait() != 0:
        raise Skip("unprivileged user namespaces are refused here: " + probe.stderr.read())
    secret = secret_file(tmp)
    err, stacks = perf_map_attack(
        tmp, "exec unshare -Urm sh -c 'exec 3<\"$(dirname \"$0\")\" && "
             "mount -t tmpfs tmpfs /tmp && "
             f"ln -s {secret} /tmp/perf-$$.map && "
             f"exec /proc/self/fd/3/\"$(basename \"$0\")\" {LIFETIME} keep' {JIT}")
    jit_stacks(stacks)
    no_secret(tmp, err)
    skipped(err, r"1 perf map ignored: a symbolic link")


def case_perf_map_root_only(tmp):
    # A regular file owned by root passes perf's ownership rule: only reading it with
    # the process's credentials keeps a 0600 file out. (Planted by root for the test.)
    need_attacker()
    need_jit()
    attacker_dir(tmp)
    p = as_nobody(f"sleep 0.3; exec {JIT} {LIFETIME} keep")
    path = f"/tmp/perf-{p.pid}.map"
    try:
        shutil.copy(secret_file(tmp), path)
        os.chmod(path, 0o600)
        started(p, "pmuprof-jit")
        err, stacks = record_pid(tmp, p.pid)
    finally:
        finish(p)
        os.unlink(path)
    jit_stacks(stacks)
    no_secret(tmp, err)
    skipped(err, r"1 file not read: the process's user may not read it")


def case_perf_map_other_owner(tmp):
    # Another user's map for this process: perf's rule ignores it.
    need_attacker()
    need_jit()
    attacker_dir(tmp)
    p = as_nobody(f"sleep 0.3; exec {JIT} {LIFETIME} keep")
    path = f"/tmp/perf-{p.pid}.map"
    try:
        with open(path, "w") as f:
            f.write("0 7fffffffffff planted_by_another_user\n")
        os.chown(path, 4242, 4242)
        started(p, "pmuprof-jit")
        err, stacks = record_pid(tmp, p.pid)
    finally:
        finish(p)
        os.unlink(path)
    jit_stacks(stacks)
    check(not any("planted_by_another_user" in s for s in stacks), "another user's map was read")
    skipped(err, r"1 perf map ignored: not owned by the process's user or root")


def case_perf_map_devices(tmp):
    for dev in ("/dev/urandom", "/dev/zero"):
        err, stacks = perf_map_attack(tmp, f"ln -s {dev} /tmp/perf-$$.map")
        jit_stacks(stacks)
        skipped(err, r"1 perf map ignored: a symbolic link")
        os.unlink(os.path.join(tmp, "out.folded"))
        shutil.rmtree(os.path.join(tmp, "attacker"))


def case_perf_map_long_line(tmp):
    # 10 MB in one line, then the real entry: the line is skipped, the entry is read.
    err, stacks = perf_map_attack(
        tmp, "head -c 10000000 /dev/zero | tr '\\0' a >/tmp/perf-$$.map; "
             "echo >>/tmp/perf-$$.map", mode="append")
    mine, total = jit_stacks(stacks)
    jit = sum(c for s, c in mine.items() if s.endswith(";jit_spin_loop_[j]"))
    check(jit >= 0.8 * total, f"the entry after the long line was not read: {jit}/{total}")
    skipped(err, r"1 perf-map line over 4 KiB skipped")


def case_perf_map_huge(tmp):
    # One 200 MB line: read up to the size limit, in bounded time.
    err, stacks = perf_map_attack(
        tmp, "head -c 200000000 /dev/zero | tr '\\0' 7 >/tmp/perf-$$.map")
    jit_stacks(stacks)
    skipped(err, r"1 perf-map line over 4 KiB skipped")
    skipped(err, r"1 perf map read up to 64 MiB only")


# ---------------------------------------------------------------- debug files

SPIN_C = r"""
#include <stdlib.h>
#include <time.h>
/* main is exported (-rdynamic): named from .dynsym; local_spin only by a debug file. */
static volatile unsigned long sink;
__attribute__((noinline)) static void local_spin(void) { for (int i = 0; i < 100000; i++) sink += i; }
__attribute__((noinline)) void exported_spin(void) { local_spin(); }
int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 2;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		exported_spin();
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while (b.tv_sec - a.tv_sec + (b.tv_nsec - a.tv_nsec) / 1e9 < secs);
	return 0;
}
"""


def build_spin(d):
    """d/spin: stripped, .gnu_debuglink → spin.debug (which the test then replaces)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc or not shutil.which("objcopy"):
        raise Skip("needs cc and objcopy")
    src, prog = os.path.join(d, "spin.c"), os.path.join(d, "spin")
    with open(src, "w") as f:
        f.write(SPIN_C)
    subprocess.run([cc, "-O1", "-g", "-fno-omit-frame-pointer", "-mno-omit-leaf-frame-pointer",
                    "-fno-optimize-sibling-calls", "-fno-inline", "-rdynamic", "-o", prog, src],
                   check=True)
    dbg = os.path.join(d, "spin.debug")
    subprocess.run(["objcopy", "--only-keep-debug", prog, dbg], check=True)
    subprocess.run(["objcopy", "--strip-all", "--add-gnu-debuglink=" + dbg, prog], check=True)
    os.chmod(d, 0o755)
    return prog, dbg


def spin_named(stacks, want_local):
    mine = {s: c for s, c in stacks.items() if s.startswith("spin;")}
    total = sum(mine.values())
    named = sum(c for s, c in mine.items() if ";main;" in s)
    print(f"spin: {total} samples, {named} under main; top "
          + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:2]))
    check(total > 100, f"too few samples of the workload: {total}")
    check(named >= 0.8 * total, "main (exported: .dynsym) is not named")
    local = sum(c for s, c in mine.items() if s.endswith(";local_spin"))
    check((local >= 0.5 * total) == want_local,
          f"local_spin named in {local}/{total} samples, want {'most' if want_local else 'none'}")


def debuglink_attack(tmp, replace):
    need_attacker()
    d = attacker_dir(tmp)
    prog, dbg = build_spin(d)
    replace(dbg)
    nobody = pwd.getpwnam("nobody")
    for f in os.listdir(d):
        os.lchown(os.path.join(d, f), nobody.pw_uid, nobody.pw_gid)
    p = as_nobody(f"exec {prog} {LIFETIME}")
    try:
        started(p, "spin")
        err, stacks = record_pid(tmp, p.pid)
    finally:
        finish(p)
    return err, stacks


def case_debuglink_control(tmp):
    # The same fixture with its real debug file: local_spin is named (the test can fail).
    err, stacks = debuglink_attack(tmp, lambda dbg: None)
    spin_named(stacks, True)


def case_debuglink_fifo(tmp):
    def fifo(dbg):
        os.unlink(dbg)
        os.mkfifo(dbg)
    err, stacks = debuglink_attack(tmp, fifo)
    spin_named(stacks, False)
    skipped(err, r"\d+ files? not read: not a regular file")
    check(re.search(r"^pmuprof: debug file \S+/spin\.debug: not read: not a regular file$", err,
                    re.M), "-v does not name the debug file")


def case_debuglink_dev_zero(tmp):
    def zero(dbg):
        os.unlink(dbg)
        os.symlink("/dev/zero", dbg)
    err, stacks = debuglink_attack(tmp, zero)
    spin_named(stacks, False)
    skipped(err, r"\d+ files? not read: not a regular file")


def case_debuglink_sparse_huge(tmp):
    # 8 GiB that cost the attacker nothing (sparse): refused on its size, never read.
    def huge(dbg):
        os.truncate(dbg, 8 << 30)
    err, stacks = debuglink_attack(tmp, huge)
    spin_named(stacks, False)
    skipped(err, r"\d+ files? not read: over the size limit")


def case_debuglink_magic_link(tmp):
    # /proc/self/root, opened by pmuprof, would be pmuprof's root, not the process's (a
    # way out of a container): magic links are refused.
    def magic(dbg):
        os.unlink(dbg)
        os.symlink("/proc/self/root/etc/shadow", dbg)
    err, stacks = debuglink_attack(tmp, magic)
    spin_named(stacks, False)
    skipped(err, r"\d+ files? not read: a magic link or a link loop")


def case_debuglink_root_only(tmp):
    # The debug file is there but only root may read it: not read on nobody's behalf.
    def root_only(dbg):
        os.chmod(dbg, 0o600)
    need_attacker()
    d = attacker_dir(tmp)
    prog, dbg = build_spin(d)
    root_only(dbg)
    p = as_nobody(f"exec {prog} {LIFETIME}")
    try:
        started(p, "spin")
        err, stacks = record_pid(tmp, p.pid)
    finally:
        finish(p)
    spin_named(stacks, False)
    skipped(err, r"\d+ files? not read: the process's user may not read it")


# ---------------------------------------------------------------- binaries

def case_binary_fifo_after_exit(tmp):
    # The process exits during a system-wide record; its binary becomes a FIFO. Stacks
    # are symbolized at each drain, while the process lives: drain only at the end, so
    # the binary is looked up after it became a FIFO.
    need_attacker()
    d = attacker_dir(tmp)
    prog, _ = build_spin(d)
    nobody = pwd.getpwnam("nobody")
    for f in os.listdir(d):
        os.chown(os.path.join(d, f), nobody.pw_uid, nobody.pw_gid)
    out = os.path.join(tmp, "out.folded")
    rec = subprocess.Popen([PMUPROF, "record", "-a", "-e", "cpu-clock", "-F", "999", "-d",
                            str(DURATION + 3), "--drain-interval", "600000", "-o", out, "-v"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    time.sleep(0.5)
    p = as_nobody(f"{prog} 2; rm {prog}; mkfifo {prog}")
    check(p.wait(timeout=30) == 0, f"the attacker failed: {p.stderr.read()}")
    check(os.path.exists(prog) and not os.path.isfile(prog), "the binary is not a FIFO")
    try:
        _, err = rec.communicate(timeout=BOUND + 30)
    except subprocess.TimeoutExpired:
        rec.kill()
        raise Fail("record -a still running: it blocked on the FIFO")
    secs = time.monotonic() - t0
    print(f"record took {secs:.2f} s")
    if rec.returncode != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here")
    check(rec.returncode == 0, f"record -a exited {rec.returncode}:\n{err}")
    check(secs < BOUND, f"record -a -d {DURATION + 3} took {secs:.1f} s")
    # Other processes' names may be any bytes: only the workload's lines matter here.
    stacks = {}
    with open(out, encoding="utf-8", errors="surrogateescape") as f:
        for n, line in enumerate(f, 1):
            m = re.match(r"^(.*) (\d+)$", line.rstrip("\n"))
            check(m, f"{out}:{n}: not a folded line: {line!r}")
            stacks[m.group(1)] = int(m.group(2))
    mine = {s: c for s, c in stacks.items() if s.startswith("spin;")}
    total = sum(mine.values())
    print(f"spin: {total} samples; top " + repr(sorted(mine.items(), key=lambda kv: -kv[1])[:2]))
    check(total > 50, f"too few samples of the workload: {total}")
    check(any("[spin]" in s.split(";") for s in mine), "the FIFO'd binary's frames are not [spin]")
    skipped(err, r"\d+ files? not read: not a regular file")


if __name__ == "__main__":
    sys.exit(tr.run_case(globals(), prefix="pmuprof-sec-"))
