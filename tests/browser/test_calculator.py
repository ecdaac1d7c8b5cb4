"""The calculator page: the course's exercises, the quiz, the layer chain and its code."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.test_conventions import assert_conventions, formula, page_text, problems

pytestmark = pytest.mark.browser


def said(text: str) -> str:
    """A server sentence or formula as the calculator writes it (calculator/format.js said):
    util.formula, and "width x height x depth" with × too."""
    return formula(re.sub(r"\b(width|height|depth|[A-Z]) x (?=(?:width|height|depth|[A-Z])\b)", "\\1 × ", text))


def _example(page, key):
    page.click(f'[data-example="{key}"]')


def test_course_examples_one_click(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/calculator")
    size, volume = page.locator("#out-size"), page.locator("#out-volume")
    expect(size).to_have_text("5×5")  # the default: 7x7 input, 3x3 filter, stride 1
    for key, text in [("s2", "3×3"), ("s1", "5×5"), ("pad1", "7×7")]:
        _example(page, key)
        expect(size).to_have_text(text)
    expect(page.locator("#out-formula")).to_have_text("(7 − 3 + 2×1)/1 + 1 = 7")
    # The window diagram: a 9x9 padded grid (2 padding rows/cols in grey) and 7 positions a row.
    assert page.locator("#grid-svg rect.pad").count() == 9 * 9 - 7 * 7
    assert page.locator("#strip-svg rect.bar").count() == 7

    _example(page, "s3")
    fit = page.locator("#layer-fit")
    expect(fit).to_be_visible()
    expect(fit).to_contain_text("Doesn't fit")
    expect(fit).to_contain_text("never covered")
    expect(size).to_have_text("2×2")
    assert page.locator("#strip-svg rect.missed").count() == 1  # input column 6
    shot("calculator-stride3-desktop")

    _example(page, "cifar")
    expect(volume).to_have_text("32×32×10")
    expect(page.locator("#out-params")).to_have_text("760")
    expect(page.locator("#out-params-formula")).to_contain_text("(5×5×3 + 1)×10 = 760")

    _example(page, "alexnet")
    expect(volume).to_have_text("55×55×96")
    expect(page.locator("#out-params-split")).to_have_text("34,848 weights + 96 biases")
    assert page.locator("#strip-svg rect.bar").count() == 55
    # The URL holds the view: a reload shows the same layer.
    page.reload()
    expect(volume).to_have_text("55×55×96")
    assert page.input_value("#in-f") == "11"

    assert console_errors == []
    # An impossible layer: the server's sentence is shown (the browser logs the 422 itself).
    page.fill("#in-f", "300")
    expect(page.locator("#layer-error")).to_contain_text("larger than the padded input")
    expect(page.locator("#layer-error .formula")).to_have_text("(227 − 300 + 2×0)/4 + 1 = −17.25")
    shot("calculator-impossible-desktop")
    assert [e for e in console_errors if "status of 422" not in e] == []


def test_quiz_wrong_then_right(page, live_server, console_errors):
    page.goto(live_server + "/calculator?seed=7")
    q = page.request.get(live_server + "/api/calculator/quiz?seed=7").json()
    ex = q["exercise"]
    n, f, s, p, c, k = (ex[key] for key in ("input_size", "kernel_size", "stride", "padding",
                                            "in_channels", "filters"))
    o = (n - f + 2 * p) // s + 1
    right = {"output_size": o, "params": (f * f * c + 1) * k, "activations": o * o * k}[ex["kind"]]
    expect(page.locator("#quiz-question")).to_have_text(said(q["question"]))
    page.fill("#quiz-answer", str(right + 1))
    page.click("#quiz-form button[type=submit]")
    feedback = page.locator("#quiz-feedback")
    expect(feedback).to_contain_text("Not quite")
    expect(feedback).to_contain_text(f"the answer is {right:,}")
    expect(feedback.locator(".formula")).to_be_visible()
    page.fill("#quiz-answer", str(right))
    page.keyboard.press("Enter")
    expect(feedback).to_contain_text("Correct!")
    expect(feedback).to_have_class(re.compile(r"\bok\b"))
    page.click("#quiz-new")
    expect(feedback).to_be_hidden()
    seeds = parse_qs(urlparse(page.url).query).get("seed", [])
    assert seeds and seeds != ["7"]  # a new exercise, with its own seed in the URL
    assert console_errors == []


def _card(page, i):
    return page.locator("#chain-list > li").nth(i)


def test_layer_chain_totals_break_and_code(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/calculator#chain")
    expect(_card(page, 4)).to_contain_text("→ 10")  # the course example is loaded
    page.click("#chain-clear")
    expect(page.locator("#chain-list > li")).to_have_count(0)
    for kind in ("conv", "pool", "flatten", "dense"):
        page.click(f'[data-add="{kind}"]')
    expect(page.locator("#chain-list > li")).to_have_count(4)
    # conv: 16 filters 3x3, stride 1, pad 1 (the defaults) on 32x32x3; pool 2x2 stride 2.
    expect(_card(page, 0).locator(".shape")).to_have_text("32×32×16")
    expect(_card(page, 1).locator(".shape")).to_have_text("16×16×16")
    expect(_card(page, 2).locator(".shape")).to_have_text("4,096")
    expect(_card(page, 3).locator(".shape")).to_have_text("10")
    expect(_card(page, 0)).to_contain_text("(3×3×3 + 1)×16 = 448")
    expect(page.locator("#total-params")).to_have_text(f"{448 + 4097 * 10:,}")
    acts = 3 * 32 * 32 + 16 * 32 * 32 + 16 * 16 * 16 + 10
    expect(page.locator("#total-acts")).to_have_text(f"{acts:,}")
    expect(page.locator("#total-memory")).to_contain_text(f"{4 * acts:,} bytes")
    # Edit a field: 8 filters instead of 16.
    page.fill("#L0-filters", "8")
    expect(_card(page, 0).locator(".shape")).to_have_text("32×32×8")
    expect(page.locator("#code-view")).to_contain_text("nn.Conv2d(3, 8, kernel_size=3, stride=1, padding=1)")
    expect(page.locator("#code-view")).to_contain_text("nn.Linear(2048, 10)")
    page.click('[data-code="keras"]')
    expect(page.locator("#code-view")).to_contain_text("keras.Input(shape=(32, 32, 3))")
    expect(page.locator("#code-view")).to_contain_text("layers.Dense(10)")
    page.click("#code-copy")
    status = page.locator("#code-status")
    expect(status).not_to_be_empty()
    if "Copied" not in status.inner_text():
        expect(page.locator("#code-text")).to_be_visible()
        assert "keras.Sequential" in page.input_value("#code-text")
    shot("calculator-chain-desktop")

    # Dense before Flatten breaks the stack at that layer; the rest is skipped.
    page.click('[aria-label="Move layer 4 up"]')
    expect(_card(page, 2)).to_have_class(re.compile(r"\bbroken\b"))
    expect(_card(page, 2)).to_contain_text("Add a Flatten layer before it")
    expect(_card(page, 3)).to_contain_text("Not computed")
    expect(page.locator("#chain-totals")).to_contain_text("Layer 3 breaks the stack")
    expect(page.locator("#code-view")).to_contain_text("cannot work")
    assert page.locator("#code-copy").is_disabled()
    # The stack lives in the URL.
    page.reload()
    expect(_card(page, 2)).to_have_class(re.compile(r"\bbroken\b"))
    assert console_errors == []


def test_phone_layout(page, live_server, console_errors, shot):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server + "/calculator?h=227&w=227&c=3&k=96&f=11&s=4")
    expect(page.locator("#out-volume")).to_have_text("55×55×96")
    expect(page.locator("#total-params")).to_have_text("26,370")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page overflows by {overflow}px"
    shot("calculator-phone")
    page.goto(live_server + "/calculator")
    expect(page.locator("#out-size")).to_have_text("5×5")
    shot("calculator-grid-phone", full_page=False)
    assert console_errors == []


def test_a_stride_larger_than_the_window_marks_the_rows_it_skips(page, live_server, console_errors, shot):
    # 7x7, 1x1 filter, stride 2: the output size is a whole number (4), yet rows and
    # columns 1, 3 and 5 are never read; the page says so and marks exactly those cells.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/calculator?h=7&w=7&c=1&k=1&f=1&s=2")
    expect(page.locator("#out-size")).to_have_text("4×4")
    fit = page.locator("#layer-fit")
    expect(fit).to_contain_text("Skips input")
    expect(fit).to_contain_text("rows and columns 1, 3, 5 (3 of 7)")
    assert page.locator("#grid-svg rect.cell.missed").count() == 7 * 7 - 4 * 4
    assert page.locator("#strip-svg rect.cell.missed").count() == 3
    shot("calculator-stride-skips-desktop")
    # Dilation 2: each window reads every second cell; the taps drawn are the API's.
    page.goto(live_server + "/calculator?h=9&w=9&c=1&k=1&f=3&s=1&p=0&d=2")
    expect(page.locator("#out-size")).to_have_text("5×5")
    assert page.locator("#grid-svg rect.tap").count() == 9
    assert page.locator("#strip-svg rect.bar").count() == 5
    assert page.locator("#strip-svg rect.tick").count() == 5 * 3
    expect(page.locator("#strip-label")).to_contain_text("the window (5 cells wide, stride 1)")
    shot("calculator-dilated-desktop")
    assert console_errors == []


def test_a_lost_connection_is_said_and_a_bad_url_position_is_clamped(page, live_server, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/calculator?pos=-3")
    expect(page.locator("#out-size")).to_have_text("5×5")
    expect(page.locator("#win-pos-text")).to_have_text("output row 0, column 0 (of 5×5)")
    page.route("**/api/output-size", lambda route: route.abort())
    _example(page, "s2")
    expect(page.locator("#layer-error")).to_contain_text("Could not reach the ConvLab server")
    expect(page.locator("#layer-output")).to_be_hidden()  # the old numbers are not left under new settings
    page.unroute("**/api/output-size")
    _example(page, "s1")
    expect(page.locator("#out-size")).to_have_text("5×5")
    expect(page.locator("#layer-error")).to_be_hidden()
    # The browser logs the failed request itself; nothing else may reach the console.
    assert [e for e in console_errors if "ERR_FAILED" not in e] == []


def test_a_failed_stack_request_leaves_no_stale_numbers(page, live_server, console_errors):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(live_server + "/calculator#chain")
    expect(page.locator("#chain-list .layer-result .shape").first).to_be_visible()
    page.route("**/api/calculator/chain", lambda route: route.abort())
    page.click('[data-add="relu"]')
    expect(page.locator("#chain-error")).to_contain_text("Could not reach the ConvLab server")
    expect(page.locator("#chain-list .layer-result").first).to_have_text("Not computed: see the message above the stack.")
    expect(page.locator("#chain-totals")).to_be_empty()
    expect(page.locator("#code-view")).to_contain_text("the stack could not be computed")
    assert [e for e in console_errors if "ERR_FAILED" not in e] == []


def test_conventions_shapes_and_numbering(page, live_server, console_errors):
    """Issue 18: shapes height×width×channels with "×", rows and columns numbered from 0 and
    said so, a true minus sign and × in every formula: the whole page, inline <code> and the
    server's sentences included, checked by tests/browser/test_conventions.py (which is
    tested on bad input); only the program listing (<pre>) keeps ASCII."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(live_server + "/calculator")
    expect(page.locator("#out-volume")).to_have_text("5×5×1")
    expect(page.locator("#chain-list > li").first).to_contain_text("×")
    page.wait_for_function("() => document.getElementById('quiz-question').textContent.length > 0")
    page.wait_for_function("() => document.getElementById('kind-explain').textContent.length > 0")
    assert_conventions(page)
    # The check reads what the old one skipped: a formula with " - 3" and inline <code>.
    page.evaluate("""() => document.querySelector('#out-formula').insertAdjacentHTML('beforeend',
        ' <code>(7 - 3 + 2*0)/1</code>')""")
    assert any("(7 - 3" in f for f in problems(page_text(page)))
    page.evaluate("document.querySelector('#out-formula code').remove()")
    expect(page.locator(".window-figure")).to_contain_text("numbered from 0")
    expect(page.locator("#win-pos-text")).to_have_text(re.compile(r"^output row 0, column 0 \(of \d+×\d+\)$"))
    assert console_errors == []
