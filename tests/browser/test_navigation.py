"""Every page loads without console errors at a laptop's 1280x800 and a phone's 390x844: the
navigation marks it, nothing overflows sideways, and its heading is on the first screen.
Each test saves the first screen (exactly the window's size) and the whole page."""

from __future__ import annotations

import pytest

from app.routers.pages import NAV
from tests.browser.conftest import SCREENSHOTS
from tests.browser.views import horizontal_overflow, outside_viewport

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
PAGES = NAV + [("/docs", "API")]


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("path,label", PAGES)
def test_page_loads(page, live_server, console_errors, shot, path, label, size_name):
    width, height = SIZES[size_name]
    page.set_viewport_size({"width": width, "height": height})
    response = page.goto(live_server + path)
    assert response is not None and response.status == 200
    if path == "/docs":
        page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    page.wait_for_load_state("networkidle")
    # The current page is marked in the navigation, and every nav link is visible.
    current = page.locator('.site-header nav a[aria-current="page"]')
    assert current.inner_text().strip() == label
    for _, other in PAGES:
        assert page.get_by_role("link", name=other, exact=True).first.is_visible()
    # Nothing overflows the window sideways.
    overflow = horizontal_overflow(page)
    assert overflow <= 1, f"{path} overflows by {overflow}px at {width}x{height}"
    # One visible h1, on the first screen, below the header (sticky on a laptop).
    assert page.locator("h1:visible").count() == 1
    assert outside_viewport(page, ["main h1"]) == []
    header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().bottom")
    assert page.locator("main h1").first.bounding_box()["y"] >= header - 1
    name = "home" if path == "/" else path.strip("/")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"page-{name}-{width}x{height}.png"))
    assert page.evaluate("[window.innerWidth, window.innerHeight]") == [width, height]
    shot(f"nav-{name}-{size_name}")
    assert console_errors == []


@pytest.mark.no_axe("an open Swagger UI operation is Swagger's markup; test_accessibility audits /docs")
def test_docs_work_offline(page, live_server, console_errors, shot):
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith(live_server) else None,
    )
    page.goto(live_server + "/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    assert page.locator(".opblock-summary-path", has_text="/api/conv").count() >= 1
    shot("docs")
    # An operation's error statuses are listed with what they mean.
    page.locator(".opblock-summary-path", has_text="/api/conv").first.click()
    conv = page.locator(".opblock.is-open")
    for code in ("400", "413", "422", "503"):
        conv.locator(".response-col_status", has_text=code).first.wait_for()
    assert conv.get_by_text("over this endpoint's limit").count() >= 1
    shot("docs-conv-errors")
    assert [u for u in external if not u.startswith("data:")] == []
    assert console_errors == []


def test_keyboard_reaches_navigation(page, live_server):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")  # skip link first
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Home"
