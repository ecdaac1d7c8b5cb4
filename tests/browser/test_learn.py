"""Watch a CNN learn (/learn): a run starts, its curves and filters move as it trains, a
confusion cell opens its images, a predict-then-reveal prompt runs both networks and
reveals the engine's numbers, and "Try it in Classify" lands there with the model chosen."""

from __future__ import annotations

import re

from playwright.sync_api import expect

WIDTHS = {"desktop": 1280, "phone": 390}

# A hash of every canvas inside `sel`: changes when any pixel does.
HASH = """(sel) => {
    let h = 0;
    for (const c of document.querySelectorAll(sel + ' canvas')) {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 0; i < d.length; i++) h = (Math.imul(h, 31) + d[i]) >>> 0;
    }
    return h;
}"""


def _open(page, live_server, query: str = "", width: int = 1280):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + "/learn" + query)
    page.wait_for_selector("#learn[data-status=ready]", timeout=30_000)


def _step(page) -> int:
    return int(page.inner_text("#stat-step").replace(",", ""))


def _step_once(page, at_least: int):
    """Press Step until the run has taken `at_least` steps (a call stops after about a
    second, so one press may take fewer steps than asked for)."""
    for _ in range(40):
        before = _step(page)
        page.click("#step")
        page.wait_for_function(
            f"() => Number(document.querySelector('#stat-step').textContent.replace(/,/g, '')) > {before}",
            timeout=30_000)
        page.wait_for_function("() => !document.querySelector('#step').disabled")
        if _step(page) >= at_least:
            return
    raise AssertionError(f"still at step {_step(page)}")


def test_start_shows_the_network_and_training_moves_curves_and_filters(page, live_server, console_errors, shot):
    _open(page, live_server, "?recipe=convnetjs&per=10")
    # Options and bounds come from the API; the parameter count is the run's.
    assert page.input_value("#opt-recipe") == "convnetjs"
    assert page.get_attribute("#opt-learning_rate", "max") is not None
    params = int(page.inner_text("#params").replace(",", ""))
    assert params > 1000
    assert _step(page) == 0
    # Every first-layer filter is drawn (convnetjs: conv 8@5x5), and every layer's maps.
    assert page.locator("#filters canvas").count() == 8
    assert page.locator("#maps .ln-map-row").count() >= 6
    assert page.locator("#preds li").count() > 0
    assert page.locator("#confusion .ln-cm-cell").count() == 100
    filters0 = page.evaluate(HASH, "#filters")
    maps0 = page.evaluate(HASH, "#maps")

    _step_once(page, 10)
    filters1 = page.evaluate(HASH, "#filters")
    assert filters1 != filters0, "the filters did not change after 10 steps"
    assert page.evaluate(HASH, "#maps") != maps0
    loss1 = page.inner_text("#stat-loss")
    path1 = page.get_attribute("#loss-curve .ln-series-train path", "d")
    assert path1 and path1.startswith("M")

    _step_once(page, 20)
    assert page.evaluate(HASH, "#filters") != filters1, "the filters did not change between steps"
    assert page.inner_text("#stat-loss") != loss1
    path2 = page.get_attribute("#loss-curve .ln-series-train path", "d")
    assert path2 != path1 and path2.count("L") > path1.count("L"), "the loss curve did not move"
    assert page.locator("#acc-curve .ln-series-train path").count() == 1
    assert page.inner_text("#stat-epoch") not in ("", "–")
    assert int(page.inner_text("#stat-speed").replace(",", "")) > 0

    # Start (play) keeps stepping, with a progress indication while a call is in flight.
    page.click("#play")
    assert page.get_attribute("#play", "aria-pressed") == "true"
    page.wait_for_selector("#busy.is-busy", timeout=10_000)
    page.wait_for_function("() => Number(document.querySelector('#stat-step').textContent.replace(/,/g, '')) >= 50",
                           timeout=60_000)
    page.click("#play")
    page.wait_for_function("() => document.querySelector('#play').getAttribute('aria-pressed') === 'false' "
                           "&& !document.querySelector('#busy').classList.contains('is-busy')", timeout=30_000)
    assert _step(page) >= 50
    shot("learn-desktop")

    # Reset: step 0, the very same start (the same seed), so the same filters as before.
    page.click("#reset")
    page.wait_for_function("() => document.querySelector('#stat-step').textContent === '0'", timeout=30_000)
    page.wait_for_function("() => !document.querySelector('#step').disabled")
    assert page.evaluate(HASH, "#filters") == filters0
    assert console_errors == []


