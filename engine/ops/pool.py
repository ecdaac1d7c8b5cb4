"""2-D max pooling (ONNX ``MaxPool``); average pooling is in :mod:`engine.ops.avgpool`.

Input ``x`` is ``(N, C, H, W)``; the output is ``(N, C, OH, OW)`` with ``OH, OW``
from :func:`engine.ops.shapes.conv_output_shape` (``ceil_mode`` included). Attributes
mean exactly what they mean in ONNX; ``strides=None`` is 1 per axis.

Vectorised by looping over the kernel taps only: tap ``(p, q)`` of every window at
once is the strided slice
``x_p[:, :, p*D_h : p*D_h + S_h*(OH-1) + 1 : S_h, q*D_w : ... : S_w]`` of the padded
input (:mod:`engine.ops.pool_taps`), so max pooling is a running ``np.maximum`` over
those slices of the input padded with ``-inf``; the forward pass takes it over the
``KH`` row taps, then the ``KW`` column taps (max is separable), the argmax over all
``KH * KW`` taps.

Argmax convention: :class:`MaxPoolCache` holds ``rows`` and ``cols``, int64 arrays
of shape ``(N, C, OH, OW)`` giving, in *unpadded* input coordinates, where each
maximum came from (``x[n, c, rows[n, c, i, j], cols[n, c, i, j]]``). On ties the first
tap in row-major kernel order wins. A window holding only padding reports -1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from engine.ops.arrays import checked_dout, pad_hw
from engine.ops.pool_taps import padded_ends, pool_setup, separable_max, tap_slices
from engine.ops.shapes import conv_output_shape

__all__ = [
    "MaxPoolCache",
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
    x, kernel, strides, pads, dilations, out_hw = pool_setup(
        x, kernel_shape, strides, pads, dilations, ceil_mode
    )
    bottom, right = padded_ends(x.shape[2:], kernel, strides, pads, dilations, out_hw)
    xp = pad_hw(x, (pads[0], pads[1], bottom, right), -np.inf)
    out = separable_max(xp, kernel, strides, dilations, out_hw)
    return out, MaxPoolCache(x, kernel, strides, pads, dilations, bool(ceil_mode))


def _max_taps(x, kernel, strides, pads, dilations, out_hw, track):
    """Pairwise ``np.maximum`` over the kernel's strided slices of the (-inf) padded input;
    with ``track``, also the index ``p * KW + q`` of the first tap holding each maximum."""
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = padded_ends((h, w), kernel, strides, pads, dilations, out_hw)
    xp = pad_hw(x, (top, left, bottom, right), -np.inf)
    out = tap = None
    tap_dtype = np.int8 if kernel[0] * kernel[1] <= 127 else np.int64
    for p, q, rows, cols in tap_slices(kernel, strides, dilations, out_hw):
        window = xp[:, :, rows, cols]
        if out is None:
            out = window.copy()
            if track:
                tap = np.zeros(window.shape, dtype=tap_dtype)
        else:
            if track:  # where(window > out, k, tap) = max(tap, k * [window > out]): taps grow
                np.maximum(tap, (window > out) * tap.dtype.type(p * kernel[1] + q), out=tap)
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


def _where_or_zero(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.where(mask, values, 0)`` bit for bit (-0.0 and NaN included), as an AND of
    ``values``' bits with all-ones / all-zeros words: about 8x faster than the masked
    select, which NumPy does element by element."""
    bits = values.view(f"i{values.itemsize}")
    return (bits & -mask.astype(bits.dtype)).view(values.dtype)


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
    dout = checked_dout(dout, x.shape[:2] + out_hw).astype(x.dtype, copy=False)
    kernel, strides, pads, dilations = cache.kernel_shape, cache.strides, cache.pads, cache.dilations
    h, w = x.shape[2:]
    top, left = pads[0], pads[1]
    bottom, right = padded_ends((h, w), kernel, strides, pads, dilations, out_hw)
    tap = cache.taps
    # Each tap adds the gradients of the windows it won back onto its strided slice of the
    # padded input (overlapping windows accumulate); gradients that land in the padding
    # (windows of padding only) are dropped with it.
    dxp = np.zeros(x.shape[:2] + (top + h + bottom, left + w + right), dtype=x.dtype)
    for p, q, rows, cols in tap_slices(kernel, strides, dilations, out_hw):
        dxp[:, :, rows, cols] += _where_or_zero(tap == p * kernel[1] + q, dout)
    return np.ascontiguousarray(dxp[:, :, top : top + h, left : left + w])
