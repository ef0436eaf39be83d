#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Names of frames on Debian's own programs and on fixtures (docs/symbolize.md): public
names, one frame per unnamed module, debuginfod, inline frames and source lines.

Usage: test_symbols.py CASE   (meson runs one process per case)
"""
import collections
import http.server
import os
import pty
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_record as tr  # noqa: E402  (the helpers of the record tests)
from test_record import check, Skip  # noqa: E402
from testlib import without_library  # noqa: E402

MALLOC = os.environ.get("PMUPROF_FIXTURE_MALLOC", "build/tests/fixture-malloc")
INLINE = os.environ.get("PMUPROF_FIXTURE_INLINE", "build/tests/fixture-inline")
BENCH = os.environ.get("PMUPROF_SYMBOLIZE_BENCH", "build/bench/pmuprof-symbolize-bench")
GZIP = "/usr/bin/gzip"


def record(tmp, cmd, extra=(), name="out.folded", **kw):
    """Record a launched command. Its frames were now and then all [unknown]: a read of
    its /proc entry once it had exited, a zombie not yet waited for, made an empty
    generation that shadowed its mappings (maps::zombie_read_keeps_the_dead_generation).
    Such a record is still made again, once, and said so."""
    out = os.path.join(tmp, name)
    comm = os.path.basename(cmd[0])[:15]
    for attempt in (1, 2):
        _, err = tr.record_ok(["record", "-F", "499", "-o", out] + list(extra) + ["--"] + cmd,
                              **kw)
        stacks = tr.parse_folded(out)
        mine = [s.split(";")[1:] for s in stacks if s.startswith(comm + ";")]
        lost = mine and all(f in ("[unknown]", "[truncated]") for fs in mine for f in fs
                            if not f.endswith("_[k]"))
        if not lost or attempt == 2:
            return stacks, err
        print(f"{comm}: every user frame [unknown]: the command's mappings were missed; again")


def user_leaves(stacks, comm):
    """The innermost user frame of each stack of comm (kernel frames end in _[k])."""
    leaves = collections.Counter()
    for s, n in stacks.items():
        frames = s.split(";")
        if frames[0] != comm:
            continue
        user = [f for f in frames[1:] if not f.endswith("_[k]")]
        if user:
            leaves[user[-1]] += n
    return leaves


def case_malloc_public_names(tmp):
    """glibc's allocator frames are named malloc/free (or _int_malloc/_int_free inside
    them), never by a __GI_ alias."""
    stacks, err = record(tmp, [MALLOC, "3"], extra=["-U"])
    leaves = user_leaves(stacks, os.path.basename(MALLOC)[:15])
    total = sum(leaves.values())
    check(total >= 150, f"only {total} samples of the fixture:\n{err}")
    print("top leaves:", leaves.most_common(8))
    names = [f for s in stacks for f in s.split(";")]
    check(not [f for f in names if f.startswith("__GI_")],
          "__GI_ names: " + repr(sorted({f for f in names if f.startswith("__GI_")})))
    alloc = sum(n for f, n in leaves.items()
                if f in ("malloc", "free", "_int_malloc", "_int_free", "malloc_consolidate",
                         "unlink_chunk", "_int_free_merge_chunk", "_int_free_create_chunk",
                         "_int_free_maybe_consolidate", "tcache_get", "tcache_put"))
    check(leaves["malloc"] + leaves["_int_malloc"] > 0, "no malloc or _int_malloc leaf")
    check(leaves["free"] + leaves["_int_free"] > 0, "no free or _int_free leaf")
    check(alloc >= 0.5 * total, f"allocator leaves {alloc}/{total}")


def gzip_record(tmp, extra):
    data = os.path.join(tmp, "random.bin")
    if not os.path.exists(data):
        with open(data, "wb") as f:
            f.write(os.urandom(24 << 20))
    stacks, err = record(tmp, [GZIP, "-f", "-k", data], extra=["-U"] + extra)
    return {s: n for s, n in stacks.items() if s.startswith("gzip;")}, err


def case_gzip_module_frames(tmp):
    """gzip (stripped, no debug file): its unnamed frames are one [gzip] frame; with
    --module-offsets they are [gzip+0x...] again."""
    if not os.path.exists(GZIP):
        raise Skip(GZIP + " is not installed")
    mine, err = gzip_record(tmp, [])
    total = sum(mine.values())
    check(total >= 100, f"only {total} gzip samples:\n{err}")
    frames = collections.Counter(f for s, n in mine.items() for f in s.split(";"))
    offsets = [f for f in frames if re.fullmatch(r"\[gzip\+0x[0-9a-f]+\]", f)]
    check(not offsets, "[gzip+0x..] frames by default: " + repr(offsets[:5]))
    in_gzip = sum(n for s, n in mine.items() if "[gzip]" in s.split(";"))
    print(f"default: {len(mine)} stacks, {in_gzip}/{total} samples in [gzip]")
    check(in_gzip >= 0.5 * total, f"[gzip] in only {in_gzip}/{total} samples")
    mine, err = gzip_record(tmp, ["--module-offsets"])
    frames = collections.Counter(f for s, n in mine.items() for f in s.split(";"))
    offsets = [f for f in frames if re.fullmatch(r"\[gzip\+0x[0-9a-f]+\]", f)]
    print(f"--module-offsets: {len(mine)} stacks, {len(offsets)} distinct [gzip+0x..] frames")
    check(len(offsets) >= 2, "--module-offsets gives no [gzip+0x..] frames")
    check("[gzip]" not in frames, "[gzip] with --module-offsets")


def stripped_fixture(tmp):
    """The inline fixture stripped to its build id (prog), its debug file under srv/."""
    srv, prog = os.path.join(tmp, "srv"), os.path.join(tmp, "prog")
    os.makedirs(srv, exist_ok=True)
    subprocess.run(["objcopy", "--only-keep-debug", INLINE, os.path.join(srv, "prog.debug")],
                   check=True)
    subprocess.run(["strip", "--strip-all", "-o", prog, INLINE], check=True)
    note = subprocess.run(["readelf", "-n", prog], capture_output=True, text=True).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", note)
    check(m, "the stripped fixture has no build id")
    syms = subprocess.run(["nm", prog], capture_output=True, text=True)
    check("work" not in syms.stdout, "the fixture still has symbols")
    return srv, prog, m.group(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_debuginfod(tmp, srv, build_id):
    """Debian's debuginfod on a loopback port, serving srv; ready once it serves the id."""
    exe = shutil.which("debuginfod")
    check(exe, "debuginfod is not installed (scripts/install-deps.sh)")
    port = free_port()
    proc = subprocess.Popen([exe, "-F", srv, "-p", str(port), "-d",
                             os.path.join(tmp, "index.sqlite"), "-t", "1"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "d.log"), "w"))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/buildid/{build_id}/debuginfo", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            pass
        check(proc.poll() is None, "debuginfod exited: " + open(os.path.join(tmp, "d.log")).read())
        check(time.monotonic() < deadline, "debuginfod did not serve the debug file in 60 s")
        time.sleep(0.3)


