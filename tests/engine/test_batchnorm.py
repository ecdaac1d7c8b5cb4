"""Batch norm and dropout: numeric gradients, running statistics, and onnxruntime parity."""

from __future__ import annotations

import numpy as np
import pytest

from engine.ops.batchnorm import batchnorm_backward, batchnorm_forward
from engine.ops.dropout import dropout_backward, dropout_forward
from tests.engine.gradcheck import numeric_gradient, rel_error


def _stats(c, seed):
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 1.5, c), rng.standard_normal(c), rng.standard_normal(c) * 0.1,
            rng.uniform(0.5, 2.0, c))


@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 4, 5), (2, 3, 1, 7), (5, 1, 3, 2)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_matches_numeric_gradients(shape, training):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape) * 2 + 0.5
    gamma, beta, mean, var = _stats(shape[1], 2)
    dout = rng.standard_normal(shape)

    def loss():
        out, _, _ = batchnorm_forward(x, gamma, beta, mean, var, training=training)
        return float(np.sum(out * dout))

    _, cache, _ = batchnorm_forward(x, gamma, beta, mean, var, training=training)
    dx, dgamma, dbeta = batchnorm_backward(dout, cache)
    for array, grad in zip((x, gamma, beta), (dx, dgamma, dbeta), strict=True):
        assert grad.shape == array.shape
        assert rel_error(grad, numeric_gradient(loss, array)) < 1e-6


def test_batchnorm_training_normalises_per_channel_and_updates_running_stats():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((8, 3, 4, 4)) * [[[[1.0]], [[3.0]], [[0.5]]]] + 2).astype(np.float32)
    gamma, beta = np.ones(3, np.float32), np.zeros(3, np.float32)
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    out, _, (new_mean, new_var) = batchnorm_forward(x, gamma, beta, mean, var, training=True,
                                                    momentum=0.9)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), 1, rtol=1e-3)
    np.testing.assert_allclose(new_mean, 0.1 * x.mean(axis=(0, 2, 3)), rtol=1e-5)
    np.testing.assert_allclose(new_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)), rtol=1e-5)
    # inference mode leaves the statistics alone and uses them
    out, _, running = batchnorm_forward(x, gamma, beta, new_mean, new_var)
    assert running[0] is new_mean
    expected = (x - new_mean[None, :, None, None]) / np.sqrt(new_var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_batchnorm_inference_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    stats = [s.astype(np.float32) for s in _stats(3, 5)]
    names = ["scale", "bias", "mean", "var"]
    node = helper.make_node("BatchNormalization", ["x", *names], ["y"], epsilon=1e-3)
    graph = helper.make_graph(
        [node], "bn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)],
        [numpy_helper.from_array(s, n) for s, n in zip(stats, names, strict=True)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = sess.run(None, {"x": x})[0]
    out, _, _ = batchnorm_forward(x, *stats, epsilon=1e-3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "shapes"),
    [({}, [(2, 3), (3,), (3,), (3,), (2,)]), ({}, [(2, 3, 4), (3,), (3,), (3,), (3,)]),
     ({"training": True}, [(1, 3), (3,), (3,), (3,), (3,)]),
     ({"momentum": 1.5}, [(2, 3), (3,), (3,), (3,), (3,)])],
)
def test_batchnorm_rejects_bad_arguments(kwargs, shapes):
    arrays = [np.ones(s) for s in shapes]
    with pytest.raises(ValueError):
        batchnorm_forward(*arrays, **kwargs)


def test_dropout_is_inverted_and_routes_gradients_through_kept_values():
    x = np.ones((200, 50), np.float32)
    out, cache = dropout_forward(x, 0.25, training=True, rng=np.random.default_rng(6))
    assert out.dtype == np.float32
    kept = out != 0
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert abs(kept.mean() - 0.75) < 0.02  # 10,000 draws
    dout = np.random.default_rng(7).standard_normal(x.shape).astype(np.float32)
    dx = dropout_backward(dout, cache)
    np.testing.assert_array_equal(dx[~kept], 0)
    np.testing.assert_allclose(dx[kept], dout[kept] / 0.75, rtol=1e-6)
    # the same generator state gives the same mask
    again, _ = dropout_forward(x, 0.25, training=True, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(out, again)


def test_dropout_backward_matches_numeric_gradients_for_a_fixed_mask():
    x = np.random.default_rng(8).standard_normal((4, 6))
    dout = np.random.default_rng(9).standard_normal((4, 6))

    def forward():
        return dropout_forward(x, 0.5, training=True, rng=np.random.default_rng(10))

    _, cache = forward()
    numeric = numeric_gradient(lambda: float(np.sum(forward()[0] * dout)), x)
    assert rel_error(dropout_backward(dout, cache), numeric) < 1e-6


def test_dropout_at_inference_or_rate_zero_is_the_identity():
    x = np.arange(6.0).reshape(2, 3)
    for kwargs in ({"training": False}, {"training": True, "rng": None}):
        out, cache = dropout_forward(x, 0.0 if kwargs.get("training") else 0.5, **kwargs)
        assert out is x or np.array_equal(out, x)
        assert dropout_backward(np.ones_like(x), cache) is not None
    with pytest.raises(ValueError):
        dropout_forward(x, 1.0, training=True, rng=np.random.default_rng(0))
    with pytest.raises(ValueError):
        dropout_forward(x, 0.5, training=True)
