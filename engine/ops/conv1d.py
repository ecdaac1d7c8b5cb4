"""1-D convolution (ONNX ``Conv`` on ``(N, C, L)``), forward and backward.

A 1-D convolution slides a ``K``-tap filter along one axis: a sentence's word vectors, an
audio signal, a time series. It is the 2-D convolution of :mod:`engine.ops.conv` on an
image one row high with a filter one row high, so these functions reshape and call it:

.. math::

    y[n, f, i] = b[f] + \\sum_{c, p} x_p[n, c_0 + c, i S + p D] \\, w[f, c, p]

Shapes: ``x`` is ``(N, C, L)``, ``w`` is ``(F, C / group, K)``, the output is
``(N, F, L_out)`` with ``L_out`` from :func:`engine.ops.shapes.output_size`. Attributes are
ONNX's for one spatial axis: ``strides = (S,)``, ``pads = (begin, end)``,
``dilations = (D,)``. The loop version is :func:`engine.ops.reference.conv1d_reference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from engine.ops.arrays import attr_tuples, check_conv_shapes
from engine.ops.conv import ConvCache, conv2d_backward, conv2d_forward

__all__ = ["Conv1dCache", "conv1d_backward", "conv1d_forward"]


class Conv1dCache(NamedTuple):
    """The 2-D convolution's cache (of the one-row view)."""

    conv: ConvCache


def conv1d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1,),
    pads: Sequence[int] = (0, 0),
    dilations: Sequence[int] = (1,),
    group: int = 1,
) -> tuple[np.ndarray, Conv1dCache]:
    """Convolve a batch of sequences with a bank of 1-D filters.

    Parameters
    ----------
    x : ndarray, shape (N, C, L)
    w : ndarray, shape (F, C / group, K)
    b : ndarray, shape (F,), optional
    strides : (int,)
    pads : (int, int)
        Zeros added at the ``(begin, end)`` of the sequence.
    dilations : (int,)
    group : int

    Returns
    -------
    out : ndarray, shape (N, F, L_out)
    cache : Conv1dCache
    """
    x, w = np.asarray(x), np.asarray(w)
    group = int(group)
    check_conv_shapes("conv1d", x.shape, w.shape, None if b is None else np.shape(b), group,
                      layouts=("(N, C, L)", "(F, C/group, K)"))
    (s,), (p0, p1), (d,) = attr_tuples(("strides", strides, 1, 1), ("pads", pads, 2, 0),
                                       ("dilations", dilations, 1, 1), of=" of a 1-D convolution")
    out, cache = conv2d_forward(x[:, :, None, :], w[:, :, None, :], b, strides=(1, s),
                                pads=(0, p0, 0, p1), dilations=(1, d), group=group)
    return out[:, :, 0, :], Conv1dCache(cache)


def conv1d_backward(
    dout: np.ndarray, cache: Conv1dCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of :func:`conv1d_forward`: ``dx`` (N, C, L), ``dw`` (F, C / group, K) and
    ``db`` (F,) (None without a bias), through the 2-D backward of the one-row view."""
    dout = np.asarray(dout)
    if dout.ndim != 3:
        raise ValueError(f"dout of a 1-D convolution must be (N, F, L_out), got {dout.shape}")
    dx, dw, db = conv2d_backward(dout[:, :, None, :], cache.conv)
    return dx[:, :, 0, :], dw[:, :, 0, :], db
