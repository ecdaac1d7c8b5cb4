"""Behaviour of the ops beyond the oracles: erf accuracy, dtypes, softmax and loss values,
the argmax convention, and the ValueErrors bad arguments raise."""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine


def test_erf_matches_math_erf():
    x = np.concatenate([np.linspace(-10, 10, 20001), [0.0, 1e-300, 2.0, -2.0, 40.0, -40.0]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(engine.erf(x), expected, rtol=0, atol=1e-14)
    assert engine.erf(np.array([np.inf, -np.inf])).tolist() == [1.0, -1.0]
    assert np.isnan(engine.erf(np.array([np.nan])))[0]


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_erf_single_precision_is_within_2e_7_of_math_erf(dtype):
    x = np.concatenate([np.linspace(-8, 8, 160_001), [0.0, -0.0, 1e-30, 3.9, 40.0, -40.0]])
    x = x.astype(dtype)
    expected = np.array([math.erf(float(v)) for v in x])
    got = engine.erf(x)
    assert got.dtype == dtype
    tol = 2e-7 if dtype == np.float32 else float(np.finfo(np.float16).eps)
    np.testing.assert_allclose(got.astype(np.float64), expected, rtol=0, atol=tol)
    np.testing.assert_array_equal(engine.erf(-x), -got)  # odd, exactly
    inf = np.array([np.inf, -np.inf, np.nan], dtype)
    assert engine.erf(inf)[:2].tolist() == [1.0, -1.0] and np.isnan(engine.erf(inf)[2])


def test_erf_keeps_float32():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    assert engine.erf(x).dtype == np.float32
    assert engine.erf(np.array(0.5)).shape == ()


@pytest.mark.parametrize(
    "call",
    [
        lambda x: engine.conv2d_forward(x, np.ones((2, 3, 3, 3), np.float32))[0],
        lambda x: engine.maxpool2d_forward(x, kernel_shape=(2, 2))[0],
        lambda x: engine.avgpool2d_forward(x, kernel_shape=(2, 2))[0],
        lambda x: engine.global_avgpool_forward(x)[0],
        lambda x: engine.relu_forward(x)[0],
        lambda x: engine.leaky_relu_forward(x)[0],
        lambda x: engine.sigmoid_forward(x)[0],
        lambda x: engine.tanh_forward(x)[0],
        lambda x: engine.gelu_forward(x)[0],
        lambda x: engine.gelu_forward(x, "tanh")[0],
        lambda x: engine.softmax_forward(x, 1)[0],
        lambda x: engine.log_softmax(x, 1),
        lambda x: engine.dense_forward(engine.flatten(x), np.ones((4, 75), np.float32))[0],
    ],
)
def test_float32_in_float32_out(call):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5)).astype(np.float32)
    assert call(x).dtype == np.float32
    assert call(x.astype(np.float64)).dtype == np.float64


def test_float32_backward_stays_float32():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    w = rng.standard_normal((3, 2, 3, 3)).astype(np.float32)
    out, cache = engine.conv2d_forward(x, w, np.zeros(3, np.float32), pads=(1, 1, 1, 1))
    assert all(g.dtype == np.float32 for g in engine.conv2d_backward(np.ones_like(out), cache))
    out, cache = engine.maxpool2d_forward(x, kernel_shape=(2, 2), strides=(2, 2))
    assert engine.maxpool2d_backward(np.ones_like(out), cache).dtype == np.float32


def test_conv_hand_example():
    # a 3x3 image and a 2x2 kernel: each output is the sum of one 2x2 patch, times the kernel
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out, _ = engine.conv2d_forward(x, w, np.array([10.0]))
    np.testing.assert_array_equal(out[0, 0], [[6.0, 6.0], [6.0, 6.0]])


def test_maxpool_argmax_points_at_the_maximum():
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 6))
    out, cache = engine.maxpool2d_forward(x, kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1))
    n, c = np.indices(out.shape[:2])
    np.testing.assert_array_equal(
        x[n[..., None, None], c[..., None, None], cache.rows, cache.cols], out
    )


def test_maxpool_window_of_only_padding():
    # dilation 3 puts both taps of the only window at rows -1 and 2, outside a 2-row input
    x = np.ones((1, 1, 2, 2))
    out, cache = engine.maxpool2d_forward(
        x, kernel_shape=(2, 1), pads=(1, 0, 1, 0), dilations=(3, 1)
    )
    assert out.shape == (1, 1, 1, 2) and np.all(out == -np.inf)
    assert np.all(cache.rows == -1) and np.all(cache.cols == -1)
    np.testing.assert_array_equal(engine.maxpool2d_backward(np.ones_like(out), cache), 0)


