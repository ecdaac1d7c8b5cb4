"""2-D transposed convolution (ONNX ``ConvTranspose``), forward and backward, vectorised.

Shapes are NCHW: input ``x`` is ``(N, C, H, W)``, weights ``w`` are
``(C, M / group, KH, KW)`` (input channels first, as ONNX), bias ``b`` is ``(M,)`` and
the output is ``(N, M, OH, OW)`` with

.. math::

    OH = (H - 1) S_h - P_{top} - P_{bottom} + D_h (KH - 1) + 1 + \\text{output\\_padding}_h

(:func:`engine.ops.shapes.conv_transpose_output_size`); with ``D = 1`` and equal pads this is
the textbook ``(N - 1) S - 2P + F (+ output_padding)``.

Each input cell *scatters* a copy of the kernel, scaled by its value, onto the output:

.. math::

    y[n, m, i S_h + p D_h - P_{top}, j S_w + q D_w - P_{left}] \\mathrel{+}=
        x[n, c, i, j] \\, w[c, m', p, q]

(``m'`` counted inside the group of channel ``c``); the padding *crops* the full scatter
instead of adding zeros, and ``output_padding`` adds cells at the bottom and right. This is
exactly what a convolution's backward pass does to its output gradient, so the backward
of a transposed convolution is a plain convolution (:func:`engine.ops.conv.conv2d_forward`)
with the same weights, strides, pads and dilations. The loop version is
:func:`engine.ops.reference.conv_transpose2d_reference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.ops.arrays import (
    attr_tuples,
    check_conv_shapes,
    checked_dout,
    float_dtype,
    pad_hw,
    window_attrs,
)
from engine.ops.conv import conv2d_forward
from engine.ops.shapes import conv_transpose_output_shape

__all__ = ["ConvTransposeCache", "conv_transpose2d_backward", "conv_transpose2d_forward",
           "zero_insertion_view"]


class ConvTransposeCache(NamedTuple):
    """What :func:`conv_transpose2d_backward` needs: the input, weights and attributes."""

    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilations: tuple[int, int]
    output_padding: tuple[int, int]
    group: int


def _check(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, group: int) -> None:
    check_conv_shapes("conv_transpose2d", x.shape, w.shape, None if b is None else b.shape, group,
                      layouts=("(N, C, H, W)", "(C, M/group, KH, KW)"), transposed=True)


def conv_transpose2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    output_padding: Sequence[int] = (0, 0),
    group: int = 1,
) -> tuple[np.ndarray, ConvTransposeCache]:
    """Transposed convolution: every input cell adds ``value * kernel`` onto the output.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (C, M / group, KH, KW)
    b : ndarray, shape (M,), optional
    strides : (int, int)
        How far apart neighbouring input cells' kernels land on the output.
    pads : (int, int, int, int)
        ``(top, left, bottom, right)`` cells cropped off the full scatter.
    dilations : (int, int)
        Gaps between kernel taps, as in :func:`engine.ops.conv.conv2d_forward`.
    output_padding : (int, int)
        Extra cells at the bottom and right, each smaller than the stride or the
        dilation of its axis (they pick one of the input sizes a strided convolution
        maps to the same output size).
    group : int
        Channels split into independent blocks, as ONNX ``group``.

    Returns
    -------
    out : ndarray, shape (N, M, OH, OW)
    cache : ConvTransposeCache
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    group = int(group)
    _check(x, w, b, group)
    dtype = float_dtype(x, w, b)
    n, c, h, wd = x.shape
    _, mg, kh, kw = w.shape
    kernel, strides, pads, dilations = window_attrs((kh, kw), strides, pads, dilations)
    (opad,) = attr_tuples(("output_padding", output_padding, 2, 0))
    oh, ow = conv_transpose_output_shape((h, wd), kernel, strides, pads, dilations, opad)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)

    # cols[n, m, p, q, i, j] = sum over the group's channels c of x[n, c, i, j] * w[c, m, p, q]
    cg, m = c // group, mg * group
    wt = w.reshape(group, cg, mg * kh * kw).transpose(0, 2, 1)  # (group, M/g*KH*KW, C/g)
    cols = np.matmul(wt[None], x.reshape(n, group, cg, h * wd))  # (N, group, M/g*KH*KW, H*W)
    cols = cols.reshape(n, m, kh, kw, h, wd)
    (sh, sw), (dh, dw) = strides, dilations
    top, left, bottom, right = pads
    full_h = (h - 1) * sh + dh * (kh - 1) + 1 + opad[0]
    full_w = (wd - 1) * sw + dw * (kw - 1) + 1 + opad[1]
    full = np.zeros((n, m, full_h, full_w), dtype=dtype)
    for p in range(kh):  # each kernel tap scatters the whole input, spread out by the stride
        rows = slice(p * dh, p * dh + sh * (h - 1) + 1, sh)
        for q in range(kw):
            full[:, :, rows, q * dw : q * dw + sw * (wd - 1) + 1 : sw] += cols[:, :, p, q]
    out = np.ascontiguousarray(full[:, :, top : full_h - bottom, left : full_w - right])
    if b is not None:
        out += b.astype(dtype, copy=False)[None, :, None, None]
    return out, ConvTransposeCache(x, w, b is not None, strides, pads, dilations,
                                   (opad[0], opad[1]), group)


