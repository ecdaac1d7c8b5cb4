"""Lessons 2 and 4 on /lessons: the activations' readings (firing rate, ReLU's cost, the
cs224n notes and TensorFlow Playground), and dropout and BatchNorm in training and at
inference, every number the engine's (the page's tables equal the API's answers)."""

from __future__ import annotations

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def _open(page, live_server, size=SIZES["desktop"]):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    page.goto(live_server + "/lessons")
    page.wait_for_selector("#dp-table tr.dp-y")
    page.wait_for_selector("#bn-out tr.bn-y")


def _cells(page, sel):
    return page.eval_on_selector(sel, "tr => [...tr.cells].slice(1).map((c) => c.textContent)")


def _num(s):
    return float(s.replace("−", "-"))


def _post(page, path, body):
    return page.evaluate("""async ([path, body]) => (await fetch(path, {method: 'POST',
        headers: {'content-type': 'application/json'}, body: JSON.stringify(body)})).json()""", [path, body])


def test_activation_readings_and_links(page, live_server, console_errors, shot):
    _open(page, live_server)
    text = page.inner_text("#act-readings")
    assert "firing rate" in text and "cheaper to compute" in text and "exponential" in text
    hrefs = page.eval_on_selector_all("#act-readings a", "as => as.map((a) => a.href)")
    assert "https://web.stanford.edu/class/cs224n/readings/gradient-notes.pdf" in hrefs
    assert any(h.startswith("https://playground.tensorflow.org/#") for h in hrefs)
    page.locator("#act-readings").scroll_into_view_if_needed()
    shot("lessons-activation-readings", full_page=False)
    assert console_errors == []


def test_dropout_train_then_inference(page, live_server, console_errors, shot):
    _open(page, live_server)
    ex = page.evaluate("async () => (await fetch('/api/lessons/dropout')).json()")
    served = _post(page, "/api/lessons/dropout", {"x": ex["x"], "dout": ex["dout"], "ratio": 0.5, "seed": 1,
                                                  "training": True})
    assert [_num(v) for v in _cells(page, "#dp-table tr.dp-y")] == served["y"]
    dropped = page.locator("#dp-table tr.dp-mask td.dropped").count()
    assert dropped == len(ex["x"]) - served["kept"] > 0
    assert f"keeps {served['kept']} of {len(ex['x'])}" in page.inner_text("#dp-explain")
    page.locator("#dropout").scroll_into_view_if_needed()
    shot("lessons-dropout-train", full_page=False)
    before = _cells(page, "#dp-table tr.dp-mask")
    page.click("#dp-new")  # a new mask: another seed
    page.wait_for_function("(b) => JSON.stringify([...document.querySelector('#dp-table tr.dp-mask').cells]"
                           ".slice(1).map((c) => c.textContent)) !== b", arg=str(before).replace("'", '"'))
    page.click("#dp-infer")
    page.wait_for_function("() => document.querySelector('#dp-explain').textContent.startsWith('Inference')")
    assert [_num(v) for v in _cells(page, "#dp-table tr.dp-y")] == ex["x"]
    assert page.locator("#dp-table td.dropped").count() == 0
    assert page.get_attribute("#dp-infer", "aria-pressed") == "true"
    assert "dp=" in page.url  # the state travels in the link
    assert console_errors == []


def test_batchnorm_train_step_and_inference(page, live_server, console_errors, shot):
    _open(page, live_server)
    ex = page.evaluate("async () => (await fetch('/api/lessons/batchnorm')).json()")
    body = {k: ex[k] for k in ("x", "gamma", "beta", "running_mean", "running_var", "dout")}
    served = _post(page, "/api/lessons/batchnorm", body)
    assert [_num(v) for v in _cells(page, "#bn-out tr.bn-dbeta")] == [round(v, 4) for v in served["dbeta"]]
    assert _num(_cells(page, "#bn-out tr.used")[0]) == 3  # the batch mean is what training used
    assert "Learned: γ and β" in page.inner_text("#bn-learned")
    assert "Estimated: the running mean and variance" in page.inner_text("#bn-learned")
    # Inference before any training step: the running estimates (0, 1) barely normalise.
    page.click("#bn-infer")
    page.wait_for_function("() => document.querySelector('#bn-explain').textContent.startsWith('Inference')")
    assert _num(_cells(page, "#bn-out tr.bn-y")[1]) > 150  # channel 1 of example 0 stays ~200
    # Ten training steps move the running estimates toward the batch's statistics.
    rm = "() => document.querySelector('#bn-out tr.bn-rm td:last-child').textContent"
    for _ in range(10):
        before = page.evaluate(rm)
        page.click("#bn-step")
        page.wait_for_function(f"(b) => ({rm})() !== b", arg=before)
    assert _num(page.evaluate(rm)) > 120  # 210 * (1 - 0.9 ** 10) = 136.8
    y2 = _num(_cells(page, "#bn-out tr.bn-y")[1])
    assert abs(y2) < 50, y2  # now normalised, by estimates learned from the batches
    page.locator("#batchnorm").scroll_into_view_if_needed()
    shot("lessons-batchnorm-inference", full_page=False)
    page.click("#bn-reset")
    page.wait_for_function(f"() => Number(({rm})()) === 21")  # back to the example: one step from 0
    assert console_errors == []


def test_lessons_section_4_at_phone_width(page, live_server, console_errors, shot):
    _open(page, live_server, SIZES["phone"])
    for sel in ("#dropout", "#batchnorm", "#act-readings"):
        page.locator(sel).scroll_into_view_if_needed()
        box = page.locator(sel).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 391, sel
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    page.locator("#batchnorm").scroll_into_view_if_needed()
    shot("lessons-batchnorm-phone", full_page=False)
    assert console_errors == []
