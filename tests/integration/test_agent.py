#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""pmuprof agent against real clients: go tool pprof, Prometheus, promtool, a push
receiver decoding pprof with python3-protobuf. Usage: test_agent.py CASE"""
import gzip
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from testlib import PMUPROF, DEMO, HIDE_LIBRARY, fail, library_path, run_case, skip, without_library

BPFTOOL = shutil.which("bpftool") or "/usr/sbin/bpftool"


class Agent:
    """pmuprof agent on an ephemeral loopback port, read from its stderr."""

    def __init__(self, *args):
        if os.geteuid() != 0:
            skip("needs root (perf events and BPF)")
        self.err = tempfile.NamedTemporaryFile(prefix="pmuprof-agent-", suffix=".log")
        self.p = subprocess.Popen([PMUPROF, "agent", "--listen", "127.0.0.1:0", *args],
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 30
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.p.poll() is not None:
                log = self.log()
                if "not permitted" in log.lower():
                    skip(f"the kernel refuses BPF here: {log}")
                fail(f"agent exited {self.p.returncode}: {log}")
            m = re.search(r"listening on \S+ \(port (\d+)\)", self.log())
            if m:
                self.port = int(m.group(1))
            time.sleep(0.05)
        if self.port is None:
            self.stop()
            fail(f"agent did not listen: {self.log()}")
        self.base = f"http://127.0.0.1:{self.port}"

    def log(self):
        with open(self.err.name, errors="replace") as f:
            return f.read()

    def get(self, path, headers=None, method="GET", timeout=60):
        req = urllib.request.Request(self.base + path, headers=headers or {}, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def wait_ready(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.get("/-/ready")[0] == 200:
                return
            time.sleep(0.1)
        fail(f"/-/ready never answered 200: {self.log()}")

    def bpf_prog_ids(self):
        """The BPF programs the agent holds open (fdinfo of its descriptors)."""
        ids = set()
        d = f"/proc/{self.p.pid}/fdinfo"
        for fd in os.listdir(d):
            try:
                with open(os.path.join(d, fd)) as f:
                    m = re.search(r"^prog_id:\s+(\d+)", f.read(), re.M)
            except OSError:
                continue
            if m:
                ids.add(int(m.group(1)))
        return ids

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        return self.p.returncode


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def top_flat(out, name):
    """go tool pprof -top: the flat% of a function, 0 if absent."""
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[-1] == name:
            return float(f[1].rstrip("%"))
    return 0.0


def go_tool_pprof(go, env, *args):
    """go tool pprof ARGS: its output (fails the test on an error)."""
    p = subprocess.run([go, "tool", "pprof", *args], capture_output=True, text=True,
                       errors="replace", timeout=120, env=env)
    if p.returncode != 0:
        fail(f"go tool pprof {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p.stdout + p.stderr


def trace_blocks(out):
    """go tool pprof -traces: [(labels {key: value}, frames [leaf first])]."""
    blocks = []
    for chunk in out.split("-----------+")[1:]:
        labels, frames = {}, []
        for line in chunk.splitlines()[1:]:
            m = re.match(r"^\s*(\w+):\s+(\S.*)$", line)
            if m and not frames:
                labels[m.group(1)] = m.group(2).strip()
            elif line.strip() and not line.startswith("Total"):
                # "    12ms   hot_60" or "           demo_loop"
                frames.append(line.split()[-1] if re.match(r"^\s+[\d.]+\w?s\s", line)
                              else line.strip())
        if labels or frames:
            blocks.append((labels, frames))
    return blocks


def check_profile_model(go, env, path, demo):
    """The model of a profile as pprof's readers use it: the demo's binary one mapping with
    its path, locations at real addresses, pid/comm labels and no process frame, the hot
    source line (-list, -lines) and its instructions (-disasm)."""
    raw = go_tool_pprof(go, env, "-raw", path)
    maps = re.findall(r"^\s*\d+: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ (\S+)", raw, re.M)
    if os.path.realpath(DEMO) not in maps or len(maps) != len(set(maps)):
        fail(f"-raw: one mapping per binary, {os.path.realpath(DEMO)} among them: {maps}")
    hot = re.findall(r"^\s*\d+: 0x([0-9a-f]+) M=\d+ hot_60 ", raw, re.M)
    if not hot or any(int(x, 16) == 0 for x in hot):
        fail(f"-raw: hot_60's locations should have their addresses: {hot}")
    if f"pid:[{demo.pid}]" not in raw or "comm:[pmuprof-demo]" not in raw:
        fail(f"-raw: no sample labelled pid:[{demo.pid}] comm:[pmuprof-demo]:\n{raw[:3000]}")
    focus = f"-tagfocus=pid=^{demo.pid}$"
    blocks = trace_blocks(go_tool_pprof(go, env, "-traces", focus, path))
    if not blocks or any(lab.get("pid") != str(demo.pid) for lab, _ in blocks):
        fail(f"-traces {focus}: {blocks[:3]}")
    if any("pmuprof-demo" in frames for _, frames in blocks):
        fail(f"the process is a frame: {[f for _, f in blocks if 'pmuprof-demo' in f][:2]}")
    if not any(frames[:1] == ["hot_60"] and "demo_loop" in frames for _, frames in blocks):
        fail(f"-traces: no hot_60 under demo_loop: {blocks[:5]}")
    top = go_tool_pprof(go, env, "-top", focus, path)
    h60, h30, h10 = (top_flat(top, n) for n in ("hot_60", "hot_30", "hot_10"))
    if not h60 > h30 > h10 > 0:
        fail(f"-top {focus}: hot_60 {h60}% > hot_30 {h30}% > hot_10 {h10}%:\n{top}")
    listing = go_tool_pprof(go, env, "-list", "^hot_60$", focus, path)
    if not re.search(r"^\s+[\d.]+\w?s\s+[\d.]+\w?s\s+\d+:\s+HOT_BODY\(6\)", listing, re.M):
        fail(f"-list hot_60: no count on its hot source line:\n{listing}")
    lines = go_tool_pprof(go, env, "-top", "-lines", focus, path)
    if not re.search(r"hot_60 \S*demo\.c:\d+", lines):
        fail(f"-lines: hot_60 without its file and line:\n{lines}")
    if shutil.which("objdump"):
        dis = go_tool_pprof(go, env, "-disasm", "hot_60", focus, path)
        if not re.search(r"^\s+[\d.]+\w?s\s+[\d.]+\w?s\s+[0-9a-f]+:\s+\S", dis, re.M):
            fail(f"-disasm hot_60: no instruction with a count:\n{dis}")
    return len(blocks), len(maps)


def case_pprof_go():
    """go tool pprof -top -seconds 3 names the workload's hot functions in their order; the
    same endpoint's profile read back with -raw, -traces, -tagfocus, -list, -lines and
    -disasm (check_profile_model)."""
    go = shutil.which("go")
    if not go:
        fail("go is not installed (scripts/install-deps.sh installs golang-go)")
    # 999 Hz, not the agent's default 99 Hz: 3 s give about 3,000 samples, enough for
    # hot_10's share.
    a = Agent("-F", "999")
    demo = subprocess.Popen([DEMO, "20"], stdout=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="pmuprof-agent-pprof-")
    env = dict(os.environ, PPROF_TMPDIR=tmp, HOME=tmp, GOCACHE=tmp)
    try:
        a.wait_ready()
        p = subprocess.run([go, "tool", "pprof", "-top", "-nodefraction=0", "-seconds", "3",
                            a.base + "/debug/pprof/profile"],
                           capture_output=True, text=True, errors="replace", timeout=60,
                           env=env)
        st, _, body = a.get("/debug/pprof/profile?seconds=3")
    finally:
        demo.kill()
        demo.wait()
        rc = a.stop()
    if p.returncode != 0:
        fail(f"go tool pprof exit {p.returncode}: {p.stderr}")
    out = p.stdout + p.stderr
    h60, h30, h10 = (top_flat(out, n) for n in ("hot_60", "hot_30", "hot_10"))
    if not (h60 > h30 > h10 > 0):
        fail(f"hot_60 {h60}% > hot_30 {h30}% > hot_10 {h10}% does not hold:\n{out}")
    if not 1.3 < h60 / h30 < 3.0:
        fail(f"hot_60/hot_30 = {h60 / h30:.2f}, expected about 2:\n{out}")
    m = re.search(r"Duration: ([\d.]+)s", out)
    if not m or not 2.5 <= float(m.group(1)) <= 4:
        fail(f"the profile should cover the 3 s asked for:\n{out}")
    if st != 200:
        fail(f"/debug/pprof/profile?seconds=3: {st} {body[:200]}")
    path = os.path.join(tmp, "profile.pb.gz")
    with open(path, "wb") as f:
        f.write(body)
    traces, maps = check_profile_model(go, env, path, demo)
    shutil.rmtree(tmp, ignore_errors=True)
    if rc != 0:
        fail(f"agent exit {rc} at SIGTERM: {a.log()}")
    print(f"hot_60 {h60}%, hot_30 {h30}%, hot_10 {h10}%; {traces} traces of the demo, "
          f"{maps} mappings")


def proc_rss(pid):
    """(VmRSS, VmHWM) of pid in bytes, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            kv = dict(line.split(":", 1) for line in f if ":" in line)
        return tuple(int(kv[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM"))
    except (OSError, KeyError, ValueError):
        return None


def case_prometheus():
    """A real Prometheus scrapes /metrics every second; its API sees samples."""
    prom = shutil.which("prometheus")
    if not prom:
        fail("prometheus is not installed (scripts/install-deps.sh installs it)")
    a = Agent("-F", "99")
    tmp = tempfile.mkdtemp(prefix="pmuprof-agent-prom-")
    port = free_port()
    with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: pmuprof
    static_configs:
      - targets: ['127.0.0.1:{a.port}']
""")
    plog = open(os.path.join(tmp, "prometheus.log"), "w")
    p = subprocess.Popen([prom, "--config.file", os.path.join(tmp, "prometheus.yml"),
                          "--storage.tsdb.path", os.path.join(tmp, "data"),
                          "--web.listen-address", f"127.0.0.1:{port}"],
                         stdout=plog, stderr=subprocess.STDOUT)

    def query(q):
        url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return json.load(r)["data"]["result"]
        except (OSError, ValueError, KeyError):
            return None

    try:
        deadline = time.time() + 45
        got = up = None
        while time.time() < deadline:
            up = query('up{job="pmuprof"}')
            got = query("sum(pmuprof_samples_total) > 0")
            if got:
                break
            time.sleep(0.5)
        health = query('scrape_samples_scraped{job="pmuprof"}')
        rss = query("process_resident_memory_bytes{job=\"pmuprof\"}")
        real = proc_rss(a.p.pid)
    finally:
        p.terminate()
        p.wait(timeout=20)
        plog.close()
        rc = a.stop()
    if not got:
        with open(os.path.join(tmp, "prometheus.log")) as f:
            fail(f"Prometheus never answered sum(pmuprof_samples_total) > 0 (up: {up}):\n"
                 f"{f.read()[-3000:]}")
    if not up or up[0]["value"][1] != "1":
        fail(f"up{{job=pmuprof}} is {up}")
    if not health or int(health[0]["value"][1]) < 20:
        fail(f"too few samples scraped: {health}")
    # The metric is the agent's own RSS: between half of what it holds now and its peak
    # (a sanitizer build holds several times a plain build's memory, so no fixed bound).
    if not rss or not real or not (1e6 < float(rss[0]["value"][1])
                                   and real[0] / 2 <= float(rss[0]["value"][1])
                                   <= real[1] * 1.05):
        fail(f"process_resident_memory_bytes: {rss}; /proc says (now, peak) {real}")
    if rc != 0:
        fail(f"agent exit {rc}: {a.log()}")


def case_promtool():
    """promtool check metrics accepts /metrics; OpenMetrics when asked; /api/collectors."""
    promtool = shutil.which("promtool")
    if not promtool:
        fail("promtool is not installed (Debian's prometheus package)")
    pprof_class()  # Debian's python3 and its packages (python3-prometheus-client below)
    a = Agent("-F", "99", "--window", "1", "--dwarf-memory", "48M")
    try:
        a.wait_ready()
        # Windows with stacks: every family has its values (a busy machine takes longer).
        deadline = time.time() + 30
        while time.time() < deadline:
            st, hdr, body = a.get("/metrics")
            if sum(metric_values(body.decode(), "pmuprof_samples_in_stacks_total").values()) \
                    and metric_values(body.decode(), "pmuprof_windows_total").get("", 0) >= 2:
                break
            time.sleep(0.5)
        st_om, hdr_om, body_om = a.get(
            "/metrics", {"Accept": "application/openmetrics-text;version=1.0.0"})
        st_c, _, coll = a.get("/api/collectors")
        st_i, _, index = a.get("/")
    finally:
        a.stop()
    if st != 200 or not hdr["Content-Type"].startswith("text/plain; version=0.0.4"):
        fail(f"/metrics: {st} {hdr}")
    p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=30)
    if p.returncode != 0:
        fail(f"promtool check metrics: {p.stdout.decode()}{p.stderr.decode()}")
    text = body.decode()
    for name in ("pmuprof_samples_total", "pmuprof_samples_lost_total",
                 "pmuprof_samples_in_stacks_total", "pmuprof_drains_total",
                 "pmuprof_scrape_collector_success", "pmuprof_build_info",
                 "process_resident_memory_bytes", "pmuprof_cpu_seconds_total",
                 "pmuprof_memory_mem_free_bytes"):
        if f"\n{name}" not in text:
            fail(f"/metrics lacks {name}:\n{text}")
    m = re.search(r'^pmuprof_samples_in_stacks_total\{event="[^"]+"\} (\d+)', text, re.M)
    if not m or int(m.group(1)) == 0:
        fail(f"no samples in stacks after two windows:\n{text}")
    if 'pmuprof_scrape_collector_success{collector="cpu"} 1' not in text:
        fail(f"the cpu collector should succeed:\n{text}")
    if st_om != 200 or not hdr_om["Content-Type"].startswith("application/openmetrics-text"):
        fail(f"OpenMetrics: {st_om} {hdr_om}")
    om = body_om.decode()
    if not om.endswith("# EOF\n") or "# TYPE pmuprof_samples counter" not in om:
        fail(f"OpenMetrics body:\n{om}")
    # The OpenMetrics reference parser (python3-prometheus-client) is strict.
    from prometheus_client.openmetrics.parser import text_string_to_metric_families
    try:
        fams = {f.name: f for f in text_string_to_metric_families(om)}
    except ValueError as e:
        fail(f"OpenMetrics parser: {e}")
    if fams["pmuprof_samples"].type != "counter" or \
            fams["process_resident_memory_bytes"].type != "gauge":
        fail(f"OpenMetrics families: {sorted(fams)}")
    # --dwarf-memory reaches the symbolizer (at the first window's end).
    if metric_values(text, "pmuprof_symbolizer_dwarf_budget_bytes").get("") != 48 << 20:
        fail(f"/metrics: no DWARF budget of 48M:\n{text}")
    for name in ("pmuprof_unwind_table_bytes", "pmuprof_unwind_tables",
                 "pmuprof_unwind_stacks_total", "pmuprof_symbolized_stacks_total",
                 "pmuprof_stack_cache_hits_total", "pmuprof_sched_context_switches_total"):
        if f"\n{name}" not in text:
            fail(f"/metrics lacks {name}:\n{text}")
    cj = json.loads(coll)
    names = {c["name"]: c for c in cj["collectors"]}
    if st_c != 200 or set(names) != {"profile", "counters", "uncore", "cpu", "memory", "sched"}:
        fail(f"/api/collectors: {coll}")
    if not names["profile"]["running"] or not names["cpu"]["running"]:
        fail(f"/api/collectors: {coll}")
    for c in names.values():
        if not c["running"] and not c["reason"]:
            fail(f"{c['name']} does not run and says no reason: {coll}")
    # Without a hardware PMU (this machine, most VMs): no counters, so no IPC or miss
    # ratios, and no uncore bytes; /api/collectors says why, /metrics says they failed.
    if names["counters"]["running"]:
        if "\npmuprof_counters_ipc " not in text:
            fail(f"counters run but /metrics has no pmuprof_counters_ipc:\n{text}")
    else:
        if "hardware PMU" not in names["counters"]["reason"]:
            fail(f"counters: reason {names['counters']['reason']!r}")
        for absent in ("pmuprof_counters_", "pmuprof_uncore_"):
            if f"\n{absent}" in text:
                fail(f"{absent}* without the collector running:\n{text}")
        if 'pmuprof_scrape_collector_success{collector="counters"} 0' not in text:
            fail(f"counters' scrape success is not 0:\n{text}")
    if not names["uncore"]["running"]:
        if "uncore" not in names["uncore"]["reason"] or \
                'pmuprof_scrape_collector_success{collector="uncore"} 0' not in text:
            fail(f"uncore: {names['uncore']}")
    elif 'pmuprof_uncore_' not in text or 'socket="0"' not in text:
        fail(f"uncore runs but gives no bytes by socket:\n{text}")
    if st_i != 200 or b"/debug/pprof/" not in index:
        fail(f"index page: {st_i} {index}")


def case_bad_requests():
    """Go's error conventions, the concurrency cap, unknown paths, the token."""
    tmp = tempfile.mkdtemp(prefix="pmuprof-agent-bad-")
    token = os.path.join(tmp, "token")
    with open(token, "w") as f:
        f.write("s3cret\n")
    a = Agent("-F", "99", "--max-seconds", "60", "--max-requests", "2", "--token-file", token)
    auth = {"Authorization": "Bearer s3cret"}
    results = {}
    try:
        a.wait_ready()
        checks = {
            "abc": a.get("/debug/pprof/profile?seconds=abc", auth),
            "huge": a.get("/debug/pprof/profile?seconds=100000", auth),
            "unknown": a.get("/nope", auth),
            "unknown-profile": a.get("/debug/pprof/heap", auth),
            "post": a.get("/metrics", auth, method="POST"),
            "no-token": a.get("/metrics"),
            "bad-token": a.get("/metrics", {"Authorization": "Bearer nope"}),
            "healthy-no-token": a.get("/-/healthy"),
        }

        def long_request(i):
            results[i] = a.get("/debug/pprof/profile?seconds=3", auth)

        threads = [threading.Thread(target=long_request, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        time.sleep(1)
        third = a.get("/debug/pprof/cpu-clock?seconds=1", auth)
        metrics_during = a.get("/metrics", auth, timeout=5)
        for t in threads:
            t.join()
        after = a.get("/debug/pprof/cpu-clock?seconds=1", auth)
    finally:
        rc = a.stop()
    expect = {"abc": 400, "huge": 400, "unknown": 404, "unknown-profile": 404, "post": 405,
              "no-token": 401, "bad-token": 401, "healthy-no-token": 200}
    for k, code in expect.items():
        st, hdr, body = checks[k]
        if st != code:
            fail(f"{k}: status {st}, expected {code}: {body}")
    for k in ("abc", "huge"):
        st, hdr, body = checks[k]
        if hdr.get("X-Go-Pprof") != "1" or not hdr["Content-Type"].startswith("text/plain"):
            fail(f"{k}: Go's pprof errors are text/plain with X-Go-Pprof: 1: {hdr}")
    if b"seconds=abc" not in checks["abc"][2] or b"60" not in checks["huge"][2]:
        fail(f"error bodies: {checks['abc'][2]} {checks['huge'][2]}")
    if third[0] != 429 or third[1].get("X-Go-Pprof") != "1":
        fail(f"a third concurrent request: {third[0]} {third[1]}, expected 429")
    if metrics_during[0] != 200:
        fail(f"/metrics while profiles run: {metrics_during[0]}")
    for i in range(2):
        st, hdr, body = results[i]
        if st != 200 or hdr["Content-Type"] != "application/octet-stream" or \
                body[:2] != b"\x1f\x8b":
            fail(f"request {i}: {st} {hdr} {body[:20]}")
        gzip.decompress(body)
    if after[0] != 200:
        fail(f"after the cap cleared: {after[0]} {after[2][:200]}")
    if "pmuprof_profile_requests_rejected_total 1" not in metrics_during[2].decode():
        fail("the refused request is not counted")
    if rc != 0:
        fail(f"agent exit {rc}")


def case_sigterm():
    """SIGTERM with a profile in flight: the client gets Go's 503 error at once, the agent
    exits 0 within 5 s, no BPF program of it is left."""
    a = Agent("-F", "99")
    res = {}
    try:
        a.wait_ready()
        ids = a.bpf_prog_ids()
        if not ids:
            fail("the agent holds no BPF program")

        def long_request():
            res["r"] = a.get("/debug/pprof/profile?seconds=30", timeout=30)
            res["t"] = time.time()

        t = threading.Thread(target=long_request)
        t.start()
        # The request is in flight once the agent counts it.
        deadline = time.time() + 10
        while time.time() < deadline and \
                "pmuprof_profile_requests_in_flight 1" not in a.get("/metrics")[2].decode():
            time.sleep(0.1)
        t0 = time.time()
        a.p.send_signal(signal.SIGTERM)
        try:
            a.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            fail(f"the agent still runs 5 s after SIGTERM: {a.log()}")
        took = time.time() - t0
        t.join(timeout=10)
    finally:
        rc = a.stop(signal.SIGKILL)
    if rc != 0:
        fail(f"exit {rc} at SIGTERM: {a.log()}")
    if "r" not in res:
        fail("the in-flight profile request got no answer")
    st, hdr, body = res["r"]
    if st != 503 or hdr.get("X-Go-Pprof") != "1" or \
            not hdr.get("Content-Type", "").startswith("text/plain") or b"stopping" not in body:
        fail(f"the in-flight profile request got {st} {hdr} {body[:200]}, expected Go's 503")
    if res["t"] - t0 > 5:
        fail(f"the in-flight request was answered {res['t'] - t0:.1f} s after SIGTERM")
    out = subprocess.run([BPFTOOL, "prog", "show", "--json"], capture_output=True, text=True,
                         timeout=30).stdout
    left = ids & {p["id"] for p in json.loads(out)}
    if left:
        fail(f"BPF programs left after exit: {left}")
    print(f"exited {took:.2f} s after SIGTERM, the request answered 503 after "
          f"{res['t'] - t0:.2f} s; {len(ids)} programs gone")


PPROF_PROTO = {
    # message: [(name, number, type, repeated, message type)]
    "Profile": [("sample_type", 1, "msg", True, "ValueType"), ("sample", 2, "msg", True, "Sample"),
                ("mapping", 3, "msg", True, "Mapping"), ("location", 4, "msg", True, "Location"),
                ("function", 5, "msg", True, "Function"), ("string_table", 6, "string", True, None),
                ("time_nanos", 9, "int64", False, None), ("duration_nanos", 10, "int64", False, None),
                ("period_type", 11, "msg", False, "ValueType"), ("period", 12, "int64", False, None),
                ("comment", 13, "int64", True, None)],
    "ValueType": [("type", 1, "int64", False, None), ("unit", 2, "int64", False, None)],
    "Sample": [("location_id", 1, "uint64", True, None), ("value", 2, "int64", True, None),
               ("label", 3, "msg", True, "Label")],
    "Label": [("key", 1, "int64", False, None), ("str", 2, "int64", False, None),
              ("num", 3, "int64", False, None)],
    "Mapping": [("id", 1, "uint64", False, None), ("filename", 5, "int64", False, None)],
    "Location": [("id", 1, "uint64", False, None), ("mapping_id", 2, "uint64", False, None),
                 ("address", 3, "uint64", False, None), ("line", 4, "msg", True, "Line")],
    "Line": [("function_id", 1, "uint64", False, None)],
    "Function": [("id", 1, "uint64", False, None), ("name", 2, "int64", False, None)],
}


def frame_name(prof, loc_id, outer=False):
    """The function at a location (its outermost line when outer, else its innermost); an
    address not named, as pprof shows it."""
    loc = next(l for l in prof.location if l.id == loc_id)
    if not loc.line:
        return f"0x{loc.address:x}"
    fid = loc.line[-1 if outer else 0].function_id
    return prof.string_table[next(f for f in prof.function if f.id == fid).name]


def pprof_class():
    """perftools.profiles.Profile built from a descriptor (no protoc needed)."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    except ImportError:
        # Debian's python3-protobuf belongs to /usr/bin/python3, which may not be the
        # python3 first on PATH (pyenv).
        if os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3") and \
                os.access("/usr/bin/python3", os.X_OK):
            os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
        fail("python3-protobuf is not installed (scripts/install-deps.sh installs it)")
    F = descriptor_pb2.FieldDescriptorProto
    types = {"msg": F.TYPE_MESSAGE, "string": F.TYPE_STRING, "int64": F.TYPE_INT64,
             "uint64": F.TYPE_UINT64}
    fd = descriptor_pb2.FileDescriptorProto(name="pmuprof_test_profile.proto",
                                            package="perftools.profiles", syntax="proto3")
    for mname, fields in PPROF_PROTO.items():
        m = fd.message_type.add(name=mname)
        for name, num, typ, rep, sub in fields:
            f = m.field.add(name=name, number=num, type=types[typ],
                            label=F.LABEL_REPEATED if rep else F.LABEL_OPTIONAL)
            if sub:
                f.type_name = ".perftools.profiles." + sub
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    desc = pool.FindMessageTypeByName("perftools.profiles.Profile")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


CONTAINER_ID = "c0ffee" * 10 + "abcd"  # 64 hex digits, as docker and containerd name them


def container_cgroup(pid=None):
    """A cgroup named like a container's, with pid put in it (when given): its directory,
    or None."""
    for parent in ("/sys/fs/cgroup", "/sys/fs/cgroup/pids"):
        if not os.path.exists(os.path.join(parent, "cgroup.procs")):
            continue  # not a cgroup hierarchy (a hybrid layout's tmpfs)
        d = os.path.join(parent, f"pmuprof-test-{CONTAINER_ID}")
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
        except OSError:
            continue
        if pid is None:
            return d
        try:
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid))
            return d
        except OSError:
            os.rmdir(d)
    return None


def ingest_server():
    """A Pyroscope-style receiver on loopback: (server, [(path, content type, body)])."""
    got = []

    class Ingest(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(n)
            got.append((self.path, self.headers.get("Content-Type"), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, got


def pushed_samples(Profile, got):
    """Every pushed sample: [(from, until, labels, samples)]."""
    out = []
    for path, _, body in got:
        q = urllib.parse.parse_qs(urllib.parse.urlparse(path).query)
        prof = Profile()
        prof.ParseFromString(gzip.decompress(body))
        st = prof.string_table
        for smp in prof.sample:
            lab = {st[lb.key]: st[lb.str] for lb in smp.label}
            out.append((int(q["from"][0]), int(q["until"][0]), lab, smp.value[0]))
    return out


def case_push_exited():
    """The container of a process is known after it exits: a 1 s process in a cgroup named
    like a container's, its stacks drained (every 5 s) after its exit, is pushed with its
    container_id in every sample."""
    Profile = pprof_class()
    srv, got = ingest_server()
    cg = container_cgroup()
    if not cg:
        skip("no cgroup can be made here")
    a = Agent("-F", "199", "--window", "1", "--drain-interval", "5000", "--push",
              f"http://127.0.0.1:{srv.server_address[1]}/")
    try:
        a.wait_ready()
        # The shell puts itself in the cgroup, then becomes the demo (same pid).
        child = subprocess.Popen(["sh", "-c", 'echo $$ > "$1/cgroup.procs" && exec "$2" 1',
                                  "sh", cg, DEMO], stdout=subprocess.DEVNULL)
        if child.wait(timeout=30) != 0:
            fail(f"the demo in {cg} exited {child.returncode}")
        t_exit = time.time()
        # Two drains after the exit: its last stacks were named after it, and pushed.
        deadline = time.time() + 40
        while time.time() < deadline and \
                not any(int(urllib.parse.parse_qs(urllib.parse.urlparse(p).query)["from"][0])
                        > t_exit + 10 for p, _, _ in got):
            time.sleep(0.2)
    finally:
        rc = a.stop()
        srv.shutdown()
        os.rmdir(cg)
    mine = [(frm, lab, n) for frm, _, lab, n in pushed_samples(Profile, got)
            if lab.get("pid") == str(child.pid)]
    after = sum(n for frm, _, n in mine if frm >= t_exit)
    if not mine or not after:
        fail(f"the demo's samples: {len(mine)} pushed, {after} in windows after its exit "
             f"(want some): {a.log()}")
    bad = [lab for _, lab, _ in mine if lab.get("container_id") != CONTAINER_ID]
    if bad:
        fail(f"{len(bad)} of the {len(mine)} samples of the demo in {cg} without its "
             f"container_id {CONTAINER_ID}: {bad[:3]}")
    if rc != 0:
        fail(f"agent exit {rc}")
    print(f"{sum(n for _, _, n in mine)} samples of the demo pushed, {after} named after it "
          f"exited, all with container_id")


def case_push():
    """--push: a Pyroscope-style receiver gets windows with labels and the hot functions;
    samples carry pid, comm and the container id from the process's cgroup."""
    Profile = pprof_class()
    srv, got = ingest_server()
    demo = subprocess.Popen([DEMO, "20"], stdout=subprocess.DEVNULL)
    cg = container_cgroup(demo.pid)
    a = Agent("-F", "99", "--window", "2", "--push",
              f"http://127.0.0.1:{srv.server_address[1]}/", "--label", "env=test")
    try:
        a.wait_ready()
        deadline = time.time() + 20
        while time.time() < deadline and len(got) < 2:
            time.sleep(0.2)
        _, _, metrics = a.get("/metrics")
    finally:
        demo.kill()
        demo.wait()
        rc = a.stop()
        srv.shutdown()
        if cg:
            os.rmdir(cg)
    if len(got) < 2:
        fail(f"{len(got)} windows pushed in 20 s with --window 2: {a.log()}")
    funcs, demo_labels = set(), []
    for path, ctype, body in got:
        u = urllib.parse.urlparse(path)
        q = urllib.parse.parse_qs(u.query)
        if u.path != "/ingest" or q.get("format") != ["pprof"] or \
                q.get("spyName") != ["pmuprof"] or q.get("sampleRate") != ["99"]:
            fail(f"push request: {path}")
        name = q["name"][0]
        m = re.fullmatch(r"([^{]+)\{(.*)\}", name)
        labels = dict(kv.split("=", 1) for kv in m.group(2).split(",")) if m else {}
        if not m or m.group(1) != "pmuprof" or labels.get("service_name") != "pmuprof" or \
                labels.get("env") != "test" or labels.get("hostname") != socket.gethostname() \
                or "event" not in labels:
            fail(f"push name: {name}")
        frm, until = int(q["from"][0]), int(q["until"][0])
        if not 0 < until - frm <= 4:
            fail(f"from {frm} until {until}: a window is about 2 s")
        prof = Profile()
        prof.ParseFromString(gzip.decompress(body))
        st = prof.string_table
        funcs |= {st[f.name] for f in prof.function}
        if not prof.sample or not all(len(s.value) == 2 for s in prof.sample):
            fail("pushed profile without samples")
        for smp in prof.sample:
            lab = {st[lb.key]: st[lb.str] for lb in smp.label}
            if lab.get("pid") == str(demo.pid):
                demo_labels.append(lab)
            root = frame_name(prof, smp.location_id[-1], outer=True)
            if not root.startswith("[lost:") and ("pid" not in lab or "comm" not in lab):
                fail(f"a sample of {root} without pid and comm labels: {lab}")
    # Other developers' demos may run too: the one started here is told by its pid.
    if not demo_labels or any(lab.get("comm") != "pmuprof-demo" for lab in demo_labels):
        fail(f"no samples with pid={demo.pid}, comm=pmuprof-demo: {demo_labels[:5]}")
    if cg and any(lab.get("container_id") != CONTAINER_ID for lab in demo_labels):
        fail(f"the demo runs in {cg}: container_id {CONTAINER_ID} expected: {demo_labels[:5]}")
    if not cg:
        print("note: no cgroup could be made here; container_id not checked")
    if not {"hot_60", "hot_30", "demo_loop"} <= funcs:
        fail(f"the workload's functions are not in the pushed profiles: {sorted(funcs)[:40]}")
    if not re.search(r"^pmuprof_push_sent_total [1-9]", metrics.decode(), re.M):
        fail("pmuprof_push_sent_total does not count the pushes")
    if rc != 0:
        fail(f"agent exit {rc}")


STACKS = os.environ.get("PMUPROF_STACKS", "build/pmuprof-stacks")


def case_request_bound():
    """A profile request keeps --max-table distinct stacks; the rest is [lost:table_full]."""
    Profile = pprof_class()
    load = subprocess.Popen([STACKS, "20", "12"], stdout=subprocess.DEVNULL)
    a = Agent("-F", "499", "--max-table", "20")
    try:
        a.wait_ready()
        st, hdr, body = a.get("/debug/pprof/profile?seconds=3")
    finally:
        load.kill()
        load.wait()
        rc = a.stop()
    if st != 200:
        fail(f"status {st}: {body[:200]}")
    prof = Profile()
    prof.ParseFromString(gzip.decompress(body))
    roots = {}
    for smp in prof.sample:
        leaf = frame_name(prof, smp.location_id[0])
        roots[leaf] = roots.get(leaf, 0) + smp.value[0]
    lost = roots.get("[lost:table_full]", 0)
    # A stack of the table is its labels and frames' names (its folded spelling): pprof
    # has a sample for each of its addresses (an unnamed one is its mapping's).
    locs = {l.id: l for l in prof.location}
    strs = prof.string_table
    stacks = {(tuple(sorted((strs[lb.key], strs[lb.str]) for lb in s.label)),
               tuple(frame_name(prof, i) if locs[i].line else f"[map {locs[i].mapping_id}]"
                     for i in s.location_id))
              for s in prof.sample
              if frame_name(prof, s.location_id[0]) != "[lost:table_full]"}
    if len(stacks) > 20 + 3:  # + the other ledger lines
        fail(f"{len(stacks)} stacks with --max-table 20")
    if not lost:
        fail(f"no [lost:table_full] with 4096 stacks and --max-table 20: {sorted(roots)[:30]}")
    if rc != 0:
        fail(f"agent exit {rc}")


INLINE = os.environ.get("PMUPROF_FIXTURE_INLINE", "build/tests/fixture-inline")


def profile_stacks(a, path, Profile):
    """GET a pprof path: {tuple of function names, leaf first, then the process (its
    label): samples}."""
    st, hdr, body = a.get(path)
    if st != 200:
        fail(f"{path}: {st} {body[:200]}")
    prof = Profile()
    prof.ParseFromString(gzip.decompress(body))
    strs = prof.string_table
    funcs = {f.id: strs[f.name] for f in prof.function}
    # A location's lines: innermost (inlined) first, as the samples' locations.
    locs = {l.id: [funcs[ln.function_id] for ln in l.line] or [f"0x{l.address:x}"]
            for l in prof.location}
    stacks = {}
    for smp in prof.sample:
        labels = {strs[lb.key]: strs[lb.str] for lb in smp.label}
        key = tuple(name for loc in smp.location_id for name in locs[loc]) + \
            (labels.get("process", ""),)
        stacks[key] = stacks.get(key, 0) + smp.value[0]
    return stacks


def metric_values(text, name):
    """{labels: value} of a metric family in Prometheus text."""
    return {m.group(1) or "": float(m.group(2)) for m in
            re.finditer(rf"^{name}(\{{[^}}]*\}})? (\S+)$", text, re.M)}


def case_call_graph():
    """record's default: user stacks walked with CFI tables (dwarf), the tables and the
    walks counted in /metrics; --call-graph=fp is taken, said, and loads no table."""
    demo = subprocess.Popen([DEMO, "30"], stdout=subprocess.DEVNULL)
    try:
        got = {}
        for mode in ("default", "fp"):
            a = Agent("-F", "99", "--window", "1",
                      *(["--call-graph=fp"] if mode == "fp" else []))
            try:
                a.wait_ready()
                deadline, text = time.time() + 20, ""
                while time.time() < deadline:
                    text = a.get("/metrics")[2].decode()
                    if mode == "fp" or sum(metric_values(text, "pmuprof_unwind_stacks_total")
                                           .values()) > 0:
                        break
                    time.sleep(0.5)
                coll = json.loads(a.get("/api/collectors")[2])
            finally:
                rc = a.stop()
            got[mode] = (text, coll, rc)
    finally:
        demo.kill()
        demo.wait()
    text, coll, rc = got["default"]
    ends = metric_values(text, "pmuprof_unwind_stacks_total")
    tables = metric_values(text, "pmuprof_unwind_tables").get("", 0)
    kbytes = metric_values(text, "pmuprof_unwind_table_bytes").get("", 0)
    print(f"default: {coll['call_graph']}, {tables:.0f} tables, {kbytes / 1e6:.1f} MB, ends {ends}")
    if coll.get("call_graph") != "dwarf" or rc != 0:
        fail(f"default: call_graph {coll.get('call_graph')}, exit {rc}")
    if not ends.get('{end="complete"}') or tables < 1 or kbytes <= 0:
        fail("the CFI walk does not run by default:\n"
             + "\n".join(l for l in text.splitlines() if "unwind" in l))
    text, coll, rc = got["fp"]
    if coll.get("call_graph") != "fp" or rc != 0:
        fail(f"--call-graph=fp: call_graph {coll.get('call_graph')}, exit {rc}")
    if metric_values(text, "pmuprof_unwind_table_bytes").get("") != 0 or \
            "pmuprof_unwind_stacks_total" in text:
        fail("--call-graph=fp still loads tables:\n"
             + "\n".join(l for l in text.splitlines() if "unwind" in l))


def case_debuginfod():
    """A stripped program is named from a debuginfod server (Debian's, on loopback); the
    files fetched and missing are counted in /metrics."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import test_symbols as ts
    Profile = pprof_class()
    tmp = tempfile.mkdtemp(prefix="pmuprof-agent-dbg-")
    try:
        srv, prog, build_id = ts.stripped_fixture(tmp)
        proc, url = ts.start_debuginfod(tmp, srv, build_id)
    except ts.tr.Fail as e:
        fail(str(e))
    os.environ.update(DEBUGINFOD_URLS=url, DEBUGINFOD_CACHE_PATH=os.path.join(tmp, "cache"))
    load = subprocess.Popen([prog, "20"], stdout=subprocess.DEVNULL)
    a = Agent("-F", "199", "--window", "1", "--debuginfod-budget", "60")
    fetched, text = 0, ""
    try:
        a.wait_ready()
        stacks = profile_stacks(a, "/debug/pprof/profile?seconds=4", Profile)
        deadline = time.time() + 20
        while time.time() < deadline and not fetched:
            text = a.get("/metrics")[2].decode()
            m = re.search(r'^pmuprof_debuginfod_files_total\{result="fetched"\} (\d+)', text,
                          re.M)
            fetched = int(m.group(1)) if m else 0
            time.sleep(0.5)
    finally:
        load.kill()
        load.wait()
        rc = a.stop()
        proc.terminate()
        proc.wait(timeout=30)
    mine = {k: n for k, n in stacks.items() if k and k[-1] == "prog"}
    named = sum(n for k, n in mine.items() if "work" in k)
    print(f"prog: {sum(mine.values())} samples, {named} in work; {fetched} fetched")
    if fetched != 1:
        fail(f"pmuprof_debuginfod_files_total{{result=fetched}} {fetched}, expected 1:\n"
             + "\n".join(l for l in text.splitlines() if "debuginfod" in l))
    if not mine or named < 0.5 * sum(mine.values()):
        fail(f"the stripped program is not named: {sorted(mine.items(), key=lambda kv: -kv[1])[:3]}")
    for r in ("cached", "missing", "budget_exhausted"):
        if f'pmuprof_debuginfod_files_total{{result="{r}"}}' not in text:
            fail(f"/metrics lacks debuginfod result {r}")
    if "pmuprof_debuginfod_seconds_total" not in text:
        fail("/metrics lacks pmuprof_debuginfod_seconds_total")
    if rc != 0:
        fail(f"agent exit {rc}")


def case_cli_errors():
    """Bad options: one line naming the input, exit 2, nothing started."""
    cases = [
        (["--window", "0"], "--window 0"),
        (["-F", "abc"], "-F abc"),
        (["--listen", "127.0.0.1"], "--listen 127.0.0.1"),
        (["--push", "ftp://x"], "--push ftp://x"),
        (["--label", "a-b=c"], "--label a-b=c"),
        (["--collectors", "profile,nope"], "no collector named 'nope'"),
        (["--bogus"], "unknown option '--bogus'"),
        (["extra"], "unexpected argument 'extra'"),
        (["--call-graph=lbr"], "--call-graph lbr"),
        (["--unwind-memory", "1x"], "--unwind-memory 1x"),
        (["--dwarf-memory", "12"], "--dwarf-memory 12"),
        (["--debuginfod-budget", "0"], "--debuginfod-budget 0"),
    ]
    for args, want in cases:
        p = subprocess.run([PMUPROF, "agent", *args], capture_output=True, text=True,
                           timeout=30)
        if p.returncode != 2 or want not in p.stderr or len(p.stderr.splitlines()) > 8:
            fail(f"agent {args}: exit {p.returncode}, stderr {p.stderr!r}")


# LeakSanitizer (the sanitizer build) cannot run under ptrace, which strace uses.
NO_LEAK_CHECK = {"ASAN_OPTIONS": ":".join(
    o for o in (os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0") if o)}


def case_missing_libraries():
    """The agent's libraries are loaded when used: each one missing (a mount namespace
    puts /dev/null in its place) stops the agent before it sets anything up, with one
    line naming it and its Debian package (the only line: no event was opened), exit 2."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("needs root and unshare (a mount namespace)")
    if not shutil.which("strace"):
        fail("strace is not installed (scripts/install-deps.sh)")
    tmp = tempfile.TemporaryDirectory(prefix="pmuprof-agent-libs-")
    push = ["--push", "http://127.0.0.1:9/"]
    cases = [("libmicrohttpd.so.12", "libmicrohttpd12", [], {}),
             ("libcurl.so.4", "libcurl4", push, {}),
             ("libsystemd.so.0", "libsystemd0", [], {"NOTIFY_SOCKET": "/nonexistent"})]
    for soname, package, args, env in cases:
        if soname == "libsystemd.so.0" and os.environ.get("PMUPROF_SYSTEMD", "1") != "1":
            continue
        path = library_path(soname)
        if not path:
            fail(f"{soname} is not installed (scripts/install-deps.sh)")
        trace = os.path.join(tmp.name, "trace")
        p = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                            HIDE_LIBRARY, "sh", path, "strace", "-f", "-qq", "-o", trace, "-e",
                            "trace=bpf,perf_event_open", PMUPROF, "agent", "--listen",
                            "127.0.0.1:0", *args],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, **env, **NO_LEAK_CHECK})
        with open(trace) as f:
            # Option checks probe the kernel with tiny programs; setting up creates maps
            # and opens events.
            calls = [line for line in f if "BPF_MAP_CREATE" in line or "perf_event_open(" in line]
        if calls:
            fail(f"agent {args} without {soname} set up maps or events first: {calls[:2]}")
        if "not permitted" in p.stderr.lower() and soname not in p.stderr:
            skip(f"the kernel refuses BPF here: {p.stderr}")
        lines = [line for line in p.stderr.splitlines() if soname in line]
        if (p.returncode != 2 or len(lines) != 1 or f"Debian package {package}" not in lines[0]
                or len(p.stderr.splitlines()) != 1):
            fail(f"agent {args} without {soname}: exit {p.returncode}, stderr {p.stderr!r}")


def case_debuginfod_no_library():
    """libdebuginfod missing (hidden in a mount namespace) when the agent first asks a
    server: said once on stderr with its package, counted as missing, and the agent goes
    on serving."""
    global PMUPROF
    if os.geteuid() != 0 or not shutil.which("unshare"):
        skip("needs root and unshare (a mount namespace)")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import test_symbols as ts
    tmp = tempfile.mkdtemp(prefix="pmuprof-agent-nodbg-")
    wrapper = without_library("libdebuginfod.so.1", tmp)
    _, prog, _ = ts.stripped_fixture(tmp)
    os.environ.update(DEBUGINFOD_URLS=f"http://127.0.0.1:{ts.free_port()}",
                      DEBUGINFOD_CACHE_PATH=os.path.join(tmp, "cache"))
    load = subprocess.Popen([prog, "20"], stdout=subprocess.DEVNULL)
    real, PMUPROF = PMUPROF, wrapper
    try:
        a = Agent("-F", "199", "--window", "1")
    finally:
        PMUPROF = real
    missing, said = 0, []
    try:
        a.wait_ready()
        deadline = time.time() + 20
        while time.time() < deadline and not (missing and said):
            text = a.get("/metrics")[2].decode()
            m = re.search(r'^pmuprof_debuginfod_files_total\{result="missing"\} (\d+)', text,
                          re.M)
            missing = int(m.group(1)) if m else 0
            said = [line for line in a.log().splitlines() if "libdebuginfod.so.1" in line]
            time.sleep(0.5)
        ready = a.get("/-/ready")[0]
    finally:
        load.kill()
        load.wait()
        rc = a.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{missing} missing; {said}")
    if len(said) != 1 or "Debian package libdebuginfod1" not in said[0]:
        fail(f"the missing library is not said once: {a.log()}")
    if not missing or ready != 200 or rc != 0:
        fail(f"missing {missing}, /-/ready {ready}, exit {rc}: {a.log()}")


def case_doctor():
    """pmuprof doctor says whether the agent can run: its sampler's needs, its port."""
    def agent_of():
        p = subprocess.run([PMUPROF, "doctor", "--json"], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            fail(f"doctor exit {p.returncode}: {p.stderr}")
        return json.loads(p.stdout)["agent"]

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", 7071))
        s.listen(1)
    except OSError:
        s.close()
        skip("127.0.0.1:7071 is taken by something else here")
    try:
        busy = agent_of()
    finally:
        s.close()
    free = agent_of()
    if os.geteuid() != 0:
        if free["runs"] or "CAP_" not in free["reason"]:
            fail(f"not root: {free}")
        return
    if busy["runs"] or "7071 is in use" not in busy["reason"] or busy["port_free"]:
        fail(f"with 7071 taken: {busy}")
    if not free["runs"] or not free["port_free"]:
        fail(f"with 7071 free: {free}")
    text = subprocess.run([PMUPROF, "doctor"], capture_output=True, text=True,
                          timeout=60).stdout
    if not re.search(r"^  agent: +runs: ", text, re.M):
        fail(f"no agent line in doctor:\n{text}")


def go_pprof(url, *args):
    """go tool pprof -top on a URL: its output (fails the test on an error)."""
    go = shutil.which("go")
    if not go:
        fail("go is not installed (scripts/install-deps.sh installs golang-go)")
    tmp = tempfile.mkdtemp(prefix="pmuprof-agent-pprof-")
    env = dict(os.environ, PPROF_TMPDIR=tmp, HOME=tmp, GOCACHE=tmp)
    p = subprocess.run([go, "tool", "pprof", "-top", "-nodefraction=0", *args, url],
                       capture_output=True, text=True, errors="replace", timeout=60, env=env)
    shutil.rmtree(tmp, ignore_errors=True)
    if p.returncode != 0:
        fail(f"go tool pprof {url}: exit {p.returncode}: {p.stderr}")
    return p.stdout + p.stderr


def metric(a, name):
    _, _, body = a.get("/metrics")
    v = metric_values(body.decode(), name)
    return v.get("", -1.0)


def case_recent():
    """The ring of recent windows: /debug/pprof/recent answers at once with the last
    windows (go tool pprof reads them: the demo's shares, the windows' duration), keeps
    --keep-windows of them and at most --keep-bytes, and says so in /metrics."""
    Profile = pprof_class()
    demo = subprocess.Popen([DEMO, "60"], stdout=subprocess.DEVNULL)
    try:
        a = Agent("-F", "999", "--window", "2", "--keep-windows", "3")
        try:
            a.wait_ready()
            st, _, body = a.get("/debug/pprof/recent")
            if st != 503 or b"no window has ended yet" not in body:
                fail(f"before the first window: {st} {body[:200]}")
            # Five windows: three kept, two dropped (a sanitizer build turns slowly).
            deadline = time.time() + 90
            while time.time() < deadline and metric(a, "pmuprof_recent_dropped_total") < 2:
                time.sleep(0.5)
            kept = metric(a, "pmuprof_recent_windows")
            nbytes = metric(a, "pmuprof_recent_bytes")
            dropped = metric(a, "pmuprof_recent_dropped_total")
            # All kept, then the last one: back to back, so that no window ends between.
            t0 = time.time()
            st_raw, _, all_raw = a.get("/debug/pprof/recent")
            took = time.time() - t0
            _, _, one_raw = a.get("/debug/pprof/recent?windows=1")
            out = go_pprof(a.base + "/debug/pprof/recent")
            stacks = profile_stacks(a, "/debug/pprof/recent/cpu-clock?windows=2", Profile) \
                if "cpu-clock" in a.log() else {}
            bad = [a.get(p)[0] for p in ("/debug/pprof/recent?windows=abc",
                                         "/debug/pprof/recent?windows=0",
                                         "/debug/pprof/recent/nosuchevent")]
        finally:
            rc = a.stop()
        if dropped < 2 or kept != 3:
            fail(f"after 5 windows of --keep-windows 3: {kept} kept, {dropped} dropped")
        if not 0 < nbytes < 32 << 20:
            fail(f"pmuprof_recent_bytes {nbytes}")
        # Three windows of 2 s (more when the engine turns slowly), answered from memory,
        # not sampled for their duration.
        if st_raw != 200 or took > 5:
            fail(f"/debug/pprof/recent: status {st_raw} after {took:.1f} s")
        durations = []
        for raw in (all_raw, one_raw):
            prof = Profile()
            prof.ParseFromString(gzip.decompress(raw))
            durations.append(prof.duration_nanos / 1e9)
        d3, d1 = durations
        if d3 < 5.5 or not 1.5 <= d1 <= d3 - 3:
            fail(f"three windows of 2 s at least: {d3:.2f} s; the last one: {d1:.2f} s")
        if not re.search(r"Duration: [\d.]+s", out):
            fail(f"go tool pprof: no duration:\n{out}")
        h60, h30, h10 = (top_flat(out, n) for n in ("hot_60", "hot_30", "hot_10"))
        if not (h60 > h30 > h10 > 0) or not 1.3 < h60 / h30 < 3.0:
            fail(f"hot_60 {h60}% > hot_30 {h30}% > hot_10 {h10}% (about 2:1) does not hold:\n"
                 f"{out}")
        if "cpu-clock" in a.log() and not any("hot_60" in k for k in stacks):
            fail(f"/debug/pprof/recent/cpu-clock: no hot_60 in {list(stacks)[:10]}")
        if bad != [400, 400, 404]:
            fail(f"windows=abc, windows=0, an unknown event: {bad}, want 400, 400, 404")
        if rc != 0:
            fail(f"agent exit {rc}")
        # --keep-bytes bounds the ring whatever --keep-windows allows.
        a = Agent("-F", "999", "--window", "1", "--keep-windows", "1000",
                  "--keep-bytes", "64K")
        try:
            a.wait_ready()
            seen = []
            deadline = time.time() + 60
            while time.time() < deadline and (not seen or seen[-1][2] < 3):
                time.sleep(1)
                seen.append((metric(a, "pmuprof_recent_windows"),
                             metric(a, "pmuprof_recent_bytes"),
                             metric(a, "pmuprof_recent_dropped_total")))
        finally:
            rc = a.stop()
        if not seen or seen[-1][2] < 3 or any(b > 65536 for _, b, _ in seen):
            fail(f"--keep-bytes 64K: (windows, bytes, dropped) {seen}")
    finally:
        demo.kill()
        demo.wait()
    print(f"kept {kept:.0f} windows ({d3:.2f} s, the last {d1:.2f} s), {nbytes:.0f} bytes; "
          f"--keep-bytes 64K: {seen[-1]}")


TOUCH = os.environ.get("PMUPROF_TOUCH", "build/pmuprof-touch")


def case_counts():
    """Both sample types hold what was sampled: with page-faults sampled by frequency, the
    events value of a program's stacks adds up to the faults it made (the periods), and
    the samples value of every stack in the ring of recent windows adds up to the samples
    the agent counted in stacks."""
    Profile = pprof_class()
    pages, runs = 20000, 4
    a = Agent("-e", "page-faults", "-F", "999", "--collectors", "profile", "--window", "2",
              "--keep-windows", "1000")
    try:
        a.wait_ready()
        for _ in range(runs):
            subprocess.run([TOUCH, str(pages)], check=True)
        # Two windows ended after the last fault: its stacks are drained and kept.
        w0 = metric(a, "pmuprof_windows_total")
        deadline = time.time() + 60
        while time.time() < deadline and metric(a, "pmuprof_windows_total") < w0 + 2:
            time.sleep(0.2)
        for _ in range(20):
            m1 = a.get("/metrics")[2].decode()
            st, _, body = a.get("/debug/pprof/recent/page-faults")
            m2 = a.get("/metrics")[2].decode()
            w1, w2 = (metric_values(m, "pmuprof_windows_total")[""] for m in (m1, m2))
            # A window is counted, then encoded and kept: the ring lags the counters until
            # both metrics show it kept.
            k1, kept = (metric_values(m, "pmuprof_recent_windows")[""] for m in (m1, m2))
            if w1 == w2 == k1 == kept:
                break  # no window ended between: the ring and the counters agree
            time.sleep(0.3)
    finally:
        rc = a.stop()
    if st != 200 or w1 != w2 or kept != w2:
        fail(f"status {st}; windows {w1} {w2}, {kept} kept")
    prof = Profile()
    prof.ParseFromString(gzip.decompress(body))
    strs = prof.string_table
    types = [(strs[v.type], strs[v.unit]) for v in prof.sample_type]
    if types != [("samples", "count"), ("page-faults", "count")]:
        fail(f"sample types {types}")
    samples = events = in_stacks = 0
    roots = {}
    locs = {l.id: l for l in prof.location}
    for smp in prof.sample:
        # The process is a label in a window's profile (record's model), a ledger entry
        # its only frame.
        lab = {strs[lb.key]: strs[lb.str] for lb in smp.label}
        outer = locs[smp.location_id[-1]] if smp.location_id else None
        root = lab.get("process") or (frame_name(prof, outer.id, outer=True)
                                      if outer and outer.line else "")
        roots[root] = roots.get(root, 0) + smp.value[1]
        in_stacks += 0 if root.startswith("[lost:") else smp.value[0]
        if root == "pmuprof-touch":
            samples += smp.value[0]
            events += smp.value[1]
    counted = metric_values(m2, "pmuprof_samples_in_stacks_total").get('{event="page-faults"}')
    if in_stacks != counted:
        fail(f"{in_stacks} samples in the stacks of the {kept:.0f} windows kept, "
             f"pmuprof_samples_in_stacks_total {counted}")
    faults = pages * runs
    # The periods follow the fault rate with a lag (a burst's first samples carry the
    # short periods of a quiet machine); other processes' faults on the same CPU fall in
    # some of them. Counted as one value, the events would be the samples.
    if not 0.7 * faults <= events <= 1.5 * faults:
        fail(f"pmuprof-touch: {events} page-faults in the pprof, {faults} made "
             f"({samples} samples); the roots: "
             f"{sorted(roots.items(), key=lambda kv: -kv[1])[:8]}")
    if not 0 < samples < events / 10:
        fail(f"pmuprof-touch: {samples} samples for {events} events")
    if rc != 0:
        fail(f"agent exit {rc}")
    print(f"pmuprof-touch: {events} events (made {faults}) in {samples} samples; "
          f"{in_stacks} samples in the stacks of {kept:.0f} windows, as counted")


def case_sd_notify():
    """Type=notify: libsystemd's sd_notify tells the socket of NOTIFY_SOCKET READY=1 once
    the agent samples and serves, its STATUS, WATCHDOG=1 while the engine turns (with
    WATCHDOG_USEC), STOPPING=1 at SIGTERM."""
    if os.environ.get("PMUPROF_SYSTEMD", "1") != "1":
        skip("pmuprof was built without libsystemd: no sd_notify (libsystemd-dev)")
    d = tempfile.mkdtemp(prefix="pmuprof-notify-")
    path = os.path.join(d, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    msgs = []

    def listen():
        while True:
            try:
                data = sock.recv(4096)
            except OSError:
                return
            msgs.append((time.time(), data.decode(errors="replace")))

    threading.Thread(target=listen, daemon=True).start()
    env_keep = {k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    os.environ.update(NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000")
    try:
        a = Agent("-F", "99")
    finally:
        for k, v in env_keep.items():
            os.environ.pop(k, None) if v is None else os.environ.update({k: v})
    try:
        deadline = time.time() + 20
        while time.time() < deadline and not any("READY=1" in m for _, m in msgs):
            time.sleep(0.02)
        ready_status = a.get("/-/ready")[0]
        time.sleep(5)
        t_term = time.time()
    finally:
        rc = a.stop()
    time.sleep(0.3)
    sock.close()
    shutil.rmtree(d, ignore_errors=True)
    lines = [(t, line) for t, m in msgs for line in m.split("\n")]
    ready = [t for t, line in lines if line == "READY=1"]
    status = [line for _, line in lines if line.startswith("STATUS=")]
    pings = [t for t, line in lines if line == "WATCHDOG=1"]
    stopping = [t for t, line in lines if line == "STOPPING=1"]
    if len(ready) != 1:
        fail(f"READY=1 {len(ready)} times: {msgs}")
    if ready_status != 200:
        fail(f"READY=1 sent but /-/ready answers {ready_status}")
    if not status or not re.search(r"sampling \S+ at 99 Hz", status[0]):
        fail(f"STATUS: {status}")
    # WATCHDOG_USEC=2 s: systemd would kill a service silent that long; the agent pings
    # every half of it while the engine turns.
    before = [ready[0]] + [t for t in pings if ready[0] <= t <= t_term] + [t_term]
    gaps = [b - a for a, b in zip(before, before[1:])]
    if len(before) < 5 or max(gaps) >= 2:
        fail(f"WATCHDOG=1 in the {t_term - ready[0]:.1f} s before SIGTERM: gaps {gaps}")
    if len(stopping) != 1 or stopping[0] < t_term:
        fail(f"STOPPING=1 at SIGTERM: {msgs[-5:]}")
    if not any("stopping" in s for s in status[1:]):
        fail(f"no stopping STATUS: {status}")
    if rc != 0:
        fail(f"agent exit {rc}")
    print(f"READY=1 once, {len(pings)} pings (largest gap {max(gaps):.2f} s), STOPPING=1 "
          f"{stopping[0] - t_term:.2f} s after SIGTERM; {status}")


if __name__ == "__main__":
    sys.exit(run_case(globals()))
