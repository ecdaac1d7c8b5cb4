"""static/js/util.js, ConvLab's one number and shape formatter, unit-tested in the browser
(the module is imported into a page and called): a true minus sign, no "−0", no "e-4",
one number of decimals within a table, and shapes written height×width×channels."""

from __future__ import annotations

import pytest

MINUS, TIMES = "\u2212", "\u00d7"

CALL = """async ([name, args]) => {
  const m = await import('/static/js/util.js');
  return m[name](...args);
}"""


@pytest.fixture
def call(page, live_server):
    page.goto(live_server + "/")

    def run(name: str, *args):
        return page.evaluate(CALL, [name, list(args)])

    return run


@pytest.mark.parametrize("args,text", [
    ((-0.175,), f"{MINUS}0.175"),
    ((2.5,), "2.5"),
    ((-3,), f"{MINUS}3"),
    ((0.0,), "0"),
    ((-0.0,), "0"),                        # no "−0"
    ((-0.0004, 2), f"{MINUS}0.0004"),      # was "-4.00e-4"
    ((0.000123,), "0.000123"),
    ((0.00012345,), "0.000123"),
    ((-1.5e-9,), f"{MINUS}1.5{TIMES}10\u207b\u2079"),
    ((-0.4, 0), "0"),                      # rounds to zero: "0", not "−0"
    ((2_500_000,), f"2.5{TIMES}10\u2076"),
    ((None,), "–"),
    ((float("inf"),), "∞"),
])
def test_fmt(call, args, text):
    assert call("fmt", *args) == text


def test_fmt_never_writes_e_or_hyphen_minus(call):
    values = [-1e-12, -3.2e-7, -0.00049, -0.0999, -1.5, -123456.789, -7e8, -0.0]
    for digits in (0, 1, 2, 3, 4):
        for v in values:
            text = call("fmt", v, digits)
            assert "e" not in text and "-" not in text, (v, digits, text)
            assert text not in (f"{MINUS}0", f"{MINUS}0.0", f"{MINUS}0.00"), (v, digits, text)


def test_fmt_all_gives_a_table_one_number_of_decimals(call):
    # The case: −0.175 beside a tiny value shows 0.000, not 1e-4.
    assert call("fmtAll", [-0.175, 0.0001, -0.00001]) == [f"{MINUS}0.175", "0.000", "0.000"]
    assert call("fmtAll", [2.5, -0.125, 10]) == ["2.5", f"{MINUS}0.1", "10.0"]  # 3 digits of 10
    assert call("fmtAll", [0, 0]) == ["0", "0"]
    assert call("fmtAll", [1000, -0.4]) == ["1000", "0"]
    cells = call("fmtAll", [0.149568, 1.0, 0.001113], 4)
    assert cells == ["0.150", "1.000", "0.001"]  # 4 significant digits of the largest
    assert len({c.split(".")[1].__len__() for c in cells}) == 1


@pytest.mark.parametrize("dims,text", [
    ([6, 28, 28], f"28{TIMES}28{TIMES}6"),          # the API's (C, H, W)
    ([1, 6, 28, 28], f"28{TIMES}28{TIMES}6"),       # a batch of one
    ([28, 28], f"28{TIMES}28"),
    ([3072], "3,072"),
])
def test_shape_is_height_width_channels(call, dims, text):
    assert call("shape", dims) == text


def test_int_and_square(call):
    assert call("int", -1234567) == f"{MINUS}1,234,567"
    assert call("square", 3) == f"3{TIMES}3"
    assert call("square", 3, 5) == f"3{TIMES}5"


@pytest.mark.parametrize("text,shown", [
    ("(6 - 3 + 2*0)/1 + 1", f"(6 {MINUS} 3 + 2{TIMES}0)/1 + 1"),
    ("(3*3*1 + 1)*1", f"(3{TIMES}3{TIMES}1 + 1){TIMES}1"),
    ("10 * 784 = 7840", f"10{TIMES}784 = 7840"),
    ("(32 - 5)/1 + 1 = 28", f"(32 {MINUS} 5)/1 + 1 = 28"),
    ("28x28x6 and -0.5", f"28{TIMES}28{TIMES}6 and {MINUS}0.5"),
    ("relu(-2) = 0", f"relu({MINUS}2) = 0"),
])
def test_formula_writes_true_minus_and_times(call, text, shown):
    assert call("formula", text) == shown
    assert "-" not in shown and "*" not in shown


@pytest.mark.parametrize("text,shown", [
    ("eps 1e-8", f"eps 1{TIMES}10\u207b\u2078"),
    ("conv 6@5x5 -> pool", f"conv 6@5{TIMES}5 \u2192 pool"),
    ("7^2 = 49", "7\u00b2 = 49"),
    ("3.1x as many", f"3.1{TIMES} as many"),
    ("width x height x depth", f"width {TIMES} height {TIMES} depth"),
    ("F x F", f"F {TIMES} F"),
])
def test_formula_is_the_one_translation_of_server_text(call, text, shown):
    assert call("formula", text) == shown


@pytest.mark.parametrize("text,shown", [
    ("Caltech-101 and -256", "Caltech-101 and -256"),      # a suspended hyphen, not a minus
    ("ResNet-18 or -34 layers", "ResNet-18 or -34 layers"),
    ("1.2345e-05", f"1.2345{TIMES}10\u207b\u2075"),          # the server's digits kept
    ("from -3 to 3", f"from {MINUS}3 to 3"),
])
def test_formula_keeps_words_and_digits(call, text, shown):
    assert call("formula", text) == shown
