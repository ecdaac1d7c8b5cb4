"""2-D convolution (ONNX ``Conv``), forward and backward, vectorised.

Shapes are NCHW: input ``x`` is ``(N, C, H, W)``, weights ``w`` are
``(F, C / group, KH, KW)``, bias ``b`` is ``(F,)`` and the output is ``(N, F, OH, OW)``
with ``OH, OW`` from :func:`engine.ops.shapes.conv_output_shape`.

.. math::

    y[n, f, i, j] = b[f] + \\sum_{c, p, q} x_p[n, c_0 + c, i S_h + p D_h, j S_w + q D_w]
                    \\, w[f, c, p, q]

where ``x_p`` is ``x`` zero-padded by ``pads = (top, left, bottom, right)`` and
``c_0`` is the first input channel of filter ``f``'s group.

How it is vectorised (im2col): ``sliding_window_view`` gives every dilated
``span_h x span_w`` window of the padded input; slicing that view by the strides
(output axes) and the dilations (window axes) leaves ``(N, C, OH, OW, KH, KW)``.
Those windows are copied once into a matrix of rows ``(n, i, j)`` and columns
``(c, p, q)``, and one (batched over groups) matmul with the reshaped weights
gives every output. The loop version is :func:`engine.ops.reference.conv2d_reference`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from engine.ops.arrays import check_conv_shapes, checked_dout, float_dtype, pad_hw, window_attrs
from engine.ops.conv_input import batch_last, conv2d_input_grad
from engine.ops.shapes import conv_output_shape

__all__ = ["ConvCache", "column_taps", "conv2d_backward", "conv2d_forward", "conv2d_param_grads",
           "row_taps"]


class ConvCache(NamedTuple):
    """What :func:`conv2d_backward` needs: the unpadded input and the attributes."""

    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilations: tuple[int, int]
    group: int


def column_taps(
    xp: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int],
    dilations: tuple[int, int],
) -> np.ndarray:
    """im2col in two copies, first step: a view ``(N, C, KW, Hp, OW)`` of the padded
    ``xp``, ``[n, c, q, h, j] = xp[n, c, h, j*S_w + q*D_w]`` (every row, each kernel
    column).

    Copying this view, then :func:`row_taps` of the copy, gives the same
    ``(N, C, KH, KW, OH, OW)`` windows as one copy of :func:`_windows` with far fewer
    short runs (the second copy moves whole ``(OH, OW)`` blocks): 1.1-1.7x faster for
    one image where the two views are worked out once (the graph runner's Conv), slower
    where building the views costs more than the copy saves (a small layer, once).
    """
    (_, kw), (_, sw), (_, dw) = kernel, strides, dilations
    win = sliding_window_view(xp, dw * (kw - 1) + 1, axis=3)[..., ::sw, ::dw]  # (N, C, Hp, OW, KW)
    return win.transpose(0, 1, 4, 2, 3)


def row_taps(
    first: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int],
    dilations: tuple[int, int],
) -> np.ndarray:
    """im2col, second step: a view ``(N, C, KH, KW, OH, OW)`` of the first step's copy,
    ``[n, c, p, q, i, j] = first[n, c, q, i*S_h + p*D_h, j] = x_p[n, c, i*S_h + p*D_h,
    j*S_w + q*D_w]``; with ``S_h = 1`` each ``(OH, OW)`` block is one contiguous run."""
    (kh, _), (sh, _), (dh, _) = kernel, strides, dilations
    win = sliding_window_view(first, dh * (kh - 1) + 1, axis=3)[:, :, :, ::sh, :, ::dh]
    return win.transpose(0, 1, 5, 2, 3, 4)  # from (N, C, KW, OH, OW, KH)


def _windows(
    x: np.ndarray,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int],
) -> np.ndarray:
    """Every window of the zero-padded ``x`` as a view: ``(N, C, OH, OW, KH, KW)``."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    return sliding_window_view(pad_hw(x, pads), span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]


def _im2col_kn(
    x: np.ndarray,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int],
    group: int,
) -> np.ndarray:
    """Windows of ``x`` as a matrix per group: ``(group, C/group * KH*KW, OH*OW*N)``.

    Columns are ordered ``(i, j, n)``, the batch innermost (as
    :func:`engine.ops.conv_input.batch_last` orders the upstream gradient): the padded
    input is laid out ``(C, Hp, Wp, N)`` once, so the copy of each kernel tap moves whole
    runs of ``OW * N`` numbers, and the weight gradient is one matmul per group.
    """
    n, c, h, w = x.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilations
    top, left, bottom, right = pads
    xp = np.zeros((c, top + h + bottom, left + w + right, n), dtype=x.dtype)
    xp[:, top : top + h, left : left + w] = x.transpose(1, 2, 3, 0)
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    win = sliding_window_view(xp, span, axis=(1, 2))[:, ::sh, ::sw, :, ::dh, ::dw]
    oh, ow = win.shape[1], win.shape[2]
    cols = np.ascontiguousarray(win.transpose(0, 4, 5, 1, 2, 3))  # (C, KH, KW, OH, OW, N)
    return cols.reshape(group, (c // group) * kh * kw, oh * ow * n)


def _im2col_ck(
    x: np.ndarray,
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int],
    group: int,
) -> tuple[np.ndarray, int, int]:
    """Windows of ``x`` channel-and-kernel first: ``(N, group, C/group * KH*KW, OH*OW)``.

    This layout copies the window view in long contiguous runs (each kernel offset is a
    shifted copy of the whole image), several times faster than a layout with one row per
    output position, and ``W @ cols`` then lands directly in NCHW order.
    """
    n, c, _, _ = x.shape
    kh, kw = kernel
    win = _windows(x, kernel, strides, pads, dilations)
    oh, ow = win.shape[2], win.shape[3]
    cols = np.ascontiguousarray(win.transpose(0, 1, 4, 5, 2, 3))  # (N, C, KH, KW, OH, OW)
    return cols.reshape(n, group, (c // group) * kh * kw, oh * ow), oh, ow


def conv2d_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> tuple[np.ndarray, ConvCache]:
    """Convolve (cross-correlate) a batch of images with a bank of filters.

    Parameters
    ----------
    x : ndarray, shape (N, C, H, W)
    w : ndarray, shape (F, C / group, KH, KW)
    b : ndarray, shape (F,), optional
    strides : (int, int)
        ``(S_h, S_w)``, each >= 1.
    pads : (int, int, int, int)
        Zero padding ``(top, left, bottom, right)``.
    dilations : (int, int)
        ``(D_h, D_w)``; 1 means an ordinary, undilated kernel.
    group : int
        ONNX ``group``: channels are split into ``group`` independent blocks
        (``group == C == F`` is a depthwise convolution).

    Returns
    -------
    out : ndarray, shape (N, F, OH, OW)
        Same floating dtype as the inputs (float32 stays float32).
    cache : ConvCache
    """
    x, w = np.asarray(x), np.asarray(w)
    b = None if b is None else np.asarray(b)
    group = int(group)
    check_conv_shapes("conv2d", x.shape, w.shape, None if b is None else b.shape, group,
                      layouts=("(N, C, H, W)", "(F, C/group, KH, KW)"))
    dtype = float_dtype(x, w, b)
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    kernel, strides, pads, dilations = window_attrs((kh, kw), strides, pads, dilations)
    oh, ow = conv_output_shape((h, wd), kernel, strides, pads, dilations)
    x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)

    cols, _, _ = _im2col_ck(x, kernel, strides, pads, dilations, group)
    wmat = w.reshape(group, f // group, cg * kh * kw)
    if group == 1:
        out = np.matmul(wmat[0], cols[:, 0])  # (N, F, OH*OW)
    else:
        out = np.matmul(wmat[None], cols)  # (N, group, F/group, OH*OW)
    out = out.reshape(n, f, oh, ow)
    if b is not None:
        out += b.astype(dtype, copy=False)[None, :, None, None]
    cache = ConvCache(x, w, b is not None, strides, pads, dilations, group)
    return out, cache


def _param_grads(dout, cache: ConvCache):
    x, w, has_bias, strides, pads, dilations, group = cache
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    oh, ow = conv_output_shape((h, wd), (kh, kw), strides, pads, dilations)
    dout = checked_dout(dout, (n, f, oh, ow)).astype(x.dtype, copy=False)
    # dw: one matmul per group over every (i, j, n) at once, rows (c, p, q).
    cols = _im2col_kn(x, (kh, kw), strides, pads, dilations, group)  # (group, K, OH*OW*N)
    g = batch_last(dout, group)  # (group, F/g, OH*OW*N)
    # dw^T = cols g^T: BLAS is ~1.6x faster with the long axis inside than g cols^T.
    dw = np.matmul(cols, g.transpose(0, 2, 1)).transpose(0, 2, 1).reshape(f, cg, kh, kw)
    db = dout.sum(axis=(0, 2, 3)) if has_bias else None
    return dw, db


def conv2d_param_grads(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(dw, db)`` of :func:`conv2d_backward` without ``dx``: a network's first layer
    needs no gradient for its input, and ``dx`` is half of the backward's work there."""
    return _param_grads(dout, cache)


def conv2d_backward(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of a convolution with respect to its input, weights and bias.

    .. math::

        \\frac{\\partial L}{\\partial w[f, c, p, q]} = \\sum_{n, i, j} g[n, f, i, j]
            \\, x_p[n, c_0 + c, i S_h + p D_h, j S_w + q D_w]

        \\frac{\\partial L}{\\partial b[f]} = \\sum_{n, i, j} g[n, f, i, j]

    and ``dx`` scatters each ``g[n, f, i, j] * w[f]`` back onto the window it came
    from (col2im), then drops the padding: :func:`engine.ops.conv_input.conv2d_input_grad`,
    the one implementation of it.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
        Upstream gradient ``g``.
    cache : ConvCache
        From :func:`conv2d_forward`.

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
    dw : ndarray, shape (F, C / group, KH, KW)
    db : ndarray, shape (F,), or None when the forward pass had no bias
    """
    x, w, _, strides, pads, dilations, group = cache
    dw, db = _param_grads(dout, cache)
    dx = conv2d_input_grad(dout, w, x.shape, strides=strides, pads=pads, dilations=dilations,
                           group=group)
    return dx, dw, db
