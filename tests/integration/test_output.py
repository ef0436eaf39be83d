#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Outputs, signals and untrusted input (docs/security.md): what pmuprof writes, where,
what a launched command inherits, how a record ends, and names that are not UTF-8.

Usage: test_output.py CASE   (meson runs one process per case)
Exit 0 pass, 1 fail, 77 skip (with the reason on stderr).
"""
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

from testlib import PMUPROF, DEMO, Fail, Skip, check, need_root, run_case

FOLDED_LINE = re.compile(r"^(.+) (\d+)$")


def run(args, timeout=60, **kw):
    p = subprocess.run([PMUPROF] + args, capture_output=True, timeout=timeout, **kw)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def record_ok(args, timeout=60, **kw):
    need_root()
    rc, out, err = run(["record"] + args, timeout=timeout, **kw)
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(rc == 0, f"pmuprof record {' '.join(args)} exited {rc}:\n{err}")
    return out, err


def folded_lines(data, what):
    text = data.decode() if isinstance(data, bytes) else data
    lines = text.splitlines()
    check(lines, f"{what}: no folded lines")
    for line in lines:
        check(FOLDED_LINE.match(line), f"{what}: not a folded line: {line!r}")
    return lines


def need_xmllint():
    if not shutil.which("xmllint"):
        raise Skip("xmllint (libxml2-utils) is not installed")


def xmllint(path):
    p = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
    check(p.returncode == 0, f"{path} is not well-formed XML:\n{p.stderr[:2000]}")


def case_stdout(tmp):
    """-o -: the folded stacks and nothing else on stdout (the command's own goes to stderr)."""
    out, err = record_ok(["-o", "-", "--", DEMO, "1"])
    lines = folded_lines(out, "stdout")
    check(any(l.startswith("pmuprof-demo;") for l in lines), f"no demo stack on stdout:\n{out!r}")
    check("rounds" in err, f"the demo's own output should be on stderr:\n{err}")
    check(not os.path.exists("-"), "a file named '-' was created")


def case_dev_null(tmp):
    """-o /dev/null is written to, not replaced: in a private mount namespace, over a fresh
    character device bind-mounted on /dev/null."""
    need_root()
    if not shutil.which("unshare"):
        raise Skip("unshare (util-linux) is not installed")
    script = (
        'set -e; mount -t tmpfs none "$1"; mknod "$1/null" c 1 3; chmod 666 "$1/null"; '
        'mount --bind "$1/null" /dev/null; '
        '"$2" record -q -o /dev/null -- "$3" 0.5 >&2; '
        '"$2" record -q -o "$1/null" -- "$3" 0.5 >&2; '
        'stat -c %F /dev/null; stat -c %F "$1/null"; ls -a /dev | grep -c "^\\.null" || true'
    )
    mnt = os.path.join(tmp, "mnt")
    os.mkdir(mnt)
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                        mnt, PMUPROF, DEMO], capture_output=True, text=True, timeout=60)
    if p.returncode != 0 and ("not permitted" in p.stderr or "unshare failed" in p.stderr):
        raise Skip("no private mount namespace here: " + p.stderr.strip())
    check(p.returncode == 0, f"record -o /dev/null exited {p.returncode}:\n{p.stderr}")
    kinds = p.stdout.split("\n")
    check(kinds[0] == "character special file" and kinds[1] == "character special file",
          f"/dev/null is no longer a character device: {p.stdout!r}")
    check(kinds[2] == "0", f"a temporary was left in /dev: {p.stdout!r}")
    check(stat.S_ISCHR(os.stat("/dev/null").st_mode), "the real /dev/null changed")


def case_output_dir(tmp):
    """-o DIR is refused before anything runs: one line, exit 2, in under a second."""
    t0 = time.monotonic()
    rc, out, err = run(["record", "-d", "5", "-o", tmp])
    took = time.monotonic() - t0
    check(rc == 2, f"-o DIR: exit {rc}, expected 2:\n{err}")
    check(took < 1.0, f"-o DIR took {took:.2f} s to be refused (recorded first?)")
    lines = err.strip().splitlines()
    check(len(lines) == 1 and tmp in lines[0] and "directory" in lines[0],
          f"-o DIR: expected one line naming the directory:\n{err}")
    check(not os.listdir(tmp), f"-o DIR left files: {os.listdir(tmp)}")
    # A path in a directory that does not exist, and a file in a read-only place.
    rc, _, err = run(["record", "-d", "5", "-o", os.path.join(tmp, "no", "x.folded")])
    check(rc == 2 and len(err.strip().splitlines()) == 1 and "No such file" in err,
          f"-o in a missing directory: {rc} {err}")
    rc, _, err = run(["record", "-d", "5", "-o", "/proc/x.folded"])
    check(rc == 2 and len(err.strip().splitlines()) == 1, f"-o /proc/x.folded: {rc} {err}")


