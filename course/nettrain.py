"""Training a small fully connected network with the engine's own backward passes.

**The playground** (:func:`train_steps`): a multilayer perceptron on 2-D toy data
(:mod:`course.datasets2d`) trained by mini-batch gradient descent. Hidden layers
are ``dense_forward`` + an activation (the menus' ones in :mod:`engine.registry`,
or linear); the
output is one neuron ``z`` with ``p = sigmoid(z)`` = P(class 1) and the loss is
the binary cross-entropy ``L = -mean(y log p + (1 - y) log(1 - p))``, computed
by the engine's 2-class softmax cross-entropy on the logits ``[0, z]`` (because
``softmax([0, z])[1] = sigmoid(z)``). L1 or L2 regularisation adds
``rate * sign(w)`` or ``rate * w`` to each weight's gradient (biases are not
regularised). One step: ``w <- w - lr * dL/dw`` on one mini-batch.

What the page draws of a network (each node over the input plane) is in
:mod:`course.nettrain_views`. Two lessons live next door: backprop with every number
on a 2-2-1 sigmoid network (:mod:`course.backprop_steps`), and why ReLU / why ResNet
(:mod:`course.nettrain_compare`, built on this module).

Everything is float64 and deterministic given the seed; parameters travel as
plain arrays so a caller can hold the state and send it back (stateless server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from course.datasets2d import Split, feature_columns
from engine import registry
from engine.ops.dense import (
    cross_entropy_backward,
    cross_entropy_forward,
    dense_backward,
    dense_forward,
)

__all__ = [
    "ACTIVATIONS",
    "MAX_PARAM",
    "Network",
    "StepResult",
    "TrainState",
    "batch_loss_and_grads",
    "check_network",
    "evaluate",
    "forward",
    "init_network",
    "train_steps",
]


def _linear_forward(x: np.ndarray) -> tuple[np.ndarray, None]:
    return x, None


def _linear_backward(dout: np.ndarray, _cache: None) -> np.ndarray:
    return dout


#: name -> (forward, backward); every pair follows the engine's ``(out, cache)`` protocol.
#: The registry's menu activations, plus "linear" (no activation), which only the
#: playground offers: it shows what a network without one cannot learn.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    **{name: (registry.ACTIVATIONS[name].forward, registry.ACTIVATIONS[name].backward)
       for name in registry.names(lesson_only=True)},
    "linear": (_linear_forward, _linear_backward),
}


class Network(NamedTuple):
    """Weights ``W[l]`` of shape ``(out, in)`` and biases ``b[l]`` of shape ``(out,)``.

    The last layer has one output neuron (the logit ``z``); every other layer is
    followed by ``activation``.
    """

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    activation: str

    @property
    def sizes(self) -> list[int]:
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]


#: Parameters beyond this size count as diverged (callers bound what they accept by it).
MAX_PARAM = 1e6


class TrainState(NamedTuple):
    """Where training stands: ``epoch`` passes done, ``cursor`` into this epoch's order."""

    epoch: int = 0
    cursor: int = 0
    step: int = 0


class StepResult(NamedTuple):
    network: Network
    state: TrainState
    #: per step taken: (step, epoch, train loss, test loss)
    history: list[tuple[int, int, float, float]]
    #: the last update: weights before it, and dL/dW, dL/db it used (None if no step)
    weights_before: list[np.ndarray] | None
    biases_before: list[np.ndarray] | None
    grad_weights: list[np.ndarray] | None
    grad_biases: list[np.ndarray] | None
    diverged: bool


