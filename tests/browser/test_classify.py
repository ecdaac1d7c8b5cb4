"""The classify page: upload, draw, the layer view, the arithmetic of one pixel, and
bringing your own ONNX model.

Runs against the shipped models when models/ has them; otherwise against test models
(LeNet-5 and cifar10-net shaped, random weights) served by a second app process. The
expected labels always come from the API for the same image, so the test holds for both.
"""

from __future__ import annotations

import contextlib
import io
import json
import urllib.request
import uuid
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import Error as PlaywrightError

from tests.app.modelkit import tiny_cnn, write_model
from tests.app.netkit import cifar_like, lenet5

ROOT = Path(__file__).resolve().parents[2]
CIFAR = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def shipped() -> bool:
    return any(p.with_suffix(".onnx").exists() for p in (ROOT / "models").glob("*.json"))


def api(base: str, path: str, files: dict | None = None) -> dict:
    if files is None:
        with urllib.request.urlopen(base + path, timeout=30) as r:
            return json.loads(r.read())
    boundary = uuid.uuid4().hex
    body = b""
    for name, (filename, data, ctype) in files.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; "
                 f"filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    req = urllib.request.Request(base + path, data=body, method="POST",
                                 headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture(scope="module")
def site(request, tmp_path_factory):
    if shipped():
        base = request.getfixturevalue("live_server")
    else:
        folder = tmp_path_factory.mktemp("classify-models")
        write_model(folder, "lenet-test", lenet5(seed=3))
        write_model(folder, "cifar-test", cifar_like(seed=4), channels="RGB", size=32, classes=CIFAR)
        base = request.getfixturevalue("start_server")(CONVLAB_MODELS_DIR=str(folder))
    cards = api(base, "/api/models")["models"]
    grey = next(c["name"] for c in cards if c["input"]["channels"] == "L")
    rgb = next((c["name"] for c in cards if c["input"]["channels"] == "RGB"), None)
    return SimpleNamespace(base=base, grey=grey, rgb=rgb)


def seven_png() -> bytes:
    im = Image.new("RGB", (160, 160), "white")
    ImageDraw.Draw(im).line([(35, 30), (125, 30), (60, 135)], fill="black", width=16)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def open_page(page, site, model, width=1280, query=""):
    page.set_viewport_size({"width": width, "height": 900})
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.goto(f"{site.base}/classify?model={model}{query}")
    assert resp.value.status == 200
    page.wait_for_selector("#result:not([hidden]) #verdict-label:not(:empty)")
    return resp.value.json()


def no_overflow(page):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1


def hwc(shape: list[int]) -> str:
    """An API shape (N, C, H, W) or (N, F) as the page writes it: 28×28×6, or 10."""
    d = shape[1:]
    return f"{d[1]}×{d[2]}×{d[0]}" if len(d) == 3 else "×".join(f"{v:,}" for v in d)


COLUMNS = "#layers .layer-col:not(.input-col), #layers-mirror .layer-col"


def test_upload_shows_the_label_bars_softmax_and_one_column_per_layer(page, site, console_errors, shot):
    open_page(page, site, site.grey)
    image = seven_png()
    expected = api(site.base, f"/api/models/{site.grey}/inspect", {"file": ("seven.png", image, "image/png")})
    page.get_by_role("button", name="Upload", exact=True).click()
    assert page.locator(".dropzone").is_visible()
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.set_input_files("#file-input", files=[{"name": "seven.png", "mimeType": "image/png", "buffer": image}])
    body = resp.value.json()
    page.wait_for_function("(l) => document.querySelector('#verdict-label').textContent === l", arg=expected["label"])
    assert body["label"] == expected["label"]
    bars = page.locator("#bars .bar-row")
    assert bars.count() == len(expected["classes"])
    assert page.locator("#bars .bar-row.top .bar-label").inner_text() == expected["label"]
    assert expected["label"] in page.locator("#verdict-text").inner_text()
    assert page.locator("#top3 li").count() == 3
    # the preprocessing steps are shown as images, with the inversion note
    steps = page.locator("#prep-steps img")
    assert steps.count() == len(expected["preprocessing"])
    assert "inverted" in page.locator("#prep-notes").inner_text().lower()
    # softmax table: one row per class and the sum
    assert page.locator("#softmax-table tbody tr").count() == len(expected["classes"])
    # one column per layer (inner steps of an element-wise chain fold into their column)
    columns = [la for la in expected["layers"] if not la.get("part_of")]
    assert page.locator(COLUMNS).count() == len(columns)
    # shapes as the course writes them, height×width×channels; each layer by its course name
    metas = page.locator(f":is({COLUMNS}) .layer-meta").all_inner_texts()
    for meta, layer in zip(metas, columns, strict=True):
        assert meta.startswith(hwc(layer["output_shape"]))
    titles = page.locator(f":is({COLUMNS}) .layer-op").all_inner_texts()
    assert titles == [la["title"] for la in columns]
    # the ONNX node's name in small print
    assert page.locator(f":is({COLUMNS}) .layer-name").all_text_contents() == [f"ONNX node {la['name']}" for la in columns]
    no_overflow(page)
    shot("classify-upload-1280")
    assert console_errors == []


