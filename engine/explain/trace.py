"""The arithmetic behind one output value, spelled out for the pages.

A convolution output value is a dot product: the input patch under the window times
the filter, summed over every channel and kernel cell, plus the bias. These
functions return every intermediate number, so a page can show
``patch x weights = products -> sum -> + bias = value`` without re-doing any maths.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.ops import shapes


@dataclass(frozen=True)
class ConvTrace:
    """One output value of a convolution and the numbers that produced it.

    ``rows`` and ``cols`` are coordinates in the *padded* input (row 0 is the first
    padding row when the top padding is non-zero); ``in_rows``/``in_cols`` are the
    same positions in the unpadded input (negative or >= H/W where they fall on
    padding).
    """

    patch: np.ndarray  # (C, KH, KW) values under the window, zeros on padding
    weights: np.ndarray  # (C, KH, KW) the filter
    products: np.ndarray  # (C, KH, KW) patch * weights
    channel_sums: np.ndarray  # (C,) sum of products per input channel
    total: float  # sum over all channels
    bias: float
    value: float  # total + bias
    rows: list[int]
    cols: list[int]
    in_rows: list[int]
    in_cols: list[int]


def conv_trace(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    k: int,
    i: int,
    j: int,
    *,
    strides: tuple[int, int] = (1, 1),
    pads: tuple[int, int, int, int] = (0, 0, 0, 0),
    dilations: tuple[int, int] = (1, 1),
) -> ConvTrace:
    """Trace output ``out[k, i, j]`` of a convolution of ``x`` (C, H, W) with ``w`` (K, C, KH, KW).

    The window's top-left corner in the padded input is ``(i*sh, j*sw)`` and it covers
    rows ``i*sh + dh*r`` for ``r < KH`` (likewise columns).
    """
    if x.ndim != 3 or w.ndim != 4 or x.shape[0] != w.shape[1]:
        raise ValueError(f"expected x (C, H, W) and w (K, C, KH, KW), got {x.shape} and {w.shape}")
    n_k, _, kh, kw = w.shape
    sh, sw = strides
    dh, dw = dilations
    top, left, bottom, right = pads
    _, h, wd = x.shape
    ho, wo = shapes.conv_output_shape((h, wd), (kh, kw), strides, pads, dilations)
    if not (0 <= k < n_k and 0 <= i < ho and 0 <= j < wo):
        raise ValueError(
            f"trace position (filter {k}, row {i}, column {j}) is outside the output "
            f"of {n_k} filters x {ho} x {wo}"
        )
    rows = [i * sh + dh * r for r in range(kh)]
    cols = [j * sw + dw * c for c in range(kw)]
    in_rows = [r - top for r in rows]
    in_cols = [c - left for c in cols]
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right)))
    patch = xp[:, rows][:, :, cols]
    weights = w[k]
    products = patch * weights
    channel_sums = products.reshape(products.shape[0], -1).sum(axis=1)
    total = float(channel_sums.sum())
    bias = float(b[k]) if b is not None else 0.0
    return ConvTrace(
        patch=patch,
        weights=weights,
        products=products,
        channel_sums=channel_sums,
        total=total,
        bias=bias,
        value=total + bias,
        rows=rows,
        cols=cols,
        in_rows=in_rows,
        in_cols=in_cols,
    )


@dataclass(frozen=True)
class SoftmaxSteps:
    """Softmax of a score vector, step by step: shift by the max, exp, normalise."""

    max: float
    shifted: np.ndarray
    exp: np.ndarray
    sum: float
    probabilities: np.ndarray


def softmax_steps(scores: np.ndarray) -> SoftmaxSteps:
    """``p_i = exp(s_i - max s) / sum_j exp(s_j - max s)``; the shift changes nothing but
    keeps ``exp`` from overflowing."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"scores must be a non-empty vector, got shape {s.shape}")
    m = float(s.max())
    shifted = s - m
    e = np.exp(shifted)
    total = float(e.sum())
    return SoftmaxSteps(max=m, shifted=shifted, exp=e, sum=total, probabilities=e / total)