def test_a_confusion_cell_opens_its_images(page, live_server, console_errors, shot):
    _open(page, live_server, "?recipe=keras-mlp&per=20")
    _step_once(page, 20)
    # The biggest cell (a diagonal one after a few steps) by mouse.
    counts = page.eval_on_selector_all("#confusion .ln-cm-cell", "bs => bs.map(b => Number(b.textContent))")
    best = max(range(len(counts)), key=counts.__getitem__)
    cell = page.locator("#confusion .ln-cm-cell").nth(best)
    cell.click()
    assert cell.get_attribute("aria-pressed") == "true"
    page.wait_for_selector("#cell:not([hidden])")
    shown = page.locator("#cell-images img").count()
    assert 0 < shown <= counts[best]
    assert re.search(rf"{counts[best]} images?", page.inner_text("#cell-title"))
    page.wait_for_function("() => [...document.querySelectorAll('#cell-images img')].every(i => i.complete && i.naturalWidth > 0)")

    # By keyboard: one Tab stop, arrow keys move, Enter opens.
    cell.focus()
    page.keyboard.press("ArrowRight" if best % 10 < 9 else "ArrowLeft")
    page.keyboard.press("Enter")
    title = page.inner_text("#cell-title")
    assert title and page.locator("#confusion .ln-cm-cell[aria-pressed=true]").count() == 1
    assert page.locator("#confusion .ln-cm-cell[tabindex='0']").count() == 1
    # Wrong predictions are marked by a sign and text, not only by colour.
    wrong = page.locator("#preds .is-wrong")
    if wrong.count():
        assert "✗" in wrong.first.inner_text() and "is " in wrong.first.inner_text()
    assert page.locator("#preds li").first.inner_text().strip()[0] in "✓✗"
    shot("learn-confusion")
    assert console_errors == []


def test_predict_then_reveal(page, live_server, console_errors, shot):
    _open(page, live_server, "?recipe=keras-mlp")
    prompts = page.locator(".ln-prompt")
    assert prompts.count() >= 2
    lr = page.locator("#prompt-lr")
    assert "100×" in lr.inner_text()
    go = lr.get_by_role("button", name=re.compile("Lock in my guess"))
    assert go.is_disabled(), "the run waits for a guess"
    lr.get_by_label(re.compile("^ ?Higher")).check()
    go.click()
    page.wait_for_selector("#prompt-lr .ln-reveal:not([hidden])", timeout=120_000)
    reveal = page.inner_text("#prompt-lr .ln-reveal")
    assert ("Your guess was right" in reveal) or ("Not this time" in reveal)
    # Both runs' numbers, from the engine: two rows with a loss each, and two curves.
    rows = page.locator("#prompt-lr .ln-reveal-table tbody tr")
    assert rows.count() == 2
    for i in range(2):
        assert re.search(r"\d", rows.nth(i).locator("td").first.inner_text())
    paths = page.locator("#prompt-lr .ln-reveal svg .ln-series path")
    assert paths.count() == 2
    box = paths.first.bounding_box()
    assert box is not None and box["width"] > 50, "the reveal's loss curves are not drawn"
    assert re.search(r"\d%", rows.nth(0).locator("td").nth(2).inner_text()), "validation accuracy at the last step"
    shot("learn-reveal")
    assert console_errors == []