def check_network(net: Network) -> None:
    """Raise ``ValueError`` unless the layers chain and end in one output neuron."""
    if net.activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {net.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
    if not net.weights or len(net.weights) != len(net.biases):
        raise ValueError(f"need one bias vector per weight matrix, got {len(net.weights)} and {len(net.biases)}")
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise ValueError(f"layer {i + 1}: weights {w.shape} need biases ({w.shape[0]},), got {b.shape}")
        if i and w.shape[1] != net.weights[i - 1].shape[0]:
            raise ValueError(
                f"layer {i + 1} takes {w.shape[1]} inputs but layer {i} has {net.weights[i - 1].shape[0]} neurons"
            )
    if net.weights[-1].shape[0] != 1:
        raise ValueError(f"the output layer must have 1 neuron, got {net.weights[-1].shape[0]}")


def _init_weight(rng: np.random.Generator, shape: tuple[int, int], scheme: str) -> np.ndarray:
    if scheme == "playground":
        return rng.uniform(-0.5, 0.5, shape)
    if scheme == "he":
        return rng.normal(0.0, np.sqrt(2.0 / shape[1]), shape)
    if scheme == "xavier":
        return rng.normal(0.0, np.sqrt(1.0 / shape[1]), shape)
    raise ValueError(f"unknown init scheme {scheme!r}; choose playground, he or xavier")


def init_network(
    n_inputs: int, hidden: list[int], activation: str, seed: int, scheme: str = "playground"
) -> Network:
    """Initial parameters, deterministic given ``seed``.

    ``scheme="playground"``: weights uniform in [-0.5, 0.5], biases 0.1 (as the
    TensorFlow Playground); ``"he"``: normal with std sqrt(2 / fan_in), ``"xavier"``:
    std sqrt(1 / fan_in), biases 0.
    """
    rng = np.random.default_rng([seed, 1])
    sizes = [n_inputs, *hidden, 1]
    weights = [_init_weight(rng, (o, i), scheme) for i, o in zip(sizes[:-1], sizes[1:], strict=True)]
    bias = 0.1 if scheme == "playground" else 0.0
    biases = [np.full(o, bias) for o in sizes[1:]]
    net = Network(weights, biases, activation)
    check_network(net)
    return net


def forward(net: Network, x: np.ndarray) -> tuple[np.ndarray, list[np.ndarray], list]:
    """Logits ``z`` (N, 1), every hidden layer's output, and the caches for backward."""
    act_fwd = ACTIVATIONS[net.activation][0]
    outputs: list[np.ndarray] = []
    h, caches = x, []
    last = len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        z, dcache = dense_forward(h, w, b)
        if i == last:
            caches.append((dcache, None))
            return z, outputs, caches
        h, acache = act_fwd(z)
        outputs.append(h)
        caches.append((dcache, acache))
    raise AssertionError("unreachable")


def _bce(z: np.ndarray, y: np.ndarray):
    """Binary cross-entropy of logits z (N, 1) as 2-class softmax CE on ``[0, z]``."""
    logits = np.concatenate([np.zeros_like(z), z], axis=1)
    return cross_entropy_forward(logits, y)


def batch_loss_and_grads(
    net: Network, x: np.ndarray, y: np.ndarray, reg: str = "none", reg_rate: float = 0.0
) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """Mean BCE on ``(x, y)`` and its gradients (plus the regularisation term) per layer."""
    act_bwd = ACTIVATIONS[net.activation][1]
    z, _, caches = forward(net, x)
    loss, ce_cache = _bce(z, y)
    dz = cross_entropy_backward(ce_cache)[:, 1:]
    dws: list[np.ndarray] = [None] * len(net.weights)  # type: ignore[list-item]
    dbs: list[np.ndarray] = [None] * len(net.weights)  # type: ignore[list-item]
    dout = dz
    last = len(net.weights) - 1
    for i in range(last, -1, -1):
        dcache, acache = caches[i]
        if i < last:
            dout = act_bwd(dout, acache)
        dx, dw, db = dense_backward(dout, dcache)
        assert db is not None
        if reg == "l2":
            dw = dw + reg_rate * net.weights[i]
        elif reg == "l1":
            dw = dw + reg_rate * np.sign(net.weights[i])
        dws[i], dbs[i] = dw, db
        dout = dx
    return loss, dws, dbs


def evaluate(net: Network, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean BCE loss and accuracy (p > 0.5 means class 1) on a whole set."""
    if x.shape[0] == 0:
        return 0.0, 1.0
    z, _, _ = forward(net, x)
    loss, _ = _bce(z, y)
    return float(loss), float(np.mean((z[:, 0] > 0) == (y == 1)))


def _batch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, 2, epoch]).permutation(n)


def train_steps(
    net: Network,
    split: Split,
    features: list[str],
    *,
    lr: float,
    batch_size: int,
    steps: int,
    state: TrainState | None = None,
    seed: int = 0,
    reg: str = "none",
    reg_rate: float = 0.0,
) -> StepResult:
    """``steps`` mini-batch updates ``W <- W - lr * dL/dW``; the loss after each.

    Each epoch visits the training points in an order fixed by ``(seed, epoch)``,
    ``batch_size`` at a time (the last batch of an epoch may be smaller), so a run
    split over many calls equals one long run. Stops early, keeping the last good
    parameters, if an update makes anything NaN, infinite or larger than ``MAX_PARAM``
    (``diverged``).
    """
    check_network(net)
    state = state or TrainState()
    if reg not in ("none", "l1", "l2"):
        raise ValueError(f"reg must be 'none', 'l1' or 'l2', got {reg!r}")
    xtr = feature_columns(split.x_train, features)
    xte = feature_columns(split.x_test, features)
    if xtr.shape[1] != net.weights[0].shape[1]:
        raise ValueError(f"{len(features)} features but the first layer takes {net.weights[0].shape[1]} inputs")
    n = xtr.shape[0]
    epoch, cursor, step = state
    if not 0 <= cursor < n:
        raise ValueError(f"cursor must be in [0, {n}), got {cursor}")
    weights = [w.astype(np.float64, copy=True) for w in net.weights]
    biases = [b.astype(np.float64, copy=True) for b in net.biases]
    history: list[tuple[int, int, float, float]] = []
    before = grads = None
    diverged = False
    order = _batch_order(seed, epoch, n)
    for _ in range(steps):
        idx = order[cursor : cursor + batch_size]
        cur = Network(weights, biases, net.activation)
        with np.errstate(all="ignore"):
            _, dws, dbs = batch_loss_and_grads(cur, xtr[idx], split.y_train[idx], reg, reg_rate)
            new_w = [w - lr * dw for w, dw in zip(weights, dws, strict=True)]
            new_b = [b - lr * db for b, db in zip(biases, dbs, strict=True)]
            nxt = Network(new_w, new_b, net.activation)
            train_loss, _ = evaluate(nxt, xtr, split.y_train)
            test_loss, _ = evaluate(nxt, xte, split.y_test)
        finite = all(np.isfinite(a).all() for a in (*dws, *dbs)) and all(
            np.all(np.abs(a) <= MAX_PARAM) for a in (*new_w, *new_b)
        )
        if not (finite and np.isfinite(train_loss) and np.isfinite(test_loss)):
            diverged = True
            break
        before, grads = (weights, biases), (dws, dbs)
        weights, biases = new_w, new_b
        step += 1
        cursor += len(idx)
        if cursor >= n:
            epoch, cursor = epoch + 1, 0
            order = _batch_order(seed, epoch, n)
        history.append((step, epoch, train_loss, test_loss))
    return StepResult(
        Network(weights, biases, net.activation),
        TrainState(epoch, cursor, step),
        history,
        before[0] if before else None,
        before[1] if before else None,
        grads[0] if grads else None,
        grads[1] if grads else None,
        diverged,
    )