def case_fifo(tmp):
    """An existing FIFO is written to (and stays a FIFO); the reader gets the whole output."""
    need_root()
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    got = {}

    def reader():
        with open(fifo, "rb") as f:
            got["data"] = f.read()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    record_ok(["-q", "-o", fifo, "--", DEMO, "0.5"])
    t.join(10)
    check("data" in got, "the FIFO reader got nothing (EOF never came)")
    lines = folded_lines(got["data"], "FIFO")
    check(any(l.startswith("pmuprof-demo;") for l in lines), "no demo stack through the FIFO")
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")
    check(os.listdir(tmp) == ["fifo"], f"files left: {os.listdir(tmp)}")


def fd_targets(listing):
    """fd number -> target from `ls -l /proc/self/fd`."""
    fds = {}
    for line in listing.splitlines():
        m = re.search(r" (\d+) -> (.*)$", line)
        if m:
            fds[int(m.group(1))] = m.group(2)
    return fds


def case_child_fds(tmp):
    """The launched command inherits no descriptor pmuprof opened (outputs, perf, BPF,
    pipes), in every output format; what pmuprof's caller passed on still reaches it."""
    need_root()
    passed = os.open(os.path.join(tmp, "passed"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for out in ["out.folded", "out.svg", "out.pb.gz"]:
            listing = os.path.join(tmp, "fds-" + out)
            record_ok(["-q", "-o", os.path.join(tmp, out), "--", "sh", "-c",
                       f'"{DEMO}" 0.2 >/dev/null 2>&1; ls -l /proc/self/fd > "{listing}"'],
                      pass_fds=(passed,))
            with open(listing) as f:
                text = f.read()
            fds = fd_targets(text)
            check(0 in fds and 1 in fds and 2 in fds, f"{out}: no 0, 1, 2?\n{text}")
            # ls's own: the redirection (fd 1 here) and its /proc/self/fd directory
            extra = {n: t for n, t in fds.items()
                     if n > 2 and n != passed and not re.match(r"/proc/\d+/fd$", t)}
            check(not extra, f"{out}: the command inherited pmuprof's descriptors: {extra}\n{text}")
            check(fds.get(passed, "").endswith("/passed"),
                  f"{out}: the caller's descriptor {passed} did not reach the command:\n{text}")
    finally:
        os.close(passed)


def case_term_ignoring_child(tmp):
    """-d 2 with a command that ignores SIGTERM: SIGKILL after the grace, the record ends
    in under 8 s with a whole output."""
    out = os.path.join(tmp, "out.folded")
    t0 = time.monotonic()
    record_ok(["-q", "-d", "2", "-o", out, "--", "sh", "-c", "trap '' TERM; while :; do :; done"],
              timeout=60)
    took = time.monotonic() - t0
    check(took < 8, f"record -d 2 of a SIGTERM-ignoring command took {took:.1f} s")
    with open(out, "rb") as f:
        lines = folded_lines(f.read(), out)
    check(any(l.startswith("sh;") for l in lines), f"no stack of the command in {out}")


def case_sigkill_leaves_nothing(tmp):
    """SIGKILL of pmuprof mid-record leaves no output and no temporary file."""
    need_root()
    out = os.path.join(tmp, "out.svg")
    p = subprocess.Popen([PMUPROF, "record", "-q", "-o", out, "--", DEMO, "10"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    time.sleep(1.5)
    check(p.poll() is None, f"record ended early, exit {p.returncode}")
    os.killpg(p.pid, signal.SIGKILL)
    p.wait(10)
    left = os.listdir(tmp)
    check(not left, f"SIGKILL mid-record left files: {left}")
    # A completed record of the same path leaves just the output.
    record_ok(["-q", "-o", out, "--", DEMO, "0.3"])
    check(os.listdir(tmp) == ["out.svg"], f"files after a record: {os.listdir(tmp)}")


def case_svg_utf8_comm(tmp):
    """A command whose 16-byte comm cuts a multi-byte character: the SVG is well-formed."""
    need_root()
    need_xmllint()
    name = "abcdefghijklmn\u00e9-demo"  # 14 ASCII bytes, then a 2-byte character
    check(len(name[:15].encode()) == 16, "the name must put é across the 15-byte comm limit")
    exe = os.path.join(tmp, name)
    shutil.copy(DEMO, exe)
    svg = os.path.join(tmp, "out.svg")
    folded = os.path.join(tmp, "out.folded")
    record_ok(["-q", "-o", svg, "--", exe, "1"])
    record_ok(["-q", "-o", folded, "--", exe, "0.5"])
    with open(folded, "rb") as f:
        raw = f.read()
    check(b"abcdefghijklmn\xc3;" in raw, f"the comm should end in a cut character: {raw[:200]!r}")
    xmllint(svg)
    with open(svg, "rb") as f:
        data = f.read()
    data.decode("utf-8")  # raises on invalid UTF-8
    check("abcdefghijklmn\ufffd".encode() in data, "the cut character is not U+FFFD in the SVG")


def case_flamegraph_invalid_utf8(tmp):
    """pmuprof flamegraph on folded input with bytes that are not UTF-8: well-formed XML."""
    need_xmllint()
    src = os.path.join(tmp, "bad.folded")
    with open(src, "wb") as f:
        f.write(b"prog\xff;main\xc3;\xed\xa0\x80x;f\xef\xbf\xbe 5\n"
                b"prog\xff;main\xc3;ok\xc3\xa9 3\n\xe2\x82;a;b 1\n")
    p = subprocess.run([PMUPROF, "flamegraph", "--title", "t\xe9st", src], capture_output=True,
                       timeout=60)
    check(p.returncode == 0, f"flamegraph exited {p.returncode}: {p.stderr!r}")
    svg = os.path.join(tmp, "bad.svg")
    with open(svg, "wb") as f:
        f.write(p.stdout)
    xmllint(svg)
    text = p.stdout.decode("utf-8")
    check('data-n="prog\ufffd"' in text and 'data-n="ok\u00e9"' in text,
          "names not replaced (or valid ones damaged)")


def case_diff_striphex(tmp):
    """diff -s with short hex frames (they grow into 0x...): no overflow, the right lines."""
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    with open(a, "w") as f:
        f.write("main;0x1 5\n")
        f.write("big;" + ";".join("0x%x" % (i % 16) for i in range(20000)) + " 1\n")
    with open(b, "w") as f:
        f.write("main;0x2 7\n")
    rc, out, err = run(["diff", "-s", a, b])
    check(rc == 0, f"diff -s exited {rc}:\n{err[-2000:]}")
    lines = out.decode().splitlines()
    check(lines[1] == "main;0x... 5 7", f"diff -s: {lines[1]!r}")
    check(lines[0] == "big;" + ";".join(["0x..."] * 20000) + " 1 0", "the long stack is wrong")


def jit_with_fifo_map(private_tmp):
    """pmuprof-jit running, its perf map replaced by a FIFO: naming its frames blocks (or,
    where hostile maps are skipped, does not). With private_tmp the process has its own
    /tmp (a mount namespace): only the map seen through /proc/PID/root is a FIFO. The JIT
    is run through a directory fd opened before the mount: the build may be under /tmp."""
    need_root()
    jit = os.environ.get("PMUPROF_JIT", "build/pmuprof-jit")
    if os.uname().machine != "x86_64" or not os.path.exists(jit):
        raise Skip("pmuprof-jit runs on x86-64 only")
    if private_tmp:
        if not shutil.which("unshare"):
            raise Skip("unshare (util-linux) is not installed")
        p = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c",
                              'exec 3<"$(dirname "$0")" && mount -t tmpfs none /tmp && '
                              'exec /proc/self/fd/3/"$(basename "$0")" 30', jit],
                             stdout=subprocess.DEVNULL)
        path = f"/proc/{p.pid}/root/tmp/perf-{p.pid}.map"
    else:
        p = subprocess.Popen([jit, "30"], stdout=subprocess.DEVNULL)
        path = f"/tmp/perf-{p.pid}.map"
    for _ in range(100):
        if os.path.exists(path) and os.path.getsize(path) > 0:
            break
        time.sleep(0.05)
    else:
        p.kill()
        raise Skip(f"pmuprof-jit wrote no {path}")
    os.unlink(path)
    os.mkfifo(path)
    return p, path


def record_then_signal(tmp, sigs, private_tmp=False, budget=None):
    """record -p JIT -d 1 into out.folded; sigs sent at 4 s. The finish is made slow
    (a FIFO perf map, which pmuprof skips, and the PMUPROF_TEST_SLOW_FINISH_MS knob).
    Returns (rc, stderr, seconds from the first signal to the end, or None if it ended
    before)."""
    jit, fifo = jit_with_fifo_map(private_tmp)
    out = os.path.join(tmp, "out.folded")
    env = dict(os.environ, PMUPROF_TEST_SLOW_FINISH_MS="8000")
    extra = ["--finish-budget", str(budget)] if budget else []
    try:
        # Frame pointers: the record must be in its finish when the signals come, and a
        # per-task record with CFI tables first waits for them (seconds on a busy machine).
        p = subprocess.Popen([PMUPROF, "record", "-q", "--call-graph=fp", "-F", "999", "-p",
                              str(jit.pid), "-d", "1", "-o", out] + extra, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # In the 8 s slow finish: a record of -d 1 ends its recording by about 2.7 s on a
        # busy machine (the drains open the DWARF of the process's libraries).
        time.sleep(4)
        sent = None
        if p.poll() is None:
            sent = time.monotonic()
            for sig in sigs:
                p.send_signal(sig)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail(f"record did not end 20 s after {sigs}")
        took = time.monotonic() - sent if sent else None
        return p.returncode, err.decode(errors="replace"), took, out
    finally:
        if not private_tmp:
            os.unlink(fifo)
        jit.kill()
        jit.wait()


def case_finish_signal(tmp):
    """A finish stuck naming frames (a FIFO perf map): after SIGTERM the record ends within
    seconds, with the output whole (cut short) or absent (still stuck 2 s later)."""
    rc, err, took, out = record_then_signal(tmp, [signal.SIGTERM])
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    if took is not None:
        check(took < 4, f"the record took {took:.1f} s to end after SIGTERM")
        if rc != 0:
            check(rc == 128 + signal.SIGTERM and "aborted" in err, f"exit {rc}:\n{err}")
            check(not os.listdir(tmp), f"an aborted record left files: {os.listdir(tmp)}")
            return
        check("while finishing" in err, f"no word of the finish cut short:\n{err}")
    check(rc == 0, f"exit {rc}:\n{err}")
    with open(out, "rb") as f:
        lines = folded_lines(f.read(), out)
    check(any(l.startswith("pmuprof-jit;") for l in lines), f"no pmuprof-jit stack:\n{lines}")
    check(os.listdir(tmp) == ["out.folded"], f"files: {os.listdir(tmp)}")


def case_finish_cut_short(tmp):
    """A finish blocked once (the process's own /tmp holds a FIFO perf map): SIGTERM
    interrupts it, the rest is named without symbols, the output is whole."""
    rc, err, took, out = record_then_signal(tmp, [signal.SIGTERM], private_tmp=True)
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(rc == 0, f"exit {rc}:\n{err}")
    if took is not None:
        check(took < 2, f"the record took {took:.1f} s to end after SIGTERM")
        check("while finishing" in err, f"no word of the finish cut short:\n{err}")
    with open(out, "rb") as f:
        lines = folded_lines(f.read(), out)
    check(any(l.startswith("pmuprof-jit;") for l in lines), f"no pmuprof-jit stack:\n{lines}")
    check(os.listdir(tmp) == ["out.folded"], f"files: {os.listdir(tmp)}")


def case_finish_second_signal(tmp):
    """A second signal during the finish aborts: no output, nothing left behind."""
    rc, err, took, out = record_then_signal(tmp, [signal.SIGTERM, signal.SIGINT])
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(took is not None, "the finish was over before the signals")
    # The status is the aborting signal's: SIGINT, or SIGTERM when both were pending at
    # once (the kernel delivers the lower number, SIGINT, first: it cut the finish short).
    check(rc in (128 + signal.SIGINT, 128 + signal.SIGTERM),
          f"exit {rc}, expected {128 + signal.SIGINT} or {128 + signal.SIGTERM}:\n{err}")
    check(took < 3, f"the record took {took:.1f} s to abort")
    check("aborted" in err, f"no word of the abort:\n{err}")
    check(not os.listdir(tmp), f"an aborted record left files: {os.listdir(tmp)}")


def case_finish_budget_expires(tmp):
    """A finish slower than --finish-budget is cut short when the budget is spent: the
    output is whole, the user frames left are unnamed, and the summary says so."""
    rc, err, took, out = record_then_signal(tmp, [], budget=1)
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF or perf events here: " + err.strip())
    check(rc == 0, f"exit {rc}:\n{err}")
    check("took over 1 s (--finish-budget)" in err, f"no word of the budget:\n{err}")
    with open(out, "rb") as f:
        lines = folded_lines(f.read(), out)
    check(any(l.startswith("pmuprof-jit;") for l in lines), f"no pmuprof-jit stack:\n{lines}")
    check(os.listdir(tmp) == ["out.folded"], f"files: {os.listdir(tmp)}")


def case_finish_budget_option(tmp):
    """--finish-budget takes whole seconds (0: none); anything else is refused at once."""
    for bad in ["-1", "x", "1.5", "100000"]:
        rc, _, err = run(["record", "--finish-budget", bad, "-d", "1"])
        check(rc == 2 and "--finish-budget" in err and len(err.strip().splitlines()) == 1,
              f"--finish-budget {bad}: {rc} {err}")


if __name__ == "__main__":
    sys.exit(run_case(globals()))
