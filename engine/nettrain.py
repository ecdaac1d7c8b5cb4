"""Training a small fully connected network with the engine's own backward passes.

Three lessons run on this module:

* **The playground** (:func:`train_steps`): a multilayer perceptron on 2-D toy data
  (:mod:`engine.datasets2d`) trained by mini-batch gradient descent. Hidden layers
  are ``dense_forward`` + an activation (tanh, sigmoid, ReLU or linear); the
  output is one neuron ``z`` with ``p = sigmoid(z)`` = P(class 1) and the loss is
  the binary cross-entropy ``L = -mean(y log p + (1 - y) log(1 - p))``, computed
  by the engine's 2-class softmax cross-entropy on the logits ``[0, z]`` (because
  ``softmax([0, z])[1] = sigmoid(z)``). L1 or L2 regularisation adds
  ``rate * sign(w)`` or ``rate * w`` to each weight's gradient (biases are not
  regularised). One step: ``w <- w - lr * dL/dw`` on one mini-batch.
* **Backprop with every number** (:func:`backprop_example`): a 2-2-1 sigmoid
  network, squared error ``L = (y - t)^2 / 2``, and the chain rule written out.
* **Why ReLU, why ResNet** (:func:`compare_activations`, :func:`compare_depth`):
  the same deep network trained with different activations, and a deep plain
  network against the same depth with identity skips ``H(x) = F(x) + x``.

Everything is float64 and deterministic given the seed; parameters travel as
plain arrays so a caller can hold the state and send it back (stateless server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from engine.activations import (
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from engine.datasets2d import EXTENT, Split, feature_columns
from engine.dense import (
    cross_entropy_backward,
    cross_entropy_forward,
    dense_backward,
    dense_forward,
)

__all__ = [
    "ACTIVATIONS",
    "MAX_PARAM",
    "TINY_PARAMS",
    "BackpropExample",
    "ChainLine",
    "Network",
    "RunCurve",
    "StepResult",
    "TrainState",
    "backprop_example",
    "batch_loss_and_grads",
    "check_network",
    "compare_activations",
    "compare_depth",
    "evaluate",
    "forward",
    "grid_points",
    "init_network",
    "node_grids",
    "resnet_backward",
    "resnet_forward",
    "train_steps",
]


def _linear_forward(x: np.ndarray) -> tuple[np.ndarray, None]:
    return x, None


def _linear_backward(dout: np.ndarray, _cache: None) -> np.ndarray:
    return dout


#: name -> (forward, backward); every pair follows the engine's ``(out, cache)`` protocol.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "relu": (relu_forward, relu_backward),
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
    h, outputs, caches = x, [], []
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


def grid_points(resolution: int) -> np.ndarray:
    """Cell centres of a ``resolution`` x ``resolution`` grid over the input plane.

    Row 0 is the top (``x2 = +6``), column 0 the left (``x1 = -6``); shape ``(R*R, 2)``.
    """
    if not 2 <= resolution <= 200:
        raise ValueError(f"resolution must be in [2, 200], got {resolution}")
    c = (np.arange(resolution) + 0.5) / resolution * 2 * EXTENT - EXTENT
    x1, x2 = np.meshgrid(c, c[::-1])
    return np.stack([x1.ravel(), x2.ravel()], axis=1)


def node_grids(net: Network, features: list[str], resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Every node's output over the input plane, and P(class 1) there.

    Returns
    -------
    nodes : ndarray, shape (n_inputs + n_hidden + 1, R, R)
        Input features, then each hidden neuron (layer by layer), then the output ``p``.
    probability : ndarray, shape (R, R)
    """
    x = feature_columns(grid_points(resolution), features)
    with np.errstate(all="ignore"):
        z, hidden, _ = forward(net, x)
        p, _ = sigmoid_forward(z[:, 0])
    cols = [x, *hidden, p[:, None]]
    nodes = np.concatenate(cols, axis=1).T.reshape(-1, resolution, resolution)
    return nodes, p.reshape(resolution, resolution)


# --- Backprop with every number: a 2-2-1 sigmoid network on one example ---------------

#: Parameter names of the tiny network: w1, w2 feed h1 (from x1, x2), w3, w4 feed h2,
#: w5, w6 feed the output y (from h1, h2); b1, b2, b3 are the biases of h1, h2, y.
TINY_PARAMS = ("w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3")


class ChainLine(NamedTuple):
    """dL/d(param) as a product of local derivatives, and the engine's backward value."""

    param: str
    factors: list[tuple[str, float]]
    product: float
    gradient: float


class BackpropExample(NamedTuple):
    inputs: tuple[float, float]
    target: float
    params: dict[str, float]
    lr: float
    nodes: dict[str, float]  # z1, h1, z2, h2, z3, y
    loss: float
    lines: list[ChainLine]
    updated: dict[str, float]
    new_nodes: dict[str, float]
    new_loss: float