def test_feature_map_pixel_shows_its_arithmetic_and_survives_reload(page, site, console_errors, shot):
    body = open_page(page, site, site.grey)
    conv = next(la for la in body["layers"] if la["op_type"] == "Conv")
    col = page.locator(f'#layers .layer-col[data-layer="{conv["name"]}"]')
    assert col.locator(".thumb").count() == min(6, conv["output"]["channels_shown"])
    col.locator(".thumb").nth(1).click()
    page.wait_for_selector("#detail:not([hidden])")
    assert page.locator("#network").is_hidden()  # the map's arithmetic takes the network's place
    assert f"{conv['title']}: map 1" in page.locator("#detail-title").inner_text()
    assert conv["name"] in page.locator("#detail-title .detail-onnx").inner_text()
    _, h, w = conv["output"]["shape"]
    row, c = h // 2, w // 3
    size = page.locator("#detail-map").bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/trace")) as resp:
        page.locator("#detail-map").click(position={
            "x": (c + 0.5) * size["width"] / w, "y": (row + 0.5) * size["height"] / h})
    t = resp.value.json()
    assert (t["position"]["row"], t["position"]["col"]) == (row, c)
    page.wait_for_selector("#trace .equation")
    equation = page.locator("#trace .equation").last.inner_text()
    assert "bias" in equation and equation.strip().endswith(page.locator("#trace .equation strong").last.inner_text())
    assert page.locator("#trace .m-grid").count() >= 3  # patch x weights = products
    assert "the value the engine put in the layer's output" in page.locator("#trace").inner_text()
    assert page.locator("#detail-field").is_visible()
    assert "Receptive field" in page.locator("#detail-field-text").inner_text()
    shot("classify-trace-1280")
    # the URL holds the view: a reload opens the same map and pixel
    url = unquote(page.url)
    assert f"layer={conv['name']}" in url and f"r={row}" in url
    with page.expect_response(lambda r: r.url.endswith("/trace")):
        page.reload()
    page.wait_for_selector("#trace .equation")
    assert f"{conv['title']}: map 1" in page.locator("#detail-title").inner_text()
    # keyboard: arrow keys move the traced pixel
    page.locator("#detail-map").focus()
    with page.expect_response(lambda r: r.url.endswith("/trace")) as resp:
        page.keyboard.press("ArrowRight")
    assert resp.value.json()["position"]["col"] == c + 1
    # the end of the network: a score button traces the last dense layer
    scores = page.locator("#dense-flow .vec-button")
    if scores.count():
        with page.expect_response(lambda r: r.url.endswith("/trace")):
            scores.first.click()
        page.wait_for_selector("#dense-trace .trace-table")
        assert page.locator("#dense-trace .trace-table tbody tr").count() == 10
    assert console_errors == []


