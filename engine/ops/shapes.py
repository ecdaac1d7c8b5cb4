"""Sizes of convolution and pooling outputs: how a window slides along an axis.

Every function here is plain integer arithmetic with the formula in its docstring,
so pages can show the sum a student would write by hand. The ops in this package
use the same functions, so the numbers on a page and the arrays they describe agree.
Parameter counts and memory are in :mod:`engine.ops.counts`. The transposed convolution's
sizes (``(N - 1) S - 2P + F``) are written in :mod:`engine.ops.shapes_transpose` and
available here too.

Attribute meanings follow ONNX: ``pads`` are ``(top, left, bottom, right)`` for 2-D,
``dilations`` of 1 mean "no dilation", and a dilated kernel spans
``dilation * (kernel - 1) + 1`` input cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.ops.arrays import attr_tuples, pad_pair
from engine.ops.shapes_transpose import (
    TransposeSize,
    conv_transpose_output_shape,
    conv_transpose_output_size,
)

__all__ = [
    "OutputSize",
    "TransposeSize",
    "conv_output_shape",
    "conv_transpose_output_shape",
    "conv_transpose_output_size",
    "output_size",
    "same_padding",
    "unread",
]


@dataclass(frozen=True)
class OutputSize:
    """The result of :func:`output_size`, with the working shown.

    Attributes
    ----------
    size : int
        Number of output positions along the axis.
    fits : bool
        True iff ``numerator`` is an exact multiple of ``stride`` (the kernel's last
        placement ends exactly on the padded input's last cell).
    numerator : int
        ``n + pad_begin + pad_end - dilation * (kernel - 1) - 1``.
    stride : int
        The stride the division was made by.
    exact : float
        ``numerator / stride + 1`` before rounding (e.g. 2.33 for 7, F=3, S=3).
    padded : int
        ``n + pad_begin + pad_end``.
    span : int
        Input cells covered by one dilated kernel: ``dilation * (kernel - 1) + 1``.
    """

    size: int
    fits: bool
    numerator: int
    stride: int
    exact: float
    padded: int
    span: int

def output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    pad: int | Sequence[int] = 0,
    dilation: int = 1,
    *,
    ceil_mode: bool = False,
) -> OutputSize:
    """Output length of a convolution or pooling window sliding along one axis.

    .. math::

        O = \\left\\lfloor \\frac{N + P_b + P_e - D (F - 1) - 1}{S} \\right\\rfloor + 1

    With ``D = 1`` and symmetric padding this is the course formula
    ``(N - F + 2P) / S + 1``.

    Parameters
    ----------
    n : int
        Input length ``N`` (height or width), >= 1.
    kernel : int
        Kernel length ``F``, >= 1.
    stride : int
        Step ``S`` between placements, >= 1.
    pad : int or (int, int)
        Zero padding: one int for both sides, or ``(begin, end)``.
    dilation : int
        Gap factor ``D`` between kernel taps (1 = none), >= 1.
    ceil_mode : bool
        Round up instead of down (ONNX pooling ``ceil_mode``); a last window that
        would start inside the end padding is dropped, as ONNX specifies.

    Returns
    -------
    OutputSize

    Raises
    ------
    ValueError
        If a size is not positive, a pad is negative, or the dilated kernel is
        wider than the padded input.
    """
    pad_begin, pad_end = pad_pair(pad)
    if n < 1:
        raise ValueError(f"input size must be >= 1, got {n}")
    if kernel < 1:
        raise ValueError(f"kernel size must be >= 1, got {kernel}")
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if dilation < 1:
        raise ValueError(f"dilation must be >= 1 (1 means no dilation), got {dilation}")
    if pad_begin < 0 or pad_end < 0:
        raise ValueError(f"padding must be >= 0, got ({pad_begin}, {pad_end})")
    padded = n + pad_begin + pad_end
    span = dilation * (kernel - 1) + 1
    if span > padded:
        raise ValueError(
            f"kernel spans {span} cells (kernel {kernel}, dilation {dilation}) but the padded "
            f"input has only {padded} (size {n} + padding {pad_begin} + {pad_end})"
        )
    numerator = padded - span
    if ceil_mode:
        size = -(-numerator // stride) + 1
        if (size - 1) * stride >= n + pad_begin:
            size -= 1
    else:
        size = numerator // stride + 1
    return OutputSize(
        size=size,
        fits=numerator % stride == 0,
        numerator=numerator,
        stride=stride,
        exact=numerator / stride + 1,
        padded=padded,
        span=span,
    )


def unread(n: int, kernel: int, stride: int = 1, pad: int | Sequence[int] = 0,
           dilation: int = 1) -> list[int]:
    """Padded positions along one axis that no tap of any window reads.

    A window at output position ``i`` reads the padded cells ``i*S + t*D`` for
    ``t < F``. A cell none of them reads never reaches the output, for one of two
    reasons: it lies after the last window (``(N - F + 2P)`` is not a multiple of
    ``S``, so the output size was rounded down), or the stride steps over it (``S``
    larger than the window, or dilation gaps that the stride does not fill). A 1x1
    window with stride 2 reads every second row and column.

    Time and memory are O(N + P + D) (about 40 bytes a padded cell), whatever F and
    S are; the answer itself can be that long too, so a caller that takes sizes from a
    user bounds ``N + P`` first (``engine.explain.layer.MAX_SPAN``).

    Returns
    -------
    list of int
        Sorted padded indices (0 is the first cell of the leading padding); input
        cell ``j`` is padded index ``j + pad_begin``.
    """
    pad_begin, pad_end = pad_pair(pad)
    size = output_size(n, kernel, stride, (pad_begin, pad_end), dilation).size
    padded = n + pad_begin + pad_end
    # Window i reads F consecutive cells of the residue class (i*S) mod D, counted in
    # steps of D. One difference array per class marks those runs: O(N + outputs) time
    # and memory, however large F and S are (never outputs x F).
    starts = np.arange(size, dtype=np.int64) * stride
    cls, first = starts % dilation, starts // dilation
    width = padded // dilation + 2
    diff = np.zeros((dilation, width), dtype=np.int64)
    np.add.at(diff, (cls, first), 1)
    np.add.at(diff, (cls, np.minimum(first + kernel, width - 1)), -1)
    c, j = np.nonzero(np.cumsum(diff, axis=1) > 0)
    read = np.zeros(padded, dtype=bool)
    q = j * dilation + c
    read[q[q < padded]] = True
    return np.flatnonzero(~read).tolist()


def conv_output_shape(
    in_hw: Sequence[int],
    kernel_shape: Sequence[int],
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    *,
    ceil_mode: bool = False,
) -> tuple[int, int]:
    """Spatial output shape ``(OH, OW)`` of a 2-D convolution or pooling.

    Applies :func:`output_size` per axis: height uses ``pads[0]`` (top) and
    ``pads[2]`` (bottom), width uses ``pads[1]`` (left) and ``pads[3]`` (right).

    Parameters
    ----------
    in_hw : (int, int)
        Input ``(H, W)``.
    kernel_shape : (int, int)
        ``(KH, KW)``.
    strides, dilations : (int, int)
        Per-axis stride and dilation.
    pads : (int, int, int, int)
        ``(top, left, bottom, right)``, as ONNX.
    ceil_mode : bool
        Pooling's round-up mode, see :func:`output_size`.

    Returns
    -------
    (int, int)
    """
    attr_tuples(("in_hw", in_hw, 2), ("kernel_shape", kernel_shape, 2), ("strides", strides, 2),
                ("pads", pads, 4), ("dilations", dilations, 2))
    oh = output_size(
        in_hw[0], kernel_shape[0], strides[0], (pads[0], pads[2]), dilations[0], ceil_mode=ceil_mode
    )
    ow = output_size(
        in_hw[1], kernel_shape[1], strides[1], (pads[1], pads[3]), dilations[1], ceil_mode=ceil_mode
    )
    return oh.size, ow.size


def same_padding(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """Padding ``(begin, end)`` that keeps the size unchanged at stride 1.

    The total is ``D (F - 1)``; it is split ``begin = floor(total / 2)``,
    ``end = ceil(total / 2)`` as ONNX ``SAME_UPPER``. For odd ``F`` and ``D = 1``
    both sides are the course's ``(F - 1) / 2``.
    """
    if kernel < 1 or dilation < 1:
        raise ValueError(f"kernel and dilation must be >= 1, got {kernel} and {dilation}")
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2