def prog_record(tmp, prog, env, extra=()):
    os.environ.update(env)
    t0 = time.monotonic()
    stacks, err = record(tmp, [prog, "2"], extra=["-U"] + list(extra), timeout=120)
    return stacks, err, time.monotonic() - t0


def named_share(stacks):
    mine = {s: n for s, n in stacks.items() if s.startswith("prog;")}
    total = sum(mine.values())
    check(total >= 100, f"only {total} samples of the fixture")
    return sum(n for s, n in mine.items() if "work" in s.split(";")) / total


def case_debuginfod_server(tmp):
    """A stripped binary with only a build id is named from a local debuginfod server;
    the second record takes the file from the cache; --no-debuginfod asks nothing."""
    srv, prog, build_id = stripped_fixture(tmp)
    proc, url = start_debuginfod(tmp, srv, build_id)
    env = {"DEBUGINFOD_URLS": url, "DEBUGINFOD_CACHE_PATH": os.path.join(tmp, "cache")}
    try:
        stacks, err, _ = prog_record(tmp, prog, env)
        line = tr.summary_value(err, "debuginfod")
        print("first:", line, f"named {named_share(stacks):.2f}")
        check(line.startswith("1 fetched, 0 from the cache, 0 missing"), line)
        check(named_share(stacks) >= 0.9, "the fixture's frames are not named:\n"
              + repr(sorted(stacks.items(), key=lambda kv: -kv[1])[:3]))
        stacks, err, _ = prog_record(tmp, prog, env)
        line = tr.summary_value(err, "debuginfod")
        print("second:", line)
        check(line.startswith("0 fetched, 1 from the cache, 0 missing"), line)
        check(named_share(stacks) >= 0.9, "not named from the cache")
        stacks, err, _ = prog_record(tmp, prog, env, ["--no-debuginfod"])
        check("debuginfod:" not in err, "--no-debuginfod still asked:\n" + err)
        check(named_share(stacks) == 0, "named without debuginfod")
        check(any("[prog]" in s.split(";") for s in stacks), "no [prog] frame")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def silent_server():
    """A server that accepts connections and never answers: a hung debuginfod."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    conns = []

    def accept():
        while True:
            try:
                conns.append(srv.accept()[0])
            except OSError:
                return
    threading.Thread(target=accept, daemon=True).start()
    return srv, conns


def case_debuginfod_dead(tmp):
    """A server that never answers costs at most the budget; one that refuses, nothing:
    the record succeeds and the frames stay [prog]."""
    srv_dir, prog, _ = stripped_fixture(tmp)
    srv, conns = silent_server()
    refused = free_port()
    env = {"DEBUGINFOD_URLS": f"http://127.0.0.1:{srv.getsockname()[1]}",
           "DEBUGINFOD_CACHE_PATH": os.path.join(tmp, "cache")}
    try:
        _, _, base = prog_record(tmp, prog, {"DEBUGINFOD_URLS": ""})
        stacks, err, secs = prog_record(tmp, prog, env, ["--debuginfod-budget", "3"])
        line = tr.summary_value(err, "debuginfod")
        print(f"silent server: {secs:.1f} s (without: {base:.1f} s): {line}")
        check(conns, "the silent server was never asked")
        check("time budget was spent" in line, line)
        check(secs <= base + 3 + 3, f"the record took {secs:.1f} s, budget 3 s")
        check(any("[prog]" in s.split(";") for s in stacks), "no [prog] frame")
        env["DEBUGINFOD_URLS"] = f"http://127.0.0.1:{refused}"
        stacks, err, secs = prog_record(tmp, prog, env)
        line = tr.summary_value(err, "debuginfod")
        print(f"refused: {secs:.1f} s: {line}")
        check(line.startswith("0 fetched, 0 from the cache, 1 missing"), line)
        check(secs <= base + 3, f"the record took {secs:.1f} s against a closed port")
    finally:
        srv.close()


def case_debuginfod_no_library(tmp):
    """libdebuginfod is loaded at the first query: without it (a mount namespace puts
    /dev/null in its place) the record still succeeds, its frames stay [prog], and the
    summary names the library and its Debian package."""
    wrapper = without_library("libdebuginfod.so.1", tmp)
    _, prog, _ = stripped_fixture(tmp)
    env = {"DEBUGINFOD_URLS": f"http://127.0.0.1:{free_port()}",
           "DEBUGINFOD_CACHE_PATH": os.path.join(tmp, "cache")}
    real, tr.PMUPROF = tr.PMUPROF, wrapper
    try:
        stacks, err, _ = prog_record(tmp, prog, env)
    finally:
        tr.PMUPROF = real
    line = tr.summary_value(err, "debuginfod")
    print(line)
    check(re.match(r"1 debug files not asked: libdebuginfod\.so\.1 is needed: install the "
                   r"Debian package libdebuginfod1 \(", line), line)
    check(any("[prog]" in s.split(";") for s in stacks), "no [prog] frame")


def slow_server(debug_file, seconds):
    """A debuginfod stand-in that sends debug_file (for any build id) over about
    seconds: a slow server, as a user waits for a large debug file."""
    data = open(debug_file, "rb").read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if not self.path.endswith("/debuginfo"):
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            chunks = 40
            step = (len(data) + chunks - 1) // chunks
            try:
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    time.sleep(seconds / chunks)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def record_on_tty(args, env, timeout=120):
    """pmuprof with a terminal as stdin, stdout and stderr: (status, what it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(env)
        try:
            os.execv(tr.PMUPROF, [tr.PMUPROF] + args)
        finally:
            os._exit(127)
    out, deadline = b"", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side closed
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def case_debuginfod_progress(tmp):
    """A transfer that takes seconds shows its progress on a terminal (build id, KiB),
    cleared before the summary; with stderr not a terminal nothing but the summary."""
    tr.need_root()
    srv_dir, prog, build_id = stripped_fixture(tmp)
    srv = slow_server(os.path.join(srv_dir, "prog.debug"), 4)
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    try:
        env = {"DEBUGINFOD_URLS": url, "DEBUGINFOD_CACHE_PATH": os.path.join(tmp, "cache1")}
        out = os.path.join(tmp, "tty.folded")
        rc, text = record_on_tty(["record", "-U", "-F", "499", "-o", out, "--", prog, "1"],
                                 env)
        print("on a terminal:", repr(text[-600:]))
        if rc != 0 and "not permitted" in text:
            raise Skip("the kernel refuses BPF or perf events here")
        check(rc == 0, f"record on a terminal exited {rc}:\n{text}")
        shown = re.findall(r"\rpmuprof: debuginfod: ([0-9a-f]{12})…: (\d+) KiB", text)
        check(shown, "no progress shown on a terminal:\n" + text)
        check(all(b == build_id[:12] for b, _ in shown), f"progress of {shown}")
        check("\r\x1b[K" in text, "the progress line is not cleared")
        plain = re.sub(r"\x1b\[K", "", text.replace("\r", "\n"))
        line = tr.summary_value(plain, "debuginfod")
        check(line.startswith("1 fetched"), line)
        env["DEBUGINFOD_CACHE_PATH"] = os.path.join(tmp, "cache2")
        os.environ.update(env)
        _, err = tr.record_ok(["record", "-U", "-F", "499", "-o", out, "--", prog, "1"],
                              timeout=120)
        check("KiB" not in err and "\r" not in err and "\x1b" not in err,
              "progress written to a stderr that is not a terminal:\n" + err)
        line = tr.summary_value(err, "debuginfod")
        print("not a terminal:", line)
        check(line.startswith("1 fetched"), line)
    finally:
        srv.shutdown()


def work_shares(stacks):
    """Samples in work(), and of those with hot_inline as the next frame."""
    mine = {s: n for s, n in stacks.items() if s.startswith("fixture-inline;")}
    total = sum(mine.values())
    work = sum(n for s, n in mine.items() if "work" in s.split(";"))
    inl = sum(n for s, n in mine.items() if ";work;hot_inline" in s + ";")
    return total, work, inl


def case_inline_frames(tmp):
    """hot_inline() is always inlined into work() and takes about 3/4 of its time: it is
    a frame under work with that share; --no-inline removes it."""
    stacks, err = record(tmp, [INLINE, "4"], extra=["-U"])
    total, work, inl = work_shares(stacks)
    print(f"inline: {total} samples, work {work}, work;hot_inline {inl}")
    # A shared machine gives the fixture what it can: shares, from 150 samples on.
    check(work >= 150 and work >= 0.9 * total, f"work in {work}/{total} samples:\n{err}")
    check(0.6 * work <= inl <= 0.9 * work, f"hot_inline in {inl}/{work} of work's samples")
    check(not [s for s in stacks if re.search(r";hot_inline;work(;|$)", s)],
          "hot_inline above work")
    stacks, err = record(tmp, [INLINE, "2"], extra=["-U", "--no-inline"])
    total, work, inl = work_shares(stacks)
    print(f"--no-inline: {total} samples, work {work}, hot_inline frames "
          f"{sum(n for s, n in stacks.items() if 'hot_inline' in s)}")
    check(work >= 0.9 * total, f"work in {work}/{total} samples with --no-inline")
    check(not any("hot_inline" in s for s in stacks), "hot_inline with --no-inline")


def case_lines_addr2line(tmp):
    """Source lines and inline chains equal addr2line -i's, for every address of work()
    and main() in the inline fixture (-O2 -g); for the middle of every function of libc's
    debug file (libc6-dbg), addr2line's or eu-addr2line's where the two disagree: binutils takes
    some DWARF 5 line tables' file 0 for file 1 (strtol_l.c:300 in
    sysdeps/wordsize-64/strtol_l.c, a file of 20 lines) where libdw does not, and
    eu-addr2line prints a call site one line off now and then where binutils does not."""
    nm = subprocess.run(["nm", "-S", INLINE], capture_output=True, text=True, check=True).stdout
    addrs = []
    for line in nm.splitlines():
        f = line.split()
        if len(f) == 4 and f[3] in ("work", "main"):
            addrs += range(int(f[0], 16), int(f[0], 16) + int(f[1], 16))
    check(len(addrs) > 50, "no work/main in the fixture's symbols")
    compare(tmp, INLINE, addrs)
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    note = subprocess.run(["readelf", "-n", libc], capture_output=True, text=True).stdout
    bid = re.search(r"Build ID: ([0-9a-f]+)", note).group(1)
    dbg = f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"
    check(os.path.exists(dbg), dbg + " missing (libc6-dbg)")
    nm = subprocess.run(["nm", "-S", "--defined-only", dbg], capture_output=True, text=True).stdout
    funcs = [(int(f[0], 16), int(f[1], 16)) for f in (l.split() for l in nm.splitlines())
             if len(f) == 4 and f[2] in "tT" and int(f[1], 16) > 0]
    compare(tmp, dbg, [a + (s // 2) for a, s in funcs],
            tools=("addr2line", "eu-addr2line"))


def frames_by_address(text):
    """addr2line -a -f -i output: {address: [file:line of each frame, innermost first]}."""
    out, cur = {}, None
    text = re.sub(r" \(discriminator \d+\)", "", text)
    for line in text.splitlines():
        if re.fullmatch(r"0x[0-9a-f]+", line):
            cur = int(line, 16)
            out[cur] = []
        elif re.match(r"^(\?\?|/|\.).*:\d+(:\d+)?$", line) or line == "??:0":
            out[cur].append(re.sub(r"^(.*:\d+):\d+$", r"\1", line))  # eu's column
    return out


def tool_frames(tool, elf, path):
    with open(path) as fin:
        return frames_by_address(subprocess.run(
            [tool, "-a", "-f", "-i", "-e", elf], stdin=fin, capture_output=True, text=True,
            check=True).stdout)


def compare(tmp, elf, addrs, tools=("addr2line",)):
    """pmuprof's file:line of every frame (inlined ones included) at each address must be
    what one of tools prints for it."""
    path = os.path.join(tmp, "addrs")
    with open(path, "w") as f:
        f.write("".join("%x\n" % a for a in addrs))
    mine = frames_by_address(subprocess.run([BENCH, "-i", elf, path], capture_output=True,
                                            text=True, check=True).stdout)
    theirs = [tool_frames(t, elf, path) for t in tools]
    bad = [(hex(a), fr, [t.get(a) for t in theirs]) for a, fr in mine.items()
           if not any(t.get(a) == fr for t in theirs)]
    frames = sum(len(f) for f in mine.values())
    known = sum(1 for f in mine.values() for x in f if not x.startswith("??"))
    print(f"{os.path.basename(elf)}: {len(mine)} addresses, {frames} frames, {known} with a "
          f"line; {len(bad)} differ from {' and '.join(tools)}")
    check(len(mine) == len(set(addrs)), f"{elf}: {len(mine)} addresses answered")
    check(not bad, f"{elf}: {len(bad)} addresses differ, first: {bad[:2]}")
    check(known >= 0.5 * frames, f"{elf}: only {known} of {frames} frames with a line")


if __name__ == "__main__":
    sys.exit(tr.run_case(globals()))
