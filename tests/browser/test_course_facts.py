"""Issue 19's wording and facts where a student meets them: the home page and footer say
what is computed and what is quoted; /train says how its loss differs from TensorFlow
Playground's and links the Playground with the page's settings; /train's depth experiment
shows degradation (He initialisation and BatchNorm), told apart from vanishing gradients
with the served numbers; sizes are decimal megabytes."""

from __future__ import annotations

import re
from urllib.parse import unquote

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


SUPER = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _num(text: str) -> float:
    """A number as the pages write it: true minus, powers of ten as 2.5×10⁻⁶."""
    text = text.replace("−", "-")
    if "×10" in text:
        mantissa, power = text.split("×10")
        return float(mantissa) * 10 ** int(power.translate(SUPER))
    return float(text)


def test_home_says_what_is_computed_and_what_is_quoted(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/")
    lead = page.inner_text(".hero")
    assert "nothing is typed in" not in lead.lower()
    assert "compute" in lead and "NumPy engine" in lead
    quoted = page.inner_text("#quoted")
    for fact in ("error rates", "years", "authors", "LeCun et al. 1998", "Krizhevsky 2009"):
        assert fact in quoted, fact
    assert page.locator("#quoted a[href='/architectures']").count() == 1
    footer = page.inner_text(".site-footer")
    assert "computed:" in footer and "quoted, with sources:" in footer
    shot("home-computed-quoted", full_page=False)
    assert console_errors == []


def _open_train(page, live_server, query="", size=WIDTHS["desktop"]):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live_server + "/train" + query)
    page.wait_for_selector("#train[data-status=ready]")


def test_train_names_playgrounds_loss_and_links_it_with_the_settings(page, live_server, console_errors, shot):
    _open_train(page, live_server)
    note = page.inner_text("#tfp-loss")
    assert "squared error" in note and "tanh" in note and "not the loss numbers" in note
    href = page.get_attribute("#tfp-link", "href")
    assert href.startswith("https://playground.tensorflow.org/#")
    params = dict(p.split("=", 1) for p in unquote(href.split("#", 1)[1]).split("&"))
    assert params["dataset"] == "circle" and params["activation"] == "tanh"
    assert params["learningRate"] == "0.03" and params["batchSize"] == "10"
    assert params["networkShape"] == "4,2" and params["x"] == "true" and params["xSquared"] == "false"
    # The link follows the page's settings (Playground's own names: "gauss", "sinX").
    page.select_option("#lr", "0.1")
    page.click(".tr-ds[data-ds=gaussians]")
    page.wait_for_function("() => document.querySelector('#tfp-link').href.includes('dataset=gauss&')")
    href = page.get_attribute("#tfp-link", "href")
    assert "learningRate=0.1&" in href
    page.locator("#tfp-loss").scroll_into_view_if_needed()
    shot("train-playground-loss-note", full_page=False)
    assert console_errors == []


