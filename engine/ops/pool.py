"""2-D max and average pooling (ONNX ``MaxPool``, ``AveragePool``, ``GlobalAveragePool``).

Input ``x`` is ``(N, C, H, W)``; the output is ``(N, C, OH, OW)`` with ``OH, OW``
from :func:`engine.ops.shapes.conv_output_shape` (``ceil_mode`` included). Attributes
mean exactly what they mean in ONNX; ``strides=None`` is 1 per axis.

Vectorised by looping over the ``KH * KW`` kernel taps only: tap ``(p, q)`` of every
window at once is the strided slice
``x_p[:, :, p*D_h : p*D_h + S_h*(OH-1) + 1 : S_h, q*D_w : ... : S_w]`` of the padded
input, so max pooling is a running ``np.maximum`` over those slices and average
pooling a running sum. Max pooling pads with ``-inf``, average pooling with 0.

Argmax convention: :class:`MaxPoolCache` holds ``rows`` and ``cols``, int64 arrays
of shape ``(N, C, OH, OW)`` giving, in *unpadded* input coordinates, where each
maximum came from (``x[n, c, rows[n, c, i, j], cols[n, c, i, j]]``). On ties the first
tap in row-major kernel order wins. A window holding only padding reports -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from engine.ops.shapes import conv_output_shape, float_dtype, pad_hw, window_attrs

__all__ = [
    "AvgPoolCache",
    "GlobalAvgPoolCache",
    "MaxPoolCache",
    "avgpool2d_backward",
    "avgpool2d_forward",
    "global_avgpool_backward",
    "global_avgpool_forward",
    "maxpool2d_argmax",
    "maxpool2d_backward",
    "maxpool2d_forward",
]


@dataclass(frozen=True)
class MaxPoolCache:
    """Unpadded input and attributes; ``rows``/``cols`` of each maximum on first use.

    The forward pass only takes maxima (the fast path the graph runner needs); where
    each maximum came from is worked out when the backward pass or a page asks.
    """

    x: np.ndarray
    kernel_shape: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilations: tuple[int, int]
    ceil_mode: bool

    @cached_property
    def out_hw(self) -> tuple[int, int]:
        return conv_output_shape(
            self.x.shape[2:], self.kernel_shape, self.strides, self.pads, self.dilations,
            ceil_mode=self.ceil_mode,
        )

    @cached_property
    def taps(self) -> np.ndarray:
        """Which kernel tap ``p * KW + q`` held each maximum (first in row-major order),
        shape ``(N, C, OH, OW)``, int8 when the kernel has at most 127 taps."""
        return _max_taps(
            self.x, self.kernel_shape, self.strides, self.pads, self.dilations, self.out_hw, True
        )[1]

    @cached_property
    def _argmax(self) -> tuple[np.ndarray, np.ndarray]:
        return _tap_positions(
            self.taps, self.x.shape[2:], self.kernel_shape, self.strides, self.pads,
            self.dilations,
        )

    @property
    def rows(self) -> np.ndarray:
        return self._argmax[0]

    @property
    def cols(self) -> np.ndarray:
        return self._argmax[1]


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


def _setup(
    x: np.ndarray,
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None,
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: bool,
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], tuple[int, int, int, int],
           tuple[int, int], tuple[int, int]]:
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"pooling expects x of shape (N, C, H, W), got {x.shape}")
    kernel, strides, pads, dilations = window_attrs(kernel_shape, strides, pads, dilations)
    kh, kw = kernel
    if max(pads[0], pads[2]) >= kh or max(pads[1], pads[3]) >= kw:
        raise ValueError(f"pads {pads} must each be smaller than the kernel {kernel}")
    out_hw = conv_output_shape(x.shape[2:], kernel, strides, pads, dilations, ceil_mode=ceil_mode)
    return x.astype(float_dtype(x), copy=False), kernel, strides, pads, dilations, out_hw


def _ends(x_hw, kernel, strides, pads, dilations, out_hw):
    """Bottom/right padding, grown where ``ceil_mode`` windows hang past the pads."""
    ends = []
    for axis in (0, 1):
        need = (out_hw[axis] - 1) * strides[axis] + dilations[axis] * (kernel[axis] - 1) + 1
        ends.append(max(pads[axis + 2], need - x_hw[axis] - pads[axis]))
    return ends


def _taps(kernel, strides, dilations, out_hw):
    """Yield ``(p, q, rows, cols)``: the slices of tap ``(p, q)`` in the padded input."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
            yield p, q, rows, slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)


def maxpool2d_forward(
    x: np.ndarray,
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
) -> tuple[np.ndarray, MaxPoolCache]:
    """Max over each (dilated) window: ``y[n,c,i,j] = max_{p,q} x_p[n,c,iS_h+pD_h,jS_w+qD_w]``.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    kernel_shape : (int, int)
    strides : (int, int), optional
        Default 1 per axis, as ONNX.
    pads : (int, int, int, int)
        ``(top, left, bottom, right)``, padded with ``-inf``; each < kernel.
    dilations : (int, int)
    ceil_mode : bool

    Returns
    -------
    out : ndarray, shape (N, C, OH, OW)
    cache : MaxPoolCache
        With ``rows``/``cols`` of each maximum (unpadded coordinates).
    """
    x, kernel, strides, pads, dilations, out_hw = _setup(
        x, kernel_shape, strides, pads, dilations, ceil_mode
    )
    out, _ = _max_taps(x, kernel, strides, pads, dilations, out_hw, False)
    return out, MaxPoolCache(x, kernel, strides, pads, dilations, bool(ceil_mode))