def test_drawing_a_digit_classifies_it_at_phone_width(page, site, console_errors, shot):
    open_page(page, site, site.grey, width=390)
    page.get_by_role("button", name="Draw", exact=True).click()
    canvas = page.locator("#draw-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.15)
        page.mouse.down()
        for k in range(1, 11):
            page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.15 + 0.07 * k))
        page.mouse.up()
    body = resp.value.json()
    assert resp.value.status == 200
    # ink on paper as the playground draws it (and MNIST digits are): white on black
    ink, paper = page.evaluate("""() => {
        const c = document.getElementById('draw-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let light = 0, dark = 0;
        for (let i = 0; i < d.length; i += 4) { if (d[i] > 155) light++; else if (d[i] < 100) dark++; }
        return [light, dark]; }""")
    assert ink > 500 and paper > 10 * ink
    page.wait_for_function("(l) => document.querySelector('#verdict-label').textContent === l", arg=body["label"])
    # so the server has nothing to invert, and says nothing about the drawing's background
    assert "inverted" not in [s["name"] for s in body["preprocessing"]]
    assert not any("background" in n.lower() for n in body["notes"])
    assert "inverted" not in page.locator("#prep-notes").inner_text().lower()
    assert "src=draw" in page.url
    no_overflow(page)
    shot("classify-draw-390")
    assert console_errors == []


def test_uploading_an_onnx_model_makes_it_selectable_and_usable(page, site, console_errors, shot):
    open_page(page, site, site.grey)
    page.locator("#byo summary").click()
    labels = b"zero\none\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\n"
    page.set_input_files("#byo-file", files=[{"name": "my-net.onnx", "mimeType": "application/octet-stream", "buffer": tiny_cnn(1, 28, seed=9)}])
    page.set_input_files("#byo-labels", files=[{"name": "labels.txt", "mimeType": "text/plain", "buffer": labels}])
    page.fill("#byo-mean", "0.5")
    page.fill("#byo-std", "0.5")
    page.select_option("#byo-preprocess", "digit")
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as resp:
        page.locator("#byo-submit").click()
    assert resp.value.status == 200
    body = resp.value.json()
    assert body["model"].startswith("user-")
    page.wait_for_function("() => document.querySelector('#byo-status').textContent.startsWith('Accepted')")
    selected = page.locator("#model-select option:checked")
    assert selected.inner_text() == "Your model: my-net.onnx"
    assert page.locator("#model-select optgroup[label='Your models'] option").count() >= 1
    page.wait_for_function("(l) => document.querySelector('#verdict-label').textContent === l", arg=body["label"])
    assert body["label"] in labels.decode().split()
    assert page.locator("#layers .layer-col:not(.input-col)").count() == 6
    assert "your model" in page.locator("#model-card").inner_text()
    assert f"model={body['model']}" in page.url
    assert console_errors == []
    # a bad file gets the server's sentence, not a crash (Chromium logs the 422 itself)
    page.set_input_files("#byo-file", files=[{"name": "bad.onnx", "mimeType": "application/octet-stream", "buffer": b"not a model"}])
    page.locator("#byo-submit").click()
    page.wait_for_selector("#byo-error:not([hidden])")
    assert "not an ONNX model" in page.locator("#byo-error").inner_text()
    shot("classify-byo-1280")
    assert all("status of 422" in e for e in console_errors)


def test_colour_model_at_both_widths(page, site, console_errors, shot):
    if site.rgb is None:
        pytest.skip("no colour model on this server")
    for width in (1280, 390):
        body = open_page(page, site, site.rgb, width=width)
        assert page.locator("#prep-tensor canvas").count() == 3
        columns = [la for la in body["layers"] if not la.get("part_of")]
        assert page.locator(COLUMNS).count() == len(columns)
        assert page.locator("#dense-flow .dense-card").count() >= 2
        no_overflow(page)
        shot(f"classify-colour-{width}")
    assert console_errors == []


def test_model_card_shows_how_it_was_trained_and_its_weakest_classes(page, site, console_errors, shot):
    open_page(page, site, site.grey)
    text = page.locator("#model-card").text_content()
    assert "null" not in text and "undefined" not in text
    model = site.rgb or site.grey
    card = api(site.base, f"/api/models/{model}")
    open_page(page, site, model, width=390)
    summary = page.locator("#model-card .model-summary")
    assert summary.inner_text().startswith(card.get("summary") or card["title"])  # first line, plain words
    page.locator("#model-card .model-details > summary").focus()
    page.keyboard.press("Enter")  # the rest, under details, opens from the keyboard
    text = page.locator("#model-card").inner_text()
    per_class = (card.get("metrics") or {}).get("per_class_accuracy")
    training = card.get("training")
    if training:
        assert f"{training['epochs']} epochs in " in text and training["hardware"] in text
    else:
        assert "Training" not in page.locator("#model-card dt").all_inner_texts()
    details = page.locator("#model-card details.model-more", has_text="Accuracy per class")
    if not per_class:
        assert details.count() == 0
        return
    details.locator("summary").focus()
    page.keyboard.press("Enter")  # opens from the keyboard
    rows = details.locator("tbody tr")
    assert rows.count() == len(per_class)
    weakest = min(per_class, key=per_class.get)
    assert rows.first.locator("th").inner_text() == weakest
    assert rows.first.locator("td").inner_text() == f"{100 * per_class[weakest]:.1f}%"
    for note in card.get("notes", []):  # inside a closed <details>: in the DOM, not rendered
        assert note in page.locator("#model-card").text_content()
    no_overflow(page)
    shot("classify-card-390")
    assert console_errors == []


