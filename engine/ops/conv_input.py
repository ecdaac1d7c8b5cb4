"""The input gradient of a 2-D convolution alone (no weight or bias gradient).

:func:`engine.ops.conv.conv2d_backward` returns ``(dx, dw, db)``; explanations
(saliency, Grad-CAM) ask only for ``dx``, and ``dw`` costs a second im2col copy and
matmul. With ``g`` the upstream gradient ``(N, F, OH, OW)`` and ``x_p`` the padded input,

.. math::

    \\frac{\\partial L}{\\partial x_p[n, c_0 + c, i S_h + p D_h, j S_w + q D_w]}
        \\mathrel{+}= \\sum_f g[n, f, i, j] \\, w[f, c, p, q]

summed over every ``(i, j, p, q)`` that reads the cell (``c_0`` is the first channel of
filter ``f``'s group); the padding is then dropped. Vectorised as one (batched over
groups) matmul ``W^T g`` giving the gradient of every im2col column, then col2im: one
strided slice-add per kernel tap ``(p, q)``. Both run with the batch as the innermost
axis, ``(C, H, W, N)``, so each slice-add moves runs of ``OW * N`` numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.ops.arrays import check_conv_shapes, checked_dout, window_attrs
from engine.ops.shapes import conv_output_shape

__all__ = ["batch_last", "conv2d_input_grad"]


def conv2d_input_grad(
    dout: np.ndarray,
    w: np.ndarray,
    x_shape: Sequence[int],
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> np.ndarray:
    """``dL/dx`` of :func:`engine.ops.conv.conv2d_forward`, given ``dL/dout``.

    Parameters
    ----------
    dout : ndarray, shape (N, F, OH, OW)
    w : ndarray, shape (F, C / group, KH, KW)
    x_shape : (N, C, H, W)
        The forward input's shape.
    strides, pads, dilations, group
        As the forward pass (ONNX meanings; ``pads`` = top, left, bottom, right).

    Returns
    -------
    dx : ndarray, shape (N, C, H, W)
        In the common floating dtype of ``dout`` and ``w``.
    """
    w, group = np.asarray(w), int(group)
    check_conv_shapes("conv2d_input_grad", x_shape, w.shape, None, group,
                      layouts=("(N, C, H, W)", "(F, C/group, KH, KW)"))
    n, c, h, wd = (int(d) for d in x_shape)
    f, cg, kh, kw = w.shape
    kernel, strides, pads, dilations = window_attrs((kh, kw), strides, pads, dilations)
    oh, ow = conv_output_shape((h, wd), kernel, strides, pads, dilations)
    dout = checked_dout(dout, (n, f, oh, ow))
    dtype = np.result_type(dout, w)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype(np.float64)
    wt = w.astype(dtype, copy=False).reshape(group, f // group, cg * kh * kw).transpose(0, 2, 1)
    # The gradient of each im2col entry, batch last: (C, KH, KW, OH, OW, N).
    dcols = np.matmul(wt, batch_last(dout.astype(dtype, copy=False), group))
    dcols = dcols.reshape(c, kh, kw, oh, ow, n)
    top, left, bottom, right = pads
    (sh, sw), (dh, dw) = strides, dilations
    # col2im with the batch as the innermost axis: tap (p, q) of every window is one strided
    # slice whose contiguous runs are whole (OW, N) rows (OW * N numbers, not OW): 2x faster.
    dxp = np.zeros((c, h + top + bottom, wd + left + right, n), dtype=dtype)
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
        for q in range(kw):
            dxp[:, rows, q * dw : q * dw + sw * (ow - 1) + 1 : sw] += dcols[:, p, q]
    return np.ascontiguousarray(dxp[:, top : top + h, left : left + wd].transpose(3, 0, 1, 2))


def batch_last(dout: np.ndarray, group: int) -> np.ndarray:
    """``dout`` ``(N, F, OH, OW)`` as ``(group, F/group, OH*OW*N)``, columns ``(i, j, n)``:
    the batch innermost, as the im2col columns of :func:`engine.ops.conv._im2col_kn`."""
    n, f, oh, ow = dout.shape
    return np.ascontiguousarray(dout.transpose(1, 2, 3, 0)).reshape(group, f // group, oh * ow * n)
