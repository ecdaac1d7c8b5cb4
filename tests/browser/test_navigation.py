"""Every page in the navigation loads without console errors, at desktop and phone width."""

from __future__ import annotations

import pytest

from app.routers.pages import NAV

WIDTHS = {"desktop": 1280, "phone": 390}


@pytest.mark.parametrize("width_name", list(WIDTHS))
@pytest.mark.parametrize("path,label", NAV)
def test_page_loads(page, live_server, console_errors, shot, path, label, width_name):
    page.set_viewport_size({"width": WIDTHS[width_name], "height": 900})
    response = page.goto(live_server + path)
    assert response is not None and response.status == 200
    page.wait_for_load_state("networkidle")
    # The current page is marked in the navigation, and every nav link is visible.
    current = page.locator('nav a[aria-current="page"]')
    assert current.inner_text().strip() == label
    for _, other in NAV:
        assert page.get_by_role("link", name=other, exact=True).first.is_visible()
    # Nothing overflows the viewport horizontally at phone width.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{path} overflows by {overflow}px at {width_name} width"
    name = "home" if path == "/" else path.strip("/")
    shot(f"nav-{name}-{width_name}")
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
