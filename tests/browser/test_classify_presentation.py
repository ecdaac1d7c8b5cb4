"""Classify for a beginner and for a projector (issue 18): a digit model first, the key view
(image, answer, selected layer) on one screen at 1280x800 and in presenter mode at
1920x1080, a selected map joined to the maps it reads (the API's ``reads``), a click that
zooms into the arithmetic and a Back button, layers named as a course names them, shapes
height×width×channels, the mirrored branch labelled, an unknown ?model= said.

What the page shows is compared with the API's answer for the same model and image."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.test_classify import COLUMNS, api, hwc, no_overflow, site  # noqa: F401  (the fixture)
from tests.browser.views import covered_by, horizontal_overflow, outside_viewport

SHOTS = Path(__file__).parent / "screenshots"
KEY_VIEW = ["#net-input", "#verdict-label", "#top3", ".layer-col.is-selected"]


def goto(page, url: str, width: int = 1280, height: int = 800) -> dict:
    page.set_viewport_size({"width": width, "height": height})
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.goto(url)
    assert resp.value.status == 200
    page.wait_for_selector("#result:not([hidden]) #verdict-label:not(:empty)")
    page.wait_for_selector(".layer-col.is-selected")
    return resp.value.json()


def beginner_model(cards: list[dict]) -> str:
    names = [c["name"] for c in cards]
    return next((n for n in ("lenet5", "mnist-cnn") if n in names),
                next(c["name"] for c in cards if c["input"]["channels"] == "L"))


def test_a_beginner_starts_with_a_digit_and_sees_image_answer_and_layer_on_one_screen(page, site, console_errors, shot):  # noqa: F811
    cards = api(site.base, "/api/models")["models"]
    body = goto(page, f"{site.base}/classify")
    assert body["model"] == beginner_model(cards)
    assert page.locator("#model-select").input_value() == body["model"]
    assert f"model={body['model']}" in page.url
    sample = page.locator(".sample[aria-pressed='true']")
    assert sample.count() == 1 and re.search(r"digit|mnist", sample.get_attribute("data-sample"))
    # the key view: the image the model saw, its answer, the selected layer, unscrolled
    assert page.evaluate("window.scrollY") == 0
    assert outside_viewport(page, KEY_VIEW) == []
    first_conv = next(la for la in body["layers"] if la["op_type"] == "Conv")
    assert page.locator(".layer-col.is-selected").get_attribute("data-layer") == first_conv["name"]
    # the card's first line says what the model is, in plain words; the rest is folded away
    card = next(c for c in cards if c["name"] == body["model"])
    first = page.locator("#model-card .model-summary")
    assert first.is_visible() and first.inner_text().startswith(card.get("summary") or card["title"])
    assert not page.locator("#model-card .model-details").evaluate("d => d.open")
    shot("classify-1280", full_page=False)
    # the colour model is one click away, and its key view fits too
    if site.rgb:
        with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
            page.locator("#model-switch button").click()
        assert resp.value.json()["model"] == site.rgb
        page.wait_for_selector(".layer-col.is-selected")
        page.evaluate("window.scrollTo(0, 0)")
        assert outside_viewport(page, KEY_VIEW) == []
        assert "Back to the digit model" in page.locator("#model-switch").inner_text()
    no_overflow(page)
    assert console_errors == []


def test_a_selected_map_is_joined_to_the_maps_it_reads_and_a_click_zooms_in_and_back(page, site, console_errors, shot):  # noqa: F811
    body = goto(page, f"{site.base}/classify?model={site.grey}")
    layers = {la["name"]: la for la in body["layers"]}
    convs = [la for la in body["layers"] if la["op_type"] == "Conv"]
    conv = convs[1] if len(convs) > 1 else convs[0]
    (read,) = conv["reads"]
    assert read["channels"] == "all"
    col = page.locator(f'#layers .layer-col[data-layer="{conv["name"]}"]')
    col.scroll_into_view_if_needed()
    col.locator(".thumb").nth(2).hover()
    source = "input" if read["from"] == "input" else read["from"]
    src_col = page.locator(f'#layers .layer-col[data-layer="{source}"]')
    assert "reads-from" in src_col.get_attribute("class")
    shown = src_col.locator(".thumb").count()
    assert src_col.locator(".thumb.reads-thumb").count() == shown  # every map: "all"
    assert page.locator("#layers .reads-svg path").count() == max(1, shown)
    n_maps = layers[source]["output_shape"][1] if source != "input" else body["input"]["shape"][1]
    reads = page.locator("#net-reads").inner_text()
    assert f"{conv['title']}, map 2 is computed from all {n_maps} maps of {layers[source]['title']}" in reads
    # a channel-wise layer (ReLU or pooling after the conv) reads the same map only
    same = next(la for la in body["layers"] if la["reads"] and la["reads"][0]["channels"] == "same"
                and la["output"] and len(la["output"]["shape"]) == 3 and la["reads"][0]["from"] != "input")
    page.locator(f'#layers .layer-col[data-layer="{same["name"]}"] .thumb').nth(1).focus()  # keyboard too
    src = page.locator(f'#layers .layer-col[data-layer="{same["reads"][0]["from"]}"]')
    assert src.locator(".thumb.reads-thumb").count() == 1
    assert src.locator(".thumb.reads-thumb").get_attribute("data-ch") == "1"
    assert page.locator("#layers .reads-svg path").count() == 1
    assert f"map 1 of {layers[same['reads'][0]['from']]['title']}" in page.locator("#net-reads").inner_text()
    shot("classify-reads-1280", full_page=False)
    # Enter zooms into the arithmetic, in the network's place; Back (keyboard) returns
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail:not([hidden])")
    assert page.locator("#network").is_hidden()
    assert page.evaluate("document.activeElement.id") == "detail-back"
    assert outside_viewport(page, ["#detail-back", "#detail-map", "#verdict-label"]) == []
    assert "numbered from 0" in page.locator("#detail-help").inner_text()
    assert "zoom=1" in page.url
    page.keyboard.press("Enter")
    assert page.locator("#detail").is_hidden() and page.locator("#network").is_visible()
    focused = page.evaluate("[document.activeElement.closest('.layer-col')?.dataset.layer, document.activeElement.dataset.ch]")
    assert focused == [same["name"], "1"]
    assert page.locator(".thumb[aria-pressed='true']").count() == 1
    assert "zoom" not in page.url
    assert console_errors == []


def test_shapes_are_height_width_channels_everywhere(page, site, console_errors):  # noqa: F811
    body = goto(page, f"{site.base}/classify?model={site.grey}")
    conv = next(la for la in body["layers"] if la["op_type"] == "Conv")
    page.locator(f'#layers .layer-col[data-layer="{conv["name"]}"] .thumb').first.click()
    size = page.locator("#detail-map").bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/trace")):
        page.locator("#detail-map").click(position={"x": size["width"] / 2, "y": size["height"] / 2})
    page.wait_for_selector("#trace .equation")
    text = page.locator("main").inner_text()
    for la in body["layers"]:
        s = la["output_shape"]
        if len(s) == 4 and s[1] != s[2]:
            chw = f"{s[1]}×{s[2]}×{s[3]}"
            where = page.evaluate("""(t) => [...document.querySelectorAll('main [id]')]
                .filter((e) => e.innerText && e.innerText.includes(t)).map((e) => e.id).slice(-1)""", chw)
            assert chw not in text, f"{la['name']}: {chw} in #{where}"  # never channels first
            assert f"{s[1]}x{s[2]}x{s[3]}" not in text
    assert hwc(conv["output_shape"]) in page.locator("#detail-intro").inner_text()
    _, c, h, w = body["input"]["shape"]
    assert f"{h}×{w}×{c}" in page.locator("#prep-tensor").inner_text()
    assert console_errors == []


def test_an_unknown_model_handle_is_said_not_skipped_over(page, site, console_errors):  # noqa: F811
    cards = api(site.base, "/api/models")["models"]
    body = goto(page, f"{site.base}/classify?model=no-such-model")
    note = page.locator("#models-note")
    assert note.is_visible()
    shown = next(c for c in cards if c["name"] == body["model"])
    assert note.inner_text() == f"There is no model called “no-such-model” on this server; showing “{shown['title']}” instead."
    assert body["model"] == beginner_model(cards)
    assert "model=no-such-model" not in page.url
    # Chromium logs nothing for it: the page never asked for a model it does not list
    assert console_errors == []


def test_the_mirrored_view_is_a_labelled_second_branch(page, site, console_errors, shot):  # noqa: F811
    if site.rgb is None:
        pytest.skip("no colour model on this server")
    body = goto(page, f"{site.base}/classify?model={site.rgb}")
    mirror = [la for la in body["layers"] if la["branch"] == "mirror" and not la.get("part_of")]
    if not mirror:
        pytest.skip(f"{site.rgb} has no test-time augmentation branch")
    branch = page.locator("#branch")
    assert branch.is_visible() and not branch.evaluate("d => d.open")
    assert mirror[0]["branch_title"] in page.locator("#branch-title").inner_text()
    assert "the two answers are averaged" in page.locator("#branch-title").inner_text()
    page.locator("#branch-title").click()
    cols = page.locator("#layers-mirror .layer-col")
    assert cols.count() == len(mirror)
    assert cols.locator(".layer-op").all_inner_texts() == [la["title"] for la in mirror]
    # the main strip names every layer once, with no step of a GELU spelled out as a column
    main_titles = page.locator("#layers .layer-col:not(.input-col) .layer-op").all_inner_texts()
    assert not any(t.startswith(("mul", "erf")) for t in main_titles)
    assert main_titles[-3:] == ["sum of both views", "average", "softmax"]
    cols.nth(1).scroll_into_view_if_needed()
    shot("classify-mirror-1280", full_page=False)
    assert console_errors == []


@pytest.mark.parametrize("model", ["grey", "rgb"])
@pytest.mark.parametrize("size,scale", [((1920, 1080), 1), ((1280, 720), 1.5)])
def test_presenter_mode_fits_the_key_view_on_a_projector(browser, site, model, size, scale):  # noqa: F811
    """Presenter mode at 1920x1080 and at 150% zoom (1280x720 CSS pixels at 1.5): image,
    prediction and the selected layer on one screen, under the presenter bar, not beneath it."""
    name = getattr(site, model)
    if name is None:
        pytest.skip("no colour model on this server")
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, device_scale_factor=scale)
    page = context.new_page()
    try:
        goto(page, f"{site.base}/classify?present=1&model={name}", *size)
        assert page.locator(".site-header").bounding_box() is None or page.locator(".site-header").is_hidden()
        assert outside_viewport(page, KEY_VIEW + [".cls-setup", "#network .net-help"]) == []
        # the sample grid: each group's heading on a line of its own, over its samples
        grid = page.locator("#samples").bounding_box()
        for heading in page.locator("#samples .sample-group").all():
            box = heading.bounding_box()
            if box:
                assert box["width"] >= grid["width"] - 30, box
        assert covered_by(page, KEY_VIEW, "#present-bar") == []
        assert horizontal_overflow(page) <= 1
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"classify-present-{model}-{size[0]}x{scale}.png"))
    finally:
        context.close()


def test_phone_width_stacks_the_view(page, site, console_errors, shot):  # noqa: F811
    goto(page, f"{site.base}/classify?model={site.grey}", 390, 844)
    no_overflow(page)
    boxes = [page.locator(s).bounding_box() for s in ("#model-select", "#verdict-label", "#layers")]
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # pickers, answer, network: one column
    shot("classify-390")
    assert console_errors == []
