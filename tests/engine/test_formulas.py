"""engine.explain.formulas: the one writer of the output-size and unread-cells sentences."""

from __future__ import annotations

import pytest

from engine.explain.formulas import (
    Axis,
    size_formula,
    unfit_formula,
    unread_cells,
    unread_note,
    unread_summary,
)
from engine.ops import shapes


@pytest.mark.parametrize("n,k,s,p,d,text", [
    (28, 5, 1, 2, 1, "(28 - 5 + 2*2)/1 + 1 = 28"),
    (7, 3, 3, 0, 1, "(7 - 3 + 2*0)/3 + 1 = 2.33, rounded down to 2"),
    (9, 3, 1, 0, 2, "(9 - (2*(3-1)+1) + 2*0)/1 + 1 = 5"),
])
def test_size_formula(n, k, s, p, d, text):
    a = Axis("rows", n, k, s, p, p, d)
    assert size_formula(a, shapes.output_size(n, k, s, p, d)) == text


def test_asymmetric_padding_and_ceil_mode_are_said():
    a = Axis("rows", 6, 3, 2, 0, 1)
    assert size_formula(a, shapes.output_size(6, 3, 2, (0, 1))) == "(6 - 3 + 0 + 1)/2 + 1 = 3"
    up = shapes.output_size(112, 3, 2, 0, ceil_mode=True)
    assert size_formula(Axis("rows", 112, 3, 2, 0, 0), up, ceil=True).endswith("rounded up to 56")


def test_unread_cells_by_reason_named_or_counted():
    a = Axis("rows", 7, 1, 2, 0, 0)  # a 1x1 window, stride 2: reads 0, 2, 4, 6
    u = unread_cells(a, shapes.output_size(7, 1, 2).size)
    assert (u.after, u.lost, u.skipped) == ([], [], [1, 3, 5])
    assert "steps over input rows and columns 1, 3, 5 (3 of 7)" in unread_note(a, u, both=True)
    assert "steps over 3 of the 7 input rows" in unread_summary([(a, u)])
    b = Axis("rows", 7, 3, 2, 0, 0)  # (7 - 3)/2 + 1 = 3: row 6 is read; 8 wide: row 7 is not
    wide = Axis("rows", 8, 3, 2, 0, 0)
    w = unread_cells(wide, 3)
    assert (w.after, w.lost) == ([7], [7]) and unread_cells(b, 3).after == []
    assert "input row 7 is never covered" in unread_note(wide, w)
    assert "the last input row is never covered" in unread_summary([(wide, w)])


def test_a_filter_that_fits_nowhere_gets_its_sum_below_one():
    assert unfit_formula(Axis("rows", 6, 7, 1, 0, 0)) == "(6 - 7 + 2*0)/1 + 1 = 0"
    assert unfit_formula(Axis("rows", 4, 3, 2, 0, 1, 3)) == "(4 - (3*(3-1)+1) + 0 + 1)/2 + 1 = 0"