def test_a_skip_connection_is_labelled_and_traced_as_x_plus_f_of_x(page, site, console_errors, shot):
    if site.rgb is None:
        pytest.skip("no colour model on this server")
    body = open_page(page, site, site.rgb)
    skips = [la for la in body["layers"] if "skip" in la]
    if not skips:
        pytest.skip(f"{site.rgb} has no skip connections")
    layer = skips[0]
    col = page.locator(f'#layers .layer-col[data-layer="{layer["name"]}"]')
    col.scroll_into_view_if_needed()
    assert col.locator(".layer-kind").inner_text() == "Skip connection (add)"
    assert col.locator(".layer-op").inner_text() == layer["title"] and layer["title"].startswith("skip add")
    titles = {la["name"]: la["title"] for la in body["layers"]}
    note = col.locator(".skip-note").inner_text()
    assert "x + F(x)" in note and titles[layer["skip"]["shortcut"]] in note and titles[layer["skip"]["main"]] in note
    col.locator(".thumb").first.click()
    page.wait_for_selector("#detail:not([hidden])")
    _, h, w = layer["output"]["shape"]
    size = page.locator("#detail-map").bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/trace")) as resp:
        page.locator("#detail-map").click(position={"x": 0.5 * size["width"] / w,
                                                    "y": 0.5 * size["height"] / h})
    t = resp.value.json()
    assert t["kind"] == "skip"
    page.wait_for_selector("#trace .equation")
    equation = page.locator("#trace .equation").first.inner_text()
    assert equation.startswith("Skip connection: x + F(x)")
    assert "F(x)" in page.locator("#trace .trace-sub").first.inner_text()  # F(x)'s own conv
    assert page.locator("#trace .m-grid").count() >= 3
    shot("classify-skip-1280", full_page=False)
    page.get_by_role("button", name="Back to the network").click()
    col.scroll_into_view_if_needed()
    shot("classify-skip-column-1280", full_page=False)
    open_page(page, site, site.rgb, width=390)  # at phone width the note wraps in its column
    col.scroll_into_view_if_needed()
    box, note_box = col.bounding_box(), col.locator(".skip-note").bounding_box()
    assert note_box["x"] + note_box["width"] <= box["x"] + box["width"] + 1
    no_overflow(page)
    shot("classify-skip-column-390", full_page=False)
    assert console_errors == []


def test_the_last_sample_clicked_wins_even_when_an_earlier_one_arrives_later(page, site, console_errors):
    """Click sample A (its image held back by the test), then sample B: B is classified,
    and when A's image finally comes, it is dropped instead of replacing B's result."""
    open_page(page, site, site.grey)
    names = page.locator("#pane-samples .sample").evaluate_all("bs => bs.map((b) => b.dataset.sample)")
    labels = {}
    for name in names[:6]:
        with urllib.request.urlopen(f"{site.base}/api/samples/{name}/image.png?size=112", timeout=30) as r:
            png = r.read()
        labels[name] = api(site.base, f"/api/models/{site.grey}/inspect", {"file": ("s.png", png, "image/png")})["label"]
    a, b = next((x, y) for x in labels for y in labels if labels[x] != labels[y])
    held = []
    a_url = f"/api/samples/{a}/image.png?size=112"
    page.route(f"**{a_url}", lambda route: held.append(route))
    with page.expect_request(lambda r: r.url.endswith(a_url)):  # A's image is on its way
        page.locator(f'#pane-samples .sample[data-sample="{a}"]').click()
    inspects = []
    page.on("request", lambda r: inspects.append(r.url) if r.url.endswith("/inspect") else None)
    # The signal that A can never land: clicking B cancels A's request (it fails, aborted),
    # so no answer to it can reach the page, however late the server sends one.
    with page.expect_event("requestfailed", lambda r: r.url.endswith(a_url), timeout=10_000) as gone, \
            page.expect_response(lambda r: r.url.endswith("/inspect")):
        page.locator(f'#pane-samples .sample[data-sample="{b}"]').click()
    assert "ABORTED" in (gone.value.failure or "").upper(), gone.value.failure
    page.wait_for_function("(l) => document.querySelector('#verdict-label').textContent === l", arg=labels[b])
    for route in held:
        with contextlib.suppress(PlaywrightError):  # the page already aborted it
            route.continue_()
    assert len(inspects) == 1, f"one classification (B's), not {inspects}"
    assert page.locator("#verdict-label").inner_text() == labels[b]
    assert page.locator(f'#pane-samples .sample[data-sample="{b}"]').get_attribute("aria-pressed") == "true"
    assert page.evaluate("document.body.classList.contains('cls-busy')") is False
    assert console_errors == []


