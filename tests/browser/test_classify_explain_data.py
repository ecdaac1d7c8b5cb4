"""The classify page's held-out-data panels (issue 17): a filter's top patches with their
receptive-field boxes and the synthetic image; the confusion matrix, a cell's images, and
one of them opened in classify. At 1280 and 390 px, with screenshots of each panel."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.app.modelkit import write_model
from tests.app.netkit import lenet5
from tests.browser.conftest import SCREENSHOTS

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def site(start_server, tmp_path_factory):
    """An app on the shipped subsets' held-out images (no data folder): LeNet-5 as shipped,
    or a LeNet-5 with random weights where models/ has none."""
    if (ROOT / "models" / "lenet5.onnx").exists():
        return start_server(CONVLAB_DATA_DIR=""), "lenet5"
    folder = tmp_path_factory.mktemp("explain-models")
    write_model(folder, "lenet-test", lenet5(seed=3))
    return start_server(CONVLAB_DATA_DIR="", CONVLAB_MODELS_DIR=str(folder)), "lenet-test"


def api(base: str, path: str, timeout: float = 300.0) -> dict:
    """GET ``path``, again while it answers 202 (the held-out pass runs in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with urllib.request.urlopen(base + path, timeout=60) as r:
            body = json.loads(r.read())
            if r.status != 202:
                return body
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def panel_shot(page, selector: str, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.locator(selector).screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def box_and_ink(page, index: int) -> dict:
    """Pixels of the index-th patch canvas: amber box pixels, and bright (ink) pixels."""
    return page.evaluate("""(i) => {
      const c = document.querySelectorAll('#flt-grid canvas')[i];
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let box = 0, ink = 0;
      for (let k = 0; k < d.length; k += 4) {
        if (d[k] > 230 && Math.abs(d[k + 1] - 176) < 20 && d[k + 2] < 30) box++;
        else if (d[k] > 200 && d[k + 1] > 200 && d[k + 2] > 200) ink++;
      }
      return { box, ink };
    }""", index)


@pytest.mark.parametrize("width", [1280, 390])
def test_filter_top_patches_with_their_fields_then_the_synthetic_image(page, site, console_errors, width):
    base, model = site
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/classify?model={model}")
    layers = api(base, f"/api/models/{model}/filters")
    layer = layers["default"]
    want = api(base, f"/api/models/{model}/filters/patches?layer={urllib.request.quote(layer)}&channel=0")
    page.wait_for_function("() => document.querySelectorAll('#flt-grid li').length === 9", timeout=120_000)
    assert page.locator("#flt-layer").input_value() == layer
    values = page.locator("#flt-grid .xd-value").all_inner_texts()
    assert values == [f"{p['value']:.2f}".rstrip("0").rstrip(".") for p in want["patches"]]
    for i, p in enumerate(want["patches"][:3]):
        label = page.locator("#flt-grid button").nth(i).text_content()
        assert f"held-out image {p['index']}" in label
        assert f"rows {p['field']['rows'][0]}–{p['field']['rows'][1]}" in label
    page.wait_for_function("""() => { const c = document.querySelector('#flt-grid canvas');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      return d.some((v, k) => k % 4 === 0 && v > 200); }""")
    drawn = box_and_ink(page, 0)
    assert drawn["box"] > 40 and drawn["ink"] > 40, drawn
    page.wait_for_selector("#flt-synth:not([hidden])", timeout=60_000)
    assert page.evaluate("document.getElementById('flt-synth-img').naturalWidth") == 28
    assert "→" in page.locator("#flt-synth-caption").inner_text()
    assert "Borowski" in page.locator("#filters").inner_text()
    assert "58,000-59,999" in page.locator("#flt-source").inner_text()
    panel_shot(page, "#filters", f"classify-filters-{width}")
    # the next channel, by keyboard
    nxt = api(base, f"/api/models/{model}/filters/patches?layer={urllib.request.quote(layer)}&channel=1")
    page.focus("#flt-next")
    page.keyboard.press("Enter")
    first = f"held-out image {nxt['patches'][0]['index']}"
    page.wait_for_function("(t) => (document.querySelector('#flt-grid button') || {}).textContent?.includes(t)", arg=first)
    assert page.locator("#flt-channel").input_value() == "1"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert not console_errors


@pytest.mark.parametrize("width", [1280, 390])
def test_a_confusion_cell_lists_its_images_and_one_opens_in_classify(page, site, console_errors, width):
    base, model = site
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{base}/classify?model={model}")
    conf = api(base, f"/api/models/{model}/confusion")
    page.wait_for_function("() => document.querySelectorAll('#cm-matrix button').length === 100", timeout=120_000)
    m = conf["matrix"]
    t, p = max(((t, p) for t in range(10) for p in range(10) if t != p), key=lambda tp: m[tp[0]][tp[1]])
    n = m[t][p]
    assert n > 0
    name = f"true {conf['true_classes'][t]}, predicted {conf['classes'][p]}: {n} image{'' if n == 1 else 's'}"
    cell = page.get_by_role("button", name=name, exact=True)
    assert cell.inner_text() == str(n)
    cell.focus()
    page.keyboard.press("Enter")
    page.wait_for_function("(k) => document.querySelectorAll('#cm-cell-images li').length === k", arg=min(n, 24))
    want = api(base, f"/api/models/{model}/confusion/{t}/{p}?limit=24")
    labels = page.locator("#cm-cell-images button").all_text_contents()
    assert all(f"Held-out image {i['index']}:" in lab for i, lab in zip(want["images"], labels, strict=True))
    assert all(f"predicted {conf['classes'][p]}" in lab for lab in labels)
    assert "Computed from the 2,000 held-out images" in page.locator("#cm-source").inner_text()
    page.wait_for_function("() => document.querySelectorAll('#cm-mistakes li').length > 0")
    panel_shot(page, "#confusion", f"classify-confusion-{width}")
    first = want["images"][0]
    with (page.expect_response(lambda r: r.url.endswith("/inspect")) as resp,
          page.expect_response(lambda r: r.url.endswith(f"/heldout/{first['index']}.png")) as png):
        page.locator("#cm-cell-images button").first.click()
    assert png.value.status == 200 and resp.value.status == 200
    body = resp.value.json()
    assert body["original"]["width"] == 28 and body["original"]["height"] == 28
    page.wait_for_function("(l) => document.getElementById('verdict-label').textContent.trim() === l",
                           arg=body["label"])
    assert page.locator("#tab-upload").get_attribute("aria-pressed") == "true"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"classify-confusion-opened-{width}.png"))
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert not console_errors
