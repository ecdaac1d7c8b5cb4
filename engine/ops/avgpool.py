"""2-D average pooling (ONNX ``AveragePool``, ``GlobalAveragePool``).

Input ``x`` is ``(N, C, H, W)``; the output is ``(N, C, OH, OW)`` with ``OH, OW``
from :func:`engine.ops.shapes.conv_output_shape` (``ceil_mode`` included). Attributes
mean exactly what they mean in ONNX; ``strides=None`` is 1 per axis.

Vectorised as a running sum over the kernel taps (:mod:`engine.ops.pool_taps`) of
the zero-padded input, divided by how many real (or, with ``count_include_pad``,
explicitly padded) cells each window holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from engine.ops.arrays import checked_dout, float_dtype, pad_hw
from engine.ops.pool_taps import padded_ends, pool_setup, tap_slices

__all__ = [
    "AvgPoolCache",
    "GlobalAvgPoolCache",
    "avgpool2d_backward",
    "avgpool2d_forward",
    "global_avgpool_backward",
    "global_avgpool_forward",
]


class AvgPoolCache(NamedTuple):
    """Unpadded input, attributes, and the divisor of each output ``(OH, OW)``."""

    x: np.ndarray
    kernel_shape: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    ceil_mode: bool
    count_include_pad: bool
    counts: np.ndarray


class GlobalAvgPoolCache(NamedTuple):
    """The input of :func:`global_avgpool_forward`."""

    x: np.ndarray


def avgpool2d_forward(
    x: np.ndarray,
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    pads: Sequence[int] = (0, 0, 0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = False,
) -> tuple[np.ndarray, AvgPoolCache]:
    """Mean over each window: ``y[n,c,i,j] = sum_{p,q} x_p[n,c,iS_h+p,jS_w+q] / count[i,j]``.

    ``count`` is the number of real input cells in the window, or with
    ``count_include_pad`` the cells inside the explicitly padded input (cells that
    only ``ceil_mode`` adds never count), as ONNX ``AveragePool``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_shape : (int, int)
    strides : (int, int), optional
        Default 1 per axis.
    pads : (int, int, int, int)
        ``(top, left, bottom, right)``, zero padding; each < kernel.
    ceil_mode, count_include_pad : bool

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
    cache : AvgPoolCache
    """
    x, kernel, strides, pads, _, out_hw = pool_setup(x, kernel_shape, strides, pads, (1, 1), ceil_mode)
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = padded_ends((h, w), kernel, strides, pads, (1, 1), out_hw)
    xp = pad_hw(x, (top, left, bottom, right))
    mask = np.zeros(xp.shape[2:], dtype=x.dtype)
    if count_include_pad:
        mask[: top + h + pads[2], : left + w + pads[3]] = 1
    else:
        mask[top : top + h, left : left + w] = 1
    total = np.zeros(x.shape[:2] + out_hw, dtype=x.dtype)
    counts = np.zeros(out_hw, dtype=x.dtype)
    for _, _, rows, cols in tap_slices(kernel, strides, (1, 1), out_hw):
        total += xp[:, :, rows, cols]
        counts += mask[rows, cols]
    cache = AvgPoolCache(x, kernel, strides, pads, bool(ceil_mode), bool(count_include_pad), counts)
    return total / counts, cache


def avgpool2d_backward(dout: np.ndarray, cache: AvgPoolCache) -> np.ndarray:
    """Share each upstream gradient equally over its window: ``dout[n,c,i,j] / count[i,j]``.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, kernel, strides, pads, _, _, counts = cache
    dout = checked_dout(dout, x.shape[:2] + counts.shape)
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = padded_ends((h, w), kernel, strides, pads, (1, 1), counts.shape)
    dxp = np.zeros(x.shape[:2] + (top + h + bottom, left + w + right), dtype=x.dtype)
    share = (dout / counts).astype(x.dtype, copy=False)
    for _, _, rows, cols in tap_slices(kernel, strides, (1, 1), counts.shape):
        dxp[:, :, rows, cols] += share
    return np.ascontiguousarray(dxp[:, :, top : top + h, left : left + w])


def global_avgpool_forward(x: np.ndarray) -> tuple[np.ndarray, GlobalAvgPoolCache]:
    """Mean over all positions of each channel: ``(N, C, H, W) -> (N, C, 1, 1)``."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"global_avgpool expects x of shape (N, C, H, W), got {x.shape}")
    x = x.astype(float_dtype(x), copy=False)
    return x.mean(axis=(2, 3), keepdims=True), GlobalAvgPoolCache(x)


def global_avgpool_backward(dout: np.ndarray, cache: GlobalAvgPoolCache) -> np.ndarray:
    """``dx[n, c, h, w] = dout[n, c, 0, 0] / (H * W)``."""
    x = cache.x
    dout = checked_dout(dout, x.shape[:2] + (1, 1))
    h, w = x.shape[2:]
    return np.broadcast_to(dout / (h * w), x.shape).astype(x.dtype)
