#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pmuprof flamegraph / diff / collapse on files: golden SVG, geometry, escaping,
differential colors, bad input. pprof read back by `go tool pprof` (root: records).

Usage: test_flamegraph.py CASE
"""
import os
import re
import shutil
import subprocess
import sys

from testlib import PMUPROF, DEMO, Skip, Fail, check, run_case

DATA = os.environ.get("PMUPROF_SVG_DATA", os.path.join(os.path.dirname(__file__), "..", "data",
                                                        "svg"))


def run(args, stdin=None, timeout=120):
    p = subprocess.run([PMUPROF] + args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def frames(svg):
    """name → (x, y, width, fill) for every frame of an SVG."""
    out = {}
    for m in re.finditer(r'<g data-d="(\d+)" data-n="([^"]*)"><title>[^<]*</title><rect '
                         r'x="([0-9.]+)" y="([0-9.]+)" width="([0-9.]+)" height="\d+" '
                         r'fill="rgb\((\d+),(\d+),(\d+)\)"', svg):
        out[m.group(2)] = (float(m.group(3)), float(m.group(4)), float(m.group(5)),
                           tuple(int(m.group(i)) for i in (6, 7, 8)), int(m.group(1)))
    return out


def well_formed(path):
    if not shutil.which("xmllint"):
        raise Skip("xmllint (libxml2-utils) is not installed")
    p = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True)
    check(p.returncode == 0, f"{path} is not well-formed XML: {p.stderr[:500]}")


def strip_version(svg):
    return re.sub(r"<!-- Flame graph by pmuprof [^>]*-->\n", "", svg)


def case_golden(tmp):
    rc, out, err = run(["flamegraph", "--title", "golden <test>", "--subtitle", "a & b",
                        os.path.join(DATA, "basic.folded")])
    check(rc == 0, f"exit {rc}: {err}")
    got = out.decode()
    want = open(os.path.join(DATA, "basic.svg")).read()
    if strip_version(got) != strip_version(want):
        open(os.path.join(tmp, "got.svg"), "w").write(got)
        diff = subprocess.run(["diff", os.path.join(DATA, "basic.svg"), os.path.join(tmp, "got.svg")],
                              capture_output=True, text=True).stdout
        raise Fail("SVG differs from tests/data/svg/basic.svg:\n" + diff[:2000])
    path = os.path.join(tmp, "basic.svg")
    open(path, "w").write(got)
    well_formed(path)


def case_geometry(tmp):
    rc, out, err = run(["flamegraph", os.path.join(DATA, "basic.folded")])
    svg = out.decode()
    f = frames(svg)
    full = 1200 - 20
    check(f["all"][2] == full, f"root width {f['all'][2]}")
    check(abs(f["work"][2] - full * 0.7) < 0.06, f"work: {f['work']}")
    check(abs(f["idle"][2] - full * 0.3) < 0.06, f"idle: {f['idle']}")
    # children sorted by name left to right; a child sits above its parent
    check(f["idle"][0] == 10.0 and abs(f["work"][0] - (10 + full * 0.3)) < 0.06, "x positions")
    check(f["work"][1] < f["main"][1] < f["prog"][1] < f["all"][1], "flame: leaves on top")
    check("leaf&lt;T&gt;&amp;&quot;q&apos;" in svg, "names are not escaped")
    # icicle: root at the top
    rc, out, _ = run(["flamegraph", "--inverted", "--width", "600", os.path.join(DATA, "basic.folded")])
    f = frames(out.decode())
    check(f["all"][1] < f["prog"][1] < f["work"][1], "icicle: root on top")
    check(f["all"][2] == 580, f"--width: root {f['all'][2]}")
    # minwidth in percent drops narrow frames
    rc, out, _ = run(["flamegraph", "--minwidth", "15%", os.path.join(DATA, "basic.folded")])
    check('data-n="leaf' not in out.decode(), "--minwidth 15% kept a 10% frame")
    # counts and names in the tooltip, countname
    rc, out, _ = run(["flamegraph", "--countname", "events", os.path.join(DATA, "basic.folded")])
    check("<title>work (70 events, 70.00%)</title>" in out.decode(), "tooltip text")


def case_differential(tmp):
    a = os.path.join(tmp, "a.folded")
    b = os.path.join(tmp, "b.folded")
    open(a, "w").write("p;main;grow 10\np;main;shrink 50\np;main;same 40\np;main;at 0x7f3a 5\n")
    open(b, "w").write("p;main;grow 60\np;main;shrink 10\np;main;same 40\np;main;at 0x9911 5\n")
    rc, out, err = run(["diff", a, b])
    check(rc == 0, err)
    lines = out.decode().splitlines()
    check("p;main;grow 10 60" in lines and "p;main;shrink 50 10" in lines, f"diff: {lines}")
    check("p;main;at 0x7f3a 5 0" in lines and "p;main;at 0x9911 0 5" in lines, "addresses kept")
    rc, out, _ = run(["diff", "-s", a, b])
    check("p;main;at 0x... 5 5" in out.decode().splitlines(), "-s does not strip addresses")
    # -n: the first profile scaled to the second's total (105 → 120), rounded down
    open(b, "w").write("p;main;grow 70\np;main;shrink 10\np;main;same 40\n")
    rc, out, _ = run(["diff", "-n", a, b])
    lines = out.decode().splitlines()
    check("p;main;grow 11 70" in lines and "p;main;shrink 57 10" in lines and
          "p;main;same 45 40" in lines, f"-n: {lines}")
    rc, out, _ = run(["flamegraph"], stdin=subprocess.run([PMUPROF, "diff", a, b],
                                                          capture_output=True).stdout)
    f = frames(out.decode())
    check(f["grow"][3][0] == 255 and f["grow"][3][2] < 255, f"grew is not red: {f['grow'][3]}")
    check(f["shrink"][3][2] == 255 and f["shrink"][3][0] < 255, f"shrank is not blue: {f['shrink']}")
    check(f["same"][3] == (255, 255, 255), f"unchanged is not white: {f['same'][3]}")


def case_bad_input(tmp):
    empty = os.path.join(tmp, "empty")
    open(empty, "w").close()
    rc, out, err = run(["flamegraph", empty])
    check(rc == 2 and "no stack counts" in err and not out, f"empty: {rc} {err}")
    rc, out, err = run(["flamegraph"], stdin=os.urandom(20000))
    check(rc in (0, 2) and "Traceback" not in err, f"garbage: {rc} {err[:200]}")
    rc, out, err = run(["flamegraph", os.path.join(tmp, "missing.folded")])
    check(rc == 2 and "missing.folded" in err and "No such file" in err, f"missing: {err}")
    rc, out, err = run(["flamegraph"], stdin=b"a;b\nc;d 5\nno count here\n")
    check(rc == 0 and "ignored 2 lines with invalid format" in err, f"no counts: {rc} {err}")
    rc, out, err = run(["flamegraph"], stdin=b"a;b 99999999999999999999999999999999\na;c 1\n")
    check(rc == 0 and b"<svg" in out, f"overflow: {rc} {err}")
    huge = ("a;b " + "9" * 400 + "\n" + "a;c " + "9" * 400 + "." + "9" * 50 + "\n").encode()
    rc, out, err = run(["flamegraph"], stdin=huge)
    check(rc == 0 and b"nan" not in out.lower() and b"<svg" in out, f"huge counts: {rc} {err}")
    deep = ";".join(f"f{i}" for i in range(100000)) + " 3\n"
    rc, out, err = run(["flamegraph"], stdin=deep.encode(), timeout=300)
    check(rc == 0 and out.count(b"<g data-d") == 100001, f"100,000 frames: {rc} {err[:200]}")
    rc, out, err = run(["flamegraph", "--colors", "plaid", empty])
    check(rc == 2 and "--colors plaid" in err, f"bad palette: {err}")
    rc, out, err = run(["flamegraph", "--width", "-3", empty])
    check(rc == 2 and "--width -3" in err, f"bad width: {err}")
    rc, out, err = run(["diff", empty, empty])
    check(rc == 2 and "no folded stacks" in err, f"diff empty: {err}")
    rc, out, err = run(["collapse", os.path.join(tmp, "missing.txt")])
    check(rc == 2 and "missing.txt" in err, f"collapse missing: {err}")
    rc, out, err = run(["collapse"], stdin=os.urandom(5000))
    check(rc in (0, 2) and len(err.splitlines()) <= 2, f"collapse garbage: {rc} {err}")


def case_pprof(tmp):
    if os.geteuid() != 0:
        raise Skip("needs root (records a profile)")
    if not shutil.which("go"):
        raise Skip("go (golang-go) is not installed")
    pb = os.path.join(tmp, "p.pb.gz")
    folded = os.path.join(tmp, "p.folded")
    for out in (pb, folded):
        rc, _, err = run(["record", "-e", "cpu-clock", "-F", "999", "-o", out, "--", DEMO, "2"])
        if rc != 0 and "not permitted" in err:
            raise Skip("the kernel refuses BPF here")
        check(rc == 0, f"record -o {out}: {err}")
    env = dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "gocache"))
    top = subprocess.run(["go", "tool", "pprof", "-top", pb], capture_output=True, text=True,
                         env=env, timeout=300)
    check(top.returncode == 0, f"go tool pprof -top: {top.stderr}")
    rows = [l.split() for l in top.stdout.splitlines() if re.match(r"^\s+[0-9.]+m?s\s", l)]
    names = [r[-1] for r in rows]
    print("pprof -top:", names[:4])
    check(names[:3] == ["hot_60", "hot_30", "hot_10"], f"hot functions in pprof: {names[:5]}")
    check("Type: cpu" in top.stdout, "sample type is not cpu for cpu-clock")
    check("pmuprof-demo" in top.stdout.split("Type:")[0], "main binary is not the command")
    traces = subprocess.run(["go", "tool", "pprof", "-traces", pb], capture_output=True,
                            text=True, env=env, timeout=300)
    check(re.search(r"hot_60\n\s+demo_loop\n\s+descend\n\s+main\n", traces.stdout),
          "pprof -traces lacks the hot_60 stack: " + traces.stdout[:800])
    raw = subprocess.run(["go", "tool", "pprof", "-raw", pb], capture_output=True, text=True,
                         env=env, timeout=300).stdout
    mappings = raw.split("Mappings", 1)[-1]
    demo = os.path.realpath(DEMO)
    check(re.search(r"^1: \S+ " + re.escape(demo) + r" [0-9a-f]{40} \[FN\]", mappings, re.M),
          "the command is not the first mapping with its build id: " + mappings[:400])
    check(re.search(r"libc\.so\.6 [0-9a-f]{40}", mappings), "libc mapping lacks its build id")
    # the same stacks as the folded output: hot_60's share agrees within 10 points (two
    # runs of the demo: under ASan at load 11 they gave 0.53 and 0.59; flamegraph-pprof-counts
    # checks exact counts on one record)
    stacks = {}
    for line in open(folded):
        st, n = line.rsplit(" ", 1)
        stacks[st] = int(n)
    share = sum(n for st, n in stacks.items() if st.endswith(";hot_60")) / sum(stacks.values())
    flat = [l for l in top.stdout.splitlines() if l.rstrip().endswith(" hot_60")][0]
    pshare = float(flat.split()[1].rstrip("%")) / 100
    check(abs(share - pshare) < 0.10, f"hot_60: folded {share:.2f}, pprof {pshare:.2f}")


INLINE = os.environ.get("PMUPROF_FIXTURE_INLINE", "build/tests/fixture-inline")
TWIN = os.environ.get("PMUPROF_TWIN", "build/pmuprof-twin")


def pprof_env(tmp):
    if os.geteuid() != 0:
        raise Skip("needs root (records a profile)")
    if not shutil.which("go"):
        raise Skip("go (golang-go) is not installed")
    return dict(os.environ, HOME=tmp, GOCACHE=os.path.join(tmp, "gocache"))


def record_pb(tmp, cmd, extra=()):
    """Record cmd into a pprof file; returns its path and the summary."""
    pb = os.path.join(tmp, "r.pb.gz")
    rc, _, err = run(["record", "-e", "cpu-clock", "-F", "999", *extra, "-o", pb, "--"] + cmd,
                     timeout=300)
    if rc != 0 and "not permitted" in err:
        raise Skip("the kernel refuses BPF here")
    check(rc == 0, f"record -o {pb}: {err}")
    return pb, err


def pprof(env, *args):
    p = subprocess.run(["go", "tool", "pprof", *args], capture_output=True, text=True,
                       env=env, timeout=300)
    check(p.returncode == 0, f"go tool pprof {' '.join(args)}: {p.stderr[-1500:]}")
    return p.stdout


def list_rows(out):
    """go tool pprof -list rows: line number → (flat, cum), counts as printed."""
    rows = {}
    for m in re.finditer(r"^\s+(\.|\d+)\s+(\.|\d+)\s+(\d+):", out, re.M):
        rows[int(m.group(3))] = tuple(0 if g == "." else int(g) for g in m.group(1, 2))
    return rows


def case_pprof_list(tmp):
    """-list on a -g fixture: the source lines with their sample counts; the inlined
    function's lines under its caller's call line; -lines names file:line."""
    env = pprof_env(tmp)
    pb, err = record_pb(tmp, [INLINE, "3"], ["-U"])
    src = open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "inlineprog.c")).read()
    call_line = src.splitlines().index("\tx = hot_inline(x);") + 1
    hot_line = [i + 1 for i, l in enumerate(src.splitlines()) if "/* the hot line */" in l][0]
    work = list_rows(pprof(env, "-sample_index=samples", "-list", "^work$", pb))
    inl = list_rows(pprof(env, "-sample_index=samples", "-list", "^hot_inline$", pb))
    total = sum(f for f, _ in work.values()) + sum(f for f, _ in inl.values())
    print(f"work: {work}\nhot_inline: {inl}")
    check(total >= 150, f"only {total} samples in work:\n{err}")
    # the call of the inlined function is work's hot line, with about 3/4 of its samples
    hottest = max(work, key=lambda n: work[n][1])
    check(hottest == call_line, f"work's hottest line is {hottest}, not {call_line}")
    check(0.6 * total <= work[call_line][1] <= 0.9 * total,
          f"line {call_line}: {work[call_line][1]} of {total}")
    # the inlined function's own lines hold those samples: the hot line among them
    check(inl.get(hot_line, (0, 0))[0] > 0, f"line {hot_line} has no samples: {inl}")
    check(sum(f for f, _ in inl.values()) == work[call_line][1], "inline counts differ")
    lines = pprof(env, "-sample_index=samples", "-top", "-lines", pb)
    check(re.search(r"hot_inline \S*inlineprog\.c:\d+ \(inline\)", lines),
          "-lines lacks hot_inline's file:line:\n" + lines[:1500])


def case_pprof_mappings(tmp):
    """Two binaries with a function of the same name: two mappings, main under each."""
    env = pprof_env(tmp)
    demo, twin = os.path.realpath(DEMO), os.path.realpath(TWIN)
    pb, _ = record_pb(tmp, ["sh", "-c", f"{demo} 2 & {twin} 2; wait"])
    raw = pprof(env, "-raw", pb)
    maps = {}
    for m in re.finditer(r"^(\d+): 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (\S+) ([0-9a-f]*)",
                         raw.split("Mappings", 1)[-1], re.M):
        maps[m.group(2)] = (int(m.group(1)), m.group(3))
    print("mappings:", maps)
    check(demo in maps and twin in maps, f"no mapping of each binary: {list(maps)}")
    check(len(maps[demo][1]) == 40 and len(maps[twin][1]) == 40, "build ids")
    check(len(set(maps)) == len([l for l in raw.split("Mappings", 1)[-1].splitlines() if
                                 re.match(r"^\d+: ", l)]), "a file with two mappings")
    mains = set(int(m.group(1)) for m in re.finditer(r"^\s+\d+: 0x[0-9a-f]+ M=(\d+) main ",
                                                   raw, re.M))
    check({maps[demo][0], maps[twin][0]} <= mains, f"main under mappings {mains}")
    check(not re.search(r"^\s+\d+: 0x0 M=[1-9]", raw, re.M), "a mapped location at address 0")
    traces = pprof(env, "-traces", "-tagfocus=process=twin", pb)
    check("twin_60" in traces and "hot_60" not in traces,
          "-tagfocus=process=twin keeps the demo's samples")


def symbol_range(path, name):
    """[start, end) of a function in an ELF file's symbol table (nm -S)."""
    out = subprocess.run(["nm", "-S", path], capture_output=True, text=True, check=True).stdout
    m = re.search(r"^([0-9a-f]+) ([0-9a-f]+) [Tt] " + re.escape(name) + "$", out, re.M)
    check(m, f"nm -S {path}: no {name}")
    return int(m.group(1), 16), int(m.group(1), 16) + int(m.group(2), 16)


