"""Degradation, as the ResNet paper meant it: plain networks with He initialisation and
BatchNorm, shallow and deep, against the deep one with identity shortcuts.

He, Zhang, Ren & Sun (2015) trained plain networks of 18 and 34 layers with BatchNorm
after every convolution and He initialisation, checked that their gradients did not
vanish, and still found the deeper one had the *higher training error*: "degradation".
:mod:`course.nettrain_compare` shows something else (vanishing gradients of a plain
network initialised with std ``1/sqrt(fan_in)`` and no normalisation). Here each hidden
layer is ``relu(BN(W h))``, weights drawn from a normal with std ``sqrt(2 / fan_in)``
(He), BatchNorm's ``gamma`` 1 and ``beta`` 0; a residual block is
``h = relu(BN(W_b relu(BN(W_a h))) + h)``, as the paper's basic block.

Training uses each mini-batch's statistics (and updates running estimates, momentum
0.9 as ONNX); the loss and accuracy curves use the running estimates, as a trained
network is used. Plain SGD on the binary cross-entropy, float64, deterministic given
the seed; the plain and residual networks of the same depth start from the same weights.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from course.datasets2d import Split, feature_columns
from course.nettrain import _batch_order, _bce
from course.nettrain_compare import RunCurve
from course.nettrain_views import grid_points
from engine.ops.activations import relu_backward, relu_forward, sigmoid_forward
from engine.ops.batchnorm import batchnorm_backward, batchnorm_forward
from engine.ops.dense import cross_entropy_backward, dense_backward, dense_forward

__all__ = ["BNNet", "bn_net_backward", "bn_net_forward", "compare_depth_bn", "init_bn_net"]


class BNNet(NamedTuple):
    """Hidden layers ``relu(BN(W h))`` then one output neuron ``z = W_out h + b_out``.

    ``weights[l]`` is ``(out, in)``; ``gammas``, ``betas``, ``means``, ``variances`` hold
    one ``(width,)`` vector per hidden layer; ``skip``: identity shortcut around every
    pair of hidden layers after the first.
    """

    weights: list[np.ndarray]
    gammas: list[np.ndarray]
    betas: list[np.ndarray]
    means: list[np.ndarray]
    variances: list[np.ndarray]
    out_bias: np.ndarray
    skip: bool

    @property
    def params(self) -> list[np.ndarray]:
        """What SGD updates: every weight matrix, gamma and beta, and the output bias."""
        return [*self.weights, *self.gammas, *self.betas, self.out_bias]

    def with_params(self, params: list[np.ndarray]) -> BNNet:
        n = len(self.weights)
        h = len(self.gammas)
        return self._replace(weights=params[:n], gammas=params[n : n + h],
                             betas=params[n + h : n + 2 * h], out_bias=params[-1])


def init_bn_net(n_inputs: int, width: int, layers: int, seed: int, *, skip: bool) -> BNNet:
    """``layers`` weight layers (``layers - 1`` hidden of ``width``), He initialisation.

    ``layers`` must be even (an input layer, pairs of hidden layers, the output layer)
    when ``skip`` is set. The draw depends only on ``(n_inputs, width, layers, seed)``.
    """
    if layers < 2 or width < 1:
        raise ValueError(f"need at least 2 layers and width 1, got {layers} layers of {width}")
    if skip and layers % 2:
        raise ValueError(f"a residual network needs an even number of layers, got {layers}")
    rng = np.random.default_rng([seed, 3])
    sizes = [n_inputs] + [width] * (layers - 1) + [1]
    weights = [rng.normal(0.0, np.sqrt(2.0 / i), size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    hidden = layers - 1
    return BNNet(weights, [np.ones(width) for _ in range(hidden)], [np.zeros(width) for _ in range(hidden)],
                 [np.zeros(width) for _ in range(hidden)], [np.ones(width) for _ in range(hidden)],
                 np.zeros(1), skip)


def bn_net_forward(net: BNNet, x: np.ndarray, *, training: bool) -> tuple[np.ndarray, list, BNNet]:
    """Logits ``(N, 1)``, the caches for :func:`bn_net_backward`, and the network with its
    running statistics updated (training) or unchanged (inference)."""
    means, variances = list(net.means), list(net.variances)
    caches: list = []
    h = block_in = x
    for i in range(len(net.gammas)):
        if i % 2 == 1:
            block_in = h  # a pair of layers starts here; its shortcut carries this
        z, dc = dense_forward(h, net.weights[i], None)
        y, bc, (means[i], variances[i]) = batchnorm_forward(
            z, net.gammas[i], net.betas[i], net.means[i], net.variances[i], training=training)
        shortcut = net.skip and i >= 1 and i % 2 == 0  # the second layer of a pair
        h, rc = relu_forward(y + block_in if shortcut else y)
        caches.append((dc, bc, rc, shortcut))
    z, dc = dense_forward(h, net.weights[-1], net.out_bias)
    caches.append(dc)
    return z, caches, net._replace(means=means, variances=variances)


def bn_net_backward(dz: np.ndarray, caches: list) -> list[np.ndarray]:
    """Gradients in the order of :attr:`BNNet.params`."""
    dh, dw_out, db_out = dense_backward(dz, caches[-1])
    dws: list[np.ndarray] = [dw_out]
    dgs: list[np.ndarray] = []
    dbs: list[np.ndarray] = []
    pending = None  # the gradient that skips a pair and joins its input
    for dc, bc, rc, shortcut in reversed(caches[:-1]):
        dsum = relu_backward(dh, rc)
        dz, dg, db = batchnorm_backward(dsum, bc)
        dh, dw, _ = dense_backward(dz, dc)
        if shortcut:
            pending = dsum  # flows straight to this pair's input
        elif pending is not None:
            dh, pending = dh + pending, None
        dws.insert(0, dw)
        dgs.insert(0, dg)
        dbs.insert(0, db)
    assert db_out is not None
    return [*dws, *dgs, *dbs, db_out]


def _run(net: BNNet, split: Split, xtr: np.ndarray, xte: np.ndarray, *, steps: int, lr: float,
         batch_size: int, seed: int, resolution: int, features: list[str], label: str) -> RunCurve:
    y = split.y_train
    n = xtr.shape[0]
    every = max(1, steps // 100)

    def loss_of(m: BNNet) -> float:
        loss, _ = _bce(bn_net_forward(m, xtr, training=False)[0], y)
        return float(loss) if np.isfinite(loss) else float("nan")

    loss_steps, losses = [0], [loss_of(net)]
    grad_sum = np.zeros(len(net.weights))
    epoch, cursor, order = 0, 0, _batch_order(seed, 0, n)
    with np.errstate(all="ignore"):
        for s in range(1, steps + 1):
            idx = order[cursor : cursor + batch_size]
            if len(idx) < 2:  # BatchNorm needs two values per channel; start the next epoch
                epoch, cursor = epoch + 1, 0
                order = _batch_order(seed, epoch, n)
                idx = order[:batch_size]
            z, caches, net = bn_net_forward(net, xtr[idx], training=True)
            _, ce = _bce(z, y[idx])
            grads = bn_net_backward(cross_entropy_backward(ce)[:, 1:], caches)
            grad_sum += [np.abs(g).mean() for g in grads[: len(net.weights)]]
            net = net.with_params([p - lr * g for p, g in zip(net.params, grads, strict=True)])
            if s % every == 0 or s == steps:
                loss_steps.append(s)
                losses.append(loss_of(net))
            cursor += len(idx)
            if cursor >= n:
                epoch, cursor = epoch + 1, 0
                order = _batch_order(seed, epoch, n)
        z_tr = bn_net_forward(net, xtr, training=False)[0]
        z_te = bn_net_forward(net, xte, training=False)[0]
        grid = feature_columns(grid_points(resolution), features)
        surface, _ = sigmoid_forward(bn_net_forward(net, grid, training=False)[0][:, 0])
    return RunCurve(
        label, np.array(loss_steps), np.array(losses), grad_sum / max(steps, 1),
        float(np.mean((z_tr[:, 0] > 0) == (y == 1))),
        float(np.mean((z_te[:, 0] > 0) == (split.y_test == 1))) if len(split.y_test) else 1.0,
        surface.reshape(resolution, resolution),
    )


def compare_depth_bn(
    split: Split,
    features: list[str],
    *,
    width: int = 8,
    shallow: int = 4,
    deep: int = 20,
    steps: int = 300,
    lr: float = 0.1,
    batch_size: int = 10,
    seed: int = 0,
    resolution: int = 20,
) -> list[RunCurve]:
    """Plain ``shallow`` layers, plain ``deep`` layers, and ``deep`` layers with shortcuts,
    each with He initialisation and BatchNorm, on the same data and batches."""
    xtr = feature_columns(split.x_train, features)
    xte = feature_columns(split.x_test, features)
    runs = []
    for layers, skip in ((shallow, False), (deep, False), (deep, True)):
        net = init_bn_net(xtr.shape[1], width, layers, seed, skip=skip)
        label = f"{'residual' if skip else 'plain'}, {layers} layers"
        runs.append(_run(net, split, xtr, xte, steps=steps, lr=lr, batch_size=batch_size, seed=seed,
                         resolution=resolution, features=features, label=label))
    return runs


def depth_findings(shallow_loss: float, plain_loss: float, residual_loss: float,
                   shallow_grad: float, plain_grad: float, nobn_grad: float,
                   nobn_accuracy: float) -> dict[str, bool | float | None]:
    """What one depth experiment showed, for the page to say (never assumed): layer-1
    gradient ratios of the deep plain network (with BatchNorm, and without) to the shallow
    one's, and whether the deep plain network ended clearly worse (loss over 1.5x the
    shallow one's: degradation), the residual one better than the plain one, a gradient
    vanished (under 1/100 of the shallow network's), the no-BatchNorm network learned
    (training accuracy 75% or more)."""
    def ratio(a: float, b: float) -> float | None:
        return float(a / b) if b > 0 and np.isfinite(a) and np.isfinite(b) else None

    plain_ratio = ratio(plain_grad, shallow_grad)
    nobn_ratio = ratio(nobn_grad, shallow_grad)
    finite = all(np.isfinite(v) for v in (shallow_loss, plain_loss, residual_loss))
    return {
        "plain_gradient_ratio": plain_ratio,
        "nobn_gradient_ratio": nobn_ratio,
        "plain_gradient_vanished": plain_ratio is not None and plain_ratio < 0.01,
        "nobn_gradient_vanished": nobn_ratio is not None and nobn_ratio < 0.01,
        "degraded": finite and plain_loss > 1.5 * shallow_loss,
        "residual_better": finite and residual_loss < plain_loss,
        "nobn_learned": nobn_accuracy >= 0.75,
    }
