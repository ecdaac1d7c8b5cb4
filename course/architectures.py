"""Classic CNNs as layer specifications, and the counts derived from them.

A network is a tuple of small frozen layer specs (:class:`Conv`, :class:`Pool`,
:class:`Dense`, ...; :class:`Branches` for an Inception module, :class:`Residual`
for a ResNet block). :func:`walk` pushes an input shape ``(C, H, W)`` through the
specs with :mod:`engine.ops.shapes` and returns one :class:`Row` per layer:

- ``params``: learnable values. Conv ``(KH*KW*C/groups + 1)*K`` (no ``+1`` without
  bias), BatchNorm ``2*K`` (its scale and shift, learned; its running mean and variance
  are estimated during training, buffers, not parameters), dense ``(in + 1)*out``.
  ``weights``: the same without biases and BatchNorm (the course's VGG16 table lists
  weights only).
- ``macs``: multiply-adds. Conv ``Ho*Wo*K*(KH*KW*C/groups)``, dense ``in*out``.
  BatchNorm, ReLU, pooling and the residual addition are not counted as MACs.
- ``activations``: values the layer stores. A conv row's ReLU/BatchNorm keep its
  shape and are folded into it (as the course's tables do); Flatten is a view and
  an identity shortcut adds nothing, so both store 0. A block stores the sum of its
  sub-rows, so totals over the top-level rows are exact.

Vectors (after Flatten) have shape ``(N,)``. No count here is typed in: every count
in the tables is arithmetic on the specs in :mod:`course.architecture_specs`, which
follow the torchvision reference implementations layer for layer (every name there
is re-exported here).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from course.architecture_specs import (
    ARCHITECTURES,
    LRN,
    VARIANTS,
    Branches,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    Pool,
    ReLU,
    Residual,
    alexnet,
    alexnet_paper,
    googlenet,
    lenet5,
    residual_block,
    resnet,
    vgg16,
    vgg19,
)
from course.layer_rows import Row, Shape, commas, simple_row, volume
from engine.ops import counts

__all__ = [
    "ARCHITECTURES", "LRN", "VARIANTS", "Branches", "ChainStep", "Conv", "Dense", "Flatten",
    "GlobalAvgPool", "Pool", "ReLU", "Residual", "Row", "Shape", "Table", "alexnet",
    "alexnet_paper", "chain", "count", "googlenet", "layer_row", "lenet5", "residual_block",
    "resnet", "stacked_vs_single", "table", "vgg16", "vgg19", "walk",
]

def _branches(layer: Branches, shape: Shape) -> Row:
    volume(shape, f"{layer.name!r}")
    children: list[Row] = []
    outs, depths = [], []
    for path in layer.branches:
        rows, out = walk(path, shape)
        children += rows
        outs.append(out)
        depths.append(sum(r.depth for r in rows))
    if any(o[1:] != outs[0][1:] for o in outs):
        raise ValueError(f"{layer.name!r}: branch outputs differ in size: {outs}")
    out = (sum(o[0] for o in outs), outs[0][1], outs[0][2])
    parts = " + ".join(str(o[0]) for o in outs)
    children.append(Row("concat", "concat", f"depth {parts} = {out[0]}", out,
                        activations=math.prod(out), params_formula="no parameters"))
    return _block(layer.name, "inception", f"{len(outs)} parallel branches, concatenated",
                  out, children, max(depths))


def _residual(layer: Residual, shape: Shape) -> Row:
    main, out = walk(layer.main, shape)
    if layer.shortcut:
        short, s_out = walk(layer.shortcut, shape)
    else:
        short, s_out = [Row("shortcut", "identity", "x itself", shape,
                            params_formula="no parameters",
                            note="The input is added back as is: nothing to learn or store.")], shape
    if s_out != out:
        raise ValueError(f"{layer.name!r}: F(x) is {out} but the shortcut gives {s_out}")
    add = Row("add + ReLU", "add", "F(x) + x, then ReLU", out, activations=math.prod(out),
              params_formula="no parameters")
    depth = max(sum(r.depth for r in main), sum(r.depth for r in short))
    kind = "bottleneck" if len(main) == 3 else "basic"
    return _block(layer.name, "residual", f"{kind} residual block", out,
                  [*main, *short, add], depth)


def _block(name: str, kind: str, detail: str, out: Shape, children, depth: int) -> Row:
    return Row(name, kind, detail, out,
               params=sum(r.params for r in children),
               weights=sum(r.weights for r in children),
               activations=sum(r.activations for r in children),
               macs=sum(r.macs for r in children), depth=depth,
               params_formula=" + ".join(commas(r.params) for r in children if r.params)
               + f" = {commas(sum(r.params for r in children))}",
               children=tuple(children))


def layer_row(layer, shape: Shape) -> Row:
    """The :class:`Row` of one layer spec applied to ``shape``; ``ValueError`` if it cannot work."""
    if isinstance(layer, Branches):
        return _branches(layer, shape)
    if isinstance(layer, Residual):
        return _residual(layer, shape)
    row = simple_row(layer, shape)
    if row is None:
        raise ValueError(f"unknown layer spec {layer!r}")
    return row


def walk(layers: Sequence[object], shape: Shape) -> tuple[list[Row], Shape]:
    """Rows of ``layers`` applied in order to ``shape``, and the final output shape."""
    rows = []
    for layer in layers:
        row = layer_row(layer, shape)
        rows.append(row)
        shape = row.output_shape
    return rows, shape


@dataclass(frozen=True)
class ChainStep:
    """One layer of a student's stack: its row, or why it breaks (or that it was skipped)."""

    row: Row | None
    error: str | None = None
    skipped: bool = False


