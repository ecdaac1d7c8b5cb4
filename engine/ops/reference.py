"""Loop versions of convolution (2-D, 1-D, transposed) and pooling: the readable text,
and the test oracle.

Each function walks the output one cell at a time and, for that cell, the kernel
one tap at a time, exactly as the formula reads. Padding is never materialised:
a tap that lands outside the input reads the padding value (0 for convolution and
average pooling; nothing, i.e. ``-inf``, for max pooling). These are slow and meant
to be; the vectorised ops in :mod:`engine.ops.conv`, :mod:`engine.ops.conv1d`,
:mod:`engine.ops.conv_transpose`, :mod:`engine.ops.pool` and :mod:`engine.ops.avgpool`
must agree with them.

Conventions are those of ONNX: ``pads = (top, left, bottom, right)``,
``dilations`` of 1 mean none, ``strides=None`` means 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.ops.shapes import conv_output_shape, conv_transpose_output_shape, output_size

__all__ = [
    "avgpool2d_reference",
    "conv1d_reference",
    "conv2d_reference",
    "conv_transpose2d_reference",
    "maxpool2d_reference",
]


def conv2d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> np.ndarray:
    """Convolution by loops: x (N, C, H, W), w (F, C/group, KH, KW) -> (N, F, OH, OW).

    ``y[n, f, i, j] = b[f] + sum over c, p, q of
    x[n, c0 + c, i*S_h - P_top + p*D_h, j*S_w - P_left + q*D_w] * w[f, c, p, q]``,
    where ``c0`` is the first channel of filter ``f``'s group and taps outside the
    input read zero.
    """
    batch, channels, height, width = x.shape
    filters, group_channels, kh, kw = w.shape
    out_h, out_w = conv_output_shape((height, width), (kh, kw), strides, pads, dilations)
    filters_per_group = filters // group
    out = np.zeros((batch, filters, out_h, out_w), dtype=np.float64)
    for n in range(batch):
        for f in range(filters):
            first_channel = (f // filters_per_group) * group_channels
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0 if b is None else float(b[f])
                    for c in range(group_channels):
                        for p in range(kh):
                            row = i * strides[0] - pads[0] + p * dilations[0]
                            if not 0 <= row < height:
                                continue  # zero padding adds nothing
                            for q in range(kw):
                                col = j * strides[1] - pads[1] + q * dilations[1]
                                if 0 <= col < width:
                                    total += x[n, first_channel + c, row, col] * w[f, c, p, q]
                    out[n, f, i, j] = total
    return out


def conv1d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1,),
    pads: Sequence[int] = (0, 0),
    dilations: Sequence[int] = (1,),
    group: int = 1,
) -> np.ndarray:
    """1-D convolution by loops: x (N, C, L), w (F, C/group, K) -> (N, F, L_out).

    ``y[n, f, i] = b[f] + sum over c, p of x[n, c0 + c, i*S - P_begin + p*D] * w[f, c, p]``;
    taps before the start or past the end read zero.
    """
    batch, _, length = x.shape
    filters, group_channels, taps = w.shape
    out_len = output_size(length, taps, strides[0], (pads[0], pads[1]), dilations[0]).size
    filters_per_group = filters // group
    out = np.zeros((batch, filters, out_len), dtype=np.float64)
    for n in range(batch):
        for f in range(filters):
            first_channel = (f // filters_per_group) * group_channels
            for i in range(out_len):
                total = 0.0 if b is None else float(b[f])
                for c in range(group_channels):
                    for p in range(taps):
                        at = i * strides[0] - pads[0] + p * dilations[0]
                        if 0 <= at < length:
                            total += x[n, first_channel + c, at] * w[f, c, p]
                out[n, f, i] = total
    return out


def conv_transpose2d_reference(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    output_padding: Sequence[int] = (0, 0),
    group: int = 1,
) -> np.ndarray:
    """Transposed convolution by loops: x (N, C, H, W), w (C, M/group, KH, KW) -> (N, M, OH, OW).

    Every input cell ``x[n, c, i, j]`` adds ``x[n, c, i, j] * w[c, m, p, q]`` to output
    ``(i*S_h - P_top + p*D_h, j*S_w - P_left + q*D_w)`` of channel ``g*M/group + m`` (``g``:
    the group of channel ``c``); contributions that land in the cropped padding are dropped.
    """
    batch, channels, height, width = x.shape
    _, per_group, kh, kw = w.shape
    out_h, out_w = conv_transpose_output_shape(
        (height, width), (kh, kw), strides, pads, dilations, output_padding
    )
    channels_per_group = channels // group
    out = np.zeros((batch, per_group * group, out_h, out_w), dtype=np.float64)
    for n in range(batch):
        for c in range(channels):
            first_out = (c // channels_per_group) * per_group
            for i in range(height):
                for j in range(width):
                    for m in range(per_group):
                        for p in range(kh):
                            row = i * strides[0] - pads[0] + p * dilations[0]
                            if not 0 <= row < out_h:
                                continue  # cropped by the padding
                            for q in range(kw):
                                col = j * strides[1] - pads[1] + q * dilations[1]
                                if 0 <= col < out_w:
                                    out[n, first_out + m, row, col] += x[n, c, i, j] * w[c, m, p, q]
    if b is not None:
        out += np.asarray(b, dtype=np.float64)[None, :, None, None]
    return out


def maxpool2d_reference(
    x: np.ndarray,
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    ceil_mode: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Max pooling by loops; returns ``(out, rows, cols)``.

    ``out[n, c, i, j]`` is the largest input value among the window's taps that fall
    inside the input; ``rows``/``cols`` say where it is (unpadded coordinates, first
    tap in row-major order on ties, -1 when no tap falls inside).
    """
    strides = (1, 1) if strides is None else strides
    batch, channels, height, width = x.shape
    out_h, out_w = conv_output_shape(
        (height, width), kernel_shape, strides, pads, dilations, ceil_mode=ceil_mode
    )
    out = np.full((batch, channels, out_h, out_w), -np.inf)
    rows = np.full(out.shape, -1, dtype=np.int64)
    cols = np.full(out.shape, -1, dtype=np.int64)
    for n in range(batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    for p in range(kernel_shape[0]):
                        for q in range(kernel_shape[1]):
                            row = i * strides[0] - pads[0] + p * dilations[0]
                            col = j * strides[1] - pads[1] + q * dilations[1]
                            if not (0 <= row < height and 0 <= col < width):
                                continue  # padding never wins a max
                            if rows[n, c, i, j] < 0 or x[n, c, row, col] > out[n, c, i, j]:
                                out[n, c, i, j] = x[n, c, row, col]
                                rows[n, c, i, j], cols[n, c, i, j] = row, col
    return out, rows, cols


def avgpool2d_reference(
    x: np.ndarray,
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None = None,
    pads: Sequence[int] = (0, 0, 0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = False,
) -> np.ndarray:
    """Average pooling by loops.

    Each output is the sum of the window's taps inside the input divided by a
    count: the taps inside the input, or with ``count_include_pad`` the taps inside
    the explicitly padded input ``[-P_top, H + P_bottom) x [-P_left, W + P_right)``.
    Taps that only ``ceil_mode`` adds beyond the padding never count.
    """
    strides = (1, 1) if strides is None else strides
    batch, channels, height, width = x.shape
    out_h, out_w = conv_output_shape(
        (height, width), kernel_shape, strides, pads, ceil_mode=ceil_mode
    )
    out = np.zeros((batch, channels, out_h, out_w), dtype=np.float64)
    for n in range(batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    total, count = 0.0, 0
                    for p in range(kernel_shape[0]):
                        for q in range(kernel_shape[1]):
                            row = i * strides[0] - pads[0] + p
                            col = j * strides[1] - pads[1] + q
                            inside = 0 <= row < height and 0 <= col < width
                            in_padding = (
                                -pads[0] <= row < height + pads[2]
                                and -pads[1] <= col < width + pads[3]
                            )
                            if inside:
                                total += x[n, c, row, col]
                            if inside or (count_include_pad and in_padding):
                                count += 1
                    out[n, c, i, j] = total / count
    return out
