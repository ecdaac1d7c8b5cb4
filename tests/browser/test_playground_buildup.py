"""The playground for issue 18: the feature map builds up as the window slides (and the
ReLU and pooled maps with it), the step view fits one screen (also in presenter mode), and
the defects a teacher found: an empty warning bar and a failed request for an impossible
layer, presets zero-padded into "Custom" when the filter size changes, one colour scale
hiding weak maps, "padded to" without padding, and the RGB caption."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.test_playground import api, open_page, settle, version
from tests.browser.views import covered_by, outside_viewport

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
SHOTS = Path(__file__).parent / "screenshots"


def filled(page, selector: str = "#out-grid") -> int:
    """Output cells a person sees filled in: a number in cell mode, coloured in pixel mode."""
    return page.eval_on_selector(
        selector,
        """root => root.dataset.mode === 'cells'
             ? [...root.querySelectorAll('.mcell')].filter(c => !c.classList.contains('pending') && c.textContent !== '').length
             : Number(root.dataset.filled)""",
    )


def at_step(page, step: int) -> None:
    """Wait until the window is at `step` (0-based) and its arithmetic is drawn."""
    page.wait_for_function("s => +document.getElementById('scrub').value === s", arg=step)
    page.wait_for_selector("#arith[data-status=ready]")


def scrub_to(page, step: int) -> None:
    page.eval_on_selector(
        "#scrub", "(e, v) => { e.value = String(v); e.dispatchEvent(new Event('input', {bubbles: true})); }", step)


def test_the_map_fills_in_as_the_window_slides(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)  # the course's 6x6 image, two 3x3 filters: 4x4 maps, 16 steps
    # At "step k of 16" exactly k cells are filled, in the step view and in every map of the volume.
    assert filled(page) == 1
    assert page.inner_text("#pos-text").endswith("step 1 of 16")
    for n in range(1, 4):  # Next
        page.click("#fwd")
        at_step(page, n)
        assert filled(page) == n + 1
        assert page.inner_text("#pos-text").endswith(f"step {n + 1} of 16")
    assert page.locator("#out-grid .mcell.cur").count() == 1
    assert page.locator("#out-grid .mcell.cur.pending").count() == 0  # the current cell is computed
    page.click("#back")
    at_step(page, 2)
    assert filled(page) == 3
    maps = page.locator("#volume [data-stage=conv] .mview")
    assert [filled(page, f"#volume [data-stage=conv] .fmap:nth-child({m + 1}) .mview") for m in range(maps.count())] == [3, 3]
    # The cells not yet computed are empty: no number, and the filled ones are the first in reading order.
    texts = page.eval_on_selector_all("#out-grid .mcell", "els => els.map(e => e.textContent)")
    assert all(t != "" for t in texts[:3]) and all(t == "" for t in texts[3:])
    # The bands join the input window to the filter and the filter to the current output cell.
    assert page.get_attribute("#beam", "data-to") == "0,2"
    assert page.locator("#beam polygon").count() == 2
    scrub_to(page, 9)
    at_step(page, 9)
    assert filled(page) == 10
    assert page.get_attribute("#beam", "data-to") == "2,1"
    # Play keeps the state: when paused, the number of filled cells is the step's.
    page.select_option("#speed", "8")
    page.click("#play")
    page.wait_for_function("() => +document.getElementById('scrub').value >= 12")
    page.click("#play")
    step = int(page.input_value("#scrub"))
    at_step(page, step)
    assert filled(page) == step + 1
    shot("playground-buildup")
    # "Show the finished maps": every cell, here and in the volume; the window stays.
    page.check("#show-all")
    assert filled(page) == 16
    assert page.inner_text("#fill-text") == "all 16 values shown"
    assert page.locator("#out-grid .mcell.cur").count() == 1
    assert page.locator("#volume [data-stage=conv] .mcell.pending").count() == 0
    page.reload()
    settle(page, 0)
    assert page.is_checked("#show-all") and filled(page) == 16
    assert console_errors == []


def test_relu_and_pooling_build_up_the_same_way(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, "?act=relu&pool=max&pk=2&ps=2")
    act = "#volume [data-stage=act] .fmap:nth-child(1) .mview"
    pool = "#volume [data-stage=pool] .fmap:nth-child(1) .mview"
    # 4x4 maps pooled 2x2 with stride 2: pooled cell (0, 0) needs conv cells up to (1, 1), step 5.
    for step, pooled in [(0, 0), (4, 0), (5, 1), (7, 2), (13, 3), (15, 4)]:
        scrub_to(page, step)
        at_step(page, step)
        assert filled(page, act) == step + 1
        assert filled(page, pool) == pooled, step
    page.check("#show-all")
    assert filled(page, pool) == 4
    assert console_errors == []


STEP_VIEW = ["#kfilter", "#first", "#back", "#play", "#fwd", "#scrub", "#show-all",
             "#in-grids", "#w-grids", "#out-grid", "#arith .arith-where", "#arith .arith-rows", "#arith .arith-final", "#arith"]
# The smallest type of the numbered cells and the arithmetic's tables: scaled to fit, never unreadable.
SMALLEST_NUMBER = """() => Math.min(...[...document.querySelectorAll('#step-view .mcell, #arith .acell')]
                     .map(e => parseFloat(getComputedStyle(e).fontSize)))"""


def _step_view_checks(page) -> list[str]:
    page.evaluate("() => document.getElementById('step-view').scrollIntoView()")
    page.wait_for_timeout(100)
    bad = outside_viewport(page, STEP_VIEW)
    # No part of the stage is scrolled away (the last feature-map column was cut off), nor the products.
    for box in ("#stage", "#arith .arith-rows"):
        gap = page.eval_on_selector(box, "e => e.scrollWidth - e.clientWidth")
        if gap > 1:
            bad.append(f"{box} scrolls by {gap}px")
    # Each caption clears its grid.
    for fig, grid in [("#w-fig", "#w-grids"), ("#out-fig", "#out-grid"), ("#in-fig", "#in-grids")]:
        space = page.evaluate(
            """([f, g]) => document.querySelector(g).getBoundingClientRect().top
                 - document.querySelector(f + ' figcaption').getBoundingClientRect().bottom""", [fig, grid])
        if space < 2:
            bad.append(f"{fig} caption touches its grid ({space:.1f}px)")
    smallest = page.evaluate(SMALLEST_NUMBER)
    if smallest < 9:
        bad.append(f"numbers shrunk to {smallest:.1f}px")
    return bad


# The course's example, a digit at the last step, a colour photo (three channels: 28×28×3), the same
# photo in grey (a sum written out over three lines), the scene in colour, and a 7×7 filter.
@pytest.mark.parametrize("query", ["", "?sample=digit-3&step=200", "?sample=shapes&size=32&channels=RGB",
                                   "?sample=shapes&size=32", "?sample=scene&channels=RGB&step=300",
                                   "?sample=digit-3&ksize=7&step=100"])
def test_the_step_view_fits_one_screen(page, live_server, console_errors, query):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, query)
    assert _step_view_checks(page) == []
    if "RGB" in query:
        # The three channels side by side (they were stacked, 1,299 px tall), and the filter's slices.
        for grids in ("#in-grids", "#w-grids"):
            tops = page.eval_on_selector_all(f"{grids} .mview", "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
            assert len(tops) == 3 and len(set(tops)) == 1, (grids, tops)
    # Stepping on keeps it on one screen (a wider value only ever shrinks it, never grows it back).
    page.click("#fwd")
    page.wait_for_selector("#arith[data-status=ready]")
    assert _step_view_checks(page) == []
    assert console_errors == []


@pytest.mark.parametrize("query", ["", "&sample=digit-3&step=200", "&sample=shapes&size=32&channels=RGB"])
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1), ((1280, 720), 1.5)])
def test_the_step_view_fits_in_presenter_mode(browser, live_server, query, size, scale):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, device_scale_factor=scale)
    page = context.new_page()
    try:
        open_page(page, live_server, "?present=1" + query)
        assert _step_view_checks(page) == []
        # The presenter bar (pages menu, exit) covers nothing of the view.
        assert covered_by(page, [*STEP_VIEW[:-1], "#arith .arith-totals"], "#present-bar") == []
        if size[0] == 1920:
            SHOTS.mkdir(exist_ok=True)
            name = "-rgb" if "RGB" in query else "-digit" if query else ""
            page.screenshot(path=str(SHOTS / f"present-playground-step{name}-1920.png"))
    finally:
        context.close()


def test_an_impossible_layer_is_explained_without_a_failed_request(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, "?stride=4")
    convs: list[str] = []
    page.on("request", lambda r: convs.append(r.url) if r.url.endswith("/api/conv") else None)
    before = version(page)
    page.select_option("#ksize", "7")
    settle(page, before, status="invalid")
    assert "larger than the padded input" in page.inner_text("#size-error")
    # No empty orange warning bar above the red error.
    assert page.eval_on_selector("#size-text", "e => e.hidden || e.getBoundingClientRect().height === 0")
    assert page.locator(".pg-size .warning:visible").count() == 0
    assert convs == []  # checked by POST /api/playground/layer first
    page.locator(".pg-size").scroll_into_view_if_needed()
    shot("playground-impossible-stride4")
    before = version(page)
    page.select_option("#ksize", "3")
    settle(page, before)
    assert len(convs) >= 1
    assert console_errors == []


def test_filter_size_changes_keep_presets_and_maps_can_have_their_own_scale(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    before = version(page)
    page.select_option("#ksize", "5")
    settle(page, before)  # 5x5 on 6x6: a 2x2 map
    presets = {f["name"]: f["weights"]["data"] for f in api(live_server, "/api/filters?size=5")["filters"]}
    assert page.eval_on_selector_all(".fcard select", "els => els.map(e => e.value)") == ["diagonal", "vertical"]
    weights = page.eval_on_selector_all(".fcard[data-index='0'] .kcell", "els => els.map(e => Number(e.value))")
    assert weights[:25] == presets["diagonal"]  # the API's 5x5 course filter, not a zero-padded 3x3
    # A size with no version of a preset: a named stand-in from the API's list at that size.
    before = version(page)
    page.select_option("#ksize", "4")
    settle(page, before)
    assert page.inner_text("#kfilter").splitlines()[0] == "0: Gaussian blur (for Diagonal detector (course))"
    assert "has no 4×4 version" in page.inner_text(".fcard[data-index='0'] .fdesc")
    before = version(page)
    page.select_option("#ksize", "3")
    settle(page, before)
    assert page.eval_on_selector_all(".fcard select", "els => els.map(e => e.value)") == ["diagonal", "vertical"]

    # A strong and a weak filter: on a shared scale the weak map is pale; on its own it is not.
    before = version(page)
    page.goto(f"{live_server}/playground?sample=digit-3&filters=[\"sobel_x\",\"box_blur\"]&bias=[0,0]&all=true")
    settle(page, 0)
    blur = "#volume [data-stage=conv] .fmap:nth-child(2) canvas"
    darkest = "c => Math.min(...[...c.getContext('2d').getImageData(0, 0, c.width, c.height).data].filter((_, i) => i % 4 === 1))"
    shared = page.eval_on_selector(blur, darkest)
    page.check("#map-scales")
    assert "own colour scale" in page.inner_text("#volume-scale-note")
    own = page.eval_on_selector(blur, darkest)
    assert own < shared - 60, (shared, own)  # green falls as orange deepens: full colour on its own scale
    shot("playground-map-scales")
    assert console_errors == []


def test_captions_padding_and_conventions(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    assert "padded" not in page.inner_text("#size-text")
    assert "padded" not in page.inner_text("#in-caption")
    before = version(page)
    page.select_option("#pad", "1")
    settle(page, before)
    assert "(padded to 8×8)" in page.inner_text("#size-text")
    assert page.inner_text("#in-caption") == "6×6×1, padded to 8×8×1"
    # Shapes with "×", never "6x6"; rows and columns from 0, and the page says so.
    text = page.inner_text("main")
    assert re.findall(r"\d+x\d+", text) == []
    assert "numbered from 0" in page.inner_text("#step-view")
    assert "also called an activation map" in page.inner_text(".pg-intro .lead")
    assert page.get_attribute(".fcard[data-index='0'] .kcell >> nth=0", "aria-label") == "Filter 0, row 0, column 0"
    assert "row 0, column 0" in page.inner_text("#arith .arith-where")
    # RGB: each value is a colour's amount, not a brightness from black to white.
    before = version(page)
    page.goto(f"{live_server}/playground?sample=gradient&channels=RGB&size=16")
    settle(page, 0)
    caption = page.inner_text("#input-scale")
    assert "0 = black, 1 = white" not in caption and "red, green or blue" in caption
    assert page.inner_text("#input-shape") == "16×16×3"
    assert console_errors == []