def chain(input_shape: Shape, layers: Sequence[object]) -> list[ChainStep]:
    """Walk a stack layer by layer; the first layer that cannot work gets the reason,
    the layers after it are marked skipped (their input is unknown)."""
    steps: list[ChainStep] = []
    shape: Shape | None = tuple(input_shape)
    for layer in layers:
        if shape is None:
            steps.append(ChainStep(None, skipped=True))
            continue
        try:
            row = layer_row(layer, shape)
        except ValueError as exc:
            steps.append(ChainStep(None, error=str(exc)))
            shape = None
            continue
        steps.append(ChainStep(row))
        shape = row.output_shape
    return steps


@dataclass(frozen=True)
class Table:
    """A whole network: its rows and totals (``total_activations`` includes the input)."""

    name: str
    input_shape: Shape
    rows: tuple[Row, ...]
    total_params: int
    total_weights: int
    total_activations: int
    total_macs: int
    depth: int
    output_shape: Shape


def count(name: str, input_shape: Shape, layers: Sequence[object]) -> Table:
    """Walk ``layers`` from ``input_shape`` and add up every row."""
    rows, out = walk(layers, input_shape)
    return Table(
        name=name,
        input_shape=tuple(input_shape),
        rows=tuple(rows),
        total_params=sum(r.params for r in rows),
        total_weights=sum(r.weights for r in rows),
        total_activations=math.prod(input_shape) + sum(r.activations for r in rows),
        total_macs=sum(r.macs for r in rows),
        depth=sum(r.depth for r in rows),
        output_shape=out,
    )


def stacked_vs_single(channels: int, kernel: int = 3, layers: int = 3) -> dict:
    """``layers`` stacked ``kernel x kernel`` convs (stride 1, C -> C, no bias) against one
    conv with the same receptive field: ``layers*(k^2 C^2)`` vs ``r^2 C^2``, ``r = layers*(k-1)+1``.
    """
    if channels < 1 or kernel < 1 or layers < 1:
        raise ValueError(f"channels, kernel and layers must be >= 1, got {channels}, {kernel}, {layers}")
    fields = [1 + i * (kernel - 1) for i in range(1, layers + 1)]
    rf = fields[-1]
    one = counts.conv_params(kernel, kernel, channels, channels, bias=False).total
    stacked = layers * one
    single = counts.conv_params(rf, rf, channels, channels, bias=False).total
    c = channels
    return {
        "channels": c, "kernel_size": kernel, "layers": layers, "receptive_fields": fields,
        "receptive_field": rf,
        "stacked_params": stacked,
        "stacked_formula": f"{layers}*({kernel}^2*{c}^2) = {layers}*{commas(one)} = {commas(stacked)}",
        "single_params": single,
        "single_formula": f"{rf}^2*{c}^2 = {commas(single)}",
        "ratio": single / stacked,
        "saved": single - stacked,
        "nonlinearities": {"stacked": layers, "single": 1},
    }


@functools.lru_cache(maxsize=32)
def table(name: str) -> Table:
    """The counted :class:`Table` of a case study or variant; ``KeyError`` if unknown."""
    builder = ARCHITECTURES.get(name) or VARIANTS[name]
    shape, layers = builder()
    return count(name, shape, layers)
