"""Classify's "Why did it say that?" panel: Grad-CAM over the image, the class picker
("why not ...?"), the layer picker, the sanity check and fooling the model. What the
page shows is compared with the API's answer for the same image."""

from __future__ import annotations

import pytest

from tests.browser.test_classify import open_page, site  # noqa: F401  (the fixture)


def wait_for_gradcam(page, action):
    with page.expect_response(lambda r: r.url.endswith("/gradcam")) as resp:
        action()
    assert resp.value.status == 200
    return resp.value.json()


@pytest.mark.parametrize("width", [1280, 390])
def test_gradcam_overlay_class_picker_and_layers(page, site, shot, console_errors, width):  # noqa: F811
    body = wait_for_gradcam(page, lambda: open_page(page, site, site.grey, width=width))
    panel = page.locator("#why")
    panel.scroll_into_view_if_needed()
    assert panel.is_visible()
    assert page.locator("#why-figures .why-frame").first.is_visible()
    assert page.locator("#why-class").input_value() == str(body["top"]["index"])
    assert body["layer"] is not None and body["layers"], "the digit model has conv layers"
    assert page.locator("#why-layer").input_value() == body["layer"]["title"]
    options = page.locator("#why-layer option").all_inner_texts()
    assert len(options) == len(body["layers"])
    label = page.locator("#why-figures [role=img]").first.get_attribute("aria-label")
    assert f"“{body['target']['label']}”" in label and body["layer"]["title"] in label
    # the overlay is drawn: the heat canvas is most opaque at the API's peak
    peak = body["hot"]["peak"]
    alpha = page.evaluate("""([r, c]) => {
        const cv = document.querySelector('#why-figures .why-heat');
        const d = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
        let top = 0;
        for (let i = 3; i < d.length; i += 4) top = Math.max(top, d[i]);
        return [d[(r * cv.width + c) * 4 + 3], top, cv.width];
    }""", peak)
    assert alpha[2] == body["heatmap"]["shape"][1] and alpha[0] == alpha[1] > 0, alpha
    sanity = body["sanity"]
    result = page.locator("#why-sanity-result").inner_text()
    if sanity["rank_correlation"] is None:
        assert "empty" in result
    else:
        assert result.startswith("Rank correlation of the two maps: ")
        assert ("passes the check" in result) == (sanity["rank_correlation"] < 0.5)
    # "why not the second guess?"
    second = page.locator("#why-quick button").nth(1)
    index = second.get_attribute("data-index")
    again = wait_for_gradcam(page, second.click)
    assert again["target"]["index"] == int(index) != body["top"]["index"]
    assert page.locator("#why-class").input_value() == index
    page.wait_for_function("i => document.querySelector('#why-figures figcaption').textContent.includes(i)",
                           arg=f"“{again['target']['label']}”")
    page.locator("#why").scroll_into_view_if_needed()
    shot(f"classify-why-{width}", full_page=False)
    first = body["layers"][0]["title"]
    layer = wait_for_gradcam(page, lambda: page.select_option("#why-layer", first))
    assert layer["layer"]["title"] == first and layer["target"]["index"] == int(index)
    assert not console_errors


def test_fooling_it_shows_the_ladder(page, site, shot, console_errors):  # noqa: F811
    target = site.rgb or site.grey
    wait_for_gradcam(page, lambda: open_page(page, site, target))
    with page.expect_response(lambda r: r.url.endswith("/fgsm")) as resp:
        page.click("#why-fool")
    body = resp.value.json()
    page.wait_for_selector("#why-fool-verdict")
    rows = page.locator(".why-ladder tbody tr")
    assert rows.count() == len(body["ladder"]) == 6
    verdict = page.locator("#why-fool-verdict").inner_text()
    if body["flipped_at"] is None:
        assert "did not change" in verdict
    else:
        step = body["ladder"][body["flipped_at"]]
        assert f"“{step['label']}”" in verdict and f"at most {step['grey_levels']} grey level" in verdict
        assert page.locator(".why-fool-out canvas").count() == 3
    page.locator("#why-fool").scroll_into_view_if_needed()
    shot("classify-why-fgsm", full_page=False)
    assert not console_errors