def test_keras_preset_and_try_it_in_classify(page, live_server, console_errors, shot):
    _open(page, live_server)
    page.click("#preset-keras")
    page.wait_for_function("() => document.querySelector('#opt-recipe').value === 'keras-mlp'")
    page.wait_for_selector("#learn[data-status=ready]")
    page.wait_for_function("() => !document.querySelector('#step').disabled")
    assert page.input_value("#opt-optimizer") == "adam"
    assert "98%" in page.inner_text("#keras-note")
    assert re.search(r"5 epochs = [\d,]+ steps", page.inner_text("#busy"))
    page.select_option("#per-call", "5")
    _step_once(page, 5)

    page.click("#to-classify")
    page.wait_for_url(re.compile(r"/classify\?model=user-"), timeout=60_000)
    handle = re.search(r"model=(user-[^&]+)", page.url).group(1)
    page.wait_for_function(f"() => document.querySelector('#model-select').value === '{handle}'", timeout=30_000)
    saved = page.evaluate("() => JSON.parse(localStorage.getItem('convlab-my-models'))")
    assert any(m["name"] == handle for m in saved)
    assert page.locator("#my-models").is_visible()
    page.wait_for_selector("#result:not([hidden])", timeout=30_000)
    shot("learn-to-classify")
    assert console_errors == []


def test_phone_width_and_code_links(page, live_server, console_errors, shot):
    _open(page, live_server, "?recipe=lenet5&per=5", width=390)
    _step_once(page, 5)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"/learn overflows by {overflow}px at phone width"
    for fw in ("keras", "pytorch"):
        href = page.get_attribute(f"#code-{fw}", "href")
        assert href.endswith(f"/code?framework={fw}")
        response = page.request.get(live_server + href)
        assert response.ok and "import" in response.text()
    # Every control is labelled.
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('#options input, #options select')]
        .filter(i => !i.labels || !i.labels.length).map(i => i.id)""")
    assert unlabelled == []
    shot("learn-phone")
    assert console_errors == []


def test_an_unknown_recipe_in_the_url_is_said(page, live_server, console_errors):
    """An old or mistyped ?recipe= is not reset silently: the page says which network it
    shows instead (as classify does for an unknown ?model=), until the student picks one."""
    catalogue = page.request.get(live_server + "/api/learn/recipes").json()
    default = catalogue["options"]["recipe"]["default"]
    title = next(r["title"] for r in catalogue["recipes"] if r["name"] == default)
    _open(page, live_server, "?recipe=alexnet-9000")
    note = page.locator("#recipe-unknown")
    expect(note).to_be_visible()
    expect(note).to_have_text(f"There is no network called “alexnet-9000” on this server; showing “{title}” instead.")
    expect(page.locator("#opt-recipe")).to_have_value(default)
    other = next(r for r in catalogue["recipes"] if r["name"] != default)
    page.select_option("#opt-recipe", other["name"])
    expect(note).to_be_hidden()
    expect(page.locator("#params")).to_have_text(f"{other['params']:,}", timeout=30_000)  # its run is made
    page.wait_for_selector("#learn[data-status=ready][aria-busy=false]", timeout=30_000)
    # A network the server has: nothing to say.
    _open(page, live_server, f"?recipe={other['name']}")
    expect(note).to_be_hidden()
    assert console_errors == []


def test_hints_and_the_network_summary_are_written_as_the_course_writes(page, live_server, console_errors):
    """The server's ASCII ("eps 1e-8", "conv 6@5x5 pad 2 -> relu") is shown with a power of
    ten, "×" and "→"."""
    catalogue = page.request.get(live_server + "/api/learn/recipes").json()
    assert "1e-8" in catalogue["options"]["optimizer"]["help"]  # what the API says
    lenet = next(r for r in catalogue["recipes"] if r["name"] == "lenet5")
    assert "5x5" in lenet["summary"] and "->" in lenet["summary"]
    _open(page, live_server, "?recipe=lenet5")
    expect(page.locator("#opt-optimizer-help")).to_contain_text("eps 1×10⁻⁸")
    summary = lenet["summary"].replace("5x5", "5×5").replace(" -> ", " → ")
    expect(page.locator("#recipe-note")).to_have_text(f"{lenet['title']}: {summary}")
    assert console_errors == []