def case_pprof_disasm(tmp):
    """-disasm on a -g fixture: the hot function's instructions from the binary, with the
    samples of each; locations at the addresses the binary's symbols have."""
    env = pprof_env(tmp)
    if not shutil.which("nm"):
        raise Skip("nm (binutils) is not installed")
    inline = os.path.realpath(INLINE)
    start, end = symbol_range(inline, "work")
    pb, err = record_pb(tmp, [inline, "3"], ["-U"])
    # pprof matches the regexp against "address name file:line" too: unanchored
    out = pprof(env, "-sample_index=samples", "-disasm", "work", pb)
    rows = [(0 if f == "." else int(f), int(a, 16), t) for f, a, t in re.findall(
        r"^\s+(\.|\d+)\s+(?:\.|\d+)\s+([0-9a-f]+): (.*)$", out, re.M)]
    print(out[:3000])
    check(re.search(r"^ROUTINE =+ work$", out, re.M), "no ROUTINE for work:\n" + out[:1500])
    check(len(rows) >= 10 and all(start <= a < end for _, a, _ in rows),
          f"instructions outside work [{start:#x}, {end:#x}): {rows[:5]}")
    total = sum(f for f, _, _ in rows)
    top = pprof(env, "-sample_index=samples", "-top", "-nodefraction=0", pb)
    want = sum(int(m.group(1)) for m in re.finditer(
        r"^\s+(\d+)\s+\S+\s+\S+\s+\d+\s+\S+\s+(?:work|hot_inline \(inline\))$", top, re.M))
    check(total >= 150, f"only {total} samples in work's instructions:\n{err}")
    check(total == want, f"instructions hold {total} samples, -top {want} in work:\n{top}")
    check(len([f for f, _, _ in rows if f]) >= 3, "samples on fewer than 3 instructions")
    check(re.search(r";work \S*inlineprog\.c:30$", out, re.M), "no source line annotation")
    raw = pprof(env, "-raw", pb)
    addrs = [int(m.group(1), 16) for m in re.finditer(r"^\s+\d+: 0x([0-9a-f]+) M=\d+ work ",
                                                     raw, re.M)]
    check(addrs and all(start <= a < end for a in addrs),
          f"work's locations not at its link-time addresses: {[hex(a) for a in addrs]}")


