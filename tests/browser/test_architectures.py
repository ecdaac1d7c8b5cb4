"""The architectures page: the summary of all nine, ImageNet's challenge and its charts, a
full table in each layout, the chart and the ideas with their diagrams."""

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
    expect(rows.nth(1)).to_contain_text("15.3%")
    expect(rows.nth(2)).to_contain_text("61.0 MB")  # decimal MB (not 58.1 MiB)
    expect(rows.nth(2).locator("td").nth(0)).to_have_text("2014")  # ILSVRC
    expect(rows.nth(2).locator("td").nth(1)).to_have_text("2015")  # published
    expect(page.locator("#chart rect.bar")).to_have_count(9)
    # LeNet-5 is shown first: 8 layers + the input row.
    expect(page.locator("#table-total-params")).to_have_text("61,706")
    expect(page.locator("#layer-table tbody tr")).to_have_count(9)

    page.click('.arch-picker button[data-name="vgg16"]')
    expect(page.locator("#table-total-params")).to_have_text("138,357,544")
    expect(page.locator("#total-parameters")).to_have_text("138,357,544")
    # 13 convs + 5 pools + flatten + 3 FC + the input row.
    expect(page.locator("#layer-table tbody tr")).to_have_count(23)
    first = page.locator("#layer-table tbody tr").nth(1)
    expect(first).to_contain_text("224×224×64")
    expect(first.locator("td").nth(2)).to_have_text("1,728")  # weights, as the course lists them
    expect(first.locator("td").nth(3)).to_have_text("1,792")  # weights + biases
    expect(page.locator("#table-total-weights")).to_have_text("138,344,128")
    expect(page.locator("#table-total-memory")).to_have_text("61.0 MB")
    expect(page.locator("#arch-notes")).to_contain_text("24M")
    expect(page.locator("#arch-notes")).to_contain_text("about 15.2 M values, about 61 MB per image forward")
    expect(page.locator("#arch-notes")).to_contain_text("138,344,128 weights + 13,416 biases = 138,357,544")
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
    expect(page.locator("#layer-table tbody tr.sub").nth(3)).to_contain_text("downsample 1×1")
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
    expect(page.locator("#stacked-params")).to_contain_text("3×(3²×128²) = 3×147,456 = 442,368")
    expect(page.locator("#single-params")).to_contain_text("7²×128² = 802,816")
    expect(page.locator("#rf-svg rect.rf-box")).to_have_count(3)
    expect(page.locator("#idea-inception .mod-macs").first).to_have_text("854,196,224")
    expect(page.locator("#idea-nofc")).to_contain_text("205,524,992")
    expect(page.locator("#idea-residual")).to_contain_text("0 parameters")
    # The Inception module, drawn from the server's branches: input, 7 layers, concat.
    expect(page.locator("#inception-svg rect")).to_have_count(1 + 7 + 1)
    expect(page.locator("#inception-svg")).to_contain_text("1×1 conv, 64")
    expect(page.locator("#idea-saving")).to_contain_text("854,196,224 − 271,351,808 = 582,844,416")
    # The two residual blocks, with the engine's counts at C = 128 (no bias; BN 2 per channel).
    expect(page.locator("#basic-svg")).to_contain_text(f"{9 * 128 * 128 + 256:,} parameters")
    expect(page.locator("#bottleneck-svg rect")).to_have_count(3)
    expect(page.locator("#bottleneck-svg")).to_contain_text("identity")
    expect(page.locator("#vgg-lessons li")).to_have_count(3)
    expect(page.locator("#vgg-lessons")).to_contain_text("FC7")
    assert "channels=128" in page.url
    shot("architectures-ideas-desktop")
    assert console_errors == []


