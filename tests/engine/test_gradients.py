"""Every backward agrees with float64 centred differences of its forward.

For a random upstream gradient ``dout`` the scalar ``L = sum(forward(x) * dout)``
has ``dL/dx = backward(dout)``; each input entry is nudged by +-eps and
``(L(x + eps) - L(x - eps)) / (2 eps)`` is compared with the analytic gradient.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine import registry
from tests.engine.gradcheck import numeric_gradient


def assert_close(analytic, numeric):
    error = np.linalg.norm(analytic - numeric) / max(
        np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12
    )
    assert error < 1e-6, f"relative error {error:.3g}"


def check(forward, backward, arrays, seed=0):
    """Compare ``backward(dout, cache)`` with numeric gradients for each of ``arrays``."""
    out, cache = forward(*arrays)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    grads = backward(dout, cache)
    grads = grads if isinstance(grads, tuple) else (grads,)
    for array, grad in zip(arrays, grads, strict=True):  # one gradient per input, no fewer
        numeric = numeric_gradient(lambda: float(np.sum(forward(*arrays)[0] * dout)), array)
        assert grad is not None and grad.shape == array.shape
        assert_close(grad, numeric)


@pytest.mark.parametrize(
    ("strides", "pads", "dilations", "group"),
    [
        ((1, 1), (0, 0, 0, 0), (1, 1), 1),
        ((2, 1), (1, 2, 0, 1), (1, 1), 1),
        ((1, 2), (1, 1, 1, 1), (2, 1), 1),
        ((3, 2), (2, 0, 1, 1), (2, 2), 1),
        ((1, 1), (1, 0, 1, 0), (1, 2), 2),
    ],
)
def test_conv2d_backward(strides, pads, dilations, group):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 6, 5))
    w = rng.standard_normal((4, 4 // group, 3, 2))
    b = rng.standard_normal(4)
    attrs = {"strides": strides, "pads": pads, "dilations": dilations, "group": group}
    check(
        lambda x, w, b: engine.conv2d_forward(x, w, b, **attrs), engine.conv2d_backward, [x, w, b]
    )


def test_conv2d_backward_without_bias_returns_no_db():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((1, 2, 4, 4)), rng.standard_normal((3, 2, 2, 2))
    out, cache = engine.conv2d_forward(x, w)
    dx, dw, db = engine.conv2d_backward(np.ones_like(out), cache)
    assert db is None
    assert (dx.shape, dw.shape) == (x.shape, w.shape)


@pytest.mark.parametrize(
    ("kernel_shape", "strides", "pads", "dilations", "ceil_mode"),
    [
        ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1), False),
        ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False),  # overlapping windows
        ((3, 2), (2, 1), (1, 0, 2, 1), (2, 1), True),
    ],
)
def test_maxpool2d_backward(kernel_shape, strides, pads, dilations, ceil_mode):
    rng = np.random.default_rng(3)
    # distinct values 0.01 apart, so no nudge of EPS can change which entry is the max
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6) * 0.01
    attrs = {
        "kernel_shape": kernel_shape,
        "strides": strides,
        "pads": pads,
        "dilations": dilations,
        "ceil_mode": ceil_mode,
    }
    check(lambda x: engine.maxpool2d_forward(x, **attrs), engine.maxpool2d_backward, [x])


@pytest.mark.parametrize(
    ("kernel_shape", "strides", "pads", "ceil_mode", "count_include_pad"),
    [
        ((2, 2), (2, 2), (0, 0, 0, 0), False, False),
        ((3, 3), (1, 1), (1, 1, 1, 1), False, True),
        ((3, 2), (2, 1), (1, 0, 2, 1), True, False),
        ((3, 2), (2, 2), (2, 1, 1, 0), True, True),
    ],
)
def test_avgpool2d_backward(kernel_shape, strides, pads, ceil_mode, count_include_pad):
    x = np.random.default_rng(4).standard_normal((2, 2, 7, 6))
    attrs = {
        "kernel_shape": kernel_shape,
        "strides": strides,
        "pads": pads,
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
    }
    check(lambda x: engine.avgpool2d_forward(x, **attrs), engine.avgpool2d_backward, [x])


def test_global_avgpool_backward():
    x = np.random.default_rng(5).standard_normal((2, 3, 4, 5))
    check(engine.global_avgpool_forward, engine.global_avgpool_backward, [x])


def _away_from_zero(shape, seed):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize(
    ("forward", "backward"),
    [
        (engine.relu_forward, engine.relu_backward),
        (lambda x: engine.leaky_relu_forward(x, 0.2), engine.leaky_relu_backward),
        (engine.sigmoid_forward, engine.sigmoid_backward),
        (engine.tanh_forward, engine.tanh_backward),
        (engine.gelu_forward, engine.gelu_backward),
        (lambda x: engine.gelu_forward(x, "tanh"), engine.gelu_backward),
    ],
    ids=["relu", "leaky_relu", "sigmoid", "tanh", "gelu", "gelu_tanh"],
)
def test_activation_backward(forward, backward):
    # ReLU's kink at 0 has no derivative: keep every entry at least 0.1 away from it
    check(forward, backward, [_away_from_zero((3, 4, 5), 6)])


@pytest.mark.parametrize("name", list(registry.ACTIVATIONS))
def test_every_registered_activation_has_the_right_gradient(name):
    """A new entry in engine/registry.py is gradient-checked with no test of its own."""
    a = registry.ACTIVATIONS[name]
    check(a.forward, a.backward, [_away_from_zero((3, 4, 5), 7)])


def test_swish_alpha_backward():
    check(lambda x: engine.swish_forward(x, 1.7), engine.swish_backward,
          [_away_from_zero((3, 4, 5), 8)])


def test_gelu_backward_over_a_wide_range():
    x = np.linspace(-7.0, 7.0, 141).reshape(3, 47)
    check(engine.gelu_forward, engine.gelu_backward, [x])


@pytest.mark.parametrize("bias", [True, False])
def test_dense_backward(bias):
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((4, 6)), rng.standard_normal((3, 6)), rng.standard_normal(3)
    if bias:
        check(engine.dense_forward, engine.dense_backward, [x, w, b])
    else:  # (dx, dw, None): no bias, no db; the two gradients there are are checked
        _, cache = engine.dense_forward(x, w)
        assert engine.dense_backward(np.ones((4, 3)), cache)[2] is None
        check(engine.dense_forward, lambda dout, cache: engine.dense_backward(dout, cache)[:2],
              [x, w])


def test_check_notices_a_backward_that_forgets_a_gradient():
    rng = np.random.default_rng(10)
    x, w, b = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal(4)
    forgetful = lambda dout, cache: engine.dense_backward(dout, cache)[:2]  # noqa: E731  no db
    with pytest.raises(ValueError, match="zip"):
        check(engine.dense_forward, forgetful, [x, w, b])
    absent = lambda dout, cache: (*engine.dense_backward(dout, cache)[:2], None)  # noqa: E731
    with pytest.raises(AssertionError):
        check(engine.dense_forward, absent, [x, w, b])


@pytest.mark.parametrize(("shape", "axis"), [((4, 5), -1), ((2, 3, 4), 1), ((3, 4), 0)])
def test_softmax_backward(shape, axis):
    x = np.random.default_rng(8).standard_normal(shape) * 3
    check(lambda x: engine.softmax_forward(x, axis), engine.softmax_backward, [x])


@pytest.mark.parametrize("dloss", [1.0, 2.5])
def test_cross_entropy_backward(dloss):
    rng = np.random.default_rng(9)
    logits, labels = rng.standard_normal((5, 4)) * 2, np.array([0, 3, 1, 1, 2])
    _, cache = engine.cross_entropy_forward(logits, labels)
    numeric = numeric_gradient(
        lambda: dloss * engine.cross_entropy_forward(logits, labels)[0], logits
    )
    assert_close(engine.cross_entropy_backward(cache, dloss), numeric)
