"""The training page: play trains (loss curve and surface change), reset restores the start,
a weight explains its update, backprop shows the chain rule and steps, why-ReLU draws its runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.views import contrast, covered_by, outside_viewport, text_contrast

WIDTHS = {"desktop": 1280, "phone": 390}
SHOTS = Path(__file__).parent / "screenshots"

HASH = """(sel) => {
    const c = document.querySelector(sel);
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + d[i]) >>> 0;
    return [c.width, c.height, h];
}"""


def _open(page, live_server, query: str = "", width: int = 1280):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/train" + query)
    page.wait_for_selector("#train[data-status=ready]")
    page.wait_for_function("() => document.querySelectorAll('#net .tr-node').length > 0")


def _num(text: str) -> float:
    return float(text.strip().replace("−", "-").replace("%", ""))


def _steps(page) -> int:
    return int(page.inner_text("#step-count"))


def test_play_trains_and_reset_restores_the_start(page, live_server, console_errors, shot):
    _open(page, live_server, "?speed=50")
    assert page.inner_text("#epoch") == "0" and _steps(page) == 0
    # The course's defaults.
    assert page.input_value("#lr") == "0.03" and page.input_value("#act") == "tanh"
    assert page.input_value("#batch") == "10"
    assert page.locator("#net .tr-node").count() == 2 + 4 + 2 + 1
    assert page.locator("#net .tr-hit").count() == 2 * 4 + 4 * 2 + 2
    start_surface = page.evaluate(HASH, "#surface")
    start_chart = page.evaluate(HASH, "#loss-chart")
    start_loss = page.inner_text("#test-loss")
    start_train = page.inner_text("#train-loss")
    shot("train-start")

    page.click("#play-btn")
    assert page.get_attribute("#play-btn", "aria-pressed") == "true"
    page.wait_for_function("() => Number(document.querySelector('#step-count').textContent) >= 600",
                           timeout=20_000)
    page.click("#play-btn")
    assert page.get_attribute("#play-btn", "aria-pressed") == "false"
    page.wait_for_timeout(300)
    assert _steps(page) >= 600
    assert int(page.inner_text("#epoch")) >= 600 // 25
    assert page.evaluate(HASH, "#surface") != start_surface
    assert page.evaluate(HASH, "#loss-chart") != start_chart
    assert _num(page.inner_text("#train-loss")) < _num(start_train)
    shot("train-after-play")

    page.click("#reset")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '0'")
    page.wait_for_function(f"() => document.querySelector('#test-loss').textContent === '{start_loss}'")
    assert page.inner_text("#epoch") == "0"
    assert page.evaluate(HASH, "#surface") == start_surface
    assert page.evaluate(HASH, "#loss-chart") == start_chart
    assert console_errors == []


def test_weight_hover_and_focus_show_the_update(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.click("#step-btn")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '1'")
    # Hover a point on the first weight's line (x1 -> neuron 1 of hidden layer 1).
    page.locator("#net").scroll_into_view_if_needed()
    x, y = page.evaluate("""() => {
        const p = document.querySelector('#net .tr-hit');
        const pt = p.getPointAtLength(p.getTotalLength() / 2);
        const m = p.getScreenCTM();
        return [pt.x * m.a + pt.y * m.c + m.e, pt.x * m.b + pt.y * m.d + m.f];
    }""")
    page.mouse.move(x, y)
    info = page.locator("#weight-info")
    info.locator(".tr-update").wait_for()
    text = info.inner_text()
    assert "input x1 → neuron 1 of hidden layer 1" in text
    assert "step 1" in text
    m = re.search(r"= (\S+) − 0\.03 × \(?(\S+?)\)? = (\S+)", text)
    assert m, text
    before, grad, after = (_num(g) for g in m.groups())
    assert grad != 0
    assert abs(before - 0.03 * grad - after) < 1e-4
    shot("train-weight-hover")

    # Keyboard: focus another weight, then the output neuron (its bias).
    last_weight = page.locator("#net .tr-hit").last
    last_weight.focus()
    info.get_by_text("neuron 2 of hidden layer 2 → the output").wait_for()
    assert "dL/dw" in info.inner_text()
    page.locator("#net .tr-node.is-output").focus()
    info.get_by_text("The output neuron").wait_for()
    assert "b ← b − lr × dL/db" in info.inner_text()
    assert console_errors == []


def test_settings_live_in_the_url(page, live_server, console_errors):
    _open(page, live_server, "?ds=xor&hidden=[3]&act=relu&lr=0.1")
    assert page.get_attribute(".tr-ds[data-ds=xor]", "aria-pressed") == "true"
    assert page.locator("#net .tr-node").count() == 2 + 3 + 1
    assert page.input_value("#act") == "relu" and page.input_value("#lr") == "0.1"
    page.select_option("#lr", "0.3")
    page.click("#layer-add")
    page.wait_for_function("() => document.querySelectorAll('#net .tr-node').length === 2 + 3 + 2 + 1")
    page.get_by_role("button", name="Add a neuron to hidden layer 2").click()
    page.wait_for_function("() => document.querySelectorAll('#net .tr-node').length === 2 + 3 + 3 + 1")
    assert "lr=0.3" in page.url and "hidden=%5B3%2C3%5D" in page.url
    page.reload()
    page.wait_for_selector("#train[data-status=ready]")
    page.wait_for_function("() => document.querySelectorAll('#net .tr-node').length === 9")
    assert page.input_value("#lr") == "0.3"
    assert console_errors == []


def test_backprop_shows_every_gradient_and_steps(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.locator("#backprop").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#bp-backward li').length === 9")
    lines = page.locator("#bp-backward li")
    w5 = lines.first.inner_text()
    assert "dL/dw5 = dL/dy · dy/dz3 · dz3/dw5" in w5
    assert "= (0.7414)(0.1868)(0.5933) = 0.08217" in w5
    w1 = lines.nth(3).inner_text()
    assert "dL/dw1 = dL/dy · dy/dz3 · dz3/dh1 · dh1/dz1 · dz1/dw1" in w1
    assert page.locator("#bp-update tbody tr").count() == 9
    assert "0.4 − 0.5 × 0.08217 = 0.35892" in page.inner_text("#bp-update")
    loss_before = page.inner_text("#bp-forward li:last-child")
    shot("train-backprop")

    page.click("#bp-step")
    page.wait_for_function("() => document.querySelector('#bp-w5').value === '0.358916'")
    page.wait_for_function(
        "(old) => document.querySelector('#bp-forward li:last-child').textContent !== old", arg=loss_before)
    assert "0.25801" in page.inner_text("#bp-forward li:last-child")  # the loss after one step
    assert "(0.7414)" not in lines.first.inner_text()  # dL/dy changed with the weights

    page.fill("#bp-x1", "")
    page.locator("#bp-error").get_by_text("Type a number for x1").wait_for()
    page.fill("#bp-x1", "1")
    page.wait_for_selector("#bp-error", state="hidden")
    assert console_errors == []


def test_why_relu_draws_three_runs_each(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.locator("#why-relu").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#depth-loss path.curve').length === 3",
                           timeout=30_000)
    curves = page.locator("#act-loss path.curve")
    assert [curves.nth(i).get_attribute("data-label") for i in range(3)] == ["sigmoid", "tanh", "relu"]
    for i in range(3):
        assert len(curves.nth(i).get_attribute("d")) > 100
    assert page.locator("#act-grad rect.bar").count() == 3 * 7
    assert page.locator("#depth-grad rect.bar").count() == 4 + 20 + 20
    assert page.locator("#act-surfaces figure").count() == 3
    assert "lowest training loss ReLU" in page.inner_text("#act-verdict")
    assert "6 hidden layers of 8" in page.inner_text("#cmp-settings")
    page.locator("#depth-surfaces").scroll_into_view_if_needed()
    shot("train-why-relu")
    assert console_errors == []


def test_phone_width_has_no_overflow(page, live_server, console_errors, shot):
    # The largest network: 7 features, 6 hidden layers of 8; the diagram scrolls in its box.
    feats = '["x1","x2","x1^2","x2^2","x1*x2","sin(x1)","sin(x2)"]'
    _open(page, live_server, f"?hidden=[8,8,8,8,8,8]&feats={feats}", width=WIDTHS["phone"])
    assert page.locator("#net .tr-node").count() == 7 + 6 * 8 + 1
    page.click("#step-btn")
    page.wait_for_function("() => document.querySelector('#step-count').textContent === '1'")
    page.locator("#why-relu").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('#depth-loss path.curve').length === 3",
                           timeout=30_000)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"/train overflows by {overflow}px at phone width"
    shot("train-phone")
    assert console_errors == []


def test_pause_button_is_readable_while_training_runs(page, live_server, console_errors):
    _open(page, live_server, "?speed=1")
    assert text_contrast(page, "#play-btn") >= 4.5
    page.click("#play-btn")
    page.wait_for_function("() => Number(document.querySelector('#step-count').textContent) >= 2")
    assert page.get_attribute("#play-btn", "aria-pressed") == "true"
    assert "Pause" in page.inner_text("#play-btn")
    ratio = text_contrast(page, "#play-btn")  # measured while it runs
    page.click("#play-btn")
    assert ratio >= 4.5, f"Pause is {ratio:.2f}:1"
    assert console_errors == []


def test_contrast_helper_can_fail():
    # The defect the issue measured: white text on the pale accent, about 1.2:1.
    assert contrast("rgb(255, 255, 255)", "rgb(230, 237, 255)") < 1.3
    assert round(contrast("rgb(0, 0, 0)", "rgb(255, 255, 255)"), 1) == 21.0


# The output plot's test-data switch is part of the view: a teacher ticks it in front of the class.
KEY_VIEW = [".tr-toolbar", "#play-btn", ".tr-net", "#net", "#loss-chart", "#surface", "label:has(#show-test)"]


@pytest.mark.parametrize("query,size,scale", [
    ("", (1280, 800), 1),                      # a laptop
    ("?present=1", (1920, 1080), 1),           # presenter mode on a projector
    ("?present=1", (1280, 720), 1.5),          # the same at 150% browser zoom
])
def test_network_and_output_plot_fit_one_screen(browser, live_server, query, size, scale):
    """With the toolbar at the top of the window, the controls, the network and the output
    plot (loss curve, decision surface and its "Show test data" switch) are all on screen:
    no scrolling between them."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]},
                                  device_scale_factor=scale)
    page = context.new_page()
    try:
        page.goto(live_server + "/train" + query)
        page.wait_for_selector("#train[data-status=ready]")
        page.wait_for_function("() => document.querySelectorAll('#net .tr-node').length > 0")
        page.evaluate("document.querySelector('.tr-toolbar').scrollIntoView()")  # its scroll margin clears the header
        header = page.evaluate("document.querySelector('.site-header').getBoundingClientRect().bottom")
        top = page.evaluate("document.querySelector('.tr-toolbar').getBoundingClientRect().top")
        assert top >= header - 1  # not under the sticky header
        assert outside_viewport(page, KEY_VIEW) == []
        assert covered_by(page, KEY_VIEW, "#present-bar") == []  # the presenter bar hides nothing
        # Three columns side by side: the output beside the network, not below it.
        net, out = (page.locator(s).bounding_box() for s in (".tr-net", ".tr-out"))
        assert out["x"] >= net["x"] + net["width"] - 1 and out["y"] < net["y"] + net["height"]
        # The switch works where it is: the surface gets the test points (and the URL says so).
        before = page.evaluate(HASH, "#surface")
        page.check("#show-test")
        page.wait_for_function(f"(h) => JSON.stringify(({HASH})('#surface')) !== JSON.stringify(h)", arg=before)
        assert "test=true" in page.url
        assert outside_viewport(page, KEY_VIEW) == []  # nothing scrolled to reach it
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"train-key-view-{size[0]}x{size[1]}-{scale}.png"))
    finally:
        context.close()