def _max_taps(x, kernel, strides, pads, dilations, out_hw, track):
    """Pairwise ``np.maximum`` over the kernel's strided slices of the (-inf) padded input;
    with ``track``, also the index ``p * KW + q`` of the first tap holding each maximum."""
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = _ends((h, w), kernel, strides, pads, dilations, out_hw)
    xp = pad_hw(x, (top, left, bottom, right), -np.inf)
    out = tap = None
    tap_dtype = np.int8 if kernel[0] * kernel[1] <= 127 else np.int64
    for p, q, rows, cols in _taps(kernel, strides, dilations, out_hw):
        window = xp[:, :, rows, cols]
        if out is None:
            out = window.copy()
            if track:
                tap = np.zeros(window.shape, dtype=tap_dtype)
        else:
            if track:
                np.copyto(tap, p * kernel[1] + q, where=window > out, casting="unsafe")
            np.maximum(out, window, out=out)
    return out, tap


def _tap_positions(tap, x_hw, kernel, strides, pads, dilations):
    """``(rows, cols)`` in unpadded input coordinates of each winning ``tap`` (int64,
    -1 where the tap lies in the padding: a window that holds only padding)."""
    (h, w), (oh, ow) = x_hw, tap.shape[2:]
    tap = tap.astype(np.int64)
    arg_rows = np.arange(oh)[:, None] * strides[0] + (tap // kernel[1]) * dilations[0] - pads[0]
    arg_cols = np.arange(ow) * strides[1] + (tap % kernel[1]) * dilations[1] - pads[1]
    outside = (arg_rows < 0) | (arg_rows >= h) | (arg_cols < 0) | (arg_cols >= w)
    arg_rows[outside] = -1
    arg_cols[outside] = -1
    return arg_rows, arg_cols


def maxpool2d_argmax(x: np.ndarray, **attrs) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, cols)`` of each maximum in unpadded input coordinates.

    Takes the same keyword attributes as :func:`maxpool2d_forward`; both arrays
    have the output shape ``(N, C, OH, OW)``.
    """
    _, cache = maxpool2d_forward(x, **attrs)
    return cache.rows, cache.cols


def maxpool2d_backward(dout: np.ndarray, cache: MaxPoolCache) -> np.ndarray:
    """Route each upstream gradient to the input cell that held the maximum.

    ``dx[n, c, r, s] = sum of dout[n, c, i, j] over the (i, j) whose max was (r, s)``;
    overlapping windows can send several gradients to one cell.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    """
    x, out_hw = cache.x, cache.out_hw
    dout = np.asarray(dout)
    if dout.shape != x.shape[:2] + out_hw:
        raise ValueError(f"dout must have the output shape {x.shape[:2] + out_hw}, got {dout.shape}")
    dout = dout.astype(x.dtype, copy=False)
    kernel, strides, pads, dilations = cache.kernel_shape, cache.strides, cache.pads, cache.dilations
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = _ends((h, w), kernel, strides, pads, dilations, out_hw)
    tap = cache.taps
    # Each tap adds the gradients of the windows it won back onto its strided slice of the
    # padded input (overlapping windows accumulate); gradients that land in the padding
    # (windows of padding only) are dropped with it.
    dxp = np.zeros(x.shape[:2] + (top + h + bottom, left + w + right), dtype=x.dtype)
    zero = np.zeros((), dtype=x.dtype)
    for p, q, rows, cols in _taps(kernel, strides, dilations, out_hw):
        dxp[:, :, rows, cols] += np.where(tap == p * kernel[1] + q, dout, zero)
    return np.ascontiguousarray(dxp[:, :, top : top + h, left : left + w])


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
    x, kernel, strides, pads, _, out_hw = _setup(x, kernel_shape, strides, pads, (1, 1), ceil_mode)
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = _ends((h, w), kernel, strides, pads, (1, 1), out_hw)
    xp = pad_hw(x, (top, left, bottom, right))
    mask = np.zeros(xp.shape[2:], dtype=x.dtype)
    if count_include_pad:
        mask[: top + h + pads[2], : left + w + pads[3]] = 1
    else:
        mask[top : top + h, left : left + w] = 1
    total = np.zeros(x.shape[:2] + out_hw, dtype=x.dtype)
    counts = np.zeros(out_hw, dtype=x.dtype)
    for _, _, rows, cols in _taps(kernel, strides, (1, 1), out_hw):
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
    dout = np.asarray(dout)
    if dout.shape != x.shape[:2] + counts.shape:
        raise ValueError(
            f"dout must have the output shape {x.shape[:2] + counts.shape}, got {dout.shape}"
        )
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = _ends((h, w), kernel, strides, pads, (1, 1), counts.shape)
    dxp = np.zeros(x.shape[:2] + (top + h + bottom, left + w + right), dtype=x.dtype)
    share = (dout / counts).astype(x.dtype, copy=False)
    for _, _, rows, cols in _taps(kernel, strides, (1, 1), counts.shape):
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
    dout = np.asarray(dout)
    if dout.shape != x.shape[:2] + (1, 1):
        raise ValueError(f"dout must have shape {x.shape[:2] + (1, 1)}, got {dout.shape}")
    h, w = x.shape[2:]
    return np.broadcast_to(dout / (h * w), x.shape).astype(x.dtype)
