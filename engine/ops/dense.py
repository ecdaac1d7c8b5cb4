"""The classifier head: flatten, dense (fully connected), softmax and cross-entropy.

``dense_forward`` is ONNX ``Gemm`` with ``transB=1``: weights are stored
``(out_features, in_features)``, one row per output neuron, as PyTorch's ``Linear``.
Softmax backward is a vector-Jacobian product over the softmax axis, not an
element-wise derivative: every output depends on every input along that axis.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from engine.ops.arrays import float_dtype

__all__ = [
    "CrossEntropyCache",
    "DenseCache",
    "SoftmaxCache",
    "cross_entropy_backward",
    "cross_entropy_forward",
    "dense_backward",
    "dense_forward",
    "flatten",
    "log_softmax",
    "softmax_backward",
    "softmax_forward",
]


class DenseCache(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    has_bias: bool


class SoftmaxCache(NamedTuple):
    out: np.ndarray
    axis: int


class CrossEntropyCache(NamedTuple):
    probs: np.ndarray
    labels: np.ndarray


def flatten(x: np.ndarray, axis: int = 1) -> np.ndarray:
    """ONNX ``Flatten``: reshape to ``(prod(shape[:axis]), prod(shape[axis:]))``.

    ``axis`` may be negative (counted from the end) and lies in ``[-ndim, ndim]``;
    ``axis=0`` gives ``(1, size)``. The gradient is ``dout.reshape(x.shape)``.
    """
    x = np.asarray(x)
    if not -x.ndim <= axis <= x.ndim:
        raise ValueError(f"axis must be in [{-x.ndim}, {x.ndim}] for shape {x.shape}, got {axis}")
    axis = axis % x.ndim if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


def dense_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None
) -> tuple[np.ndarray, DenseCache]:
    """Fully connected layer ``y = x W^T + b``.

    Parameters
    ----------
    x : ndarray, shape (N, in_features)
    w : ndarray, shape (out_features, in_features)
    b : ndarray, shape (out_features,), optional

    Returns
    -------
    out : ndarray, shape (N, out_features)
    cache : DenseCache
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1]:
        raise ValueError(
            f"dense expects x (N, in) and w (out, in) with matching 'in', got x {x.shape} and "
            f"w {w.shape} (flatten feature maps first)"
        )
    if b is not None and b.shape != (w.shape[0],):
        raise ValueError(f"bias must have shape ({w.shape[0]},) for w {w.shape}, got {b.shape}")
    dtype = float_dtype(x, w, b)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
    out = x @ w.T
    if b is not None:
        out += b.astype(dtype, copy=False)
    return out, DenseCache(x, w, b is not None)


def dense_backward(
    dout: np.ndarray, cache: DenseCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of ``y = x W^T + b``: ``dx = dout W``, ``dW = dout^T x``, ``db = sum_n dout``.

    Returns
    -------
    dx : ndarray, shape (N, in_features)
    dw : ndarray, shape (out_features, in_features)
    db : ndarray, shape (out_features,), or None when the forward pass had no bias
    """
    x, w, has_bias = cache
    dout = np.asarray(dout)
    if dout.shape != (x.shape[0], w.shape[0]):
        raise ValueError(f"dout must have shape {(x.shape[0], w.shape[0])}, got {dout.shape}")
    dout = dout.astype(x.dtype, copy=False)
    return dout @ w, dout.T @ x, dout.sum(axis=0) if has_bias else None


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(float_dtype(x), copy=False)


def softmax_forward(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, SoftmaxCache]:
    """``y_i = exp(x_i - m) / sum_j exp(x_j - m)`` along ``axis``, with ``m = max_j x_j``.

    Subtracting the maximum changes nothing mathematically and keeps ``exp`` from
    overflowing. ``x`` has any shape; ``y`` has the same shape and sums to 1 along ``axis``.
    """
    x = _float(x)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for shape {x.shape}")
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    out = e / e.sum(axis=axis, keepdims=True)
    return out, SoftmaxCache(out, axis)


def softmax_backward(dout: np.ndarray, cache: SoftmaxCache) -> np.ndarray:
    """Vector-Jacobian product of softmax: ``dx = y * (dout - sum(dout * y, axis))``.

    The Jacobian is ``dy_i/dx_j = y_i (delta_ij - y_j)``, so
    ``dx_j = sum_i dout_i y_i (delta_ij - y_j) = y_j (dout_j - sum_i dout_i y_i)``.
    """
    y, axis = cache
    dout = np.asarray(dout)
    if dout.shape != y.shape:
        raise ValueError(f"dout must have the softmax output's shape {y.shape}, got {dout.shape}")
    dout = dout.astype(y.dtype, copy=False)
    return y * (dout - (dout * y).sum(axis=axis, keepdims=True))


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log softmax(x) = (x - m) - log sum_j exp(x_j - m)`` along ``axis`` (log-sum-exp)."""
    x = _float(x)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"axis {axis} is out of range for shape {x.shape}")
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def cross_entropy_forward(
    logits: np.ndarray, labels: np.ndarray
) -> tuple[float, CrossEntropyCache]:
    """Mean softmax cross-entropy ``L = -(1/N) sum_n log softmax(logits_n)[labels_n]``.

    Parameters
    ----------
    logits : ndarray, shape (N, K)
        Unnormalised class scores.
    labels : ndarray of int, shape (N,)
        Class indices in ``[0, K)``.

    Returns
    -------
    loss : float
    cache : CrossEntropyCache
        The softmax probabilities and the labels.
    """
    logits, labels = _float(logits), np.asarray(labels)
    if logits.ndim != 2 or logits.shape[0] < 1 or labels.shape != (logits.shape[0],):
        raise ValueError(
            "cross_entropy expects logits (N, K) and labels (N,) with N >= 1, "
            f"got {logits.shape} and {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}), got {labels.tolist()}")
    logp = log_softmax(logits, axis=1)
    loss = -float(logp[np.arange(labels.shape[0]), labels].mean())
    return loss, CrossEntropyCache(np.exp(logp), labels)


def cross_entropy_backward(cache: CrossEntropyCache, dloss: float = 1.0) -> np.ndarray:
    """``dlogits = dloss * (softmax(logits) - onehot(labels)) / N``, shape (N, K)."""
    probs, labels = cache
    grad = probs.copy()
    grad[np.arange(labels.shape[0]), labels] -= 1
    grad *= dloss / labels.shape[0]
    return grad
