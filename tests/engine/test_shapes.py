"""Shape and parameter arithmetic, including the worked examples from the course."""

from __future__ import annotations

import numpy as np
import pytest

from engine.ops.conv import conv2d_forward
from engine.ops.counts import activation_count, conv_params, dense_params, float32_bytes
from engine.ops.shapes import conv_output_shape, output_size, same_padding, unread


@pytest.mark.parametrize(
    ("n", "kernel", "stride", "pad", "dilation", "size", "fits"),
    [
        (7, 3, 1, 0, 1, 5, True),  # 7x7 input, 3x3 filter, stride 1
        (7, 3, 2, 0, 1, 3, True),  # stride 2
        (7, 3, 3, 0, 1, 2, False),  # stride 3: (7 - 3) / 3 + 1 = 2.33 does not fit
        (32, 5, 1, 2, 1, 32, True),  # 32x32, F=5, P=2 keeps the size
        (227, 11, 4, 0, 1, 55, True),  # AlexNet conv1
        (7, 3, 1, 0, 2, 3, True),  # dilation 2: the 3-tap kernel spans 5 cells
        (5, 2, 2, (1, 0), 1, 3, True),  # asymmetric padding as a (begin, end) pair
        (1, 1, 1, 0, 1, 1, True),
    ],
)
def test_output_size(n, kernel, stride, pad, dilation, size, fits):
    result = output_size(n, kernel, stride, pad, dilation)
    assert (result.size, result.fits) == (size, fits)


def test_output_size_shows_the_working():
    result = output_size(7, 3, 3)
    assert result.numerator == 4
    assert result.exact == pytest.approx(2 + 1 / 3)
    assert (result.padded, result.span, result.stride) == (7, 3, 3)
    assert output_size(7, 3, 1, 0, 3).span == 7


@pytest.mark.parametrize(
    ("n", "kernel", "stride", "pad", "floor_size", "ceil_size"),
    [
        (7, 2, 2, 0, 3, 4),
        (6, 2, 2, 0, 3, 3),
        (5, 3, 2, (1, 1), 3, 3),
        # ceil would start a 4th window inside the end padding: ONNX drops it
        (5, 2, 2, (1, 1), 3, 3),
    ],
)
def test_output_size_ceil_mode(n, kernel, stride, pad, floor_size, ceil_size):
    assert output_size(n, kernel, stride, pad).size == floor_size
    assert output_size(n, kernel, stride, pad, ceil_mode=True).size == ceil_size


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((3, 5), "kernel spans 5"),
        ((5, 3, 1, 0, 3), "kernel spans 7"),
        ((5, 3, 0), "stride"),
        ((5, 3, 1, 0, 0), "dilation"),
        ((5, 3, 1, -1), "padding"),
        ((0, 1), "input size"),
        ((5, 0), "kernel size"),
        ((5, 3, 1, (1, 2, 3)), "pad"),
    ],
)
def test_output_size_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        output_size(*args)


def test_conv_output_shape_uses_per_axis_pads():
    # height uses top/bottom (pads[0], pads[2]); width uses left/right (pads[1], pads[3])
    assert conv_output_shape((5, 5), (3, 3), pads=(2, 0, 0, 0)) == (5, 3)
    assert conv_output_shape((5, 5), (3, 3), pads=(0, 0, 0, 2)) == (3, 5)
    assert conv_output_shape((227, 227), (11, 11), (4, 4)) == (55, 55)
    assert conv_output_shape((7, 9), (3, 3), (2, 1), (1, 1, 1, 1), (2, 1)) == (3, 9)
    with pytest.raises(ValueError, match="pads"):
        conv_output_shape((5, 5), (3, 3), pads=(1, 1))


@pytest.mark.parametrize(
    ("kernel", "dilation", "expected"),
    [
        (1, 1, (0, 0)),
        (3, 1, (1, 1)),
        (5, 1, (2, 2)),
        (2, 1, (0, 1)),
        (4, 1, (1, 2)),
        (3, 2, (2, 2)),
    ],
)
def test_same_padding_keeps_the_size(kernel, dilation, expected):
    assert same_padding(kernel, dilation) == expected
    assert output_size(10, kernel, 1, expected, dilation).size == 10


