"""The playground's conventions for issue 18: filters, maps and channels numbered from 0 as
rows and columns are (and the page says so), the server's formulas written as every page
writes numbers (a true minus, × for '*'), a pooling window called a window, and the bands of
the step view never painted over a caption or across the filter (a phone stacks them)."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_playground import api, open_page

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def kinds_ready(page) -> None:
    page.wait_for_function("() => document.getElementById('kinds').dataset.status === 'ready'")


def test_filters_maps_and_channels_are_numbered_from_0(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, "?op=grouped&op_c=4&op_k=4&op_g=2")
    # The course's two filters are filter 0 and filter 1, everywhere they are named.
    assert page.eval_on_selector_all("#kfilter option", "els => els.map(e => e.textContent)") == [
        "0: Diagonal detector (course)", "1: Vertical-line detector (course)"]
    assert page.inner_text("#w-caption").startswith("0: Diagonal detector (course)")
    assert page.inner_text("#out-caption").startswith("0, 4×4×1")
    assert page.inner_text("#arith .arith-where").startswith("Filter 0 (Diagonal detector (course))")
    assert page.eval_on_selector_all(".fcard h3", "els => els.map(e => e.textContent)") == ["Filter 0", "Filter 1"]
    assert page.eval_on_selector_all("#volume [data-stage=conv] figcaption", "els => els.map(e => e.textContent)") == [
        "Filter 0 · Diagonal detector (course)", "Filter 1 · Vertical-line detector (course)"]
    assert "Filters, maps, rows and columns are numbered from 0" in page.inner_text("#step-view")
    assert not re.search(r"\b(Filter|map|Feature map) [1-9]\b", page.inner_text("#step-view"))
    # Section 6: input channels 0..3, output channels 0..3, and the page says so.
    kinds_ready(page)
    assert "numbered from 0" in page.inner_text("#kinds > p")
    assert page.eval_on_selector_all("#kind-in .pg-chname", "els => els.map(e => e.textContent)") == [
        "channel 0", "channel 1", "channel 2", "channel 3"]
    assert page.eval_on_selector_all("#kind-kout option", "els => els.map(e => e.textContent)") == [
        "0 of 4", "1 of 4", "2 of 4", "3 of 4"]
    assert page.inner_text("#kind-pos").startswith("Output channel 0, row 0, column 0")
    arith = page.inner_text("#kind-arith")
    assert arith.startswith("output channel 0, row 0, column 0") and "input channels 0, 1 only" in arith
    assert page.eval_on_selector_all("#kind-arith .arith-line .arith-ch", "els => els.map(e => e.textContent)") == [
        "channel 0: ", "channel 1: "]
    # A transposed convolution names the input cell's channel from 0 too (two channels: 0 and 1).
    page.goto(f"{live_server}/playground?op=transposed&op_c=2")
    kinds_ready(page)
    titles = page.eval_on_selector_all("#kind-arith .arith-term", "els => els.map(e => e.title)")
    assert {re.search(r"of channel (\d+),", t).group(1) for t in titles} == {"0", "1"}
    assert console_errors == []


def written(text: str) -> bool:
    """A server formula as the pages write it: no ASCII minus between numbers, no '*', no '·'."""
    return " - " not in text and "*" not in text and "·" not in text and not re.search(r"(^|[\s(=])-\d", text)


def test_server_formulas_have_a_true_minus_and_times(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, "?pool=max&pk=2&ps=2")
    layer = api(live_server, "/api/output-size", {"input_size": 6, "kernel_size": 3, "filters": 2})
    assert layer["formula"] == "(6 - 3 + 2*0)/1 + 1 = 4"  # the API keeps ASCII
    assert page.inner_text("#size-formula") == "(6 − 3 + 2×0)/1 + 1 = 4"
    assert page.inner_text("#size-params").startswith("Learnable parameters: (3×3×1 + 1)×2 = 20")
    pooled = page.inner_text("#volume [data-stage=pool] > p")
    assert "(4 − 2 + 2×0)/2 + 1 = 2 per side" in pooled and written(pooled)
    # Section 6's output size, parameters, multiply-adds and the stages of a separable convolution.
    page.goto(f"{live_server}/playground?op=separable")
    kinds_ready(page)
    for sel in ("#kind-size-formula", "#kind-params", "#kind-macs", "#kind-stages"):
        text = page.inner_text(sel)
        assert text and written(text), (sel, text)
    assert "×" in page.inner_text("#kind-stages")  # the API wrote "*"
    # A layer that fits nowhere: its sum, with a negative part.
    open_page(page, live_server, "?stride=1")
    page.select_option("#ksize", "7")
    page.wait_for_function("() => document.getElementById('playground').dataset.status === 'invalid'")
    sum_text = page.inner_text("#size-formula")
    assert sum_text.startswith("(6 − 7 + 2×0)/1 + 1") and written(sum_text)
    assert console_errors == []


def test_a_pooling_window_too_large_is_called_a_window(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, "?pool=max&pk=11&ps=2")
    error = page.inner_text("#volume [data-stage=pool] .error")
    assert error.startswith("The pooling window (11 rows) is larger than the padded input")
    assert "Use a smaller window" in error and "filter" not in error
    assert console_errors == []


# Each element's box on the page (not the viewport), for screenshots of it with and without bands.
BOXES = """sel => [...document.querySelectorAll(sel)].filter(e => e.offsetParent !== null).map(e => {
  const r = e.getBoundingClientRect();
  return [r.x + window.scrollX, r.y + window.scrollY, r.width, r.height];
})"""


def painted_over(page, selectors: list[str]) -> list[str]:
    """The selectors whose elements look different with the bands hidden: a band paints there."""
    boxes = [(sel, box) for sel in selectors for box in page.evaluate(BOXES, sel) if box[2] > 4 and box[3] > 4]
    assert boxes

    def grab() -> list[bytes]:
        return [page.screenshot(full_page=True, clip={"x": x + 1, "y": y + 1, "width": w - 2, "height": h - 2})
                for _, (x, y, w, h) in boxes]

    shown = grab()
    page.eval_on_selector("#beam", "e => { e.style.visibility = 'hidden'; }")
    hidden = grab()
    page.eval_on_selector("#beam", "e => { e.style.visibility = ''; }")
    return sorted({sel for (sel, _), a, b in zip(boxes, shown, hidden, strict=True) if a != b})


CAPTIONS = ["#stage figcaption", "#stage .pg-chname"]


@pytest.mark.parametrize(("size", "query"), [
    (PHONE, "?step=5"),  # the figures stacked: the band crossed the filter and its caption
    (DESKTOP, "?sample=digit-3&ksize=7&step=10"),  # a tall filter beside a map whose caption is higher
    (DESKTOP, "?sample=shapes&size=32&channels=RGB&step=40"),
])
def test_the_bands_paint_over_no_caption_and_never_across_the_filter(page, live_server, console_errors, size, query):
    page.set_viewport_size(size)
    open_page(page, live_server, query)
    page.evaluate("() => document.getElementById('w-fig').scrollIntoView({block: 'center'})")
    page.wait_for_timeout(150)
    assert painted_over(page, [*CAPTIONS, "#w-grids"]) == []
    # The current value is still marked where the window is.
    assert page.locator("#out-grid").get_attribute("data-mark-cur") == "1"
    bands = page.locator("#beam polygon").count()
    if size is DESKTOP:
        assert bands == 2  # window to filter, filter to the value
        assert painted_over(page, ["#beam"]) == ["#beam"]  # they are there to be seen
    else:
        assert bands == 0
    assert console_errors == []
