"""Presenter mode (static/js/present.js): a header button and ?present=1 give a projector
view with larger type and no header or footer; a slim bar at the top lists the pages and
holds the way out, and the page scrolls below it, so the bar covers nothing at any scroll
position. The flag is kept when moving between pages and when a page writes its state to
the URL; Esc or the bar's button leaves it."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.routers.pages import NAV
from tests.browser.views import covered_by, horizontal_overflow, outside_viewport, under_strip

SHOTS = Path(__file__).parent / "screenshots"
PAGES = NAV + [("/docs", "API")]
BAR = "#present-bar"
# The way out as it was before the bar: a button laid over the bottom-left corner of the page,
# and, the other usual fix, a bar that sticks to the top while the page scrolls under it.
OVERLAID = {
    "corner button": """
      html.present, html.present body { height: auto; overflow: visible; min-height: 100vh; }
      html.present main { overflow: visible; flex: 1 0 auto; padding-bottom: 3.5rem; }
      html.present .present-bar { position: fixed; left: .4rem; bottom: .4rem; z-index: 20;
                                  padding: 0; border: 0; background: none; }
      html.present .present-nav { display: none; }""",
    "sticky bar": """
      html.present, html.present body { height: auto; overflow: visible; min-height: 100vh; }
      html.present main { overflow: visible; flex: 1 0 auto; }
      html.present .present-bar { position: sticky; top: 0; z-index: 20; }""",
}


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


# The bar's page menu, read off the page: each link's label and href, and which is current.
MENU = """() => [...document.querySelectorAll('#present-bar nav a')].map((a) => ({
  label: a.textContent.trim(), href: a.getAttribute('href'),
  current: a.getAttribute('aria-current') === 'page', shown: a.getBoundingClientRect().width > 0,
}))"""

# The element on top at the middle of the way out: the button itself, or what hides it.
ON_TOP = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  return hit ? hit.closest(sel) !== null : false;
}"""


def _open(page, live_server, path):
    page.goto(live_server + path + ("&" if "?" in path else "?") + "present=1")
    if path == "/docs":
        page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("path,label", PAGES)
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1), ((1280, 720), 1.5)])
def test_every_page_in_presenter_mode(browser, live_server, path, label, size, scale):
    """A projector (1920x1080) and the same at 150% browser zoom: no header or footer, the
    bar lists every page with this one marked, and, scrolled from top to bottom, the bar lies
    over no text and no control, and stays on screen and on top."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  device_scale_factor=scale)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        _open(page, live_server, path)
        assert _chrome_hidden(page)
        assert page.get_by_role("button", name="Exit presenter mode").is_visible()
        menu = page.evaluate(MENU)
        assert [m["label"] for m in menu] == [lab for _, lab in PAGES]
        assert [m["label"] for m in menu if m["current"]] == [label]
        assert all(m["href"].split("?")[0] == p and m["href"].endswith("present=1")
                   for m, (p, _) in zip(menu, PAGES, strict=True)), menu
        assert under_strip(page, BAR) == [], f"the bar hides part of {path}"
        # Only <main> scrolls: the window cannot, so nothing (scrollIntoView included) can
        # move the bar off the screen.
        assert page.evaluate("document.scrollingElement.scrollHeight - window.innerHeight") <= 1
        assert page.evaluate(ON_TOP, "#present-exit")
        overflow = horizontal_overflow(page)
        assert overflow <= 1, f"{path} overflows by {overflow}px"
        if scale == 1:
            SHOTS.mkdir(exist_ok=True)
            name = "home" if path == "/" else path.strip("/")
            page.screenshot(path=str(SHOTS / f"present-{name}-1920.png"))
        assert errors == []
    finally:
        context.close()


def test_the_cover_check_can_fail(browser, live_server):
    """The check above finds what the audit saw, the old corner button over /train's text and
    controls at 150%, and as much for a bar that sticks while the page scrolls under it."""
    context = browser.new_context(viewport={"width": 1280, "height": 720}, device_scale_factor=1.5)
    page = context.new_page()
    try:
        _open(page, live_server, "/train")
        assert under_strip(page, BAR) == []
        for name, css in OVERLAID.items():
            style = page.add_style_tag(content=css)
            hidden = under_strip(page, BAR)
            assert any(h.startswith("text ") for h in hidden), (name, hidden)
            assert any(h.startswith("control ") for h in hidden), (name, hidden)
            style.evaluate("(s) => s.remove()")
        # A bar pushed off the screen is reported too.
        page.add_style_tag(content="html.present .present-bar { margin-top: -200px; }")
        assert f"{BAR} left the screen" in under_strip(page, BAR)
    finally:
        context.close()


def test_the_bar_menu_moves_between_pages_by_keyboard(page, live_server, console_errors):
    """Skip link, then the page menu: Tab reaches every page from the bar, Enter follows the
    link, and the next page is in presenter mode with itself marked."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    _open(page, live_server, "/playground")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.closest('#present-bar') !== null, "
                            "document.activeElement.textContent.trim()]")
    assert focused == [True, "Home"]
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    for _ in range(3):  # Home, Playground, Calculator -> Lessons
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Lessons"
    page.keyboard.press("Enter")
    page.wait_for_url("**/lessons?present=1")
    assert _chrome_hidden(page)
    current = page.locator('#present-bar a[aria-current="page"]')
    assert current.inner_text() == "Lessons" and current.is_visible()
    # By mouse, and back: the menu is the same on every page.
    page.locator("#present-bar").get_by_role("link", name="Classify", exact=True).click()
    page.wait_for_url("**/classify?present=1*")
    assert page.locator('#present-bar a[aria-current="page"]').inner_text() == "Classify"
    assert _chrome_hidden(page)
    assert console_errors == []