def raw_samples(raw):
    """-raw's samples: (values, location ids, labels)."""
    body = raw.split("Samples:", 1)[1].split("Locations", 1)[0].splitlines()[2:]
    out = []
    for line in body:
        m = re.match(r"^\s+(\d+)\s+(\d+): ([\d ]+)$", line)
        if m:
            out.append([int(m.group(1)), int(m.group(2)), m.group(3).split(), {}])
        elif out and ":" in line:
            k, v = line.strip().split(":", 1)
            out[-1][3][k] = v
    return out


def case_pprof_counts(tmp):
    """Both values as the record counted them: samples/count adds up to the samples the
    summary took, cpu/nanoseconds to its weight; the process is a label, not a frame."""
    env = pprof_env(tmp)
    pb, err = record_pb(tmp, [DEMO, "2"])
    taken = int(re.search(r"samples:\s+(\d+) taken", err).group(1))
    lost = int(re.search(r"taken, \d+ in stacks, (\d+) lost", err).group(1))
    weight = int(re.search(r"weight:\s+(\d+) ns", err).group(1))
    samples = raw_samples(pprof(env, "-raw", pb))
    got = sum(s[0] for s in samples)
    print(f"summary: {taken} taken, {lost} lost, {weight} ns; pprof: {got} samples, "
          f"{sum(s[1] for s in samples)} ns")
    check(got == taken, f"pprof samples {got}, record took {taken}")
    if lost == 0:
        check(sum(s[1] for s in samples) == weight, "pprof nanoseconds differ from the weight")
    check(all(s[3].get("process") == "[pmuprof-demo]" for s in samples if s[2]),
          "samples without their process label")
    top = pprof(env, "-top", pb)
    check("pmuprof-demo" not in top.split("flat%", 1)[1], "the process is a frame in -top")
    pprof(env, "-traces", pb)


if __name__ == "__main__":
    sys.exit(run_case(globals(), prefix="pmuprof-fg-"))