def test_conv_params_course_examples():
    ten_filters = conv_params(5, 5, 3, 10)
    assert (ten_filters.weights, ten_filters.biases, ten_filters.total) == (750, 10, 760)
    alexnet = conv_params(11, 11, 3, 96)
    assert (alexnet.weights, alexnet.biases, alexnet.total) == (34848, 96, 34944)
    assert conv_params(3, 3, 8, 4, bias=False).total == 288
    depthwise = conv_params(3, 3, 32, 32, groups=32)
    assert (depthwise.weights, depthwise.total) == (288, 320)


def test_conv_params_rejects_bad_groups():
    with pytest.raises(ValueError, match="divisible"):
        conv_params(3, 3, 3, 4, groups=2)
    with pytest.raises(ValueError, match=">= 1"):
        conv_params(0, 3, 3, 4)


def test_dense_params_activation_count_and_bytes():
    fc = dense_params(4096, 1000)
    assert (fc.weights, fc.biases, fc.total) == (4_096_000, 1000, 4_097_000)
    assert dense_params(10, 2, bias=False).total == 20
    assert activation_count((55, 55, 96)) == 290_400
    assert activation_count(()) == 1
    assert float32_bytes(290_400) == 1_161_600
    with pytest.raises(ValueError):
        dense_params(0, 3)
    with pytest.raises(ValueError):
        activation_count((2, -1))
    with pytest.raises(ValueError):
        float32_bytes(-1)


@pytest.mark.parametrize(
    ("n", "kernel", "stride", "pad", "dilation", "expected"),
    [
        (7, 3, 1, 0, 1, []),  # overlapping windows read everything
        (7, 3, 3, 0, 1, [6]),  # the last row is left after the last window
        (7, 1, 2, 0, 1, [1, 3, 5]),  # a 1x1 window with stride 2 reads every second row
        (56, 1, 2, 0, 1, list(range(1, 56, 2))),  # ResNet's downsample: half the rows
        (7, 3, 2, 0, 2, [1, 3, 5]),  # dilation 2 and stride 2: the odd rows fall between taps
        (7, 3, 1, 0, 2, []),  # dilation 2, stride 1: other windows fill the gaps
        (6, 3, 2, 1, 1, [7]),  # only the end padding is left over
    ],
)
def test_unread(n, kernel, stride, pad, dilation, expected):
    assert unread(n, kernel, stride, pad, dilation) == expected


@pytest.mark.parametrize("case", [(9, 2, 3, 0, 1), (10, 1, 3, 1, 1), (11, 3, 4, 2, 2), (8, 2, 2, 0, 3)])
def test_unread_matches_what_a_convolution_reads(case):
    """A cell is unread exactly when changing it changes no output of the engine's conv."""
    n, k, s, p, d = case
    reached = []
    for j in range(n):
        x = np.zeros((1, 1, 1, n), np.float64)
        x[0, 0, 0, j] = 1.0
        y, _ = conv2d_forward(x, np.ones((1, 1, 1, k)), strides=(1, s), pads=(0, p, 0, p),
                              dilations=(1, d))
        reached.append(bool(np.any(y)))
    from_engine = [j for j in range(n) if not reached[j]]
    assert [q - p for q in unread(n, k, s, p, d) if 0 <= q - p < n] == from_engine


def test_unread_agrees_with_listing_every_tap():
    """The linear-time marking against the definition, on random layers."""
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 500:
        n, k, s, p, d = (int(v) for v in (rng.integers(1, 60), rng.integers(1, 9), rng.integers(1, 10),
                                          rng.integers(0, 5), rng.integers(1, 7)))
        if d * (k - 1) + 1 > n + 2 * p:
            continue
        size = output_size(n, k, s, p, d).size
        taps = {i * s + t * d for i in range(size) for t in range(k)}
        assert unread(n, k, s, p, d) == [q for q in range(n + 2 * p) if q not in taps], (n, k, s, p, d)
        checked += 1
