"""The playground's section 6, the convolutions after the course: each operation drawn with
the arithmetic of its current output value, stepping, clicking a value, the transposed
convolution's three views, a refused setting, the URL as state, and a phone screen."""

from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
OPS = ["standard", "pointwise", "grouped", "depthwise", "separable", "transposed", "conv1d"]


def kinds_version(page) -> int:
    return int(page.eval_on_selector("#kinds", "e => e.dataset.version || '0'"))


def settle(page, before: int, status: str = "ready") -> None:
    page.wait_for_function(
        """v => { const r = document.getElementById('kinds');
                  return r.dataset.status !== 'loading' && Number(r.dataset.version || 0) > v; }""",
        arg=before, timeout=30_000)
    assert page.eval_on_selector("#kinds", "e => e.dataset.status") == status


def open_kinds(page, base: str, query: str = "") -> None:
    page.goto(f"{base}/playground{query}")
    settle(page, 0)


def api(base: str, body: dict) -> dict:
    req = urllib.request.Request(base + "/api/playground/convolution", data=json.dumps(body).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def shown(page) -> dict:
    """What the section shows: the settings, the traced value, the current output cell."""
    return page.evaluate("""() => {
        const v = (id) => Number(document.getElementById(id).value);
        const cur = document.querySelector('#kind-out .mcell.cur');
        return {
          op: document.getElementById('kind-op').value,
          body: {size: v('kind-size'), in_channels: v('kind-c'), filters: v('kind-k'), kernel_size: v('kind-f'),
                 stride: v('kind-s'), padding: v('kind-p'), groups: v('kind-g'), output_padding: v('kind-opad')},
          position: document.getElementById('kind-arith').dataset.position.split(',').map(Number),
          value: document.querySelector('#kind-arith .arith-value').textContent,
          cell: cur ? cur.textContent : null,
          shape: document.getElementById('kind-shape').textContent,
          inputGrids: [...document.querySelectorAll('#kind-in .mview')].map(e => +e.dataset.h),
          marked: [...document.querySelectorAll('#kind-in .mcell.win')].length,
          lines: document.querySelectorAll('#kind-arith .arith-line').length,
        };
    }""")


def test_every_operation_shows_the_arithmetic_of_its_value(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_kinds(page, live_server)
    for op in OPS:
        before = kinds_version(page)
        page.select_option("#kind-op", op)
        settle(page, before)
        s = shown(page)
        assert s["op"] == op and s["position"] == [0, 0, 0]
        d = api(live_server, {"op": op, **s["body"], "seed": 1, "position": [0, 0, 0]})
        t = d["trace"]
        # The value written at the end of the sum is the engine's, and the output cell shows it.
        assert s["value"] == s["cell"] == f"{t['value']:g}".replace("-", "\u2212")
        assert t["value"] == t["engine_value"]
        # One grid per input channel (one row high in 1-D); every cell the trace reads is marked.
        assert len(s["inputGrids"]) == d["input_shape"][0]
        assert set(s["inputGrids"]) == ({1} if op == "conv1d" else {d["input_shape"][1]})
        read = [u for sv in t["stage_values"] for u in sv["terms"]] if op == "separable" else t["terms"]
        assert s["marked"] == len({(u["channel"], u["row"], u["col"]) for u in read})
        assert s["lines"] == len(t["channels"]) + (len(t["stage_values"]) if op == "separable" else 0)
        if op in ("grouped", "depthwise", "separable"):
            assert "times fewer" in page.inner_text("#kind-savings")
        shot(f"playground-kind-{op}")
    # The presets differ per operation: 1x1 fixes F = 1, 1-D draws 1-row grids (checked above).
    assert console_errors == []


def test_stepping_and_clicking_trace_other_values(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_kinds(page, live_server, "?op=grouped&op_c=4&op_k=4&op_g=2")
    assert page.is_disabled("#kind-back")
    before = kinds_version(page)
    page.click("#kind-fwd")
    settle(page, before)
    assert shown(page)["position"] == [0, 0, 1]
    assert "op_pos=%5B0%2C0%2C1%5D" in page.url  # the URL keeps the traced value
    before = kinds_version(page)
    page.select_option("#kind-kout", "3")  # the last filter: it reads the second group's channels
    settle(page, before)
    s = shown(page)
    assert s["position"] == [3, 0, 0]
    assert "channels 2, 3 only (its group)" in page.inner_text("#kind-arith")  # numbered from 0
    assert page.locator("#kind-w .mview").count() == 2  # 4 channels / 2 groups
    before = kinds_version(page)
    page.click("#kind-out .mcell[data-r='2'][data-c='1']")
    settle(page, before)
    s = shown(page)
    assert s["position"] == [3, 2, 1] and s["value"] == s["cell"]
    page.reload()
    settle(page, 0)
    assert shown(page)["position"] == [3, 2, 1]
    assert console_errors == []


def test_transposed_three_views_agree(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_kinds(page, live_server, "?op=transposed&op_size=3&op_f=3&op_s=2&op_p=1&op_opad=1&op_c=1&op_k=1")
    s = shown(page)
    assert s["shape"] == "3\u00d73\u00d71 \u2192 6\u00d76\u00d71"
    assert page.inner_text("#kind-size-formula") == "(3 \u2212 1)\u00d72 \u2212 2\u00d71 + 3 + 1 = 6"
    views = page.locator("#kind-views .pg-kind-view h3").all_inner_texts()
    assert views == ["1. Scatter", "2. Zero insertion", "3. The gradient of a convolution"]
    assert "largest difference 0" in page.inner_text("[data-view=gradient]")
    # Zero insertion: the window on the spread-out input gives the same value.
    assert page.inner_text("#kind-arith .zero-sum") == page.locator("#kind-arith .channel-sum").first.inner_text()
    assert page.eval_on_selector("#kind-mid .mview", "e => e.dataset.h") == "8"  # 5 spread + 2 + 1
    before = kinds_version(page)
    page.click("#kind-out .mcell[data-r='1'][data-c='1']")  # the copies of several inputs overlap here
    settle(page, before)
    items = page.locator("#kind-arith .arith-scatter li").count()
    d = api(live_server, {"op": "transposed", "size": 3, "in_channels": 1, "filters": 1, "kernel_size": 3,
                          "stride": 2, "padding": 1, "output_padding": 1, "seed": 1, "position": [0, 1, 1]})
    assert items == len(d["trace"]["terms"]) >= 2
    shot("playground-kind-transposed-overlap")
    assert console_errors == []


def test_a_refused_setting_is_said_and_nothing_stale_stays(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_kinds(page, live_server, "?op=transposed&op_s=2&op_opad=1")
    before = kinds_version(page)
    page.fill("#kind-s", "1")  # output padding 1 is not smaller than stride 1
    settle(page, before, "error")
    assert "smaller than the stride" in page.inner_text("#kind-error")
    assert page.is_hidden("#kind-body")
    before = kinds_version(page)
    page.fill("#kind-opad", "0")
    settle(page, before)
    assert page.is_visible("#kind-body") and page.is_hidden("#kind-error")
    page.fill("#kind-size", "40")  # past the box's bound: said, not sent
    assert page.get_attribute("#kind-size", "aria-invalid") == "true"
    assert "from 1 to 16" in page.inner_text("#kind-error")
    assert [e for e in console_errors if "422" not in e] == []


def test_phone_layout(page, live_server, console_errors, shot):
    page.set_viewport_size(PHONE)
    open_kinds(page, live_server, "?op=separable")
    page.locator("#kinds").scroll_into_view_if_needed()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width}px"
    assert page.is_visible("#kind-arith .arith-value")
    shot("playground-kinds-phone")
    assert console_errors == []
