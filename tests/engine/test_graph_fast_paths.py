"""The plan's remembered-geometry paths give exactly what the engine's checked ops give.

The first run of a Conv or MaxPool node on an input shape goes through
``conv2d_forward`` / ``maxpool2d_forward`` (which check everything); later runs of that
shape reuse the geometry (Conv: the im2col window views, copied in two steps up to
2 MiB, in one above; MaxPool: the row and column taps). Those later runs must match
the first bit for bit, on both sides of the 2 MiB switch, for every attribute kind.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.graph import Graph, Node, ValueInfo, run
from engine.ops.conv import conv2d_forward
from engine.ops.pool import maxpool2d_forward


def one_node(op_type, attrs, inits, shape):
    inputs = ("x", *inits)
    return Graph([ValueInfo("x", tuple(shape), "float32")], [ValueInfo("y", None, "float32")],
                 [Node("y", op_type, inputs, ("y",), attrs)],
                 {k: np.asarray(v, np.float32) for k, v in inits.items()}, 17)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    ("x_shape", "f", "kernel", "attrs"),
    [
        ((1, 3, 9, 11), 4, (3, 3), {"pads": [1, 1, 1, 1]}),
        ((2, 4, 10, 9), 6, (3, 2), {"pads": [0, 1, 2, 0], "strides": [2, 1]}),
        ((1, 4, 12, 12), 4, (3, 3), {"dilations": [2, 3], "pads": [2, 2, 2, 2]}),
        ((1, 6, 8, 8), 6, (3, 3), {"group": 3, "pads": [1, 1, 1, 1]}),
        ((3, 6, 7, 7), 4, (1, 1), {"group": 2}),
        ((1, 2, 13, 13), 5, (5, 5), {"strides": [3, 2], "pads": [2, 2, 2, 2]}),
        ((1, 1, 28, 28), 6, (5, 5), {"pads": [2, 2, 2, 2]}),
        # im2col matrices over 2 MiB: 576 x 4096 and 2 x 288 x 1156 float32 values
        ((1, 64, 64, 64), 8, (3, 3), {"pads": [1, 1, 1, 1]}),
        ((2, 32, 36, 36), 8, (3, 3), {"strides": [1, 1]}),
    ],
)
@pytest.mark.parametrize("bias", [True, False])
def test_conv_later_runs_match_conv2d_forward(x_shape, f, kernel, attrs, bias):
    group = attrs.get("group", 1)
    w = rand(f, x_shape[1] // group, *kernel, seed=1)
    inits = {"w": w, **({"b": rand(f, seed=2)} if bias else {})}
    graph = one_node("Conv", {"kernel_shape": list(kernel), **attrs}, inits, x_shape)
    for seed in (3, 4, 5):
        x = rand(*x_shape, seed=seed)
        expected, _ = conv2d_forward(x, w, inits.get("b"), strides=attrs.get("strides", (1, 1)),
                                     pads=attrs.get("pads", (0, 0, 0, 0)),
                                     dilations=attrs.get("dilations", (1, 1)), group=group)
        got = run(graph, x)["y"]
        assert got.flags.c_contiguous and got.dtype == np.float32
        np.testing.assert_array_equal(got, expected)


def test_conv_input_not_contiguous():
    w = rand(3, 2, 3, 3, seed=1)
    graph = one_node("Conv", {"kernel_shape": [3, 3]}, {"w": w}, (1, 2, 8, 9))
    base = rand(1, 2, 9, 8, seed=2)
    run(graph, np.ascontiguousarray(base.transpose(0, 1, 3, 2)))  # remembers the shape
    x = base.transpose(0, 1, 3, 2)  # the same shape, not C-ordered
    np.testing.assert_array_equal(run(graph, x)["y"], conv2d_forward(x, w)[0])


@pytest.mark.parametrize(
    ("x_shape", "attrs"),
    [
        ((1, 3, 8, 8), {"kernel_shape": [2, 2], "strides": [2, 2]}),
        ((2, 3, 9, 7), {"kernel_shape": [2, 2], "strides": [2, 2]}),
        ((1, 2, 10, 11), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
        ((1, 2, 10, 11), {"kernel_shape": [3, 2], "strides": [1, 2], "ceil_mode": 1}),
        ((1, 2, 12, 12), {"kernel_shape": [2, 3], "dilations": [2, 2], "pads": [1, 0, 1, 2]}),
        ((1, 2, 5, 5), {"kernel_shape": [1, 1]}),
        ((1, 2, 7, 7), {"kernel_shape": [3, 3], "strides": [3, 3], "ceil_mode": 1}),
    ],
)
def test_maxpool_later_runs_match_maxpool2d_forward(x_shape, attrs):
    graph = one_node("MaxPool", attrs, {}, x_shape)
    for seed in (3, 4, 5):
        x = rand(*x_shape, seed=seed)
        x[0, 0, 0, :2] = [np.nan, -np.inf]
        expected, _ = maxpool2d_forward(
            x, kernel_shape=attrs["kernel_shape"], strides=attrs.get("strides"),
            pads=attrs.get("pads", (0, 0, 0, 0)), dilations=attrs.get("dilations", (1, 1)),
            ceil_mode=bool(attrs.get("ceil_mode", 0)))
        got = run(graph, x)["y"]
        assert got.flags.c_contiguous and not np.shares_memory(got, x)
        np.testing.assert_array_equal(got, expected)