def test_depth_experiment_is_degradation_with_served_numbers(page, live_server, console_errors, shot):
    _open_train(page, live_server)
    intro = page.inner_text("#why-relu")
    assert "degradation" in intro and "BatchNorm" in intro and "He initialisation" in intro
    assert "unlikely to be caused by vanishing gradients" in intro
    page.locator("#why-relu").scroll_into_view_if_needed()
    page.wait_for_selector("#depth-contrast:not([hidden])", timeout=60_000)
    served = page.evaluate("""async () => {
        const r = await fetch('/api/train/compare', {method: 'POST', headers: {'content-type': 'application/json'},
            body: JSON.stringify({kind: 'depth', dataset: 'circle', seed: 4, steps: 300, learning_rate: 0.1})});
        return r.json();
    }""")
    shallow, plain, _ = served["runs"]
    text = page.inner_text("#depth-contrast")
    # The sentence carries the served numbers, and they say what the words say.
    m = re.search(r"training loss ends at (\d+(?:\.\d+)?) against (\d+(?:\.\d+)?)", text)
    assert m, text
    deep_loss, shallow_loss = _num(m.group(1)), _num(m.group(2))
    assert abs(deep_loss - plain["losses"][-1]) < 1e-3 and abs(shallow_loss - shallow["losses"][-1]) < 1e-3
    assert deep_loss > 3 * shallow_loss
    number = r"(\d[\d.]*(?:×10[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)?)"
    g = re.search(r"layer-1 gradient is " + number, text)
    assert g and _num(g.group(1)) > 1e-3
    nobn = re.search(r"layer-1 gradient of " + number, text)
    assert nobn and _num(nobn.group(1)) < 1e-4
    assert abs(_num(nobn.group(1)) / served["without_batchnorm"]["grad_means"][0] - 1) < 0.05
    assert "vanish" in text and "degradation" in text and "e-" not in text
    findings = served["findings"]
    assert findings["degraded"] and findings["residual_better"] and not findings["plain_gradient_vanished"]
    assert findings["nobn_gradient_vanished"] and not findings["nobn_learned"]
    assert "it did not vanish" in text and "does not train" in text
    assert "BatchNorm" in page.inner_text("#cmp-settings")
    page.locator("#depth-contrast").scroll_into_view_if_needed()
    shot("train-degradation", full_page=False)
    assert console_errors == []


def test_depth_experiment_at_phone_width(page, live_server, console_errors, shot):
    _open_train(page, live_server, size=WIDTHS["phone"])
    page.locator("#why-relu").scroll_into_view_if_needed()
    page.wait_for_selector("#depth-contrast:not([hidden])", timeout=60_000)
    page.locator("#depth-contrast").scroll_into_view_if_needed()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot("train-degradation-phone", full_page=False)
    assert console_errors == []


def test_sizes_are_decimal_megabytes(page, live_server, console_errors):
    page.goto(live_server + "/")
    got = page.evaluate("""async () => {
        const u = await import('/static/js/util.js');
        return [u.bytes(60950432), u.bytes(999), u.bytes(1500), u.bytes(10 * 1024 * 1024), u.bytes(2.5e9)];
    }""")
    # VGG16's 15,237,608 float32 values: 60,950,432 bytes = 61.0 MB (58.1 would be MiB).
    assert got == ["61.0 MB", "999 B", "1.5 kB", "10.5 MB", "2.50 GB"]
    assert console_errors == []


def test_learn_keras_listing_shows_the_cards_numbers_and_runs_it(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/learn")
    page.wait_for_selector("#learn[data-status=ready]", timeout=30_000)
    page.wait_for_selector("#keras-accuracy")
    card = page.evaluate("async () => (await fetch('/api/models/mnist-mlp')).json()")
    assert page.inner_text("#keras-params") == f"{card['parameters']:,}" == "407,050"
    assert page.inner_text("#keras-fc1-params").startswith("401,920 (784 × 512 weights")
    assert page.inner_text("#keras-fc2-params").startswith("5,130 (512 × 10 weights")
    assert page.inner_text("#keras-accuracy") == f"{100 * card['metrics']['accuracy']:.2f}%"
    page.locator("#keras-code").scroll_into_view_if_needed()
    shot("learn-keras-listing", full_page=False)
    page.click("#keras-run")  # the page's own Keras preset: same network and recipe, live
    page.wait_for_function(
        "() => document.querySelector('#busy-text').textContent.includes(\"The course's Keras example is ready\")",
        timeout=60_000)
    assert page.inner_text("#params").replace(",", "") == str(card["parameters"])
    page.locator("#dataset-facts").scroll_into_view_if_needed()
    shot("learn-dataset-facts", full_page=False)
    assert console_errors == []


def test_learn_additions_at_phone_width(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/learn")
    page.wait_for_selector("#keras-accuracy", timeout=30_000)
    for sel in ("#keras-lines", "#dataset-facts"):
        page.locator(sel).scroll_into_view_if_needed()
        box = page.locator(sel).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 391, sel
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot("learn-dataset-facts-phone", full_page=False)
    assert console_errors == []
