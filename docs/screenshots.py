"""Make the README's screenshots (docs/screenshot-*.png) from the running app, in Chromium.

    .venv/bin/python docs/screenshots.py

Starts the app on a free port with a store of its own, opens each view as a student would
(the playground in presenter mode at 1920x1080 halfway through the course example; classify
with LeNet-5 reading a 7 and a relu1 map joined to the conv1 map it came from; the Grad-CAM
panel for "why not the second guess?"), and saves the PNGs next to this file.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start() -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "CONVLAB_RUNTIME_DIR": tempfile.mkdtemp(prefix="convlab-shots-")}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
                             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(base + "/api/health", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.25)
    proc.terminate()
    raise SystemExit("the app did not start")


def playground(browser, base: str) -> None:
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    page.goto(base + "/playground?present=1&step=6")
    page.wait_for_selector("#arith[data-status=ready]")
    page.evaluate("document.getElementById('step-view').scrollIntoView()")
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "screenshot-playground.png"))
    page.close()


def classify(browser, base: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(base + "/classify?model=lenet5")
    page.wait_for_selector(".layer-col.is-selected")
    with page.expect_response(lambda r: r.url.endswith("/inspect")):
        page.locator('.sample[data-sample="digit-7"]').click()
    page.wait_for_selector(".layer-col.is-selected")
    page.locator('#layers .layer-col[data-layer] .thumb').nth(7).hover()
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "screenshot-classify.png"))
    with page.expect_response(lambda r: r.url.endswith("/gradcam")):
        page.locator("#why-quick button").nth(1).click()
    page.locator("#why").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    page.screenshot(path=str(DOCS / "screenshot-why.png"))
    page.close()


def main() -> None:
    proc, base = start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            playground(browser, base)
            classify(browser, base)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(10)
    print("wrote", ", ".join(sorted(f.name for f in DOCS.glob("screenshot-*.png"))))


if __name__ == "__main__":
    main()