def _tiny_forward(x: np.ndarray, p: dict[str, float]):
    w1 = np.array([[p["w1"], p["w2"]], [p["w3"], p["w4"]]])
    w2 = np.array([[p["w5"], p["w6"]]])
    zh, c1 = dense_forward(x, w1, np.array([p["b1"], p["b2"]]))
    h, s1 = sigmoid_forward(zh)
    zo, c2 = dense_forward(h, w2, np.array([p["b3"]]))
    y, s2 = sigmoid_forward(zo)
    nodes = {"z1": zh[0, 0], "h1": h[0, 0], "z2": zh[0, 1], "h2": h[0, 1], "z3": zo[0, 0], "y": y[0, 0]}
    return {k: float(v) for k, v in nodes.items()}, (c1, s1, c2, s2)


def backprop_example(
    x: tuple[float, float], target: float, params: dict[str, float], lr: float
) -> BackpropExample:
    """One forward pass, the chain rule for every parameter, and one update, in float64.

    ``h_i = sigmoid(z_i)``, ``z1 = w1 x1 + w2 x2 + b1``, ``z2 = w3 x1 + w4 x2 + b2``,
    ``y = sigmoid(z3)``, ``z3 = w5 h1 + w6 h2 + b3``, loss ``L = (y - t)^2 / 2``.
    The gradients come from ``dense_backward`` and ``sigmoid_backward``; each line
    also lists the local derivatives whose product is that gradient.
    """
    missing = [k for k in TINY_PARAMS if k not in params]
    if missing:
        raise ValueError(f"missing parameter(s) {missing}")
    p = {k: float(params[k]) for k in TINY_PARAMS}
    xa = np.array([[float(x[0]), float(x[1])]])
    nodes, (c1, s1, c2, s2) = _tiny_forward(xa, p)
    y, t = nodes["y"], float(target)
    loss = 0.5 * (y - t) ** 2
    dl_dy = np.array([[y - t]])
    dz3 = sigmoid_backward(dl_dy, s2)
    dh, dw2, db3 = dense_backward(dz3, c2)
    dz12 = sigmoid_backward(dh, s1)
    _, dw1, db12 = dense_backward(dz12, c1)
    # Local derivatives: each activation's backward applied to 1.
    dy_dz3 = float(sigmoid_backward(np.ones((1, 1)), s2)[0, 0])
    dh_dz = sigmoid_backward(np.ones((1, 2)), s1)[0]
    head = [("dL/dy = y - t", y - t), ("dy/dz3 = y(1 - y)", dy_dz3)]
    grads = {
        "w1": dw1[0, 0], "w2": dw1[0, 1], "w3": dw1[1, 0], "w4": dw1[1, 1],
        "w5": dw2[0, 0], "w6": dw2[0, 1], "b1": db12[0], "b2": db12[1], "b3": db3[0],
    }
    tails: dict[str, list[tuple[str, float]]] = {
        "w5": [("dz3/dw5 = h1", nodes["h1"])],
        "w6": [("dz3/dw6 = h2", nodes["h2"])],
        "b3": [("dz3/db3", 1.0)],
    }
    for i, (wout, hname, zname) in enumerate((("w5", "h1", "z1"), ("w6", "h2", "z2"))):
        back = [(f"dz3/d{hname} = {wout}", p[wout]), (f"d{hname}/d{zname} = {hname}(1 - {hname})", float(dh_dz[i]))]
        wa, wb, b = ("w1", "w2", "b1") if i == 0 else ("w3", "w4", "b2")
        tails[wa] = [*back, (f"d{zname}/d{wa} = x1", float(xa[0, 0]))]
        tails[wb] = [*back, (f"d{zname}/d{wb} = x2", float(xa[0, 1]))]
        tails[b] = [*back, (f"d{zname}/d{b}", 1.0)]
    lines = []
    for name in ("w5", "w6", "b3", "w1", "w2", "b1", "w3", "w4", "b2"):
        factors = [*head, *tails[name]]
        lines.append(ChainLine(name, factors, float(np.prod([v for _, v in factors])), float(grads[name])))
    updated = {k: p[k] - lr * float(grads[k]) for k in TINY_PARAMS}
    new_nodes, _ = _tiny_forward(xa, updated)
    new_loss = 0.5 * (new_nodes["y"] - t) ** 2
    return BackpropExample(
        (float(xa[0, 0]), float(xa[0, 1])), t, p, float(lr), nodes, float(loss), lines,
        updated, new_nodes, float(new_loss),
    )


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
    logits_fn: Callable[[list[np.ndarray], np.ndarray, np.ndarray], np.ndarray],
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
    caches = [(d0, r0)]
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
    grads = [dw, db]
    for da, ra, db_, rb in reversed(caches[1:-1]):
        dsum = relu_backward(dh, rb)
        da_out, dwb, dbb = dense_backward(dsum, db_)
        dh_in, dwa, dba = dense_backward(relu_backward(da_out, ra), da)
        dh = dh_in + dsum if skip else dh_in
        grads = [dwa, dba, dwb, dbb, *grads]
    d0, r0 = caches[0]
    _, dw0, db0 = dense_backward(relu_backward(dh, r0), d0)
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
