"""The dropout and BatchNorm lessons (course.regularise) against the engine's ops and
hand-written NumPy, in training and at inference."""

from __future__ import annotations

import numpy as np
import pytest

from course import regularise as R


def test_dropout_training_keeps_scales_and_routes_the_gradient():
    ex = R.DROPOUT_EXAMPLE
    r = R.dropout_lesson(ex["x"], 0.5, training=True, seed=1, dout=[0.5] * 8)
    keep = np.array(r.keep)
    x = np.array(ex["x"])
    assert r.scale == 2.0 and r.kept == keep.sum() and 0 < r.kept < 8
    np.testing.assert_allclose(r.y, np.where(keep, 2 * x, 0.0))
    np.testing.assert_allclose(r.dx, np.where(keep, 1.0, 0.0))  # 0.5 * 2 where kept
    again = R.dropout_lesson(ex["x"], 0.5, training=True, seed=1)
    assert again.keep == r.keep  # same seed, same mask
    assert R.dropout_lesson(ex["x"], 0.5, training=True, seed=2).keep != r.keep


def test_dropout_mean_over_masks_tends_to_the_input():
    x = np.array(R.DROPOUT_EXAMPLE["x"])
    for ratio in (0.2, 0.5, 0.8):
        r = R.dropout_lesson(x, ratio, training=True, seed=3)
        # Each average is of MASK_DRAWS values x/(1-p) or 0: standard error x*sqrt(p/(1-p)/n).
        tol = 5 * x * np.sqrt(ratio / (1 - ratio) / r.draws) + 1e-12
        assert np.all(np.abs(np.array(r.mean_over_masks) - x) <= tol), ratio


def test_dropout_at_inference_is_the_identity():
    x = [0.5, -2.0, 3.0]
    r = R.dropout_lesson(x, 0.8, training=False, seed=0, dout=[1.0, 2.0, 3.0])
    assert r.y == x and r.dx == [1.0, 2.0, 3.0] and all(r.keep) and r.mean_over_masks == x


def test_batchnorm_training_uses_batch_statistics():
    ex = R.BATCHNORM_EXAMPLE
    x = np.array(ex["x"])
    gamma, beta = np.array([2.0, 0.5]), np.array([1.0, -1.0])
    r = R.batchnorm_lesson(x, gamma, beta, ex["running_mean"], ex["running_var"], training=True, dout=ex["dout"])
    mu, var = x.mean(0), x.var(0)
    xhat = (x - mu) / np.sqrt(var + 1e-5)
    np.testing.assert_allclose(r.batch_mean, mu)
    np.testing.assert_allclose(r.used_var, var)
    np.testing.assert_allclose(r.xhat, xhat)
    np.testing.assert_allclose(r.y, gamma * xhat + beta)
    np.testing.assert_allclose(np.mean(r.xhat, 0), 0, atol=1e-12)
    np.testing.assert_allclose(r.running_mean, 0.9 * np.array(ex["running_mean"]) + 0.1 * mu)
    np.testing.assert_allclose(r.running_var, 0.9 * np.array(ex["running_var"]) + 0.1 * var)
    g = np.array(ex["dout"])
    np.testing.assert_allclose(r.dbeta, g.sum(0))
    np.testing.assert_allclose(r.dgamma, (g * xhat).sum(0))
    # dL/dx by the training-mode formula (the batch statistics depend on x).
    m = x.shape[0]
    dx = gamma / np.sqrt(var + 1e-5) * (g - g.mean(0) - xhat * (g * xhat).mean(0))
    np.testing.assert_allclose(r.dx, dx, rtol=1e-9, atol=1e-12)
    assert m == 4


def test_batchnorm_inference_uses_the_running_estimates_and_moves_nothing():
    ex = R.BATCHNORM_EXAMPLE
    x = np.array(ex["x"])
    rm, rv = np.array([3.0, 200.0]), np.array([2.0, 400.0])
    r = R.batchnorm_lesson(x, [1.0, 1.0], [0.0, 0.0], rm, rv, training=False)
    np.testing.assert_allclose(r.y, (x - rm) / np.sqrt(rv + 1e-5))
    assert r.running_mean == rm.tolist() and r.running_var == rv.tolist()
    np.testing.assert_allclose(r.dx, np.ones_like(x) / np.sqrt(rv + 1e-5))
    # One example alone: the same output as in the batch (nothing depends on the others).
    one = R.batchnorm_lesson(x[:1], [1.0, 1.0], [0.0, 0.0], rm, rv, training=False)
    np.testing.assert_allclose(one.y, np.array(r.y)[:1])
    assert one.batch_mean is None


def test_training_steps_bring_the_running_estimates_to_the_batch():
    ex = R.BATCHNORM_EXAMPLE
    rm, rv = ex["running_mean"], ex["running_var"]
    for _ in range(60):
        r = R.batchnorm_lesson(ex["x"], ex["gamma"], ex["beta"], rm, rv, training=True)
        rm, rv = r.running_mean, r.running_var
    np.testing.assert_allclose(rm, r.batch_mean, rtol=0.01)
    np.testing.assert_allclose(rv, r.batch_var, rtol=0.01)


@pytest.mark.parametrize("call,match", [
    (lambda: R.batchnorm_lesson([[1.0, 2.0]], [1, 1], [0, 0], [0, 0], [1, 1], training=True), "more than one value"),
    (lambda: R.batchnorm_lesson([[1.0, 2.0], [3.0]], [1, 1], [0, 0], [0, 0], [1, 1], training=True), "same number"),
    (lambda: R.batchnorm_lesson([[1.0], [2.0]], [1, 1], [0], [0], [1], training=True), "one value per channel"),
    (lambda: R.batchnorm_lesson([[1.0], [2.0]], [1], [0], [0], [-1], training=False), "not be negative"),
    (lambda: R.dropout_lesson([1.0, 2.0], 1.0, training=True, seed=0), "ratio"),
    (lambda: R.dropout_lesson([1.0, 2.0], 0.5, training=True, seed=0, dout=[1.0]), "length"),
    (lambda: R.dropout_lesson([], 0.5, training=True, seed=0), "1 to 64"),
])
def test_bad_input_is_a_value_error(call, match):
    with pytest.raises(ValueError, match=match):
        call()
