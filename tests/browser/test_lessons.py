"""The lessons page: pooling window by window, activations and a saturating neuron,
flattening and a dense network's parameters, softmax step by step."""

from __future__ import annotations

import json

import pytest

from tests.browser.conftest import SCREENSHOTS

WIDTHS = {"desktop": 1280, "phone": 390}


def _open(page, live_server, query: str = "", width: int = 1280):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/lessons" + query)
    page.wait_for_selector("#pool-output .cell")
    page.wait_for_function("() => document.querySelector('#pool-explain').textContent.length > 0")


def _outputs(page) -> list[str]:
    return page.locator("#pool-output .cell").all_inner_texts()


def _api(page, live_server, path: str, payload: dict) -> dict:
    r = page.request.post(live_server + path, data=json.dumps(payload),
                          headers={"content-type": "application/json"})
    assert r.ok, r.text()
    return r.json()


SUPERSCRIPT = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def _num(text: str) -> float:
    """A number as util.fmt writes it: −0.175, 1,234 or 1.5×10⁻⁹."""
    text = text.strip().replace("−", "-").replace(",", "")
    if "×10" in text:
        mantissa, power = text.split("×10")
        return float(mantissa) * 10 ** int(power.translate(SUPERSCRIPT))
    return float(text)


def _ink(page, selector: str) -> int:
    """Pixels of a canvas that are not white (something was drawn)."""
    return page.evaluate(
        """(sel) => {
            const c = document.querySelector(sel);
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 740) n++;
            return n;
        }""",
        selector,
    )


def _bar_widths(page) -> list[float]:
    """The probability bars' widths as a share of their track, once they stop moving."""
    page.wait_for_function(
        "() => document.getAnimations().filter(a => a.effect.target.matches('.bar-fill')).length === 0")
    return page.evaluate(
        """() => [...document.querySelectorAll('#sm-bars .bar-fill')].map(
            b => b.getBoundingClientRect().width / b.parentElement.getBoundingClientRect().width)""")


def test_pooling_window_by_window(page, live_server, console_errors, shot):
    _open(page, live_server)
    assert _outputs(page) == ["", "", "", ""]  # not computed yet: empty
    assert "Press Play or Next" in page.inner_text("#pool-explain")
    expected = ["6", "8", "3", "4"]
    winners = [(1, 1), (1, 3), (2, 0), (3, 3)]  # (row, col) of each maximum, from /api/pool
    step = page.locator("#pool-next")
    for k in range(4):
        step.focus()
        page.keyboard.press("Enter")  # keyboard works as well as the mouse
        shown = [t for t in _outputs(page) if t]
        assert shown == expected[: k + 1]
        assert page.locator("#pool-input .cell.in-window").count() == 4
        assert page.locator("#pool-output .cell.in-window").inner_text() == expected[k]
        r, c = winners[k]
        assert "winner" in page.locator("#pool-input .cell").nth(r * 4 + c).get_attribute("class")
        assert f"Window {k + 1} of 4" in page.inner_text("#pool-explain")
        if k == 1:
            shot("lessons-pool-step2")
    assert _outputs(page) == expected
    assert step.is_disabled()
    assert page.locator("#pool-input .cell.winner").count() == 4
    assert "(4 − 2 + 2×0)/2 + 1 = 2" in page.inner_text("#pool-formula")  # the API's ASCII, as the course writes maths

    # Play from the start runs through all four windows by itself.
    page.click("#pool-first")
    assert _outputs(page) == ["", "", "", ""]
    page.click("#pool-play")
    assert page.get_attribute("#pool-play", "aria-pressed") == "true"
    page.wait_for_function(
        "() => [...document.querySelectorAll('#pool-output .cell')].every(c => !c.classList.contains('pending'))",
        timeout=10_000,
    )
    assert _outputs(page) == expected
    page.wait_for_function("() => document.querySelector('#pool-play').getAttribute('aria-pressed') === 'false'")

    # Average pooling: the same windows, averaged.
    page.click("#pool-avg")
    page.wait_for_function("() => document.querySelector('#pool-output .cell')?.textContent === '3.25'")
    assert _outputs(page) == ["3.25", "5.25", "2", "2"]
    assert page.locator("#pool-input .cell.winner").count() == 0
    shot("lessons-pool-avg")

    # Editing a cell changes the result, as the engine computes it.
    first = page.locator("#pool-input .cell").first
    first.fill("9")
    first.press("Tab")
    data = [9, 1, 2, 4, 5, 6, 7, 8, 3, 2, 1, 0, 1, 2, 3, 4]
    api = _api(page, live_server, "/api/pool",
               {"input": {"shape": [1, 4, 4], "data": data}, "mode": "avg"})
    page.wait_for_function("() => document.querySelector('#pool-output .cell')?.textContent !== '3.25'")
    assert [_num(t) for t in _outputs(page)] == pytest.approx(api["output"]["data"])
    assert _num(_outputs(page)[0]) == 5.25

    # A bad value gets a message, not a request.
    first.fill("")
    first.press("Tab")
    assert "Row 0, column 0 needs a number" in page.inner_text("#pool-error")

    # The URL holds the state: reload shows the same values, mode and step.
    first.fill("9")
    first.press("Tab")
    page.wait_for_function("() => document.querySelector('#pool-error').hidden")
    page.reload()
    page.wait_for_function("() => document.querySelector('#pool-output .cell')?.textContent === '5.25'")
    assert page.locator("#pool-input .cell").first.input_value() == "9"
    assert page.get_attribute("#pool-avg", "aria-pressed") == "true"
    assert console_errors == []


