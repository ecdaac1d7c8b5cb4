"""The architectures page: the summary of all nine, a full table, the chart and the ideas."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TITLES = ["LeNet-5", "AlexNet", "VGG16", "VGG19", "GoogLeNet (Inception v1)",
          "ResNet-18", "ResNet-34", "ResNet-50", "ResNet-152"]


def test_summary_pick_vgg16_and_blocks(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/architectures")
    rows = page.locator("#summary-table tbody tr")
    expect(rows).to_have_count(9)
    assert [t.strip() for t in rows.locator("th").all_inner_texts()] == TITLES
    expect(rows.nth(2)).to_contain_text("138,357,544")
    expect(rows.nth(4)).to_contain_text("6,624,904")
    expect(rows.nth(1)).to_contain_text("16.4%")
    expect(page.locator("#chart rect.bar")).to_have_count(9)
    # LeNet-5 is shown first: 8 layers + the input row.
    expect(page.locator("#table-total-params")).to_have_text("61,706")
    expect(page.locator("#layer-table tbody tr")).to_have_count(9)

    page.click('.arch-picker button[data-name="vgg16"]')
    expect(page.locator("#table-total-params")).to_have_text("138,357,544")
    expect(page.locator("#total-parameters")).to_have_text("138,357,544")
    # 13 convs + 5 pools + flatten + 3 FC + the input row.
    expect(page.locator("#layer-table tbody tr")).to_have_count(23)
    expect(page.locator("#layer-table tbody tr").nth(1)).to_contain_text("224x224x64")
    expect(page.locator("#arch-notes")).to_contain_text("24M")
    assert "arch=vgg16" in page.url
    shot("architectures-vgg16-desktop")

    # ResNet-50: 16 residual blocks; opening one shows its layers.
    page.locator("#summary-table").get_by_role("button", name="ResNet-50").click()
    expect(page.locator("#table-total-params")).to_have_text("25,557,032")
    expect(page.locator("#layer-table button.expand")).to_have_count(16)
    before = page.locator("#layer-table tbody tr").count()
    first = page.locator("#layer-table button.expand").first
    first.click()
    expect(page.locator("#layer-table tbody tr.sub")).to_have_count(5)
    assert page.locator("#layer-table tbody tr").count() == before + 5
    expect(page.locator("#layer-table tbody tr.sub").nth(3)).to_contain_text("downsample 1x1")
    expect(page.locator("#layer-table button.expand").first).to_have_attribute("aria-expanded", "true")
    page.click("#expand-all")
    expect(page.locator("#layer-table tbody tr.sub")).to_have_count(16 * 5)  # 3 convs, a shortcut, the add
    # The URL holds the choice.
    page.reload()
    expect(page.locator("#table-total-params")).to_have_text("25,557,032")
    assert console_errors == []


def test_chart_log_scale_and_ideas(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/architectures#ideas")
    bars = page.locator("#chart rect.bar")
    expect(bars).to_have_count(9)
    lenet_linear = float(bars.first.get_attribute("width"))
    page.check("#chart-log")
    expect(page.locator("#chart-caption")).to_contain_text("Log scale")
    lenet_log = float(page.locator("#chart rect.bar").first.get_attribute("width"))
    assert lenet_log > 10 * lenet_linear  # LeNet's bar becomes visible on a log scale
    page.select_option("#chart-metric", "total_macs")
    expect(page.locator("#chart .bar-value").nth(2)).to_have_text("15.5G")

    # 3x3 vs 7x7 with the student's C, from the server.
    expect(page.locator("#stacked-params")).to_contain_text("110,592")
    page.fill("#idea-c", "128")
    expect(page.locator("#stacked-params")).to_contain_text("3*(3^2*128^2) = 3*147,456 = 442,368")
    expect(page.locator("#single-params")).to_contain_text("7^2*128^2 = 802,816")
    expect(page.locator("#rf-svg rect.rf-box")).to_have_count(3)
    expect(page.locator("#idea-inception .mod-macs").first).to_have_text("854,196,224")
    expect(page.locator("#idea-nofc")).to_contain_text("205,524,992")
    expect(page.locator("#idea-residual")).to_contain_text("0 parameters")
    assert "channels=128" in page.url
    shot("architectures-ideas-desktop")
    assert console_errors == []


def test_phone_layout(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/architectures?arch=googlenet")
    expect(page.locator("#table-total-params")).to_have_text("6,624,904")
    expect(page.locator("#layer-table button.expand")).to_have_count(9)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page overflows by {overflow}px"
    # The wide table scrolls inside its own box.
    box = page.evaluate(
        "(() => { const b = document.querySelector('.scroll-box');"
        " return [b.scrollWidth, b.clientWidth]; })()"
    )
    assert box[0] > box[1]
    expect(page.locator(".arch-picker button[aria-pressed=true]")).to_have_text(re.compile("GoogLeNet"))
    shot("architectures-phone")
    assert console_errors == []


def test_an_unknown_metric_in_the_url_falls_back_to_parameters(page, live_server, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/architectures?metric=bogus")
    bars = page.locator("#chart rect.bar")
    expect(bars).to_have_count(9)
    assert all(w not in ("NaN", None) for w in bars.evaluate_all("bs => bs.map((b) => b.getAttribute('width'))"))
    assert page.input_value("#chart-metric") == "total_params"
    assert console_errors == []