def test_softmax_is_stable_and_sums_to_one():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    out, _ = engine.softmax_forward(x)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out.sum(axis=-1), 1.0)
    np.testing.assert_allclose(out[0], engine.softmax_forward(x[0] - 1000)[0])
    np.testing.assert_allclose(np.exp(engine.log_softmax(x)), out)


def test_softmax_backward_is_not_elementwise():
    # for y = softmax(x), d sum(y)/dx = 0 because sum(y) is always 1
    out, cache = engine.softmax_forward(np.array([[0.5, -1.0, 2.0]]))
    np.testing.assert_allclose(engine.softmax_backward(np.ones_like(out), cache), 0, atol=1e-15)


def test_cross_entropy_values():
    loss, _ = engine.cross_entropy_forward(np.zeros((3, 10)), np.array([0, 5, 9]))
    assert loss == pytest.approx(math.log(10))
    loss, _ = engine.cross_entropy_forward(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)


def test_flatten_shapes():
    x = np.zeros((2, 3, 4, 5))
    assert engine.flatten(x).shape == (2, 60)
    assert engine.flatten(x, 0).shape == (1, 120)
    assert engine.flatten(x, 4).shape == (120, 1)
    assert engine.flatten(x, -1).shape == (24, 5)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: engine.conv2d_forward(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3))),
            r"\(1, 3, 5, 5\).*\(2, 2, 3, 3\)",
        ),
        (
            lambda: engine.conv2d_forward(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3))),
            r"\(3, 5, 5\)",
        ),
        (
            lambda: engine.conv2d_forward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))),
            "kernel spans 3",
        ),
        (
            lambda: engine.conv2d_forward(
                np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), np.zeros(2)
            ),
            r"\(1,\)",
        ),
        (
            lambda: engine.conv2d_forward(
                np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), pads=(1, 1)
            ),
            "pads",
        ),
        (
            lambda: engine.conv2d_forward(
                np.zeros((1, 1, 5, 5)), np.zeros((1, 1, 3, 3)), strides=(0, 1)
            ),
            "strides",
        ),
        (
            lambda: engine.maxpool2d_forward(np.zeros((1, 1, 5, 5)), kernel_shape=(2, 1.5)),
            "kernel_shape",
        ),
        (
            lambda: engine.conv2d_forward(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), group=2),
            "group=2",
        ),
        (
            lambda: engine.maxpool2d_forward(
                np.zeros((1, 1, 5, 5)), kernel_shape=(2, 2), pads=(2, 0, 0, 0)
            ),
            "smaller than the kernel",
        ),
        (
            lambda: engine.avgpool2d_forward(np.zeros((1, 5, 5)), kernel_shape=(2, 2)),
            r"\(1, 5, 5\)",
        ),
        (lambda: engine.dense_forward(np.zeros((2, 5)), np.zeros((3, 4))), r"\(2, 5\).*\(3, 4\)"),
        (lambda: engine.dense_forward(np.zeros((2, 3, 4)), np.zeros((3, 12))), "flatten"),
        (lambda: engine.cross_entropy_forward(np.zeros((2, 3)), np.array([0, 3])), r"\[0, 3\)"),
        (lambda: engine.cross_entropy_forward(np.zeros((2, 3)), np.array([0.0, 1.0])), "integer"),
        (lambda: engine.softmax_forward(np.zeros((2, 3)), axis=2), "axis"),
        (lambda: engine.flatten(np.zeros((2, 3)), axis=3), "axis"),
        (lambda: engine.gelu_forward(np.zeros(3), approximate="fast"), "approximate"),
    ],
)
def test_bad_arguments_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize(
    ("forward", "backward"),
    [
        (
            lambda: engine.conv2d_forward(np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3))),
            engine.conv2d_backward,
        ),
        (
            lambda: engine.maxpool2d_forward(np.zeros((1, 1, 4, 4)), kernel_shape=(2, 2)),
            engine.maxpool2d_backward,
        ),
        (
            lambda: engine.avgpool2d_forward(np.zeros((1, 1, 4, 4)), kernel_shape=(2, 2)),
            engine.avgpool2d_backward,
        ),
        (lambda: engine.relu_forward(np.zeros((2, 2))), engine.relu_backward),
        (lambda: engine.dense_forward(np.zeros((2, 3)), np.zeros((4, 3))), engine.dense_backward),
        (lambda: engine.softmax_forward(np.zeros((2, 3))), engine.softmax_backward),
    ],
)
def test_backward_rejects_a_dout_of_the_wrong_shape(forward, backward):
    out, cache = forward()
    with pytest.raises(ValueError, match="dout must have"):
        backward(np.zeros(out.shape + (1,)), cache)
