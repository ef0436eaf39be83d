#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A flame graph in a real browser: Debian's chromium, headless, driven through the
DevTools protocol (a minimal WebSocket client below, stdlib only). A click on a frame
zooms it to the full width; Ctrl-F opens the search prompt and highlights the matches
with their share; the zoom and the search land in the URL."""
import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
DATA = os.environ.get("PMUPROF_SVG_DATA", os.path.join(os.path.dirname(__file__), "..", "data",
                                                        "svg"))


class WebSocket:
    def __init__(self, url):
        host_port, path = url[len("ws://"):].split("/", 1)
        host, port = host_port.split(":")
        self.s = socket.create_connection((host, int(port)), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        resp = b""
        while b"\r\n\r\n" not in resp:
            resp += self.s.recv(4096)
        if b" 101 " not in resp.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake failed: " + resp[:200].decode())
        self.buf = resp.split(b"\r\n\r\n", 1)[1]

    def send(self, text):
        data = text.encode()
        head = bytes([0x81])
        n = len(data)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.s.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7f
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            payload = self._read(n)
            msg += payload
            if b0 & 0x80:
                return msg.decode()


class Page:
    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def send(self, method, **params):
        """Send without waiting: a call that opens a dialog answers only once it is handled."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def call(self, method, **params):
        self.next_id += 1
        my = self.next_id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        while True:
            m = json.loads(self.ws.recv())
            if m.get("id") == my:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e.get("method") == method:
                    return self.events.pop(i)
            self.events.append(json.loads(self.ws.recv()))
        raise RuntimeError(f"no {method} event")

    def js(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


def frame(page, name):
    return page.js(f"""(function() {{
        var g = Array.from(document.querySelectorAll('#frames > g')).find(
            function (e) {{ return e.getAttribute('data-n') === {json.dumps(name)}; }});
        var r = g.querySelector('rect'), b = r.getBoundingClientRect();
        return {{x: parseFloat(r.getAttribute('x')), w: parseFloat(r.getAttribute('width')),
                 hidden: g.classList.contains('hide'), fill: r.getAttribute('fill'),
                 cx: b.left + b.width / 2, cy: b.top + b.height / 2}};
    }})()""")


def click(page, x, y):
    for t in ("mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=t, x=x, y=y, button="left", clickCount=1)


def main():
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(browser):
        print("SKIP: chromium is not installed (scripts/install-deps.sh installs it)",
              file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="pmuprof-browser-")
    svg = os.path.join(tmp, "graph.svg")
    with open(svg, "wb") as f:
        subprocess.run([PMUPROF, "flamegraph", os.path.join(DATA, "basic.folded")], stdout=f,
                       check=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([browser, "--headless", "--no-sandbox", "--disable-gpu",
                             "--disable-quic", "--no-first-run", "--disable-background-networking",
                             "--disable-component-update", "--disable-sync",
                             f"--user-data-dir={tmp}/profile", f"--remote-debugging-port={port}",
                             "--window-size=1200,400", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/json/version", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        req = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?file://{svg}", method="PUT")
        target = json.load(urllib.request.urlopen(req, timeout=10))
        page = Page(WebSocket(target["webSocketDebuggerUrl"]))
        page.call("Page.enable")
        page.call("Runtime.enable")
        # A busy machine may take a while to load and lay out the graph: wait for its
        # frames (window.frames always exists, so it tells nothing), up to a minute.
        loaded = False
        for _ in range(600):
            loaded = page.js("document.readyState === 'complete' && "
                             "document.querySelectorAll('#frames > g[data-n]').length > 0")
            if loaded:
                break
            time.sleep(0.1)
        check(loaded, "the flame graph did not load in chromium within a minute")

        full = 1200 - 20
        work = frame(page, "work")
        check(abs(work["w"] - full * 0.7) < 0.1, f"initial width of work: {work['w']}")
        click(page, work["cx"], work["cy"])
        work = frame(page, "work")
        idle = frame(page, "idle")
        leaf = frame(page, "leaf<T>&\"q'")
        print(f"after click: work {work['x']},{work['w']}; idle hidden {idle['hidden']}; "
              f"leaf {leaf['w']:.1f}")
        check(abs(work["w"] - full) < 0.1 and abs(work["x"] - 10) < 0.1, "zoomed frame is not full width")
        check(idle["hidden"], "a frame outside the zoom is still shown")
        check(abs(leaf["w"] - full / 7) < 0.5, f"child not scaled: {leaf['w']}")
        check("x=" in page.js("location.search"), "zoom not in the URL: " + page.js("location.search"))

        # Ctrl-F: the search prompt, answered through the protocol.
        page.send("Input.dispatchKeyEvent", type="rawKeyDown", modifiers=2, key="f", code="KeyF",
                  windowsVirtualKeyCode=70)
        page.wait_event("Page.javascriptDialogOpening")
        page.call("Page.handleJavaScriptDialog", accept=True, promptText="^leaf")
        time.sleep(0.2)
        matched = page.js("document.getElementById('matched').textContent")
        leaf = frame(page, "leaf<T>&\"q'")
        print(f"search: {matched}, leaf fill {leaf['fill']}")
        check(leaf["fill"] == "rgb(230,0,230)", "the match is not highlighted")
        check(matched == "Matched: 14.3%", f"matched share within the zoom: {matched}")
        check("s=%5Eleaf" in page.js("location.search"), "search not in the URL")

        # Reset Zoom restores the layout.
        btn = page.js("(function(){var b=document.getElementById('unzoom').getBoundingClientRect();"
                      "return {x:b.left+b.width/2,y:b.top+b.height/2};})()")
        click(page, btn["x"], btn["y"])
        work = frame(page, "work")
        check(abs(work["w"] - full * 0.7) < 0.1 and not frame(page, "idle")["hidden"],
              "reset zoom did not restore the layout")
        matched = page.js("document.getElementById('matched').textContent")
        check(matched == "Matched: 10.0%", f"matched share of everything: {matched}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
