"""Parameter counts and activation sizes of convolution and dense layers.

Plain integer arithmetic with the formula in each docstring, so pages can show the
sum a student would write by hand (``(KH * KW * C + 1) * K`` for a convolution); the
sizes these count come from :mod:`engine.ops.shapes`. Multiply-adds (MACs) count one
multiplication and one addition as one, as the course and the architecture tables do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ParamCount",
    "SeparableCount",
    "activation_count",
    "conv_macs",
    "conv_params",
    "conv_transpose_macs",
    "dense_params",
    "float32_bytes",
    "separable_counts",
]


@dataclass(frozen=True)
class ParamCount:
    """Learnable parameter counts of a layer: ``total = weights + biases``."""

    weights: int
    biases: int
    total: int


def conv_params(kh: int, kw: int, c: int, k: int, bias: bool = True, groups: int = 1) -> ParamCount:
    """Learnable parameters of a convolution layer.

    ``weights = KH * KW * (C / groups) * K``, ``biases = K`` (0 without bias), so
    ``total = (KH * KW * C / groups + 1) * K``.

    Parameters
    ----------
    kh, kw : int
        Kernel height and width.
    c : int
        Input channels ``C``.
    k : int
        Number of filters ``K`` (output channels).
    bias : bool
        Whether each filter has a bias.
    groups : int
        ONNX ``group``; both ``C`` and ``K`` must be divisible by it.
    """
    if min(kh, kw, c, k, groups) < 1:
        raise ValueError(f"sizes must be >= 1, got kh={kh} kw={kw} c={c} k={k} groups={groups}")
    if c % groups or k % groups:
        raise ValueError(f"channels {c} and filters {k} must both be divisible by groups={groups}")
    weights = kh * kw * (c // groups) * k
    biases = k if bias else 0
    return ParamCount(weights=weights, biases=biases, total=weights + biases)


def dense_params(in_features: int, out_features: int, bias: bool = True) -> ParamCount:
    """Learnable parameters of a dense layer: ``(in + 1) * out`` with bias."""
    if in_features < 1 or out_features < 1:
        raise ValueError(f"feature counts must be >= 1, got {in_features} and {out_features}")
    weights = in_features * out_features
    biases = out_features if bias else 0
    return ParamCount(weights=weights, biases=biases, total=weights + biases)


def activation_count(shape: Sequence[int]) -> int:
    """Number of values in an activation tensor: the product of its ``shape``."""
    if any(int(d) < 0 for d in shape):
        raise ValueError(f"shape entries must be >= 0, got {tuple(shape)!r}")
    return math.prod(int(d) for d in shape)


def float32_bytes(count: int) -> int:
    """Bytes needed to store ``count`` float32 values: ``4 * count``."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return 4 * int(count)


def conv_macs(out_h: int, out_w: int, kh: int, kw: int, c: int, k: int, groups: int = 1) -> int:
    """Multiply-adds of a convolution: ``OH * OW * K * (KH * KW * C / groups)``.

    Every one of the ``OH * OW * K`` outputs is a dot product of its window with one
    filter, which covers ``KH * KW`` cells of the ``C / groups`` channels of its group.
    """
    conv_params(kh, kw, c, k, False, groups)  # the same checks
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output size must be >= 1, got {out_h} x {out_w}")
    return out_h * out_w * k * kh * kw * (c // groups)


def conv_transpose_macs(in_h: int, in_w: int, kh: int, kw: int, c: int, m: int,
                        groups: int = 1) -> int:
    """Multiply-adds of a transposed convolution: ``H * W * C * (M / groups) * KH * KW``.

    Each of the ``H * W * C`` input values is multiplied by every weight of its kernel
    copies (``M / groups`` output channels of ``KH * KW`` taps) and added onto the output.
    Products that land in the cropped padding are counted too, as frameworks compute them.
    The weights are ``C * (M / groups) * KH * KW``: :func:`conv_params` ``(kh, kw, c, m,
    groups=groups)`` counts them.
    """
    conv_params(kh, kw, c, m, False, groups)
    if in_h < 1 or in_w < 1:
        raise ValueError(f"input size must be >= 1, got {in_h} x {in_w}")
    return in_h * in_w * c * (m // groups) * kh * kw


@dataclass(frozen=True)
class SeparableCount:
    """A depthwise-separable convolution (a ``KH x KW`` depthwise convolution, one filter per
    channel, then a 1x1 convolution to ``K`` channels) against the standard convolution
    it replaces (``K`` filters of ``KH x KW x C``), both with biases."""

    depthwise: ParamCount
    pointwise: ParamCount
    params: int
    depthwise_macs: int
    pointwise_macs: int
    macs: int
    standard: ParamCount
    standard_macs: int


def separable_counts(out_h: int, out_w: int, kh: int, kw: int, c: int, k: int,
                     bias: bool = True) -> SeparableCount:
    """Parameters and multiply-adds of a depthwise-separable convolution and of the standard
    one with the same input, kernel and output.

    Multiply-adds: depthwise ``OH*OW*C*KH*KW``, pointwise ``OH*OW*C*K``, standard
    ``OH*OW*K*KH*KW*C``, so separable / standard is ``1/K + 1/(KH*KW)`` (MobileNet's
    saving: about 8 to 9 times fewer for 3x3 kernels and many channels).
    """
    dw = conv_params(kh, kw, c, c, bias, groups=c)
    pw = conv_params(1, 1, c, k, bias)
    dw_macs = conv_macs(out_h, out_w, kh, kw, c, c, groups=c)
    pw_macs = conv_macs(out_h, out_w, 1, 1, c, k)
    return SeparableCount(
        depthwise=dw, pointwise=pw, params=dw.total + pw.total, depthwise_macs=dw_macs,
        pointwise_macs=pw_macs, macs=dw_macs + pw_macs, standard=conv_params(kh, kw, c, k, bias),
        standard_macs=conv_macs(out_h, out_w, kh, kw, c, k),
    )
