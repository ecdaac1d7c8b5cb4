"""The traces of one value, per kind of layer, as plain dataclasses.

A field left at its default ``None`` means "not applicable here" (a page shows nothing
for it); every other field is always there. Numbers are the engine's, unrounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np


class TraceError(ValueError):
    """A value that cannot be traced, with the reason in words."""


@dataclass(frozen=True)
class Cells:
    """Window cells in a layer's input: ``rows`` and ``cols`` are unpadded coordinates
    (negative or past the edge on padding); ``padding[a][b]`` marks those cells."""

    rows: list[int]
    cols: list[int]
    padding: np.ndarray  # (len(rows), len(cols)) bool
    values: np.ndarray | None = None  # the input's values there, NaN on padding


@dataclass(frozen=True)
class ConvChannel:
    channel: int
    patch: np.ndarray
    weights: np.ndarray
    products: np.ndarray
    sum: float


@dataclass(frozen=True)
class ConvValue:
    """A filter's dot product with a window, spelled out for the strongest input channels."""

    kind: str
    input_layer: str
    input_shape: list[int]
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    dilations: tuple[int, int]
    group: int
    window: Cells
    channels_total: int
    channels: list[ConvChannel]
    channel_sums: np.ndarray
    rest_sum: float
    sum: float
    bias: float
    result: float


@dataclass(frozen=True)
class Position:
    """A cell of a feature map."""

    layer: str
    channel: int
    row: int
    col: int


@dataclass(frozen=True)
class Contribution:
    """One input of a dense layer: ``product = alpha * x * w``."""

    index: int
    x: float
    w: float
    product: float
    source: Position | None = None  # the feature-map cell a flattened input came from


@dataclass(frozen=True)
class DenseValue:
    """A weighted sum of all inputs: the largest contributions, the rest, the bias."""

    kind: str
    input_layer: str
    inputs_total: int
    alpha: float
    top: list[Contribution]
    rest_sum: float
    sum: float
    bias: float
    result: float


@dataclass(frozen=True)
class Winner:
    row: int
    col: int
    value: float


@dataclass(frozen=True)
class PoolValue:
    """A pooling window and its maximum (with where it is) or its average."""

    kind: str  # "maxpool" or "avgpool"
    input_layer: str
    input_shape: list[int]
    window: Cells
    result: float
    winner: Winner | None = None
    sum: float | None = None
    count: int | None = None


@dataclass(frozen=True)
class Source:
    """The trace of the same position in the layer that made an operand."""

    layer: str
    op_type: str
    detail: Detail


@dataclass(frozen=True)
class ElementwiseValue:
    """``result = f(x)`` for an activation, BatchNorm or arithmetic with a constant."""

    kind: str
    op: str
    input_layer: str
    x: float
    result: float
    formula: str | None = None
    constant: float | None = None
    constants: dict[str, float] | None = None
    source: Source | None = None


@dataclass(frozen=True)
class SkipValue:
    """A residual Add: the block's input x plus what the block computed from it, F(x)."""

    kind: str
    op: str
    formula: str
    x: float
    fx: float
    shortcut_layer: str
    main_layer: str
    result: float
    source: Source | None = None


Detail = Union[ConvValue, DenseValue, PoolValue, ElementwiseValue, SkipValue]  # noqa: UP007


@dataclass(frozen=True)
class ValueTrace:
    """Output (channel, row, col) of ``layer`` (row = col = 0 for a vector), what made it,
    and for a feature map the part of the model input it saw."""

    layer: str
    op_type: str
    position: tuple[int, int, int]  # channel, row, col
    output_shape: list[int]
    value: float
    detail: Detail
    field: object | None = None  # engine.graph.analysis.Field for a feature map
