"""The window taps both pooling modules loop over (:mod:`engine.ops.pool`, :mod:`engine.ops.avgpool`).

Tap ``(p, q)`` of every window at once is the strided slice
``x_p[:, :, p*D_h : p*D_h + S_h*(OH-1) + 1 : S_h, q*D_w : ... : S_w]`` of the padded
input, so a pooling op loops over the ``KH * KW`` taps only, never over positions.
A maximum is separable: :func:`separable_max` takes it over the ``KH`` row taps, then
over the ``KW`` column taps of that, ``KH + KW - 2`` array maxima instead of ``KH * KW - 1``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.ops.arrays import float_dtype, window_attrs
from engine.ops.shapes import conv_output_shape

__all__ = ["max_of_taps", "padded_ends", "pool_setup", "separable_max", "separable_taps",
           "tap_slices"]


def pool_setup(
    x: np.ndarray,
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None,
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: bool,
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int], tuple[int, int, int, int],
           tuple[int, int], tuple[int, int]]:
    """``x`` as a float array and the checked attributes, with the output ``(OH, OW)``."""
    x = np.asarray(x)
    if x.ndim != 4:
        raise ValueError(f"pooling expects x of shape (N, C, H, W), got {x.shape}")
    kernel, strides, pads, dilations = window_attrs(kernel_shape, strides, pads, dilations)
    kh, kw = kernel
    if max(pads[0], pads[2]) >= kh or max(pads[1], pads[3]) >= kw:
        raise ValueError(f"pads {pads} must each be smaller than the kernel {kernel}")
    out_hw = conv_output_shape(x.shape[2:], kernel, strides, pads, dilations, ceil_mode=ceil_mode)
    return x.astype(float_dtype(x), copy=False), kernel, strides, pads, dilations, out_hw


def padded_ends(x_hw, kernel, strides, pads, dilations, out_hw):
    """Bottom/right padding, grown where ``ceil_mode`` windows hang past the pads."""
    ends = []
    for axis in (0, 1):
        need = (out_hw[axis] - 1) * strides[axis] + dilations[axis] * (kernel[axis] - 1) + 1
        ends.append(max(pads[axis + 2], need - x_hw[axis] - pads[axis]))
    return ends


def tap_slices(kernel, strides, dilations, out_hw):
    """Yield ``(p, q, rows, cols)``: the slices of tap ``(p, q)`` in the padded input."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    for p in range(kh):
        for q in range(kw):
            rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
            yield p, q, rows, slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)


def separable_max(xp: np.ndarray, kernel, strides, dilations, out_hw) -> np.ndarray:
    """``y[n, c, i, j] = max_{p, q} xp[n, c, i*S_h + p*D_h, j*S_w + q*D_w]``, a new array.

    ``xp`` is the input already padded (with ``-inf``, as :func:`padded_ends` says); the
    maximum is taken over each window's rows first (whole padded rows at once), then
    over its columns: exactly the maximum of the ``KH * KW`` taps (max is exact).
    """
    return max_of_taps(xp, *separable_taps(kernel, strides, dilations, out_hw))


def separable_taps(kernel, strides, dilations, out_hw) -> tuple[list, list]:
    """The index tuples :func:`max_of_taps` takes: ``(rows, cols)``, the ``KH`` row taps
    ``[..., p*D_h : ... : S_h, :]`` and the ``KW`` column taps ``[..., q*D_w : ... : S_w]``."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    rows = [(Ellipsis, slice(p * dh, p * dh + sh * (oh - 1) + 1, sh), slice(None))
            for p in range(kh)]
    cols = [(Ellipsis, slice(q * dw, q * dw + sw * (ow - 1) + 1, sw)) for q in range(kw)]
    return rows, cols


def max_of_taps(xp: np.ndarray, rows: list, cols: list) -> np.ndarray:
    """The maximum over the row taps of ``xp``, then over the column taps of that (see
    :func:`separable_taps`), as a new C-ordered array."""
    out = _running_max(xp, rows)
    out = _running_max(out, cols)
    if len(rows) * len(cols) == 1:
        return np.array(out, order="C")  # a view of xp until copied
    return out if out.flags.c_contiguous else np.ascontiguousarray(out)


def _running_max(x: np.ndarray, taps: list) -> np.ndarray:
    """Element-wise maximum of ``x[tap]`` over the taps (a view of ``x`` for one tap)."""
    if len(taps) == 1:
        return x[taps[0]]
    out = np.maximum(x[taps[0]], x[taps[1]])
    for tap in taps[2:]:
        np.maximum(out, x[tap], out=out)
    return out
