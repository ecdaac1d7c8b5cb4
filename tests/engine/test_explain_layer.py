"""engine.explain.layer: one layer's size, sentences and refusals, as plain data and ValueError."""

from __future__ import annotations

import pytest

from engine.explain.layer import MAX_SPAN, LayerError, explain_layer, resolve_pads


def test_a_layer_that_does_not_fit_says_so_and_lists_what_it_leaves():
    layer = explain_layer((7, 7), (3, 3), (3, 3), (0, 0, 0, 0), (1, 1), 1, 4)
    assert layer.output_size == (2, 2) and not layer.fits and not layer.reads_all_input
    assert layer.formula == "(7 - 3 + 2*0)/3 + 1 = 2.33, rounded down to 2"
    assert "input row and column 6 are never covered" in layer.explanation
    assert layer.unread == ([6], [6]) and layer.activations == 16 and layer.memory_bytes == 64
    assert layer.params is not None and layer.params.total == (3 * 3 + 1) * 4
    rows, cols = layer.reach(300)
    assert rows.starts == [0, 3] and rows.taps == [0, 1, 2] and rows.last == 5 == cols.last


def test_rows_and_columns_are_told_apart_when_they_differ():
    layer = explain_layer((7, 6), (1, 3), (2, 1), (0, 0, 0, 0), (1, 1), 1, 1, with_params=False)
    assert layer.formula == "rows: (7 - 1 + 2*0)/2 + 1 = 4; columns: (6 - 3 + 2*0)/1 + 1 = 4"
    assert layer.params is None and layer.pads == (0, 0, 0, 0)


@pytest.mark.parametrize(("hw", "kernel", "formula"), [
    ((6, 6), (7, 7), "(6 - 7 + 2*0)/1 + 1 = 0"),
    ((6, 9), (7, 7), "rows: (6 - 7 + 2*0)/1 + 1 = 0"),
    ((9, 6), (7, 7), "columns: (6 - 7 + 2*0)/1 + 1 = 0"),
])
def test_a_filter_larger_than_its_input_is_refused_with_its_sum(hw, kernel, formula):
    with pytest.raises(LayerError, match="larger than the padded input") as caught:
        explain_layer(hw, kernel, (1, 1), (0, 0, 0, 0), (1, 1), 1, 1)
    assert isinstance(caught.value, ValueError) and caught.value.formula == formula


def test_other_refusals_are_value_errors_without_a_formula():
    with pytest.raises(LayerError, match="at most 100,000") as caught:
        explain_layer((MAX_SPAN, MAX_SPAN), (3, 3), (1, 1), (0, 0, 0, 0), (MAX_SPAN, 1), 1, 1)
    assert caught.value.formula is None
    with pytest.raises(LayerError, match="Stride must be at least 1"):
        explain_layer((7, 7), (3, 3), (0, 1), (0, 0, 0, 0), (1, 1), 1, 1)
    with pytest.raises(ValueError, match="padding must be"):
        resolve_pads("valid", (3, 3), (1, 1))


def test_same_padding_puts_the_odd_cell_last():
    assert resolve_pads("same", (3, 2), (1, 3)) == (1, 1, 1, 2)
    assert resolve_pads(2, (3, 3), (1, 1)) == (2, 2, 2, 2)
    assert resolve_pads([0, 1, 2, 3], (3, 3), (1, 1)) == (0, 1, 2, 3)


def test_a_pooling_window_is_called_a_window():
    """A pooling layer (no parameters) names what slides a pooling window, not a filter."""
    with pytest.raises(LayerError, match="larger than the padded input") as caught:
        explain_layer((4, 4), (11, 11), (2, 2), (0, 0, 0, 0), (1, 1), 2, 2, with_params=False)
    message = str(caught.value)
    assert message.startswith("The pooling window (11 rows) is larger")
    assert "Use a smaller window," in message and "filter" not in message
    assert caught.value.formula.startswith("(4 - 11 + 2*0)/2 + 1 = ")
    # The same sizes as a convolution still speak of its filter.
    with pytest.raises(LayerError, match=r"^The filter \(11 rows\).*Use a smaller filter,"):
        explain_layer((4, 4), (11, 11), (2, 2), (0, 0, 0, 0), (1, 1), 2, 2)
    layer = explain_layer((4, 4), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 6, 6, kind="pool")
    assert layer.explanation.endswith("each of the 6 maps is pooled on its own: a 2x2x6 output volume.")
    assert "filter" not in layer.explanation and layer.params is not None  # kind names; with_params counts
    with pytest.raises(ValueError, match='kind must be "conv" or "pool"'):
        explain_layer((4, 4), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 1, 1, kind="dense")