# <main>'s scroll position once a (smooth) keyboard scroll has come to rest.
SCROLL_AT_REST = """async () => {
  const m = document.querySelector('main');
  let last = -1, still = 0;
  for (let i = 0; i < 100 && still < 4; i++) {  // unchanged over 4 looks, 0.2 s
    still = m.scrollTop === last ? still + 1 : 0;
    last = m.scrollTop;
    await new Promise((r) => setTimeout(r, 50));
  }
  return [m.scrollTop, m.scrollHeight - m.clientHeight];
}"""


def test_scroll_keys_move_the_page_below_the_bar(page, live_server, console_errors):
    """In presenter mode <main> scrolls, not the window: PageDown, Space and End (a
    presentation clicker's keys) still move the page, with nothing focused or from the bar."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    _open(page, live_server, "/lessons")
    page.keyboard.press("PageDown")
    first, end = page.evaluate(SCROLL_AT_REST)
    assert first > 500
    page.keyboard.press("Space")
    assert page.evaluate(SCROLL_AT_REST)[0] > first + 500
    page.keyboard.press("End")
    assert page.evaluate(SCROLL_AT_REST)[0] >= end - 1
    page.keyboard.press("Home")
    assert page.evaluate(SCROLL_AT_REST)[0] == 0
    page.locator("#present-bar a").first.focus()
    page.keyboard.press("PageDown")
    assert page.evaluate(SCROLL_AT_REST)[0] > 500
    assert "present=1" in page.url and console_errors == []


def test_switching_keeps_the_reader_in_place(page, live_server, console_errors):
    """The button mid-page: the section being read is still at the top after the switch (the
    window scrolls in one layout, <main> in the other), and again after Esc."""
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(live_server + "/lessons")
    page.wait_for_load_state("networkidle")
    section = "document.querySelector('#softmax')"
    page.evaluate(f"{section}.scrollIntoView()")
    page.get_by_role("button", name="Presenter mode").click()
    box = page.evaluate(f"{section}.getBoundingClientRect().toJSON()")
    bar = page.evaluate("document.querySelector('#present-bar').getBoundingClientRect().bottom")
    assert bar - 1 <= box["top"] <= 1080 / 3, box
    page.keyboard.press("Escape")
    box = page.evaluate(f"{section}.getBoundingClientRect().toJSON()")
    header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().bottom")
    assert header - 1 <= box["top"] <= 1080 / 3, box
    assert console_errors == []


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
            assert covered_by(page, parts, BAR) == [], heading
        if query:
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / f"present-lessons-softmax-{size[0]}.png"))
    finally:
        context.close()
