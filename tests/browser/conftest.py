"""Browser tests: Debian's Chromium driven by Playwright against a live server.

The app runs in its own process on a free port for the whole session; every test
gets a page that records console errors, and a helper that saves screenshots under
tests/browser/screenshots/ (git-ignored) for a person to look at. Every test that uses the
``page`` fixture ends with an axe-core audit of the page in the state the test left it (see
``pytest_runtest_call``); tests that open their own contexts (other sizes, zoom) are not
audited, so test_accessibility audits every page in each view, presenter mode included."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.browser.axe import SWAGGER_RULES_OFF, axe_violations, settled

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_env(tmp_path_factory):
    """The environment of the session's app processes: the embedded store (uploaded models,
    training runs) in a folder of the session's own, not the shared <tmp>/convlab-<uid>,
    whose caps per network address other sessions and servers of this user fill too."""
    return {**os.environ, "CONVLAB_RUNTIME_DIR": str(tmp_path_factory.mktemp("runtime"))}


@pytest.fixture(scope="session")
def live_server(server_env):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"browser tests need Chromium at {CHROMIUM} (make test installs it)")
    port = _free_port()
    env = dict(server_env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the test server did not start")
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync",
        ],
    }


@pytest.fixture
def console_errors(page):
    """Console errors and uncaught exceptions seen by the page during the test."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture
def shot(page):
    """``shot(name)`` saves a full-page screenshot as screenshots/<name>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(name: str, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture(scope="session")
def start_server(server_env):
    """``start_server(**env)``: another app process with extra environment (e.g.
    ``CONVLAB_MODELS_DIR``) on a free port, stopped at the end of the session; returns its URL."""
    procs: list[subprocess.Popen] = []

    def start(**extra: str) -> str:
        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env={**server_env, **extra},
        )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                    if r.status == 200:
                        return base
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("the test server did not start")
            time.sleep(0.2)

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After a browser test passes, audit the page it leaves behind with axe-core: the
    states the tests reach (a trace open, a layer that does not fit, a drawn digit) are the
    ones students see. A view already audited in this session (the same page, width and
elements on show) is not audited again. ``@pytest.mark.no_axe("why")`` opts a test out."""
    result = yield
    page = getattr(item, "funcargs", {}).get("page")
    if page is None or item.get_closest_marker("no_axe") or not page.url.startswith("http"):
        return result
    settled(page)
    view = page.evaluate(VIEW_SIGNATURE)
    if view in _AUDITED:  # the same view another test left: axe would say the same (~1 s)
        return result
    found = axe_violations(page, SWAGGER_RULES_OFF if urlparse(page.url).path == "/docs" else None)
    assert found == [], f"axe-core on {page.url}: " + "; ".join(found)
    _AUDITED.add(view)
    return result


# What a view is, for the audit: the page and its query, the window's width, presenter mode,
# how many elements are on show and which of those with an id (a trace open, a warning, a
# panel filled in). Only a view another test left exactly so is skipped.
VIEW_SIGNATURE = """() => {
  const shown = [...document.querySelectorAll('body *')].filter((e) => e.getClientRects().length > 0);
  return [location.pathname + location.search, innerWidth, document.documentElement.className,
    shown.length, shown.filter((e) => e.id).map((e) => e.id).join(' ')].join('|');
}"""
_AUDITED: set[str] = set()
