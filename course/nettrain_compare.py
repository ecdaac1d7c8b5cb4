"""Why ReLU, why ResNet: the same data and budget, trained several ways side by side.

* :func:`compare_activations`: one deep fully connected network (:mod:`course.nettrain`)
  from the same initial weights and batches, trained with each activation.
* :func:`compare_depth`: a shallow plain, a deep plain and a deep residual ReLU
  network, where each residual block computes ``H(x) = relu(F(x) + x)``
  (:func:`resnet_forward` / :func:`resnet_backward`).

Each run is plain mini-batch SGD on the binary cross-entropy and reports its loss
curve, the mean ``|dL/dW|`` per weight layer (vanishing gradients show there),
accuracies and its decision surface, as a :class:`RunCurve`. Float64, deterministic
given the seed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from course.datasets2d import Split, feature_columns
from course.nettrain import (
    ACTIVATIONS,
    Network,
    _batch_order,
    _bce,
    batch_loss_and_grads,
    forward,
    init_network,
)
from course.nettrain_views import grid_points
from engine.ops.activations import relu_backward, relu_forward, sigmoid_forward
from engine.ops.dense import cross_entropy_backward, dense_backward, dense_forward

__all__ = ["RunCurve", "compare_activations", "compare_depth", "resnet_backward", "resnet_forward"]


# --- Why ReLU: one deep network, three activations -------------------------------------


class RunCurve(NamedTuple):
    """One training run: its loss curve, gradient sizes per layer, accuracy, decision surface."""

    label: str
    loss_steps: np.ndarray  # (K,) steps at which the loss was measured, 0 = before training
    losses: np.ndarray  # (K,) training-set loss at those steps
    grad_means: np.ndarray  # (n_layers,) mean |dL/dW| per weight layer, averaged over steps
    train_accuracy: float
    test_accuracy: float
    surface: np.ndarray  # (R, R) P(class 1) over the input plane


def _sgd_run(
    init_params: list[np.ndarray],
    grads_fn: Callable[[list[np.ndarray], np.ndarray, np.ndarray], tuple[float, list[np.ndarray]]],
    logits_fn: Callable[[list[np.ndarray], np.ndarray, np.ndarray | None], np.ndarray],
    split: Split,
    xtr: np.ndarray,
    xte: np.ndarray,
    *,
    steps: int,
    lr: float,
    batch_size: int,
    seed: int,
    resolution: int,
    features: list[str],
    label: str,
) -> RunCurve:
    """Plain mini-batch SGD over ``params`` (a flat list; weights at even positions).

    The training-set loss is measured before training and about 100 times during it.
    """
    params = [p.copy() for p in init_params]
    n = xtr.shape[0]
    every = max(1, steps // 100)
    loss_steps = [0]
    losses = [_bce_of(logits_fn(params, xtr, split.y_train), split.y_train)]
    grad_sum = np.zeros(len(params) // 2)
    epoch, cursor, order = 0, 0, _batch_order(seed, 0, n)
    with np.errstate(all="ignore"):
        for s in range(1, steps + 1):
            idx = order[cursor : cursor + batch_size]
            _, grads = grads_fn(params, xtr[idx], split.y_train[idx])
            grad_sum += [np.abs(g).mean() for g in grads[0::2]]
            params = [p - lr * g for p, g in zip(params, grads, strict=True)]
            if s % every == 0 or s == steps:
                loss_steps.append(s)
                losses.append(_bce_of(logits_fn(params, xtr, split.y_train), split.y_train))
            cursor += len(idx)
            if cursor >= n:
                epoch, cursor = epoch + 1, 0
                order = _batch_order(seed, epoch, n)
        z_tr = logits_fn(params, xtr, split.y_train)
        z_te = logits_fn(params, xte, split.y_test)
        z_grid = logits_fn(params, feature_columns(grid_points(resolution), features), None)
        surface, _ = sigmoid_forward(z_grid[:, 0])
    return RunCurve(
        label,
        np.array(loss_steps),
        np.array(losses),
        grad_sum / max(steps, 1),
        float(np.mean((z_tr[:, 0] > 0) == (split.y_train == 1))),
        float(np.mean((z_te[:, 0] > 0) == (split.y_test == 1))) if len(split.y_test) else 1.0,
        surface.reshape(resolution, resolution),
    )


def _bce_of(z: np.ndarray, y: np.ndarray) -> float:
    loss, _ = _bce(z, y)
    return float(loss) if np.isfinite(loss) else float("nan")


def compare_activations(
    split: Split,
    features: list[str],
    *,
    hidden: list[int],
    activations: tuple[str, ...] = ("sigmoid", "tanh", "relu"),
    steps: int = 300,
    lr: float = 0.1,
    batch_size: int = 10,
    seed: int = 0,
    scheme: str = "xavier",
    resolution: int = 20,
) -> list[RunCurve]:
    """The same network, data, initial weights and batches, trained with each activation."""
    xtr = feature_columns(split.x_train, features)
    xte = feature_columns(split.x_test, features)
    base = init_network(xtr.shape[1], hidden, "linear", seed, scheme)
    runs = []
    for act in activations:
        if act not in ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r}")

        def grads_fn(params, x, y, act=act):
            net = Network(params[0::2], params[1::2], act)
            loss, dws, dbs = batch_loss_and_grads(net, x, y)
            return loss, [g for pair in zip(dws, dbs, strict=True) for g in pair]

        def logits_fn(params, x, _y, act=act):
            return forward(Network(params[0::2], params[1::2], act), x)[0]

        init = [a for pair in zip(base.weights, base.biases, strict=True) for a in pair]
        runs.append(
            _sgd_run(init, grads_fn, logits_fn, split, xtr, xte, steps=steps, lr=lr,
                     batch_size=batch_size, seed=seed, resolution=resolution,
                     features=features, label=act)
        )
    return runs


# --- Why ResNet: a deep plain network against the same depth with skips ----------------


def _resnet_init(n_inputs: int, width: int, blocks: int, seed: int, scheme: str) -> list[np.ndarray]:
    """[W_in, b_in, (W_a, b_a, W_b, b_b) * blocks, W_out, b_out] as :func:`init_network`.

    The plain and the residual network of the same depth start from the same weights.
    """
    net = init_network(n_inputs, [width] * (1 + 2 * blocks), "relu", seed, scheme)
    return [a for pair in zip(net.weights, net.biases, strict=True) for a in pair]


def resnet_forward(params: list[np.ndarray], x: np.ndarray, skip: bool):
    """``h0 = relu(W_in x)``; each block ``h = relu(W_b relu(W_a h) + h)`` (or without ``+ h``).

    With ``skip=False`` this is a plain ReLU network of the same depth. Returns the
    logits ``z`` (N, 1) and the caches for :func:`resnet_backward`.
    """
    n_blocks = (len(params) - 4) // 4
    z, d0 = dense_forward(x, params[0], params[1])
    h, r0 = relu_forward(z)
    caches: list = [(d0, r0)]
    for k in range(n_blocks):
        wa, ba, wb, bb = params[2 + 4 * k : 6 + 4 * k]
        za, da = dense_forward(h, wa, ba)
        a, ra = relu_forward(za)
        f, db_ = dense_forward(a, wb, bb)
        h, rb = relu_forward(f + h if skip else f)
        caches.append((da, ra, db_, rb))
    z, dout = dense_forward(h, params[-2], params[-1])
    caches.append(dout)
    return z, caches


def resnet_backward(dz: np.ndarray, caches: list, skip: bool) -> list[np.ndarray]:
    """Gradients for every entry of ``params``, in the same order."""
    dh, dw, db = dense_backward(dz, caches[-1])
    assert db is not None
    grads = [dw, db]
    for da, ra, db_, rb in reversed(caches[1:-1]):
        dsum = relu_backward(dh, rb)
        da_out, dwb, dbb = dense_backward(dsum, db_)
        dh_in, dwa, dba = dense_backward(relu_backward(da_out, ra), da)
        assert dbb is not None and dba is not None
        dh = dh_in + dsum if skip else dh_in
        grads = [dwa, dba, dwb, dbb, *grads]
    d0, r0 = caches[0]
    _, dw0, db0 = dense_backward(relu_backward(dh, r0), d0)
    assert db0 is not None
    return [dw0, db0, *grads]


def compare_depth(
    split: Split,
    features: list[str],
    *,
    width: int = 8,
    shallow_blocks: int = 1,
    deep_blocks: int = 9,
    steps: int = 300,
    lr: float = 0.1,
    batch_size: int = 10,
    seed: int = 0,
    scheme: str = "xavier",
    resolution: int = 20,
) -> list[RunCurve]:
    """Plain shallow, plain deep and residual deep ReLU networks on the same data.

    Depth counts weight layers: ``2 + 2 * blocks`` (``blocks=9``: 20 layers).
    """
    xtr = feature_columns(split.x_train, features)
    xte = feature_columns(split.x_test, features)
    runs = []
    for blocks, skip in ((shallow_blocks, False), (deep_blocks, False), (deep_blocks, True)):
        def grads_fn(params, x, y, skip=skip):
            z, caches = resnet_forward(params, x, skip)
            loss, ce = _bce(z, y)
            return loss, resnet_backward(cross_entropy_backward(ce)[:, 1:], caches, skip)

        def logits_fn(params, x, _y, skip=skip):
            return resnet_forward(params, x, skip)[0]

        label = f"{'residual' if skip else 'plain'}, {2 + 2 * blocks} layers"
        init = _resnet_init(xtr.shape[1], width, blocks, seed, scheme)
        runs.append(
            _sgd_run(init, grads_fn, logits_fn, split, xtr, xte, steps=steps, lr=lr,
                     batch_size=batch_size, seed=seed, resolution=resolution,
                     features=features, label=label)
        )
    return runs
