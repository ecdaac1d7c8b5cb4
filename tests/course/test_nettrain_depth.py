"""Degradation with He initialisation and BatchNorm (course.nettrain_depth): the backward
pass against numeric gradients, and the effect the /train page shows, measured."""

from __future__ import annotations

import numpy as np
import pytest

from course import nettrain_compare, nettrain_depth
from course.datasets2d import split_dataset
from tests.engine.gradcheck import numeric_gradient, rel_error


@pytest.mark.parametrize("skip", [False, True])
def test_bn_net_backward_matches_numeric(skip):
    rng = np.random.default_rng(int(skip))
    net = nettrain_depth.init_bn_net(2, 3, 6, seed=1, skip=skip)
    net = net._replace(gammas=[g + rng.normal(0, 0.3, g.shape) for g in net.gammas],
                       betas=[b + rng.normal(0, 0.3, b.shape) for b in net.betas])
    params = net.params
    x = rng.normal(size=(7, 2))
    dz = rng.normal(size=(7, 1))
    _, caches, _ = nettrain_depth.bn_net_forward(net, x, training=True)
    grads = nettrain_depth.bn_net_backward(dz, caches)
    assert len(grads) == len(params)

    def loss():
        return float((nettrain_depth.bn_net_forward(net.with_params(params), x, training=True)[0] * dz).sum())

    for g, p in zip(grads, params, strict=True):
        assert rel_error(g, numeric_gradient(loss, p)) < 1e-5


def test_shortcut_adds_the_pair_input():
    """With the second layer of each pair silenced (gamma = beta = 0), a residual block
    passes relu(its input) on; the plain network passes zeros."""
    x = np.random.default_rng(0).normal(size=(5, 2))
    for skip in (False, True):
        net = nettrain_depth.init_bn_net(2, 4, 4, seed=2, skip=skip)
        net = net._replace(gammas=[net.gammas[0], net.gammas[1], np.zeros(4)],
                           betas=[net.betas[0], net.betas[1], np.zeros(4)])
        z_full = nettrain_depth.bn_net_forward(net, x, training=True)[0]
        first = net._replace(weights=[*net.weights[:1], net.weights[-1]], gammas=net.gammas[:1],
                             betas=net.betas[:1], means=net.means[:1], variances=net.variances[:1], skip=False)
        z_first = nettrain_depth.bn_net_forward(first, x, training=True)[0]
        if skip:
            np.testing.assert_allclose(z_full, z_first)
        else:
            np.testing.assert_allclose(z_full, np.broadcast_to(net.out_bias, z_full.shape))


def test_bad_shapes_are_value_errors():
    with pytest.raises(ValueError, match="even number"):
        nettrain_depth.init_bn_net(2, 8, 5, seed=0, skip=True)
    with pytest.raises(ValueError, match="at least 2 layers"):
        nettrain_depth.init_bn_net(2, 8, 1, seed=0, skip=False)


def test_degradation_is_not_vanishing_gradients():
    """The page's default (circle, seed 4, 300 steps, lr 0.1): with He initialisation and
    BatchNorm the plain 20-layer network's gradients are as large as the 4-layer one's,
    yet it ends with a much higher training loss; the residual 20-layer one does not.
    Without BatchNorm (std 1/sqrt(fan_in)) the same 20 layers' gradients vanish."""
    split = split_dataset("circle", noise=0.0, train_ratio=0.5, seed=4)
    shallow, plain, residual = nettrain_depth.compare_depth_bn(split, ["x1", "x2"], steps=300, lr=0.1, seed=4)
    assert (shallow.label, plain.label, residual.label) == (
        "plain, 4 layers", "plain, 20 layers", "residual, 20 layers")
    assert [len(r.grad_means) for r in (shallow, plain, residual)] == [4, 20, 20]
    assert plain.grad_means[0] > shallow.grad_means[0] / 2 and plain.grad_means.min() > 1e-3
    assert plain.losses[-1] > 3 * shallow.losses[-1]  # measured 0.486 against 0.091
    assert residual.losses[-1] < 2 * shallow.losses[-1]  # measured 0.124
    assert plain.train_accuracy < residual.train_accuracy
    no_bn = nettrain_compare.compare_depth(split, ["x1", "x2"], steps=300, lr=0.1, seed=4)[1]
    assert no_bn.grad_means[0] < 1e-4 < plain.grad_means[0]


def test_degradation_holds_over_seeds():
    """Not one lucky seed: over seeds 0-3 on the circle and XOR data the plain 20-layer
    network ends above the plain 4-layer one every time (measured: 3 to 16 times higher)."""
    for name in ("circle", "xor"):
        for seed in range(4):
            split = split_dataset(name, noise=0.0, train_ratio=0.5, seed=seed)
            shallow, plain, _ = nettrain_depth.compare_depth_bn(split, ["x1", "x2"], steps=300, lr=0.1,
                                                                seed=seed, resolution=2)
            assert plain.losses[-1] > 1.5 * shallow.losses[-1], (name, seed)


def test_findings_say_what_the_numbers_show():
    from course.nettrain_depth import depth_findings

    degraded = depth_findings(0.09, 0.49, 0.12, 0.10, 0.08, 2.5e-6, 0.5)
    assert degraded["degraded"] and degraded["residual_better"]
    assert not degraded["plain_gradient_vanished"] and degraded["nobn_gradient_vanished"]
    assert not degraded["nobn_learned"] and abs(degraded["plain_gradient_ratio"] - 0.8) < 1e-9
    same = depth_findings(0.10, 0.12, 0.20, 0.10, 1e-4, 0.05, 0.9)
    assert not same["degraded"] and not same["residual_better"]
    assert same["plain_gradient_vanished"] and not same["nobn_gradient_vanished"] and same["nobn_learned"]
    nan = depth_findings(0.1, float("nan"), 0.1, 0.0, 0.1, 0.1, 0.5)
    assert not nan["degraded"] and nan["plain_gradient_ratio"] is None
