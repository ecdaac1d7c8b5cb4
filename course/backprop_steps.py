"""Backprop with every number: a 2-2-1 sigmoid network on one example.

``h_i = sigmoid(z_i)``, ``z1 = w1 x1 + w2 x2 + b1``, ``z2 = w3 x1 + w4 x2 + b2``,
``y = sigmoid(z3)``, ``z3 = w5 h1 + w6 h2 + b3``, squared error
``L = (y - t)^2 / 2``. :func:`backprop_example` runs the forward pass, writes the
chain rule out for every parameter (checked against the engine's backward passes)
and takes one gradient step, all in float64. :mod:`course.nettrain` re-exports it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.ops.activations import sigmoid_backward, sigmoid_forward
from engine.ops.dense import dense_backward, dense_forward

__all__ = ["TINY_PARAMS", "BackpropExample", "ChainLine", "backprop_example"]


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
    assert db12 is not None and db3 is not None
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
