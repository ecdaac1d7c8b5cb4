"""The calculator's padding rule, the course's 32x32x3 example, the other kinds of convolution
(one click per real network's layer, numbers against the API), a refused layer, the chain's
old links with "kernel", and a phone screen."""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.test_calculator import said

pytestmark = pytest.mark.browser



KIND_EXAMPLES = {
    # button: the body the page should send (its settings) and the shape it should show
    "mobilenet": ({"kind": "separable", "input_size": [112, 112], "in_channels": 64, "filters": 128,
                   "kernel_size": 3, "padding": 1}, "112×112×128"),
    "inception": ({"kind": "bottleneck", "input_size": [28, 28], "in_channels": 192, "filters": 32,
                   "kernel_size": 5, "padding": 2, "bottleneck": 16}, "28×28×32"),
    "alexnet2": ({"kind": "grouped", "input_size": [27, 27], "in_channels": 96, "filters": 256,
                  "kernel_size": 5, "padding": 2, "groups": 2}, "27×27×256"),
    "depthwise": ({"kind": "depthwise", "input_size": [56, 56], "in_channels": 128, "filters": 128,
                   "kernel_size": 3, "padding": 1}, "56×56×128"),
    "dcgan": ({"kind": "transposed", "input_size": [4, 4], "in_channels": 1024, "filters": 512,
               "kernel_size": 4, "stride": 2, "padding": 1}, "8×8×512"),
    "text": ({"kind": "conv1d", "input_size": [50], "in_channels": 300, "filters": 100,
              "kernel_size": 3}, "48×100"),
}


def api(base: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def test_six_filters_example_and_the_padding_rule(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/calculator")
    page.click("[data-example=six]")
    expect(page.locator("#out-volume")).to_have_text("28×28×6")
    expect(page.locator("[data-example=six]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#out-params")).to_have_text("456")
    rule = api(live_server, "/api/calculator/rules")["same_padding"]
    expect(page.locator("#rule-text")).to_have_text(rule["rule"])
    for text in ("F = 3 \u2192 P = 1", "F = 5 \u2192 P = 2", "F = 7 \u2192 P = 3"):
        expect(page.locator("#rule-text")).to_contain_text(text)
    expect(page.locator("#rule-buttons button")).to_have_count(3)
    page.click("[data-rule-f='5']")  # the same 32x32x3 input keeps its size with P = 2
    expect(page.locator("#in-p")).to_have_value("2")
    expect(page.locator("#out-volume")).to_have_text("32×32×6")
    page.click("[data-rule-f='7']")
    expect(page.locator("#in-f")).to_have_value("7")
    expect(page.locator("#out-size")).to_have_text("32×32")
    shot("calculator-rule-desktop")
    assert console_errors == []


def test_every_kind_example_shows_the_engines_numbers(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/calculator#kinds")
    for name, (body, shape) in KIND_EXAMPLES.items():
        page.click(f"[data-kind-example={name}]")
        d = api(live_server, "/api/calculator/kind", body)
        expect(page.locator("#kind-out")).to_have_text(shape)
        expect(page.locator("#kind-params")).to_have_text(f"{d['params']['total']:,}")
        expect(page.locator("#kind-macs")).to_have_text(f"{d['macs']['total']:,}")
        expect(page.locator("#kind-macs-formula")).to_have_text(said(d["macs"]["formula"]))
        expect(page.locator("#kind-savings")).to_have_text(said(d["savings"]))
        expect(page.locator(f"[data-kind-example={name}]")).to_have_attribute("aria-pressed", "true")
        # Only the boxes this kind reads are shown.
        assert page.is_visible("#kind-g") == (body["kind"] == "grouped")
        assert page.is_visible("#kind-opad") == (body["kind"] == "transposed")
        assert page.is_visible("#kind-b") == (body["kind"] == "bottleneck")
        assert page.is_visible("#kind-w") == (body["kind"] != "conv1d")
        if name == "mobilenet":
            expect(page.locator("#kind-savings")).to_contain_text("times fewer multiply-adds")
            expect(page.locator("#kind-stages li")).to_have_count(2)
            shot("calculator-kinds-desktop")
    expect(page.locator("#kind-size-formula")).to_contain_text("(50 − 3 + 2×0)/1 + 1 = 48")
    assert console_errors == []


def test_a_refused_kind_is_said_and_leaves_no_numbers(page, live_server, console_errors):
    page.goto(live_server + "/calculator#kinds")
    page.click("[data-kind-example=alexnet2]")
    expect(page.locator("#kind-out")).to_have_text("27×27×256")
    page.fill("#kind-g", "5")
    expect(page.locator("#kind-error")).to_contain_text("must both divide into 5 groups")
    expect(page.locator("#kind-output")).to_be_hidden()
    expect(page.locator("#kind-savings")).to_have_text("")
    page.fill("#kind-g", "4")
    expect(page.locator("#kind-output")).to_be_visible()
    expect(page.locator("#kind-error")).to_be_hidden()
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_the_kind_is_kept_in_the_url(page, live_server, console_errors):
    page.goto(live_server + "/calculator?kind=transposed&kind_h=5&kind_w=5&kind_s=2&kind_p=0&kind_f=3&kind_opad=1")
    expect(page.locator("#kind-kind")).to_have_value("transposed")
    expect(page.locator("#kind-out")).to_have_text(re.compile(r"^12×12×"))  # (5-1)*2 + 3 + 1
    page.select_option("#kind-kind", "pointwise")
    expect(page.locator("#kind-f")).to_be_disabled()
    expect(page).to_have_url(re.compile(r"kind=pointwise"))
    assert console_errors == []


def test_an_old_chain_link_with_kernel_still_opens(page, live_server, console_errors):
    layers = urllib.parse.quote(json.dumps([{"type": "conv", "filters": 4, "kernel": 5, "padding": 0},
                                            {"type": "pool", "kernel": 2}]))
    requests = []
    page.on("request", lambda r: requests.append(r.post_data) if r.url.endswith("/api/calculator/chain") else None)
    page.goto(f"{live_server}/calculator?layers={layers}#chain")
    expect(page.locator("#L0-kernel_size")).to_have_value("5")
    expect(page.locator("#L1-kernel_size")).to_have_value("2")
    expect(page.locator("#chain-list > li").nth(1)).to_contain_text("14×14×4")  # 32 - 5 + 1 = 28, pooled
    sent = json.loads(requests[-1])
    assert all("kernel" not in layer for layer in sent["layers"])  # the page sends the new name
    assert console_errors == []


def test_phone_layout(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/calculator#kinds")
    page.click("[data-kind-example=inception]")
    expect(page.locator("#kind-out")).to_have_text("28×28×32")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways: {width}px"
    shot("calculator-kinds-phone")
    assert console_errors == []