def conv_transpose2d_backward(
    dout: np.ndarray, cache: ConvTransposeCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of a transposed convolution with respect to its input, weights and bias.

    .. math::

        \\frac{\\partial L}{\\partial x[n, c, i, j]} = \\sum_{m', p, q}
            g_p[n, m, i S_h + p D_h, j S_w + q D_w] \\, w[c, m', p, q]

    is a plain convolution of the upstream gradient ``g`` (zero-padded by ``pads``) with
    the same weights read as ``(F, C / group, KH, KW)`` = ``(C, M / group, KH, KW)``, and

    .. math::

        \\frac{\\partial L}{\\partial w[c, m', p, q]} = \\sum_{n, i, j}
            x[n, c, i, j] \\, g_p[n, m, i S_h + p D_h, j S_w + q D_w]

        \\frac{\\partial L}{\\partial b[m]} = \\sum_{n, i, j} g[n, m, i, j]

    Parameters
    ----------
    dout : ndarray, shape (N, M, OH, OW)
    cache : ConvTransposeCache

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (C, M / group, KH, KW)
    db : ndarray, shape (M,), or None without a bias
    """
    x, w, has_bias, strides, pads, dilations, opad, group = cache
    n, c, h, wd = x.shape
    _, mg, kh, kw = w.shape
    oh, ow = conv_transpose_output_shape((h, wd), (kh, kw), strides, pads, dilations, opad)
    g = checked_dout(dout, (n, mg * group, oh, ow)).astype(x.dtype, copy=False)
    # dx: the convolution whose backward this op is. Output padding only adds rows a
    # window of that convolution never needs, so its output is cut to (H, W).
    dx, _ = conv2d_forward(g, w, None, strides=strides, pads=pads, dilations=dilations, group=group)
    dx = np.ascontiguousarray(dx[:, :, :h, :wd])
    # dw: every window of the padded gradient, the first H x W of them, against x.
    (sh, sw), (dh, dw_) = strides, dilations
    span = (dh * (kh - 1) + 1, dw_ * (kw - 1) + 1)
    win = sliding_window_view(pad_hw(g, pads), span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw_]
    win = win[:, :, :h, :wd]  # (N, M, H, W, KH, KW)
    cg = c // group
    xg = x.reshape(n, group, cg, h, wd)
    wing = win.reshape(n, group, mg, h, wd, kh, kw)
    dw = np.einsum("ngcij,ngmijpq->gcmpq", xg, wing, optimize=True).reshape(c, mg, kh, kw)
    db = g.sum(axis=(0, 2, 3)) if has_bias else None
    return dx, dw, db


def zero_insertion_view(
    x: np.ndarray,
    w: np.ndarray,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    output_padding: Sequence[int] = (0, 0),
    group: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """The same transposed convolution as a stride-1 convolution: ``(z, w_conv)``.

    ``z`` is ``x`` (N, C, H, W) with ``S - 1`` zeros inserted between neighbouring cells,
    then ``D (F - 1) - P`` zeros around it (``+ output_padding`` at the bottom and right;
    a negative amount crops instead). ``w_conv`` (M, C / group, KH, KW) is the kernel
    turned by 180 degrees with its input and output channels swapped. Then
    ``conv2d_forward(z, w_conv, dilations=dilations, group=group)`` equals
    :func:`conv_transpose2d_forward` of ``x`` and ``w``.
    """
    x, w = np.asarray(x), np.asarray(w)
    _check(x, w, None, int(group))
    n, c, h, wd = x.shape
    _, mg, kh, kw = w.shape
    (sh, sw), (dh, dw) = tuple(strides), tuple(dilations)
    top, left, bottom, right = tuple(pads)
    oph, opw = tuple(output_padding)
    conv_transpose_output_shape((h, wd), (kh, kw), (sh, sw), (top, left, bottom, right), (dh, dw),
                                (oph, opw))  # checks the attributes
    eh, ew = dh * (kh - 1), dw * (kw - 1)
    spread = np.zeros((n, c, (h - 1) * sh + 1, (wd - 1) * sw + 1), dtype=x.dtype)
    spread[:, :, ::sh, ::sw] = x
    big = pad_hw(spread, (eh, ew, eh + oph, ew + opw))
    z = big[:, :, top : big.shape[2] - bottom, left : big.shape[3] - right]
    g, cg = int(group), c // int(group)
    w_conv = w.reshape(g, cg, mg, kh, kw).transpose(0, 2, 1, 3, 4).reshape(g * mg, cg, kh, kw)
    return np.ascontiguousarray(z), np.ascontiguousarray(w_conv[:, :, ::-1, ::-1])
