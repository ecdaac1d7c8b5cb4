"""Training on the engine: a step equals a hand-written step, gradients equal numeric ones,
runs are reproducible, the default network learns the circle, sigmoid gradients vanish."""

from __future__ import annotations

import numpy as np
import pytest

from course import backprop_steps, nettrain, nettrain_compare, nettrain_views
from course.datasets2d import (
    DATASETS,
    EXTENT,
    FEATURES,
    Split,
    feature_columns,
    make_dataset,
    split_dataset,
)
from tests.engine.gradcheck import EPS, numeric_gradient, rel_error


def tiny_split(seed=0, n=8):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, (n, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return Split(x, y, x[:3], y[:3])


# --- data -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("noise", [0.0, 0.3, 0.5])
def test_datasets_deterministic_bounded_two_classes(name, noise):
    a, la = make_dataset(name, n=500, noise=noise, seed=7)
    b, lb = make_dataset(name, n=500, noise=noise, seed=7)
    c, _ = make_dataset(name, n=500, noise=noise, seed=8)
    assert a.shape == (500, 2) and la.shape == (500,)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(a, c)
    assert np.abs(a).max() <= EXTENT
    assert set(np.unique(la)) == {0, 1}
    assert 0.25 < la.mean() < 0.75


def test_circle_labels_follow_radius_without_noise():
    x, y = make_dataset("circle", n=500, noise=0.0, seed=3)
    r = np.hypot(x[:, 0], x[:, 1])
    np.testing.assert_array_equal(y, (r < 2.5).astype(np.int64))
    assert ((r < 2.5) | (r >= 3.5)).all()  # the gap between the disc and the ring


def test_xor_labels_and_noise_flips_some():
    x, y = make_dataset("xor", n=500, noise=0.0, seed=1)
    np.testing.assert_array_equal(y, (x[:, 0] * x[:, 1] >= 0).astype(np.int64))
    xn, yn = make_dataset("xor", n=500, noise=0.5, seed=1)
    wrong = np.mean(yn != (xn[:, 0] * xn[:, 1] >= 0))
    assert 0.02 < wrong < 0.5


def test_split_ratio_and_features():
    s = split_dataset("spiral", n=500, noise=0.1, train_ratio=0.3, seed=2)
    assert len(s.y_train) == 150 and len(s.y_test) == 350
    cols = feature_columns(np.array([[1.0, -2.0]]), list(FEATURES))
    np.testing.assert_allclose(cols[0], [1, -2, 1, 4, -2, np.sin(1), np.sin(-2)])
    with pytest.raises(ValueError, match="unknown feature"):
        feature_columns(np.zeros((1, 2)), ["x3"])
    with pytest.raises(ValueError, match="unknown data set"):
        make_dataset("moons")


# --- one step by hand -------------------------------------------------------------------


def hand_step(x, y, w1, b1, w2, b2, lr, reg="none", rate=0.0):
    """A 2-2-1 network, tanh hidden, sigmoid output, mean BCE, written out in NumPy."""
    z1 = x @ w1.T + b1
    h = np.tanh(z1)
    z2 = h @ w2.T + b2
    p = 1 / (1 + np.exp(-z2[:, 0]))
    n = len(y)
    dz2 = ((p - y) / n)[:, None]  # d(mean BCE)/dz for a sigmoid output
    dw2 = dz2.T @ h
    db2 = dz2.sum(0)
    dh = dz2 @ w2
    dz1 = dh * (1 - h**2)
    dw1 = dz1.T @ x
    db1 = dz1.sum(0)
    if reg == "l2":
        dw1, dw2 = dw1 + rate * w1, dw2 + rate * w2
    if reg == "l1":
        dw1, dw2 = dw1 + rate * np.sign(w1), dw2 + rate * np.sign(w2)
    return (w1 - lr * dw1, b1 - lr * db1, w2 - lr * dw2, b2 - lr * db2), (dw1, db1, dw2, db2)


@pytest.mark.parametrize("reg,rate", [("none", 0.0), ("l2", 0.1), ("l1", 0.05)])
def test_train_step_equals_hand_computed_step(reg, rate):
    split = tiny_split()
    net = nettrain.init_network(2, [2], "tanh", seed=5)
    res = nettrain.train_steps(
        net, split, ["x1", "x2"], lr=0.3, batch_size=8, steps=1, seed=5, reg=reg, reg_rate=rate
    )
    (w1, b1, w2, b2), (dw1, db1, dw2, db2) = hand_step(
        split.x_train, split.y_train, *net.weights[:1], *net.biases[:1], net.weights[1], net.biases[1],
        0.3, reg, rate,
    )
    got = res.network
    for a, b in zip((*got.weights, *got.biases), (w1, w2, b1, b2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip((*res.grad_weights, *res.grad_biases), (dw1, dw2, db1, db2), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(res.weights_before, net.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert res.state == nettrain.TrainState(epoch=1, cursor=0, step=1)
    # The reported loss is the training-set loss after the update.
    loss, _ = nettrain.evaluate(got, split.x_train, split.y_train)
    assert res.history == [(1, 1, pytest.approx(loss), pytest.approx(res.history[0][3]))]


@pytest.mark.parametrize("activation", list(nettrain.ACTIVATIONS))
@pytest.mark.parametrize("hidden", [[3], [4, 2], [2, 3, 2]])
def test_gradients_match_numeric(activation, hidden):
    rng = np.random.default_rng(len(hidden))
    x = rng.normal(size=(6, 3))
    y = rng.integers(0, 2, 6)
    net = nettrain.init_network(3, hidden, activation, seed=3, scheme="xavier")
    net = nettrain.Network(
        [w + rng.normal(0, 0.3, w.shape) for w in net.weights],
        [b + rng.normal(0, 0.3, b.shape) for b in net.biases],
        activation,
    )
    _, dws, dbs = nettrain.batch_loss_and_grads(net, x, y)

    def loss():
        return nettrain.batch_loss_and_grads(net, x, y)[0]

    for analytic, array in zip((*dws, *dbs), (*net.weights, *net.biases), strict=True):
        assert rel_error(analytic, numeric_gradient(loss, array)) < 1e-6


def test_l2_adds_rate_times_weight():
    split = tiny_split()
    net = nettrain.init_network(2, [4, 2], "tanh", seed=1)
    _, plain, _ = nettrain.batch_loss_and_grads(net, split.x_train, split.y_train)
    _, l2, _ = nettrain.batch_loss_and_grads(net, split.x_train, split.y_train, "l2", 0.25)
    for a, b, w in zip(l2, plain, net.weights, strict=True):
        np.testing.assert_allclose(a - b, 0.25 * w, atol=1e-15)


# --- reproducibility, convergence, divergence -------------------------------------------


def run(split, steps, chunks, seed=1, **kw):
    net = nettrain.init_network(2, [4, 2], "tanh", seed=seed)
    state = nettrain.TrainState()
    history = []
    for _ in range(chunks):
        res = nettrain.train_steps(net, split, ["x1", "x2"], lr=0.03, batch_size=10, steps=steps,
                                   state=state, seed=seed, **kw)
        net, state = res.network, res.state
        history += res.history
    return net, state, history


def test_fixed_seed_gives_identical_runs_however_split_into_calls():
    split = split_dataset("xor", noise=0.1, seed=1)
    a = run(split, 50, 2)
    b = run(split, 50, 2)
    c = run(split, 10, 10)
    for other in (b, c):
        for wa, wb in zip(a[0].weights + a[0].biases, other[0].weights + other[0].biases, strict=True):
            np.testing.assert_array_equal(wa, wb)
        assert a[1] == other[1] and a[2] == other[2]
    assert a[1] == nettrain.TrainState(epoch=4, cursor=0, step=100)
    d = run(split, 50, 2, seed=2)
    assert not np.array_equal(a[0].weights[0], d[0].weights[0])


@pytest.mark.parametrize("seed", [0, 1])
def test_default_network_learns_the_circle(seed):
    """tanh, 4-2, lr 0.03, batch 10, x1 x2, circle without noise: >= 95% test accuracy.

    500 TF-Playground epochs would be 12,500 updates; it needs far fewer: at most
    2,500 mini-batch updates (100 epochs of 250 training points).
    """
    split = split_dataset("circle", noise=0.0, train_ratio=0.5, seed=seed)
    xte = feature_columns(split.x_test, ["x1", "x2"])
    net = nettrain.init_network(2, [4, 2], "tanh", seed=seed)
    state = nettrain.TrainState()
    start = nettrain.evaluate(net, xte, split.y_test)[1]
    best = 0.0
    while state.step < 2500 and best < 0.95:
        res = nettrain.train_steps(net, split, ["x1", "x2"], lr=0.03, batch_size=10, steps=50,
                                   state=state, seed=seed)
        net, state = res.network, res.state
        best = nettrain.evaluate(net, xte, split.y_test)[1]
    assert start < 0.8
    assert best >= 0.95, f"test accuracy {best:.3f} after {state.step} steps"


def test_divergence_stops_with_the_last_good_weights():
    split = split_dataset("circle", noise=0.0, seed=1)
    net = nettrain.init_network(2, [8, 8], "linear", seed=1)
    res = nettrain.train_steps(net, split, ["x1", "x2"], lr=10.0, batch_size=1, steps=50, seed=1)
    assert res.diverged
    assert res.state.step == len(res.history) < 50
    assert all(np.isfinite(w).all() and np.abs(w).max() <= nettrain.MAX_PARAM for w in res.network.weights)


def test_bad_arguments_raise_value_error():
    split = tiny_split()
    net = nettrain.init_network(2, [3], "tanh", seed=0)
    with pytest.raises(ValueError, match="features but the first layer takes 2"):
        nettrain.train_steps(net, split, ["x1", "x2", "x1^2"], lr=0.1, batch_size=2, steps=1)
    with pytest.raises(ValueError, match="cursor"):
        nettrain.train_steps(net, split, ["x1", "x2"], lr=0.1, batch_size=2, steps=1,
                             state=nettrain.TrainState(0, 99, 0))
    bad = nettrain.Network([net.weights[0], np.zeros((1, 2))], net.biases, "tanh")
    with pytest.raises(ValueError, match="layer 2 takes 2 inputs but layer 1 has 3"):
        nettrain.check_network(bad)


def test_node_grids_are_the_network_over_the_plane():
    net = nettrain.init_network(3, [4, 2], "tanh", seed=2)
    features = ["x1", "x2", "x1*x2"]
    nodes, prob = nettrain_views.node_grids(net, features, 20)
    assert nodes.shape == (3 + 4 + 2 + 1, 20, 20) and prob.shape == (20, 20)
    pts = nettrain_views.grid_points(20)
    np.testing.assert_allclose(pts[0], [-5.7, 5.7])  # top-left cell centre
    np.testing.assert_allclose(nodes[0].ravel(), pts[:, 0])
    np.testing.assert_allclose(nodes[2].ravel(), pts[:, 0] * pts[:, 1])
    z, _, _ = nettrain.forward(net, feature_columns(pts, features))
    np.testing.assert_allclose(prob.ravel(), 1 / (1 + np.exp(-z[:, 0])))
    np.testing.assert_allclose(nodes[-1], prob)


# --- backprop with every number ---------------------------------------------------------

MAZUR = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45,
         "b1": 0.35, "b2": 0.35, "b3": 0.60}


def test_backprop_example_known_values():
    r = backprop_steps.backprop_example((0.05, 0.10), 0.01, MAZUR, 0.5)
    assert r.nodes["h1"] == pytest.approx(0.593269992)
    assert r.nodes["y"] == pytest.approx(0.75136507)
    assert r.loss == pytest.approx(0.5 * (0.75136507 - 0.01) ** 2)
    lines = {line.param: line for line in r.lines}
    assert lines["w5"].gradient == pytest.approx(0.082167041)
    assert r.updated["w5"] == pytest.approx(0.35891648)
    assert [f for f, _ in lines["w1"].factors] == [
        "dL/dy = y - t", "dy/dz3 = y(1 - y)", "dz3/dh1 = w5", "dh1/dz1 = h1(1 - h1)", "dz1/dw1 = x1",
    ]
    assert r.new_loss < r.loss


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backprop_example_matches_numeric_gradient(seed):
    rng = np.random.default_rng(seed)
    params = {k: float(v) for k, v in zip(backprop_steps.TINY_PARAMS, rng.normal(0, 1.5, 9), strict=True)}
    x, t = tuple(rng.normal(0, 1, 2)), float(rng.uniform())
    r = backprop_steps.backprop_example(x, t, params, 0.7)

    def loss_with(name, value):
        return backprop_steps.backprop_example(x, t, {**params, name: value}, 0.7).loss

    for line in r.lines:
        numeric = (loss_with(line.param, params[line.param] + EPS)
                   - loss_with(line.param, params[line.param] - EPS)) / (2 * EPS)
        assert rel_error(line.gradient, numeric) < 1e-6 or abs(line.gradient - numeric) < 1e-10
        assert line.product == pytest.approx(line.gradient, rel=1e-12, abs=1e-15)
        assert r.updated[line.param] == pytest.approx(params[line.param] - 0.7 * line.gradient)


# --- why ReLU, why ResNet ---------------------------------------------------------------


def test_sigmoid_gradients_vanish_in_a_deep_net_relu_trains():
    split = split_dataset("circle", noise=0.0, train_ratio=0.5, seed=4)
    runs = {r.label: r for r in nettrain_compare.compare_activations(
        split, ["x1", "x2"], hidden=[8] * 6, steps=300, lr=0.1, seed=4)}
    sig, relu = runs["sigmoid"], runs["relu"]
    assert len(sig.grad_means) == 7
    # First layer: sigmoid's gradient is orders of magnitude smaller than ReLU's ...
    assert sig.grad_means[0] < relu.grad_means[0] / 100
    # ... and shrinks layer by layer toward the input.
    assert sig.grad_means[0] < sig.grad_means[-1] / 1000
    assert np.all(np.diff(np.log(sig.grad_means)) > 0)
    # Same budget: ReLU's loss falls far, sigmoid's barely moves from log 2.
    assert relu.losses[-1] < 0.2 and sig.losses[-1] > 0.6
    assert relu.test_accuracy > 0.95
    assert sig.loss_steps[0] == 0 and sig.loss_steps[-1] == 300


def test_residual_network_trains_where_plain_deep_one_does_not():
    split = split_dataset("circle", noise=0.0, train_ratio=0.5, seed=4)
    shallow, plain, residual = nettrain_compare.compare_depth(split, ["x1", "x2"], steps=300, lr=0.1, seed=4)
    assert (shallow.label, plain.label, residual.label) == (
        "plain, 4 layers", "plain, 20 layers", "residual, 20 layers")
    assert len(plain.grad_means) == len(residual.grad_means) == 20
    assert plain.losses[-1] > 0.6
    assert residual.losses[-1] < 0.1 and residual.losses[-1] < shallow.losses[-1]
    assert plain.grad_means[0] < residual.grad_means[0] / 100


@pytest.mark.parametrize("skip", [False, True])
def test_resnet_backward_matches_numeric(skip):
    rng = np.random.default_rng(int(skip))
    params = nettrain_compare._resnet_init(2, 3, 2, seed=1, scheme="xavier")
    params = [p + rng.normal(0, 0.2, p.shape) for p in params]
    x = rng.normal(size=(5, 2))
    dz = rng.normal(size=(5, 1))
    z, caches = nettrain_compare.resnet_forward(params, x, skip)
    grads = nettrain_compare.resnet_backward(dz, caches, skip)

    def loss():
        return float((nettrain_compare.resnet_forward(params, x, skip)[0] * dz).sum())

    for g, p in zip(grads, params, strict=True):
        assert rel_error(g, numeric_gradient(loss, p)) < 1e-6
