"""Presenter mode (static/js/present.js): a header button and ?present=1 give a projector
view with larger type and no header, footer or navigation; the flag is kept when moving
between pages and when a page writes its state to the URL; Esc or a button leaves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.routers.pages import NAV
from tests.browser.views import covered_by, outside_viewport

SHOTS = Path(__file__).parent / "screenshots"
PAGES = NAV + [("/docs", "API docs")]


def _chrome_hidden(page) -> bool:
    return page.evaluate("""() => ['.site-header', '.site-footer'].every((s) => {
        const e = document.querySelector(s);
        return !e || e.getBoundingClientRect().height === 0;
    })""")


def test_the_button_enters_and_esc_leaves(page, live_server, console_errors):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/")
    toggle = page.get_by_role("button", name="Presenter mode")
    assert toggle.get_attribute("aria-pressed") == "false"
    assert not _chrome_hidden(page)
    assert not page.locator("#present-exit").is_visible()
    toggle.click()
    assert "present=1" in page.url
    assert _chrome_hidden(page)
    exit_button = page.get_by_role("button", name="Exit presenter mode")
    assert exit_button.is_visible()
    # Focus moves to the way out, so a keyboard user is never lost.
    assert page.evaluate("document.activeElement.id") == "present-exit"
    page.keyboard.press("Escape")
    assert "present" not in page.url
    assert not _chrome_hidden(page)
    assert page.evaluate("document.activeElement.id") == "present-toggle"
    # The exit button works as well as Esc, by keyboard.
    page.keyboard.press("Enter")  # the toggle has focus
    assert _chrome_hidden(page)
    page.keyboard.press("Enter")  # focus is on the exit button
    assert not _chrome_hidden(page) and "present" not in page.url
    assert console_errors == []


def test_the_flag_is_kept_between_pages_and_in_state_urls(page, live_server, console_errors):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(live_server + "/?present=1")
    assert _chrome_hidden(page)
    # Every link to another page carries the flag; files and the API do not.
    hrefs = page.eval_on_selector_all("main a[href^='/']", "els => els.map((a) => a.getAttribute('href'))")
    assert hrefs and all("present=1" in h for h in hrefs), hrefs
    page.locator("main a[href^='/lessons']").first.click()
    page.wait_for_url("**/lessons?present=1*")
    assert _chrome_hidden(page)
    # The lessons page mirrors its state to the URL; the flag stays.
    page.wait_for_selector("#pool-output .cell")
    page.click("#pool-avg")
    page.wait_for_function("() => location.search.includes('mode=avg')")
    assert "present=1" in page.url
    page.reload()
    assert _chrome_hidden(page)
    assert console_errors == []


def test_type_is_larger_on_a_projector(browser, live_server):
    """At 1920x1080 presenter mode enlarges everything by a quarter; at 150% browser zoom
    (1280x720 CSS pixels) the browser has enlarged it already and nothing overflows."""
    widths = {}
    for query in ("", "?present=1"):
        context = browser.new_context(viewport={"width": 1920, "height": 1080})
        page = context.new_page()
        page.goto(live_server + "/" + query)
        widths[query] = page.locator("main .button.primary").first.bounding_box()["width"]
        context.close()
    assert widths["?present=1"] >= 1.2 * widths[""]


@pytest.mark.parametrize("path,label", PAGES)
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1), ((1280, 720), 1.5)])
def test_every_page_in_presenter_mode(browser, live_server, path, label, size, scale):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  device_scale_factor=scale)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(live_server + path + "?present=1")
        if path == "/docs":
            page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
        page.wait_for_load_state("networkidle")
        assert _chrome_hidden(page)
        assert page.get_by_role("button", name="Exit presenter mode").is_visible()
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} overflows by {overflow}px"
        if scale == 1:
            SHOTS.mkdir(exist_ok=True)
            name = "home" if path == "/" else path.strip("/")
            page.screenshot(path=str(SHOTS / f"present-{name}-1920.png"))
        assert errors == []
    finally:
        context.close()


# The lessons' two step-by-step views: with the panel at the top of the window, its grids,
# controls and explanation are all on screen.
LESSON_VIEWS = {
    "#pool-demo-title": ["#pool-input", "#pool-output", "#pool-play", "#pool-next", "#pool-scrub", "#pool-explain"],
    "#sm-title": ["#sm-table", "#sm-bars", "#sm-play", "#sm-next", "#sm-scrub", "#sm-explain"],
}


@pytest.mark.parametrize("query,size,scale", [
    ("", (1280, 800), 1),
    ("?present=1", (1920, 1080), 1),
    ("?present=1", (1280, 720), 1.5),
])
def test_lesson_step_views_fit_one_screen(browser, live_server, query, size, scale):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  device_scale_factor=scale)
    page = context.new_page()
    try:
        page.goto(live_server + "/lessons" + query)
        page.wait_for_selector("#pool-output .cell")
        page.wait_for_function("() => document.querySelector('#sm-explain').textContent.length > 0")
        for heading, parts in LESSON_VIEWS.items():
            page.evaluate("(h) => document.querySelector(h).closest('article').scrollIntoView()", heading)
            assert outside_viewport(page, parts) == [], heading
            assert covered_by(page, parts, "#present-exit") == [], heading
        if query:
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"present-lessons-softmax-{size[0]}.png"))
    finally:
        context.close()
