#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A flame graph in a real browser: Debian's chromium, headless, driven by selenium
through chromium-driver (WebDriver). A click on a frame zooms it to the full width;
Ctrl-F opens the search prompt and highlights the matches with their share; the zoom
and the search land in the URL."""
import os
import shutil
import subprocess
import sys
import tempfile

PMUPROF = os.environ.get("PMUPROF_BIN", "build/pmuprof")
DATA = os.environ.get("PMUPROF_SVG_DATA", os.path.join(os.path.dirname(__file__), "..", "data",
                                                        "svg"))
DRIVER = "/usr/bin/chromedriver"


def check(cond, msg):
    if not cond:
        print(f"FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


def frame(driver, name):
    """The frame's geometry and state, and its element to click."""
    return driver.execute_script("""
        var name = arguments[0];
        var g = Array.from(document.querySelectorAll('#frames > g')).find(
            function (e) { return e.getAttribute('data-n') === name; });
        var r = g.querySelector('rect');
        return {x: parseFloat(r.getAttribute('x')), w: parseFloat(r.getAttribute('width')),
                hidden: g.classList.contains('hide'), fill: r.getAttribute('fill'), rect: r};
    """, name)


def main():
    browser = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(browser) or not os.path.exists(DRIVER):
        print("SKIP: chromium or chromium-driver is not installed "
              "(scripts/install-deps.sh installs them)", file=sys.stderr)
        return 77
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.action_chains import ActionChains
        from selenium.webdriver.common.keys import Keys
        from selenium.webdriver.support.ui import WebDriverWait
    except ImportError:
        print("SKIP: python3-selenium is not installed (scripts/install-deps.sh installs it)",
              file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="pmuprof-browser-")
    svg = os.path.join(tmp, "graph.svg")
    with open(svg, "wb") as f:
        subprocess.run([PMUPROF, "flamegraph", os.path.join(DATA, "basic.folded")], stdout=f,
                       check=True)
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--user-data-dir={tmp}/profile", "--window-size=1200,400"):
        opts.add_argument(a)
    # The search prompt is answered by the test, not dismissed by the driver.
    opts.set_capability("unhandledPromptBehavior", "ignore")
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        # A busy machine may take a while to load and lay out the graph: wait for its
        # frames, up to a minute.
        driver.set_page_load_timeout(60)
        driver.get(f"file://{svg}")
        try:
            WebDriverWait(driver, 60, poll_frequency=0.1).until(lambda d: d.execute_script(
                "return document.readyState === 'complete' && "
                "document.querySelectorAll('#frames > g[data-n]').length > 0"))
        except Exception:
            check(False, "the flame graph did not load in chromium within a minute")

        full = 1200 - 20
        work = frame(driver, "work")
        check(abs(work["w"] - full * 0.7) < 0.1, f"initial width of work: {work['w']}")
        ActionChains(driver).click(work["rect"]).perform()
        work = frame(driver, "work")
        idle = frame(driver, "idle")
        leaf = frame(driver, "leaf<T>&\"q'")
        print(f"after click: work {work['x']},{work['w']}; idle hidden {idle['hidden']}; "
              f"leaf {leaf['w']:.1f}")
        check(abs(work["w"] - full) < 0.1 and abs(work["x"] - 10) < 0.1,
              "zoomed frame is not full width")
        check(idle["hidden"], "a frame outside the zoom is still shown")
        check(abs(leaf["w"] - full / 7) < 0.5, f"child not scaled: {leaf['w']}")
        search = driver.execute_script("return location.search")
        check("x=" in search, "zoom not in the URL: " + search)

        # Ctrl-F: the search prompt, answered like a user would.
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("f").key_up(Keys.CONTROL).perform()
        prompt = WebDriverWait(driver, 10).until(lambda d: d.switch_to.alert)
        prompt.send_keys("^leaf")
        prompt.accept()
        WebDriverWait(driver, 10).until(lambda d: d.execute_script(
            "return document.getElementById('matched').textContent").startswith("Matched"))
        matched = driver.execute_script("return document.getElementById('matched').textContent")
        leaf = frame(driver, "leaf<T>&\"q'")
        print(f"search: {matched}, leaf fill {leaf['fill']}")
        check(leaf["fill"] == "rgb(230,0,230)", "the match is not highlighted")
        check(matched == "Matched: 14.3%", f"matched share within the zoom: {matched}")
        check("s=%5Eleaf" in driver.execute_script("return location.search"),
              "search not in the URL")

        # Reset Zoom restores the layout.
        ActionChains(driver).click(driver.find_element("id", "unzoom")).perform()
        work = frame(driver, "work")
        check(abs(work["w"] - full * 0.7) < 0.1 and not frame(driver, "idle")["hidden"],
              "reset zoom did not restore the layout")
        matched = driver.execute_script("return document.getElementById('matched').textContent")
        check(matched == "Matched: 10.0%", f"matched share of everything: {matched}")
    finally:
        driver.quit()
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
