"""engine.explain.windows: every window and its inverse, against the loop definition and
against conv_trace's own rows and columns."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.explain.trace import conv_trace
from engine.explain.windows import axis_feeds, axis_reach, axis_windows, last_reached, windows
from engine.ops import shapes


@pytest.mark.parametrize(("n", "k", "s", "d", "p"),
                         [(6, 3, 1, 1, 0), (7, 3, 2, 1, 1), (9, 2, 3, 2, 0), (5, 1, 1, 1, 2), (8, 3, 2, 2, 2)])
def test_conv_windows_match_the_trace(n, k, s, d, p):
    out = shapes.output_size(n, k, s, (p, p), d).size
    x = np.arange(n * (n + 1), dtype=np.float32).reshape(1, n, n + 1)
    w = np.ones((1, 1, k, k), dtype=np.float32)
    wo = shapes.output_size(n + 1, k, s, (p, p), d).size
    win = windows((out, wo), (k, k), (s, s), (d, d), size=(n + 2 * p, n + 1 + 2 * p))
    for i, j in itertools.product(range(out), range(wo)):
        tr = conv_trace(x, w, None, 0, i, j, strides=(s, s), pads=(p, p, p, p), dilations=(d, d))
        assert win.rows[i] == list(tr.rows) and win.cols[j] == list(tr.cols)


@pytest.mark.parametrize(("n_out", "k", "s", "d", "size"), [(4, 3, 1, 1, 6), (2, 3, 2, 1, 6), (3, 2, 3, 2, 9)])
def test_feeds_are_the_inverse_of_the_windows(n_out, k, s, d, size):
    win = axis_windows(n_out, k, s, d)
    feeds = axis_feeds(win, size)
    for q in range(size):
        assert feeds[q] == [i for i in range(n_out) if q in win[i]]


def test_pooling_windows_drop_the_padding():
    # A 5-cell map, window 3, stride 2, padding 1: windows -1..1, 1..3, 3..5 -> clipped.
    assert axis_windows(3, 3, 2, 1, offset=1, size=5) == [[0, 1], [1, 2, 3], [3, 4]]


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError):
        axis_windows(2, 0, 1)
    with pytest.raises(ValueError):
        windows((2, 2), (2, 2), (1, 1))


@pytest.mark.parametrize(("n", "k", "s", "d", "p"),
                         [(7, 3, 3, 1, 0), (9, 3, 1, 2, 1), (7, 1, 2, 1, 0), (12, 4, 5, 3, 2), (40, 40, 1, 1, 0)])
def test_reach_lists_the_same_cells_as_the_windows(n, k, s, d, p):
    out = shapes.output_size(n, k, s, (p, p), d).size
    r = axis_reach(out, k, s, d, n + 2 * p, cap=300)
    cells = [[x0 + t for t in r.taps] for x0 in r.starts]
    assert cells == axis_windows(out, k, s, d)
    assert not r.capped and r.padded == n + 2 * p and r.span == d * (k - 1) + 1
    assert r.last == max(max(c) for c in cells) == last_reached(out, k, s, d)
    # overlap: the most windows whose spans share one cell
    covering = [sum(x0 <= q < x0 + r.span for x0 in r.starts) for q in range(n + 2 * p)]
    assert max(covering) <= r.overlap <= max(covering) + 1


def test_reach_is_cut_at_the_cap_whatever_the_sizes():
    """100,000 windows of 60,000 taps: O(cap) numbers, and the flag says what was cut."""
    r = axis_reach(100_000, 60_000, 1, 1, 159_999, cap=300)
    assert r.starts == list(range(300)) and r.taps == list(range(300)) and r.capped
    assert (r.span, r.last, r.overlap) == (60_000, 159_998, 60_000)
    # Only the starts and taps that land inside the first `cap` cells are listed.
    w = axis_reach(50, 3, 7, 40, 500, cap=100)
    assert w.starts == [0, 7, 14, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 91, 98] and w.taps == [0, 40, 80]
    assert w.capped and not axis_reach(3, 3, 1, 1, 5, cap=5).capped
    with pytest.raises(ValueError, match="stride"):
        axis_reach(3, 3, 0, 1, 5, cap=5)
