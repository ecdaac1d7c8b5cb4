"""Inverted dropout (ONNX ``Dropout``), forward and backward.

In training, each value is kept with probability ``1 - ratio`` and the kept ones are
scaled by ``1 / (1 - ratio)``, so the expected output equals the input and inference
needs no rescaling: at inference (``training=False``) dropout is the identity, as
ONNX ``Dropout`` with ``training_mode`` false.

.. math::

    y = x \\cdot \\frac{m}{1 - r}, \\quad m \\sim \\text{Bernoulli}(1 - r)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine.ops.arrays import float_dtype

__all__ = ["DropoutCache", "dropout_backward", "dropout_forward"]


class DropoutCache(NamedTuple):
    """The mask already scaled: ``m / (1 - ratio)`` (None when nothing was dropped)."""

    mask: np.ndarray | None


def dropout_forward(
    x: np.ndarray,
    ratio: float = 0.5,
    *,
    training: bool = False,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, DropoutCache]:
    """Zero each value with probability ``ratio`` and scale the rest by ``1 / (1 - ratio)``.

    Parameters
    ----------
    x : ndarray, any shape
    ratio : float
        Probability of dropping a value, in ``[0, 1)``.
    training : bool
        False (inference): ``y = x``.
    rng : numpy.random.Generator
        Required in training mode with ``ratio > 0``: the source of the mask, so a
        caller that seeds it gets the same mask again.

    Returns
    -------
    out : ndarray, same shape and dtype as ``x``
    cache : DropoutCache
    """
    x = np.asarray(x)
    x = x.astype(float_dtype(x), copy=False)
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"dropout ratio must be in [0, 1), got {ratio}")
    if not training or ratio == 0.0:
        return x, DropoutCache(None)
    if rng is None:
        raise ValueError("training-mode dropout needs rng (a numpy.random.Generator)")
    keep = rng.random(x.shape, dtype=np.float32) >= np.float32(ratio)
    mask = keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - ratio))
    return x * mask, DropoutCache(mask)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """``dx = dout * m / (1 - ratio)``: gradients flow only through the kept values."""
    dout = np.asarray(dout)
    if cache.mask is None:
        return dout
    if dout.shape != cache.mask.shape:
        raise ValueError(f"dout must have the input's shape {cache.mask.shape}, got {dout.shape}")
    return dout.astype(cache.mask.dtype, copy=False) * cache.mask
