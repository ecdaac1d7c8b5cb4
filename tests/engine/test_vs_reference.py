"""The vectorised conv and pooling ops agree with the loop versions in engine.ops.reference."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine import (
    avgpool2d_forward,
    conv2d_forward,
    maxpool2d_argmax,
    maxpool2d_forward,
)
from engine.ops.reference import avgpool2d_reference, conv2d_reference, maxpool2d_reference

STRIDES = [(1, 1), (2, 2), (3, 1)]
PADS = [(0, 0, 0, 0), (1, 1, 1, 1), (2, 0, 1, 2)]
DILATIONS = [(1, 1), (2, 1), (2, 2)]
# (C, K, (KH, KW), H, W): odd, even and non-square sizes; C in {1, 3}; K from 1 to 8
CONV_SHAPES = [
    (1, 1, (1, 1), 5, 5),
    (3, 8, (3, 3), 7, 9),
    (3, 4, (2, 3), 8, 6),
    (1, 2, (3, 1), 6, 7),
]


@pytest.mark.parametrize(
    ("shape", "strides", "pads", "dilations"),
    list(itertools.product(CONV_SHAPES, STRIDES, PADS, DILATIONS)),
)
def test_conv2d_matches_reference(shape, strides, pads, dilations):
    c, k, (kh, kw), h, w = shape
    rng = np.random.default_rng(hash((shape, strides, pads, dilations)) % 2**32)
    x = rng.standard_normal((2, c, h, w))
    weights = rng.standard_normal((k, c, kh, kw))
    bias = rng.standard_normal(k)
    attrs = {"strides": strides, "pads": pads, "dilations": dilations}
    out, _ = conv2d_forward(x, weights, bias, **attrs)
    np.testing.assert_allclose(out, conv2d_reference(x, weights, bias, **attrs), atol=1e-12)


@pytest.mark.parametrize(
    ("c", "k", "group", "strides", "pads", "dilations"),
    [
        (3, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1)),  # depthwise
        (3, 6, 3, (2, 1), (0, 1, 2, 0), (1, 2)),  # depthwise, channel multiplier 2
        (4, 2, 2, (1, 2), (1, 0, 0, 1), (2, 1)),
        (6, 6, 3, (1, 1), (0, 0, 0, 0), (1, 1)),
    ],
)
def test_grouped_conv2d_matches_reference(c, k, group, strides, pads, dilations):
    rng = np.random.default_rng(c * 100 + k * 10 + group)
    x = rng.standard_normal((2, c, 7, 6))
    weights = rng.standard_normal((k, c // group, 3, 2))
    attrs = {"strides": strides, "pads": pads, "dilations": dilations, "group": group}
    out, _ = conv2d_forward(x, weights, **attrs)
    np.testing.assert_allclose(out, conv2d_reference(x, weights, **attrs), atol=1e-12)


POOL_KERNELS = [(2, 2), (3, 3), (3, 2)]
POOL_STRIDES = [None, (2, 2), (3, 1)]
POOL_PADS = [(0, 0, 0, 0), (1, 1, 1, 1), (1, 0, 0, 1)]


@pytest.mark.parametrize(
    ("kernel_shape", "strides", "pads", "dilations", "ceil_mode"),
    list(itertools.product(POOL_KERNELS, POOL_STRIDES, POOL_PADS, [(1, 1), (2, 2)], [False, True])),
)
def test_maxpool2d_matches_reference(kernel_shape, strides, pads, dilations, ceil_mode):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 8))
    attrs = {
        "kernel_shape": kernel_shape,
        "strides": strides,
        "pads": pads,
        "dilations": dilations,
        "ceil_mode": ceil_mode,
    }
    out, cache = maxpool2d_forward(x, **attrs)
    expected, rows, cols = maxpool2d_reference(x, **attrs)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(cache.rows, rows)
    np.testing.assert_array_equal(cache.cols, cols)
    helper_rows, helper_cols = maxpool2d_argmax(x, **attrs)
    np.testing.assert_array_equal(helper_rows, rows)
    np.testing.assert_array_equal(helper_cols, cols)


@pytest.mark.parametrize(
    ("kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad"),
    list(itertools.product(POOL_KERNELS, POOL_STRIDES, POOL_PADS, [False, True], [False, True])),
)
def test_avgpool2d_matches_reference(kernel_shape, strides, pads, ceil_mode, count_include_pad):
    rng = np.random.default_rng(11)
    x = rng.standard_normal((2, 3, 7, 8))
    attrs = {
        "kernel_shape": kernel_shape,
        "strides": strides,
        "pads": pads,
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
    }
    out, _ = avgpool2d_forward(x, **attrs)
    np.testing.assert_allclose(out, avgpool2d_reference(x, **attrs), atol=1e-12)


def test_maxpool_ties_go_to_the_first_tap():
    x = np.zeros((1, 1, 4, 4))
    out, cache = maxpool2d_forward(x, kernel_shape=(2, 2), strides=(2, 2))
    np.testing.assert_array_equal(out, np.zeros((1, 1, 2, 2)))
    np.testing.assert_array_equal(cache.rows[0, 0], [[0, 0], [2, 2]])
    np.testing.assert_array_equal(cache.cols[0, 0], [[0, 2], [0, 2]])
