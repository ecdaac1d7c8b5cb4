"""The update rules: SGD, SGD with momentum, Adam; L2 weight decay on weights only.

With ``g = dL/dw + l2 * w`` (biases and batch-norm parameters are not decayed), as
PyTorch's ``weight_decay``:

- ``sgd``: ``w -= lr * g``
- ``momentum``: ``v = 0.9 v + g; w -= lr * v``
- ``adam``: ``m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
  w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)`` with
  ``b1, b2, eps = 0.9, 0.999, 1e-8``.

Everything is float32 and updated in place, in the parameters' order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ADAM", "MOMENTUM", "decayed", "update"]

MOMENTUM = 0.9
ADAM = (0.9, 0.999, 1e-8)


def decayed(name: str) -> bool:
    """Whether L2 applies: conv and dense weights, not biases or batch-norm gamma/beta."""
    module, kind = name.rsplit(".", 1)
    return kind == "weight" and not module.rsplit(".", 1)[-1].startswith("bn")


def update(
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    moments: dict[str, np.ndarray],
    *,
    optimizer: str,
    lr: float,
    l2: float,
    t: int,
) -> None:
    """One update of every parameter in place; ``t`` is the 1-based step number."""
    f32 = np.float32
    lr32, l2_32 = f32(lr), f32(l2)
    if optimizer == "adam":
        b1, b2, eps = ADAM
        # bias corrections in float64, folded into one float32 step size per step
        step = f32(lr * np.sqrt(1.0 - b2**t) / (1.0 - b1**t))
        eps_hat = f32(eps * np.sqrt(1.0 - b2**t))
    for name, p in params.items():
        g = grads[name]
        if l2 and decayed(name):
            g = g + l2_32 * p
        if optimizer == "sgd":
            p -= lr32 * g
        elif optimizer == "momentum":
            v = moments["v." + name]
            v *= f32(MOMENTUM)
            v += g
            p -= lr32 * v
        elif optimizer == "adam":
            m, v = moments["m." + name], moments["v." + name]
            m *= f32(b1)
            m += f32(1 - b1) * g
            v *= f32(b2)
            v += f32(1 - b2) * np.square(g)
            p -= step * m / (np.sqrt(v) + eps_hat)
        else:
            raise ValueError(f"unknown optimizer {optimizer!r}")
