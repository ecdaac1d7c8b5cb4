"""Two layers every modern network on the architectures page uses, as lessons: dropout and
batch normalisation, forward and backward, in training and at inference.

Both run the engine's own ops (:mod:`engine.ops.dropout`, :mod:`engine.ops.batchnorm`,
ONNX ``Dropout`` and ``BatchNormalization``); this module picks the lessons' examples and
adds what the page needs to explain them:

* **Dropout** (inverted, as Keras, PyTorch and ONNX): in training each value is kept with
  probability ``1 - ratio`` and the kept ones are scaled by ``1 / (1 - ratio)``; at
  inference the layer is the identity. :func:`dropout_lesson` also averages many masks
  drawn by the engine, to show why the scaling makes the expected output the input.
* **BatchNorm**: in training a channel is normalised with the mini-batch's own mean and
  variance, and the running estimates move toward them (``momentum`` 0.9 as ONNX); at
  inference the running estimates are used, so an example's output no longer depends on
  the others in its batch. ``gamma`` and ``beta`` are *learned* (they get gradients); the
  running mean and variance are *estimated* (they get none).

Float64 throughout (the lessons show exact numbers); bad input raises ``ValueError``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.ops.batchnorm import batchnorm_backward, batchnorm_forward
from engine.ops.dropout import dropout_backward, dropout_forward

__all__ = [
    "BATCHNORM_EXAMPLE",
    "BN_EPSILON",
    "BN_MOMENTUM",
    "DROPOUT_EXAMPLE",
    "MASK_DRAWS",
    "BatchNormLesson",
    "DropoutLesson",
    "batchnorm_lesson",
    "dropout_lesson",
]

#: BatchNorm's running-estimate momentum (ONNX's 0.9, PyTorch's 0.1) and epsilon.
BN_MOMENTUM, BN_EPSILON = 0.9, 1e-5

#: How many masks :func:`dropout_lesson` averages to show the expected output.
MASK_DRAWS = 2000

#: The dropout lesson's starting point: 8 activations after a ReLU (so none is negative),
#: the course's Keras example's ratio 0.2 shown at 0.5 (AlexNet's) to make drops visible.
DROPOUT_EXAMPLE = {
    "x": [0.8, 2.0, 0.0, 1.4, 0.6, 3.0, 1.1, 0.3],
    "ratio": 0.5,
    "seed": 1,
    "dout": [1.0] * 8,
}

#: The BatchNorm lesson's starting point: a mini-batch of 4 examples with 2 features on
#: very different scales (rows: examples; columns: channels), gamma 1 and beta 0 (where
#: training starts), running estimates at their starting values (mean 0, variance 1),
#: and an upstream gradient dL/dy for the backward pass.
BATCHNORM_EXAMPLE = {
    "x": [[1.0, 200.0], [2.0, 220.0], [4.0, 180.0], [5.0, 240.0]],
    "gamma": [1.0, 1.0],
    "beta": [0.0, 0.0],
    "running_mean": [0.0, 0.0],
    "running_var": [1.0, 1.0],
    "dout": [[0.5, -1.0], [-0.2, 0.4], [0.1, 0.3], [-0.3, 0.2]],
    "momentum": BN_MOMENTUM,
    "epsilon": BN_EPSILON,
}


@dataclass(frozen=True)
class DropoutLesson:
    """One dropout layer, forward and backward, in one mode."""

    training: bool
    ratio: float
    scale: float  # 1 / (1 - ratio): what a kept value is multiplied by in training
    keep: list[bool]  # which values this mask kept (all True at inference)
    y: list[float]
    dx: list[float]  # dL/dx = dL/dy * mask / (1 - ratio)
    kept: int
    mean_x: float
    mean_y: float
    mean_over_masks: list[float]  # each value's output averaged over MASK_DRAWS masks
    draws: int


def _vector(values, name: str, limit: int) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or not 1 <= v.size <= limit:
        raise ValueError(f"{name} must be a list of 1 to {limit} numbers, got shape {v.shape}")
    return v


def dropout_lesson(x, ratio: float, *, training: bool, seed: int, dout=None) -> DropoutLesson:
    """Dropout of the vector ``x`` with the engine's ``dropout_forward`` / ``_backward``.

    The mask comes from ``numpy.random.default_rng(seed)``, so the same seed gives the
    same mask; ``mean_over_masks`` runs the engine ``MASK_DRAWS`` more times (a second stream
    from the seed) and averages, which tends to ``x`` because of the inverted scaling.
    """
    xv = _vector(x, "x", 64)
    g = np.ones_like(xv) if dout is None else _vector(dout, "dout", 64)
    if g.shape != xv.shape:
        raise ValueError(f"dout must have x's length {xv.size}, got {g.size}")
    y, cache = dropout_forward(xv, ratio, training=training, rng=np.random.default_rng(seed))
    dx = dropout_backward(g, cache)
    keep = np.ones(xv.shape, bool) if cache.mask is None else cache.mask > 0
    total = np.zeros_like(xv)
    if training:
        more = np.random.default_rng([seed, 1])  # one stream: a new mask each call
        for _ in range(MASK_DRAWS):
            total += dropout_forward(xv, ratio, training=True, rng=more)[0]
    else:
        total = xv * MASK_DRAWS
    return DropoutLesson(
        training=training, ratio=float(ratio), scale=1.0 / (1.0 - ratio), keep=keep.tolist(),
        y=y.tolist(), dx=dx.tolist(), kept=int(keep.sum()), mean_x=float(xv.mean()),
        mean_y=float(y.mean()), mean_over_masks=(total / MASK_DRAWS).tolist(), draws=MASK_DRAWS,
    )


@dataclass(frozen=True)
class BatchNormLesson:
    """One BatchNorm layer on an ``(N, C)`` batch, forward and backward, in one mode."""

    training: bool
    used_mean: list[float]  # per channel: the statistics this pass normalised with
    used_var: list[float]
    batch_mean: list[float] | None  # the batch's own statistics, whatever the mode (None: one example)
    batch_var: list[float] | None
    inv_std: list[float]  # 1 / sqrt(used_var + epsilon)
    xhat: list[list[float]]  # (x - used_mean) * inv_std
    y: list[list[float]]  # gamma * xhat + beta
    running_mean: list[float]  # after this pass (moved in training, unchanged at inference)
    running_var: list[float]
    dx: list[list[float]]
    dgamma: list[float]
    dbeta: list[float]


def _matrix(values, name: str, max_rows: int, max_cols: int) -> np.ndarray:
    if isinstance(values, list) and len({len(row) if isinstance(row, list) else -1 for row in values}) > 1:
        raise ValueError(f"every row of {name} must have the same number of values, got "
                         f"{[len(row) if isinstance(row, list) else 1 for row in values]}")
    m = np.asarray(values, dtype=np.float64)
    if m.ndim != 2 or not (1 <= m.shape[0] <= max_rows and 1 <= m.shape[1] <= max_cols):
        raise ValueError(f"{name} must be 1 to {max_rows} rows of 1 to {max_cols} numbers, got shape {m.shape}")
    return m


def batchnorm_lesson(x, gamma, beta, running_mean, running_var, *, training: bool, dout=None,
                     momentum: float = BN_MOMENTUM, epsilon: float = BN_EPSILON) -> BatchNormLesson:
    """BatchNorm of the ``(N, C)`` batch ``x`` with the engine's ``batchnorm_forward`` /
    ``_backward``; ``dout`` (default ones) is the upstream gradient ``dL/dy``."""
    xm = _matrix(x, "x", 16, 8)
    c = xm.shape[1]
    per = [_vector(v, name, 8) for v, name in ((gamma, "gamma"), (beta, "beta"),
                                               (running_mean, "running_mean"), (running_var, "running_var"))]
    if any(v.size != c for v in per):
        raise ValueError(f"gamma, beta, running_mean and running_var need one value per channel ({c}), "
                         f"got {[v.size for v in per]}")
    if np.any(per[3] < 0):
        raise ValueError("running_var must not be negative")
    g = np.ones_like(xm) if dout is None else _matrix(dout, "dout", 16, 8)
    if g.shape != xm.shape:
        raise ValueError(f"dout must have x's shape {list(xm.shape)}, got {list(g.shape)}")
    y, cache, (rm, rv) = batchnorm_forward(xm, *per, training=training, momentum=momentum, epsilon=epsilon)
    dx, dgamma, dbeta = batchnorm_backward(g, cache)
    batch_mean = batch_var = None
    if xm.shape[0] > 1:  # the engine's own batch statistics: a training pass with momentum 0
        _, _, (bm, bv) = batchnorm_forward(xm, *per, training=True, momentum=0.0, epsilon=epsilon)
        batch_mean, batch_var = np.asarray(bm).tolist(), np.asarray(bv).tolist()
    used_mean, used_var = (batch_mean, batch_var) if training else (per[2].tolist(), per[3].tolist())
    assert used_mean is not None and used_var is not None
    return BatchNormLesson(
        training=training, used_mean=used_mean, used_var=used_var,
        batch_mean=batch_mean, batch_var=batch_var, inv_std=cache.inv_std.tolist(),
        xhat=cache.xhat.tolist(), y=y.tolist(), running_mean=np.asarray(rm).tolist(),
        running_var=np.asarray(rv).tolist(), dx=dx.tolist(), dgamma=dgamma.tolist(), dbeta=dbeta.tolist(),
    )