def test_pooling_a_real_feature_map(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.wait_for_function("() => document.querySelector('#fm-pool-shape').textContent.length > 0")
    assert page.inner_text("#fm-input-shape") == "28×28×1"  # height×width×channels
    assert page.inner_text("#fm-conv-shape") == "28×28×1"
    assert page.inner_text("#fm-pool-shape") == "14×14×1"
    assert page.evaluate("document.querySelector('#fm-pool').width") == 14
    for canvas in ("#fm-input", "#fm-conv", "#fm-pool"):
        assert _ink(page, canvas) > 20, f"{canvas} is blank"
    # Fewer parameters downstream, counted by the server.
    page.wait_for_function("() => document.querySelector('#fm-params').dataset.after")
    text = page.inner_text("#fm-params")
    before = _api(page, live_server, "/api/lessons/dense-head",
                  {"height": 28, "width": 28, "channels": 1, "outputs": 10})
    after = _api(page, live_server, "/api/lessons/dense-head",
                 {"height": 14, "width": 14, "channels": 1, "outputs": 10})
    assert f"{before['params']['total']:,}" in text and f"{after['params']['total']:,}" in text
    # Another filter gives another map.
    old = page.evaluate("document.querySelector('#fm-conv').toDataURL()")
    page.select_option("#fm-filter", "horizontal")
    page.wait_for_function(
        "(old) => document.querySelector('#fm-conv').toDataURL() !== old", arg=old)
    assert "edge=horizontal" in page.url
    page.locator("#pooling").screenshot(path=str(SCREENSHOTS / "lessons-pooling-section.png"))
    assert console_errors == []


def test_activation_plots_and_saturating_neuron(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.wait_for_selector("#plot-relu[data-ready='true']")
    page.wait_for_selector("#plot-sigmoid[data-ready='true']")
    for fn in ("sigmoid", "tanh", "relu"):
        paths = page.locator(f"#plot-{fn} svg path.line-f, #plot-{fn} svg path.line-d")
        assert paths.count() == 2
        for i in range(2):
            assert len(paths.nth(i).get_attribute("d")) > 200  # 201 points each
    # Saturated regions are shaded and labelled: both tails of sigmoid and tanh.
    labels = page.locator("#plot-sigmoid .sat-label, #plot-tanh .sat-label")
    assert labels.count() == 4
    assert all(t == "saturated: gradient near 0" for t in labels.all_text_contents())
    assert page.locator("#plot-relu .saturated rect").count() == 1
    # The pointer readout shows the engine's values.
    page.locator("#plot-sigmoid").scroll_into_view_if_needed()
    box = page.locator("#plot-sigmoid .hit").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # Labelled as the registry writes the function: its symbol (σ) if it has one, else its title.
    sigmoid = next(a for a in page.request.get(live_server + "/api/registry").json()["activations"]
                   if a["name"] == "sigmoid")
    assert f"{sigmoid.get('symbol') or sigmoid['title']}′(x) = 0.25" in page.inner_text("#plot-sigmoid .readout")

    # The same feature map before and after each activation.
    page.wait_for_function("() => document.querySelector('#am-tanh-range').textContent.length > 0")
    for fn in ("pre", "relu", "sigmoid", "tanh"):
        assert _ink(page, f"#am-{fn}") > 20
    assert page.inner_text("#am-relu-range").startswith("0 …")

    # The neuron: a small weight lets the gradient through, a large one saturates it.
    page.click("#n-small")
    page.wait_for_function("() => document.querySelector('#n-verdict').dataset.saturated === 'false'")
    assert "The gradient flows" in page.inner_text("#n-verdict")
    page.fill("#n-x", "2")
    page.click("#n-large")
    page.wait_for_function("() => document.querySelector('#n-verdict').dataset.saturated === 'true'")
    assert "Gradient near 0" in page.inner_text("#n-verdict")
    api = _api(page, live_server, "/api/lessons/neuron", {"w": 8, "x": 2, "b": 0, "function": "sigmoid"})
    assert _num(page.inner_text("#n-z")) == api["z"] == 16
    assert _num(page.inner_text("#n-dw")) == pytest.approx(api["dy_dw"], rel=1e-2)
    assert abs(_num(page.inner_text("#n-dw"))) < 1e-5
    page.locator("#activations .neuron-grid").scroll_into_view_if_needed()
    shot("lessons-activations")
    # The state is in the URL.
    page.wait_for_function("() => location.search.includes('w=8')")
    page.reload()
    page.wait_for_function("() => document.querySelector('#n-verdict').dataset.saturated === 'true'")
    assert page.input_value("#n-w") == "8" and page.input_value("#n-x") == "2"
    # ReLU with a negative z passes no gradient.
    page.select_option("#n-fn", "relu")
    page.fill("#n-x", "-2")
    page.wait_for_function("() => document.querySelector('#n-g-label').textContent.includes('ReLU')")
    page.wait_for_function("() => document.querySelector('#n-z').textContent === '−16'")
    assert _num(page.inner_text("#n-dw")) == 0
    assert console_errors == []


def test_flatten_and_network_parameters(page, live_server, console_errors, shot):
    _open(page, live_server, "#softmax")
    page.wait_for_function("() => document.querySelector('#net-total').textContent.length > 0")
    # 3-4-2: 20 weights + 6 biases = 26, one line per weight, one bias per neuron.
    assert page.inner_text("#net-total") == "26"
    assert "20 weights + 6 biases" in page.inner_text("#net-summary")
    assert page.locator("#net-svg line.weight").count() == 20
    assert page.locator("#net-svg circle.bias").count() == 6
    page.hover("#net-layers [data-layer='1']")
    assert page.locator("#net-svg line.weight.hl").count() == 12
    assert page.locator("#net-svg circle.bias.hl").count() == 4
    page.locator("#net-layers [data-layer='2']").focus()
    assert page.locator("#net-svg line.weight.hl").count() == 8
    # A second hidden layer of 4 (the course's 3-4-4-1 with one output): 41.
    page.click("text=+ Hidden layer")
    page.fill("#net-l3", "1")
    page.press("#net-l3", "Tab")
    page.wait_for_function("() => document.querySelector('#net-total').textContent === '41'")
    assert page.locator("#net-svg line.weight").count() == 32
    assert "net=" in page.url

    # Flattening 32x32x3 into 3072 numbers, 10 scores: 30,730 parameters.
    page.wait_for_function("() => document.querySelector('#fl-params').textContent.length > 0")
    assert page.inner_text("#fl-features") == "3,072"
    assert page.inner_text("#fl-W-shape") == "10×3,072"
    assert page.inner_text("#fl-params") == "30,730 parameters"
    assert "10×3,072 + 10 = 30,730" in page.inner_text("#fl-params-formula")
    assert page.locator("#fl-svg rect.ccell").count() == 48
    page.fill("#fl-pos", "17")
    assert "position 16 ← channel 1, row 0, column 0" in page.inner_text("#fl-pos-out")  # from 0
    page.fill("#fl-k", "100")
    page.press("#fl-k", "Tab")
    page.wait_for_function("() => document.querySelector('#fl-params').textContent === '307,300 parameters'")
    page.fill("#fl-k", "0")
    page.press("#fl-k", "Tab")
    assert "Classes must be a whole number" in page.inner_text("#fl-error")
    page.locator("#softmax").screenshot(path=str(SCREENSHOTS / "lessons-fc-section.png"))
    assert console_errors == []


def test_softmax_step_by_step(page, live_server, console_errors, shot):
    _open(page, live_server, "#softmax")
    page.wait_for_function("() => document.querySelector('#sm-sum').textContent.length > 0")
    # The course's three classes; set the scores to [2, 1, -1].
    for i, v in enumerate(["2", "1", "-1"]):
        page.fill(f"#sm-s{i}", v)
    page.wait_for_function("() => document.querySelector('#sm-max').textContent === '2'")
    api = _api(page, live_server, "/api/softmax", {"scores": [2, 1, -1]})
    page.wait_for_function(
        "(p) => Math.abs(Number(document.querySelectorAll('#sm-bars li')[2].dataset.p) - p) < 1e-9",
        arg=api["probabilities"][2],
    )
    probs = [_num(t) for t in page.locator("#sm-rows .prob").all_inner_texts()]
    assert probs == pytest.approx(api["probabilities"], abs=1e-4)
    assert [_num(t) for t in page.locator("#sm-rows .shifted").all_inner_texts()] == api["shifted"]
    assert _num(page.inner_text("#sm-sum")) == pytest.approx(api["sum"], abs=1e-4)
    widths = _bar_widths(page)
    assert widths[0] > widths[1] > widths[2] > 0
    assert "changes nothing" in page.inner_text("#sm-shift-note")
    assert "overflow" in page.inner_text("#sm-shift-note")
    shot("lessons-softmax")

    # Editing a score to 5 changes the bars.
    page.fill("#sm-s1", "5")
    page.wait_for_function("() => document.querySelector('#sm-max').textContent === '5'")
    api5 = _api(page, live_server, "/api/softmax", {"scores": [2, 5, -1]})
    widths5 = _bar_widths(page)
    assert widths5[1] > widths5[0] and widths5 != widths
    assert [_num(t) for t in page.locator("#sm-rows .prob").all_inner_texts()] == pytest.approx(
        api5["probabilities"], abs=1e-4)

    # Add and remove classes (2..10).
    page.click("#sm-add")
    assert page.locator("#sm-rows tr").count() == 4
    page.wait_for_function("() => document.querySelectorAll('#sm-bars li')[3].dataset.p !== undefined")
    page.click("button[aria-label='Remove cat']")
    assert page.locator("#sm-rows tr").count() == 3
    page.click("button[aria-label='Remove car']")
    assert page.locator("#sm-rows tr").count() == 2
    assert page.locator("button[aria-label^='Remove']").first.is_disabled()

    # Huge scores stay finite thanks to the shift.
    page.click("#sm-huge")
    page.wait_for_function("() => document.querySelector('#sm-max').textContent === '1000'")
    api_huge = _api(page, live_server, "/api/softmax", {"scores": [1000, 999, 995]})
    assert [_num(t) for t in page.locator("#sm-rows .prob").all_inner_texts()] == pytest.approx(
        api_huge["probabilities"], abs=1e-4)

    # Reload keeps the scores.
    page.fill("#sm-s2", "-3.5")
    page.wait_for_function("() => location.search.includes('scores=')")
    page.wait_for_function("() => decodeURIComponent(location.search).includes('-3.5')")
    page.reload()
    page.wait_for_function("() => document.querySelector('#sm-max').textContent === '1000.0'")  # as many decimals as −3.5
    assert [page.input_value(f"#sm-s{i}") for i in range(3)] == ["1000", "999", "-3.5"]
    assert console_errors == []


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_whole_page_fits(page, live_server, console_errors, shot, width_name):
    _open(page, live_server, width=WIDTHS[width_name])
    page.wait_for_function("() => document.querySelector('#net-total').textContent.length > 0")
    page.wait_for_selector("#plot-tanh[data-ready='true']")
    page.wait_for_function("() => document.querySelector('#fm-pool-shape').textContent.length > 0")
    page.click("#pool-next")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the lessons overflow by {overflow}px at {width_name} width"
    # The table of contents jumps to each lesson.
    for anchor in ("pooling", "activations", "softmax"):
        page.click(f".toc a[href='#{anchor}']")
        assert page.url.endswith(f"#{anchor}")
    shot(f"lessons-{width_name}")
    assert console_errors == []


def test_bad_url_state_falls_back(page, live_server, console_errors):
    """A hand-edited link with impossible values shows the course's defaults, not errors."""
    bad = ("?cells=[1,2]&mode=median&step=99&edge=diagonal&fn=softplus&w=1000"
           "&vol=[0,32,3]&classes=-5&net=[3,99,2]&scores=[\"a\"]&sample=nope")
    _open(page, live_server, bad)
    page.wait_for_function("() => document.querySelector('#net-total').textContent === '26'")
    page.wait_for_function("() => document.querySelector('#fl-params').textContent === '30,730 parameters'")
    page.wait_for_function("() => document.querySelector('#sm-max').textContent === '5.1'")
    page.wait_for_function("() => document.querySelector('#fm-pool-shape').textContent === '14×14×1'")
    assert _outputs(page) == ["6", "8", "3", "4"]  # step clamped to the last window
    assert page.input_value("#n-w") == "10"  # the slider's own bound
    assert page.is_hidden("#pool-error") and page.is_hidden("#fl-error") and page.is_hidden("#fm-error")
    assert console_errors == []


def test_switching_to_max_while_the_answer_is_on_its_way(page, live_server, console_errors):
    """Step through average pooling, click Max while /api/pool is held back, and step
    again: the page keeps explaining the numbers it shows (the average) instead of
    throwing, then explains the maxima once they arrive."""
    _open(page, live_server, "?mode=avg")
    page.wait_for_function("() => document.querySelector('#pool-avg').getAttribute('aria-pressed') === 'true'")
    page.click("#pool-next")
    assert "average of" in page.inner_text("#pool-explain")
    held = []
    page.route("**/api/pool", lambda route: held.append(route))
    page.click("#pool-max")
    page.click("#pool-next")
    assert "average of" in page.inner_text("#pool-explain")
    for route in held:
        route.continue_()
    page.unroute("**/api/pool")
    page.wait_for_function("() => document.querySelector('#pool-explain').textContent.includes('max(')")
    assert console_errors == []


# Per plot: the boxes of its tick labels, of its saturated-region labels, and the bounding
# box of its two curves (function and derivative), in page coordinates.
PLOT_BOXES = """() => [...document.querySelectorAll('svg.act-plot')].map((svg) => {
  const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const curves = [...svg.querySelectorAll('path.line-f, path.line-d')].map(box);
  const union = curves.length ? [Math.min(...curves.map(b => b[0])), Math.min(...curves.map(b => b[1])),
                                 Math.max(...curves.map(b => b[2])), Math.max(...curves.map(b => b[3]))] : null;
  return {
    name: svg.closest('[data-function]')?.dataset.function || 'neuron',
    ticks: [...svg.querySelectorAll('.axis .tick text')].filter(t => t.textContent).map(box),
    labels: [...svg.querySelectorAll('.sat-label')].map(box),
    curves: union,
  };
})"""


def _overlap(a, b, slack: float = 0.5) -> bool:
    return a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack and b[1] < a[3] - slack


def test_plot_tick_labels_stay_off_the_curves(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.wait_for_selector("#plot-tanh[data-ready='true']")
    page.wait_for_selector(".neuron-plot svg path.line-f")
    plots = page.evaluate(PLOT_BOXES)
    assert len(plots) >= 4  # ReLU, sigmoid, tanh (and any others) plus the neuron's
    for plot in plots:
        ticks, labels, curves = plot["ticks"], plot["labels"], plot["curves"]
        assert len(ticks) >= 8 and curves is not None, plot["name"]
        for t in ticks:
            assert not _overlap(t, curves), f"{plot['name']}: tick label {t} on the curves {curves}"
        for i, a in enumerate(ticks + labels):
            for b in (ticks + labels)[i + 1:]:
                assert not _overlap(a, b), f"{plot['name']}: labels {a} and {b} overlap"
    page.locator("#activations .plots").screenshot(path=str(SCREENSHOTS / "lessons-plots.png"))
    assert console_errors == []


def test_plot_overlap_check_can_fail():
    assert _overlap([0, 0, 10, 10], [5, 5, 20, 20])
    assert not _overlap([0, 0, 10, 10], [10, 0, 20, 10])


POOL_FILLED = "() => [...document.querySelectorAll('#pool-output .cell')].filter(c => c.textContent.trim()).length"
SM_CELLS = "#sm-rows .shifted, #sm-rows .exp, #sm-rows .prob, #sm-max, #sm-sum"
SM_FILLED = f"() => [...document.querySelectorAll('{SM_CELLS}')].filter(c => c.textContent.trim()).length"


def test_pooling_builds_up_one_cell_per_step(page, live_server, console_errors, shot):
    """As the playground builds a feature map: after k steps exactly k output cells are
    filled, the k-th is the highlighted one; Back, Next and the scrub bar keep that."""
    _open(page, live_server)
    n = page.locator("#pool-output .cell").count()
    assert n == 4 and page.evaluate(POOL_FILLED) == 0
    for k in range(1, n + 1):
        page.click("#pool-next")
        assert page.evaluate(POOL_FILLED) == k
        current = page.locator("#pool-output .cell.in-window")
        assert current.count() == 1
        assert current.get_attribute("data-idx") == str(k - 1)
    page.click("#pool-prev")
    assert page.evaluate(POOL_FILLED) == n - 1
    for k in (0, 3, 1):
        page.locator("#pool-scrub").fill(str(k))
        assert page.evaluate(POOL_FILLED) == k
        assert page.inner_text("#pool-scrub-out") == f"{k} of {n}"
        assert page.locator("#pool-output .cell.in-window").count() == (1 if k else 0)
    # Positions are counted from 0, and the page says so.
    assert "rows 0–1, columns 0–1" in page.inner_text("#pool-explain")
    assert "numbered from 0" in page.inner_text(".conventions")
    assert page.locator("#pool-input .cell").first.get_attribute("aria-label") == "Input row 0, column 0"
    shot("lessons-pool-build-up")
    assert console_errors == []


def test_softmax_builds_up_one_cell_per_step(page, live_server, console_errors, shot):
    _open(page, live_server, "#softmax")
    page.wait_for_function("() => document.querySelector('#sm-sum').textContent.length > 0")
    classes = page.locator("#sm-rows tr").count()
    total = 3 * classes + 2  # the max, each shift, each exponential, the sum, each probability
    assert page.evaluate(SM_FILLED) == total  # new scores: the finished computation
    page.click("#sm-first")
    assert page.evaluate(SM_FILLED) == 0
    assert page.locator("#sm-bars .bar-value").all_inner_texts() == [""] * classes
    for k in range(1, total + 1):
        page.click("#sm-next")
        assert page.evaluate(SM_FILLED) == k, k
        assert page.locator("#sm-table .current").count() == (1 if k < total else 0)  # finished: none
        assert f"Step {k} of {total}" in page.inner_text("#sm-explain")
        if k == classes + 2:  # the first exponential
            assert page.locator("#sm-rows tr").first.locator(".exp.current").count() == 1
            assert page.locator("#sm-rows .used").count() == 1  # from its shifted score
            shot("lessons-softmax-step")
    assert page.locator("#sm-next").is_disabled()
    page.click("#sm-prev")
    assert page.evaluate(SM_FILLED) == total - 1
    page.locator("#sm-scrub").fill("4")
    assert page.evaluate(SM_FILLED) == 4
    assert page.inner_text("#sm-scrub-out") == f"4 of {total}"
    # Play runs to the end by itself.
    page.click("#sm-play")
    page.wait_for_function(f"() => ({SM_FILLED})() === {total}", timeout=20_000)
    page.wait_for_function("() => document.querySelector('#sm-play').getAttribute('aria-pressed') === 'false'")
    assert console_errors == []