def test_phone_layout(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    # The papers' layout beside torchvision's, opened on the phone (axe audits it after).
    page.goto(live_server + "/architectures?arch=googlenet_paper")
    page.click("#layout-compare summary")
    expect(page.locator("#layout-table .layout-total")).to_have_text(["6,624,904", "6,998,552"])
    shot("architectures-layouts-phone", full_page=False)
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
    # The charts and diagrams fit the phone's width.
    for sel in ("#year-chart", "#size-chart", ".diagram-scroll", "#basic-svg", "#bottleneck-svg"):
        w = page.evaluate(f"document.querySelector('{sel}').getBoundingClientRect().width")
        assert 0 < w <= 390, (sel, w)
    page.set_viewport_size({"width": 390, "height": 844})
    # The papers' layout beside torchvision's, opened on the phone (axe audits it after).
    page.goto(live_server + "/architectures?arch=googlenet_paper")
    page.click("#layout-compare summary")
    expect(page.locator("#layout-table .layout-total")).to_have_text(["6,624,904", "6,998,552"])
    shot("architectures-layouts-phone", full_page=False)
    assert console_errors == []


def test_an_unknown_metric_in_the_url_falls_back_to_parameters(page, live_server, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/architectures?metric=bogus")
    bars = page.locator("#chart rect.bar")
    expect(bars).to_have_count(9)
    assert all(w not in ("NaN", None) for w in bars.evaluate_all("bs => bs.map((b) => b.getAttribute('width'))"))
    assert page.input_value("#chart-metric") == "total_params"
    assert console_errors == []


def test_ilsvrc_section_and_charts(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/architectures#ilsvrc")
    sec = page.locator("#ilsvrc")
    expect(page.locator("#ilsvrc-tasks li")).to_have_count(3)
    expect(sec).to_contain_text("26.2%")
    expect(sec).to_contain_text("40.7% top-1")
    expect(sec).to_contain_text("COCO 2015")
    expect(page.locator("#ilsvrc-human")).to_contain_text("5-10%")
    expect(page.locator("#ilsvrc-human-source")).to_contain_text("Russakovsky")
    # Year chart: one point per entry, the winners joined; the person's line.
    expect(page.locator("#year-chart circle")).to_have_count(6)
    expect(page.locator("#year-chart .human-line")).to_have_count(1)
    expect(page.locator("#year-chart")).to_contain_text("AlexNet 15.3%")
    # Size chart: single models at their engine-counted multiply-adds, then parameters.
    points = page.locator("#size-chart circle")
    expect(points).to_have_count(7)
    x_macs = {c.get_attribute("data-label"): float(c.get_attribute("cx")) for c in points.all()}
    assert x_macs["VGG19"] > x_macs["VGG16"] > x_macs["ResNet-152"] > x_macs["AlexNet"]
    page.select_option("#size-metric", "total_params")
    expect(page.locator("#size-chart-desc")).to_contain_text("parameters")
    x_params = {c.get_attribute("data-label"): float(c.get_attribute("cx")) for c in points.all()}
    assert x_params["GoogLeNet"] < x_params["ResNet-34"] < x_params["AlexNet"] < x_params["VGG16"]
    assert "size=total_params" in page.url
    # Every point with its source; a count opens that network's table.
    page.click("#ilsvrc-sources summary")
    expect(page.locator("#ilsvrc-points tbody tr")).to_have_count(6 + 7 + 2)
    page.locator("#ilsvrc-points").get_by_role("button", name="60,965,224 parameters", exact=True).click()
    expect(page.locator("#table-total-params")).to_have_text("60,965,224")
    page.locator("#ilsvrc").scroll_into_view_if_needed()
    shot("architectures-ilsvrc-desktop")
    assert console_errors == []


def test_alexnet_layouts_side_by_side(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/architectures?arch=alexnet")
    expect(page.locator("#table-total-params")).to_have_text("61,100,840")
    expect(page.locator("#layer-table tbody tr").nth(1)).to_contain_text("55×55×64")
    buttons = page.locator(".layout-buttons button")
    expect(buttons).to_have_count(3)
    buttons.nth(1).click()
    expect(page.locator("#table-total-params")).to_have_text("60,965,224")
    rows = page.locator("#layer-table tbody tr")
    expect(rows.nth(0)).to_contain_text("227×227×3")
    expect(rows.nth(1)).to_contain_text("96 filters 11×11, stride 4")
    expect(rows.nth(1)).to_contain_text("55×55×96")
    expect(rows.nth(3)).to_contain_text("local response normalisation")
    expect(page.locator("#arch-notes")).to_contain_text("Two GPUs")
    expect(page.locator("#arch-notes .tag.paper").first).to_be_visible()
    expect(page.locator(".arch-picker button[aria-pressed=true]")).to_have_text("AlexNet")
    expect(buttons.nth(1)).to_have_attribute("aria-pressed", "true")
    assert "arch=alexnet_paper" in page.url
    # The three layouts beside each other, lined up by layer name.
    page.click("#layout-compare summary")
    expect(page.locator("#layout-table .layout-total")).to_have_text(["61,100,840", "60,965,224", "62,378,344"])
    conv1 = page.locator("#layout-table tbody tr", has=page.locator("th", has_text="conv1"))
    expect(conv1).to_contain_text("55×55×64")
    expect(conv1).to_contain_text("55×55×96")
    norm1 = page.locator("#layout-table tbody tr", has=page.locator("th", has_text="norm1"))
    expect(norm1.locator("td").first).to_have_text("–")  # torchvision has no LRN
    expect(page.locator("#arch-error-source")).to_contain_text("Table 2")
    page.locator("#detail").scroll_into_view_if_needed()
    shot("architectures-alexnet-paper-desktop", full_page=False)
    page.goto(live_server + "/architectures?arch=googlenet_paper")
    expect(page.locator("#table-total-params")).to_have_text("6,998,552")
    expect(page.locator("#arch-notes")).to_contain_text("8.7×")
    assert console_errors == []
