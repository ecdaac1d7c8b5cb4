"""The convolution playground, driven like a student would: the course example, stride,
stepping through the arithmetic, an impossible layer, real filters on real samples,
RGB slice sums, receptive-field highlights, the URL as state, drawing and uploading,
and a phone screen."""

from __future__ import annotations

import json
import urllib.request
from io import BytesIO

import pytest
from PIL import Image

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 900}
DESKTOP = {"width": 1280, "height": 900}


def version(page) -> int:
    return int(page.eval_on_selector("#playground", "e => e.dataset.version || '0'"))


def settle(page, before: int, status: str = "ready") -> None:
    """Wait until a refresh newer than ``before`` has finished with ``status``."""
    page.wait_for_function(
        """v => { const r = document.getElementById('playground');
                  return r.dataset.status !== 'loading' && Number(r.dataset.version || 0) > v; }""",
        arg=before,
        timeout=15_000,
    )
    assert page.eval_on_selector("#playground", "e => e.dataset.status") == status


def open_page(page, base: str, query: str = "") -> None:
    page.goto(f"{base}/playground{query}")
    settle(page, 0)
    page.wait_for_selector("#arith[data-status=ready]")


def api(base: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def course_body(base: str, stride: int = 1) -> dict:
    presets = {f["name"]: f["weights"] for f in api(base, "/api/filters")["filters"]}
    return {
        "input": api(base, "/api/samples/course-6x6")["tensor"],
        "weights": {"shape": [2, 1, 3, 3], "data": presets["diagonal"]["data"] + presets["vertical"]["data"]},
        "bias": [0, 0],
        "stride": stride,
        "padding": 0,
        "dilation": 1,
    }


def conv_maps(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#volume [data-stage=conv] .fmap",
        "els => els.map(e => ({h: +e.dataset.h, w: +e.dataset.w, "
        "cells: [...e.querySelectorAll('.mcell')].map(c => c.textContent)}))",
    )


def test_course_example_stride_and_stepping(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, '?sample=digit-3&filters=["sobel_x"]&bias=[0]&all=true')
    before = version(page)
    page.click("#course-s1")
    settle(page, before)
    maps = conv_maps(page)
    assert [(m["h"], m["w"]) for m in maps] == [(4, 4), (4, 4)]
    assert page.inner_text("#volume [data-stage=conv] .shape") == "4×4×2"
    # The maps show the engine's numbers: the lecture's first row, 3 -1 -3 -1.
    expected = api(live_server, "/api/conv", course_body(live_server))["output"]["data"]
    assert maps[0]["cells"][:4] == ["3", "−1", "−3", "−1"]
    assert [float(c.replace("−", "-")) for c in maps[0]["cells"] + maps[1]["cells"]] == expected
    assert "(6 − 3 + 2×0)/1 + 1 = 4" in page.inner_text("#size-formula")
    shot("playground-course-stride1")

    # Step forward: the arithmetic panel's value is the API's output cell (filter 0, row 0, col 1).
    page.click("#fwd")
    page.wait_for_selector("#arith[data-status=ready][data-position='0,0,1']")
    shown = float(page.get_attribute("#arith .arith-value", "data-value"))
    assert shown == pytest.approx(expected[1])
    assert page.inner_text("#arith .arith-value") == "−1"
    assert page.locator("#in-grids .mcell.win").count() == 9
    assert page.locator("#out-grid .mcell.cur").get_attribute("data-c") == "1"

    # Play slides the window on by itself; pause stops it.
    page.select_option("#speed", "4")
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.wait_for_function("() => +document.getElementById('scrub').value >= 2")
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "false"
    step = int(page.input_value("#scrub"))
    assert 2 <= step < 15
    page.wait_for_selector(f"#arith[data-status=ready][data-position='0,{step // 4},{step % 4}']")
    page.click("#first")
    page.click("#fwd")
    page.wait_for_selector("#arith[data-status=ready][data-position='0,0,1']")

    # Stride 2: a 2x2x2 volume.
    before = version(page)
    page.fill("#stride", "2")
    settle(page, before)
    maps = conv_maps(page)
    assert [(m["h"], m["w"]) for m in maps] == [(2, 2), (2, 2)]
    assert page.inner_text("#volume [data-stage=conv] .shape") == "2×2×2"
    expected2 = api(live_server, "/api/conv", course_body(live_server, stride=2))["output"]["data"]
    assert [float(c.replace("−", "-")) for c in maps[0]["cells"] + maps[1]["cells"]] == expected2
    page.click("#fwd")
    page.wait_for_selector("#arith[data-status=ready][data-position='0,0,1']")
    assert float(page.get_attribute("#arith .arith-value", "data-value")) == pytest.approx(expected2[1])
    shot("playground-course-stride2")

    # The state is in the URL: a reload shows the same view.
    page.reload()
    settle(page, 0)
    page.wait_for_selector("#arith[data-status=ready][data-position='0,0,1']")
    assert page.input_value("#stride") == "2"
    assert page.inner_text("#volume [data-stage=conv] .shape") == "2×2×2"
    assert page.input_value("#sample") == "course-6x6"
    assert console_errors == []


def test_impossible_layer_is_explained(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    before = version(page)
    page.select_option("#ksize", "7")
    settle(page, before, status="invalid")
    error = page.locator("#size-error")
    assert error.is_visible()
    assert "larger than the padded input" in error.inner_text()
    assert "(6 + 0 padding = 6 rows)" in error.inner_text()
    # The output-size sum with these numbers comes with the API's 422 (it is below 1).
    assert page.inner_text("#size-formula") == "(6 − 7 + 2×0)/1 + 1 = 0"
    assert "No output" in page.inner_text("#volume")
    shot("playground-impossible")
    # Padding 1 makes room: the explanation goes away and a 2x2 output appears.
    before = version(page)
    page.select_option("#pad", "1")
    settle(page, before)
    assert not error.is_visible()
    assert page.inner_text("#volume [data-stage=conv] .shape") == "2×2×2"
    # The course's second picture, one click: the same layer at stride 2.
    before = version(page)
    page.click("#course-s2")
    settle(page, before)
    assert page.inner_text("#volume [data-stage=conv] .shape") == "2×2×2"
    assert (page.input_value("#ksize"), page.input_value("#stride"), page.input_value("#pad")) == ("3", "2", "0")
    # Outside the playground's bounds (the API's limits): said at once, nothing sent.
    page.fill("#stride", "9")
    assert page.inner_text("#size-error") == "Stride S must be a whole number from 1 to 8; 9 is not used."
    assert page.get_attribute("#stride", "aria-invalid") == "true"
    assert page.inner_text("#volume [data-stage=conv] .shape") == "2×2×2"
    # The layer is checked (POST /api/playground/layer, a 200 either way) before /api/conv
    # is asked, so no failed request reaches the console.
    assert console_errors == []


def canvas_colours(page, selector: str) -> int:
    """Distinct colours at the centre of each cell of a pixel-mode matrix canvas."""
    return page.eval_on_selector(
        selector,
        """c => { const ctx = c.getContext('2d'); const root = c.parentElement;
                  const h = +root.dataset.h, w = +root.dataset.w;
                  const sx = c.width / w, sy = c.height / h, seen = new Set();
                  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
                    const d = ctx.getImageData(Math.floor((x + .5) * sx), Math.floor((y + .5) * sy), 1, 1).data;
                    seen.add(d[0] + ',' + d[1] + ',' + d[2]); }
                  return seen.size; }""",
    )


def test_sobel_on_a_sample_and_pixel_hover(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    before = version(page)
    page.select_option("#sample", "digit-3")
    settle(page, before)
    before = version(page)
    page.select_option("#fp-0", "sobel_x")
    settle(page, before)
    page.wait_for_selector("#arith[data-status=ready]")
    assert page.input_value("#kfilter") == "0"
    assert page.get_attribute("#out-grid", "data-mode") == "pixels"
    assert page.inner_text("#volume [data-stage=conv] .shape") == "26×26×2"  # (28 - 3)/1 + 1
    # Sobel x on a digit: positive and negative edges, not a flat map (once it is finished).
    page.check("#show-all")
    assert canvas_colours(page, "#out-grid canvas") > 20
    # Hover an output pixel: its 3x3 receptive field lights up in the input canvas.
    page.locator("#out-grid canvas").scroll_into_view_if_needed()
    box = page.locator("#out-grid canvas").bounding_box()
    cell = box["width"] / 26
    in_canvas = "#in-grids canvas"
    rf_before = page.eval_on_selector(in_canvas, "c => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data].join()")
    page.mouse.move(box["x"] + 12.5 * cell, box["y"] + 14.5 * cell)
    page.wait_for_function("() => document.querySelector('#in-grids .mview').dataset.markRf === '9'")
    rf_after = page.eval_on_selector(in_canvas, "c => [...c.getContext('2d').getImageData(0, 0, c.width, c.height).data].join()")
    assert rf_after != rf_before
    shot("playground-sobel-digit")
    assert console_errors == []


def test_rgb_slice_sums_add_up(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server, '?sample=gradient&channels=RGB&size=16&filters=["sobel_x"]&bias=[0.25]&step=100')
    assert page.inner_text("#input-shape") == "16×16×3"
    assert page.locator("#w-grids .pg-grid").count() == 3
    i, j = divmod(100, 14)  # a 3x3 filter on 16x16 stops at 14x14 positions
    page.wait_for_selector(f"#arith[data-status=ready][data-position='0,{i},{j}']")
    sums = [
        float(t.replace("−", "-"))
        for t in page.eval_on_selector_all("#arith .channel-sum", "els => els.map(e => e.textContent)")
    ]
    assert len(sums) == 3 and len(set(sums)) == 3  # the gradient differs per channel
    total = float(page.inner_text("#arith .arith-sum").replace("−", "-"))
    assert sum(sums) == pytest.approx(total, abs=2e-4)
    assert "The three slice sums add up" in page.inner_text("#arith")
    # value = total + bias, as the server computed it.
    value = float(page.get_attribute("#arith .arith-value", "data-value"))
    assert value == pytest.approx(total + 0.25, abs=2e-4)
    shot("playground-rgb")
    assert console_errors == []


def test_hover_links_input_and_output_cells(page, live_server, console_errors):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    page.hover("#out-grid .mcell[data-r='1'][data-c='2']")
    rf = page.eval_on_selector_all("#in-grids .mcell.rf", "els => els.map(e => [+e.dataset.r, +e.dataset.c])")
    assert sorted(rf) == [[r, c] for r in (1, 2, 3) for c in (2, 3, 4)]
    # Hover an input cell: the outputs it feeds (a corner feeds one, the centre up to nine).
    page.hover("#in-grids .mcell[data-r='0'][data-c='0']")
    assert page.locator("#out-grid .mcell.feeds").count() == 1
    page.hover("#in-grids .mcell[data-r='2'][data-c='3']")
    feeds = page.eval_on_selector_all("#out-grid .mcell.feeds", "els => els.map(e => [+e.dataset.r, +e.dataset.c])")
    assert sorted(feeds) == [[i, j] for i in (0, 1, 2) for j in (1, 2, 3)]
    assert page.locator("#volume [data-stage=conv] .mcell.feeds").count() == 18
    # Clicking an output value moves the window there.
    page.click("#out-grid .mcell[data-r='3'][data-c='3']")
    page.wait_for_selector("#arith[data-status=ready][data-position='0,3,3']")
    assert page.input_value("#scrub") == "15"
    # The keyboard does the same: one tab stop per map, arrows move, Enter jumps.
    page.mouse.move(0, 0)
    page.focus("#out-grid .mcell[data-r='0'][data-c='0']")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => [document.activeElement.dataset.r, document.activeElement.dataset.c]") == ["1", "1"]
    rf = page.eval_on_selector_all("#in-grids .mcell.rf", "els => els.map(e => [+e.dataset.r, +e.dataset.c])")
    assert sorted(rf) == [[r, c] for r in (1, 2, 3) for c in (1, 2, 3)]
    page.keyboard.press("Enter")
    page.wait_for_selector("#arith[data-status=ready][data-position='0,1,1']")
    assert console_errors == []


def test_chain_and_phone_layout(page, live_server, console_errors, shot):
    page.set_viewport_size(PHONE)
    open_page(
        page, live_server,
        '?sample=shapes&channels=RGB&size=28&filters=["sobel_y","outline","gaussian_blur","sharpen"]'
        "&bias=[0,0,0,0]&pad=same&act=relu&pool=max",
    )
    stages = page.eval_on_selector_all(
        "#volume .pg-stage-step",
        "els => els.map(e => [e.dataset.stage, e.querySelector('.shape').textContent, e.querySelectorAll('.fmap').length])",
    )
    assert stages == [["conv", "28×28×4", 4], ["act", "28×28×4", 4], ["pool", "14×14×4", 4]]
    # ReLU leaves no negative values: its maps use only the positive (orange) half of the scale.
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the playground overflows by {overflow}px at phone width"
    # Hover a pooled value: its 2x2 window and the max's position are marked in the ReLU map.
    page.hover("#volume [data-stage=pool] .fmap >> nth=0")
    page.wait_for_function("() => document.querySelector('#volume [data-stage=act] .mview').dataset.markPwin > 0")
    assert page.eval_on_selector("#volume [data-stage=act] .mview", "e => e.dataset.markMax") == "1"
    shot("playground-phone")
    page.set_viewport_size(DESKTOP)
    shot("playground-chain-desktop")
    assert console_errors == []


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    im = Image.new("RGB", (width, height), (0, 0, 0))
    im.paste(colour, (0, 0, width // 2, height))
    buf = BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def test_draw_and_upload_inputs(page, live_server, console_errors, shot):
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    before = version(page)
    page.select_option("#src", "draw")
    settle(page, before)  # a blank (black) drawing
    before = version(page)
    canvas = page.locator("#draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 120, box["y"] + 180, steps=8)
    page.mouse.up()
    settle(page, before)
    assert page.inner_text("#input-shape") == "28×28×1"
    assert page.inner_text("#input-desc") == "Your drawing"
    assert canvas_colours(page, "#in-grids canvas") > 2  # the stroke reached the server and back
    # A reload keeps the drawing (the browser keeps the converted image for this tab).
    page.reload()
    settle(page, 0)
    assert page.inner_text("#input-desc") == "Your drawing"
    assert canvas_colours(page, "#in-grids canvas") > 2

    # Upload a 40x20 colour PNG as RGB: resized on the server so the longest side is 28.
    before = version(page)
    page.select_option("#channels", "RGB")
    settle(page, before)
    before = version(page)
    page.select_option("#src", "upload")
    page.set_input_files("#upload", files=[{"name": "half-red.png", "mimeType": "image/png", "buffer": png(40, 20, (255, 0, 0))}])
    settle(page, before)
    assert page.inner_text("#input-shape") == "14×28×3"
    assert "half-red.png (PNG, 40×20)" in page.inner_text("#input-desc")
    assert page.locator("#in-grids .pg-grid").count() == 3
    # A file that is not an image: the server's sentence, no crash.
    before = version(page)
    page.set_input_files("#upload", files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image"}])
    settle(page, before, status="error")
    assert page.locator("#input-error").is_visible()
    assert page.inner_text("#input-error").strip()
    shot("playground-upload-error")
    assert [e for e in console_errors if "status of 4" not in e] == []


def test_a_busy_server_is_not_mistaken_for_impossible_settings(page, live_server, console_errors):
    """A 503 from /api/conv (the heavy-work gate is full) says so and keeps the page;
    only a 422 means the layer cannot be computed."""
    page.set_viewport_size(DESKTOP)
    open_page(page, live_server)
    page.route("**/api/conv", lambda route: route.fulfill(
        status=503, content_type="application/json", headers={"retry-after": "1"},
        body=json.dumps({"detail": "The server is busy with other requests; try again in a moment."})))
    before = version(page)
    page.select_option("#pad", "1")
    settle(page, before, status="error")
    assert "busy" in page.inner_text("#size-error")
    assert "No output" not in page.inner_text("#volume")
    page.unroute("**/api/conv")
    before = version(page)
    page.select_option("#pad", "0")
    settle(page, before)
    assert not page.locator("#size-error").is_visible()
    # The browser logs the 503 itself; nothing else may reach the console.
    assert [e for e in console_errors if "503" not in e] == []
