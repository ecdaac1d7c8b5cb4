"""Classify's course content (issue 19, section 2): the low -> mid -> high-level feature
hierarchy said with the model's own conv layers, and the data sets stated where the
models that were trained on them are used."""

from __future__ import annotations

from tests.browser.test_classify import api, open_page, site  # noqa: F401  (the fixture)


def test_the_feature_hierarchy_names_this_models_layers(page, site, console_errors):  # noqa: F811
    body = open_page(page, site, site.grey)
    convs = [layer for layer in body["layers"] if layer["op_type"] == "Conv" and not layer.get("branch")]
    text = page.locator("#net-hierarchy").inner_text()
    first, last = convs[0], convs[-1]
    c, h, w = first["output_shape"][1:]
    assert f"{first['title']} ({h}×{w}×{c})" in text
    assert "low-level" in text and "high-level" in text and "Zeiler and Fergus" in text
    if len(convs) > 1:
        c, h, w = last["output_shape"][1:]
        assert f"{last['title']} ({h}×{w}×{c})" in text
    assert not console_errors


def test_the_data_sets_are_stated_on_classify(page, site):  # noqa: F811
    open_page(page, site, site.grey)
    facts = page.locator("#dataset-facts")
    assert "Modified NIST" in facts.inner_text() and "60,000" in facts.inner_text()
    assert "32×32×3" in facts.inner_text() and "50,000" in facts.inner_text()
    assert page.locator("#dataset-facts").count() == 1