def test_a_trace_still_on_its_way_never_lands_under_another_map(page, site, console_errors):
    body = open_page(page, site, site.grey)
    conv = next(la for la in body["layers"] if la["op_type"] == "Conv")
    col = page.locator(f'#layers .layer-col[data-layer="{conv["name"]}"]')
    col.locator(".thumb").nth(0).click()
    page.wait_for_selector("#detail:not([hidden])")
    held = []
    page.route("**/trace", lambda route: held.append(route))
    size = page.locator("#detail-map").bounding_box()
    page.locator("#detail-map").click(position={"x": size["width"] / 2, "y": size["height"] / 2})
    page.wait_for_function("() => document.querySelector('#trace').textContent.includes('asking the engine')")
    assert len(held) == 1
    # The signal that map 0's trace can never land: choosing map 1 cancels its request
    # (it fails, aborted), so no answer to it can reach the page.
    with page.expect_event("requestfailed", lambda r: r.url.endswith("/trace"), timeout=10_000) as gone:
        page.get_by_role("button", name="Back to the network").click()
        col.locator(".thumb").nth(1).click()  # another map while map 0's trace is held back
    assert "ABORTED" in (gone.value.failure or "").upper(), gone.value.failure
    assert f"{conv['title']}: map 1" in page.locator("#detail-title").inner_text()
    for route in held:
        with contextlib.suppress(PlaywrightError):  # already aborted by the page
            route.continue_()
    page.unroute("**/trace")
    assert "Click a pixel of the map" in page.locator("#trace").inner_text()
    assert page.locator("#trace .equation").count() == 0
    assert page.locator("#detail-field").is_hidden()
    assert console_errors == []


def test_a_trace_sends_the_run_id_and_a_dropped_run_is_inspected_again(page, site, console_errors):
    """The trace asks by the run id /inspect answered (the input never travels back); when
    the server no longer keeps the run (410) the page inspects the same image again and
    asks once more, so the student still sees the arithmetic."""
    body = open_page(page, site, site.grey)
    conv = next(la for la in body["layers"] if la["op_type"] == "Conv")
    page.locator(f'#layers .layer-col[data-layer="{conv["name"]}"] .thumb').nth(0).click()
    page.wait_for_selector("#detail:not([hidden])")
    sent, gone = [], {"status": 410, "content_type": "application/json",
                      "body": json.dumps({"detail": "This run is no longer kept: inspect again."})}

    def first_is_gone(route):
        sent.append(json.loads(route.request.post_data))
        if len(sent) == 1:
            route.fulfill(**gone)
        else:
            route.continue_()

    page.route("**/trace", first_is_gone)
    size = page.locator("#detail-map").bounding_box()
    with page.expect_response(lambda r: r.url.endswith("/inspect")) as again:
        page.locator("#detail-map").click(position={"x": size["width"] / 2, "y": size["height"] / 2})
    page.wait_for_selector("#trace .equation")
    page.unroute("**/trace")
    fresh = again.value.json()["run"]
    assert [s["run"] for s in sent] == [body["run"], fresh] and fresh != body["run"]
    assert all("input" not in s for s in sent)
    assert page.locator("#trace .m-grid").count() >= 3
    assert page.locator("#trace .error").count() == 0
    assert [e for e in console_errors if "410" not in e] == []
