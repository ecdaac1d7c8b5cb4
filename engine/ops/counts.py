"""Parameter counts and activation sizes of convolution and dense layers.

Plain integer arithmetic with the formula in each docstring, so pages can show the
sum a student would write by hand (``(KH * KW * C + 1) * K`` for a convolution); the
sizes these count come from :mod:`engine.ops.shapes`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ParamCount", "activation_count", "conv_params", "dense_params", "float32_bytes"]


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
