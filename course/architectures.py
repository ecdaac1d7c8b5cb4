"""Classic CNNs as layer specifications, and the counts derived from them.

A network is a tuple of small frozen layer specs (:class:`Conv`, :class:`Pool`,
:class:`Dense`, ...; :class:`Branches` for an Inception module, :class:`Residual`
for a ResNet block). :func:`walk` pushes an input shape ``(C, H, W)`` through the
specs with :mod:`engine.ops.shapes` and returns one :class:`Row` per layer:

- ``params``: learnable values. Conv ``(KH*KW*C/groups + 1)*K`` (no ``+1`` without
  bias), BatchNorm ``2*K`` (scale and shift; running statistics are buffers, not
  parameters), dense ``(in + 1)*out``.
- ``macs``: multiply-adds. Conv ``Ho*Wo*K*(KH*KW*C/groups)``, dense ``in*out``.
  BatchNorm, ReLU, pooling and the residual addition are not counted as MACs.
- ``activations``: values the layer stores. A conv row's ReLU/BatchNorm keep its
  shape and are folded into it (as the course's tables do); Flatten is a view and
  an identity shortcut adds nothing, so both store 0. A block stores the sum of its
  sub-rows, so totals over the top-level rows are exact.

Vectors (after Flatten) have shape ``(N,)``. Nothing here is typed in: every count
in the tables is arithmetic on the specs in :mod:`course.architecture_specs`, which
follow the torchvision reference implementations layer for layer (every name there
is re-exported here).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

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
from engine.ops import shapes

__all__ = [
    "ARCHITECTURES", "LRN", "VARIANTS", "Branches", "ChainStep", "Conv", "Dense", "Flatten",
    "GlobalAvgPool", "Pool", "ReLU", "Residual", "Row", "Shape", "Table", "alexnet",
    "alexnet_paper", "chain", "count", "googlenet", "layer_row", "lenet5", "residual_block",
    "resnet", "stacked_vs_single", "table", "vgg16", "vgg19", "walk",
]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One table row: what the layer outputs, learns, stores and computes."""

    name: str
    type: str
    detail: str
    output_shape: Shape
    params: int = 0
    activations: int = 0
    macs: int = 0
    depth: int = 0  # weight layers on the longest path through this row
    params_formula: str = ""
    size_formula: str = ""
    note: str = ""
    children: tuple[Row, ...] = field(default_factory=tuple)


def _n(x: int) -> str:
    return f"{x:,}"


def _shape_text(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def _volume(shape: Shape, what: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise ValueError(
            f"{what} needs a (C, H, W) volume, but its input is a vector of {shape[0]:,} "
            "values (after Flatten). Put conv and pool layers before Flatten."
        )
    return shape[0], shape[1], shape[2]


def _axis(n: int, k: int, s: int, p: int, d: int, what: str, *, ceil: bool = False):
    span = d * (k - 1) + 1
    if span > n + 2 * p:
        spans = f" (dilation {d}: it spans {span})" if d > 1 else ""
        raise ValueError(
            f"{what}: the {k}x{k} window{spans} does not fit in the {n}x{n} input "
            f"padded to {n + 2 * p}x{n + 2 * p}. Use a smaller window, more padding, "
            "or remove a downsampling layer before it."
        )
    return shapes.output_size(n, k, s, p, d, ceil_mode=ceil)


def _size_formula(n: int, k: int, s: int, p: int, d: int, out, ceil: bool) -> str:
    k_text = str(k) if d == 1 else f"({d}*({k}-1)+1)"
    text = f"({n} - {k_text} + 2*{p})/{s} + 1 = {out.exact:.4g}"
    if not out.fits:
        text += f", rounded {'up' if ceil else 'down'} to {out.size}"
    return text


def _stepped_over(k: int, s: int, p: int, d: int, axes) -> str:
    """Input cells a stride larger than the window steps over (a 1x1 window with stride 2
    reads every second row), said once when both axes agree."""
    found = []
    for n, out, what in axes:
        last = (out.size - 1) * s + out.span - 1
        skipped = [q for q in shapes.unread(n, k, s, p, d) if p <= q <= last and q - p < n]
        if skipped:
            found.append((len(skipped), n, f"{what}s"))
    if not found:
        return ""
    if len(found) == 2 and found[0][:2] == found[1][:2]:
        found = [(*found[0][:2], "rows and columns")]
    said = " and ".join(f"{count} of the {n} input {what}" for count, n, what in found)
    return f"The {k}x{k} window moves {s} at a time and steps over {said}: no weight ever reads them."


def _uncovered(s: int, p: int, axes) -> str:
    """What a window that does not land evenly leaves out (rounding down), per axis."""
    found = []
    for _, out, what in axes:
        if not out.fits:
            left = out.padded - ((out.size - 1) * s + out.span)  # cells after the last window
            found.append((max(0, left - p), left, what))  # (input cells lost, all left, axis)
    if not found:
        return ""
    if len(found) == 2 and found[0][:2] == found[1][:2]:
        found = [(*found[0][:2], "row and column" if found[0][1] == 1 else "rows and columns")]
    parts = []
    for lost, left, what in found:
        many = (lost if lost else left) > 1
        noun = what if not many or what.endswith("columns") else f"{what}s"
        if lost:
            count = f"{lost} " if many else ""
            parts.append(f"the last {count}input {noun} {'are' if many or ' and ' in what else 'is'} never covered")
        else:
            parts.append(f"only {left} padding {noun} {'are' if many else 'is'} left over, so no input is lost")
    return f"Stride {s} does not land evenly, so the size is rounded down: {'; '.join(parts)}."


def _window(layer, shape: Shape, kind: str):
    c, h, w = _volume(shape, f"{kind} {layer.name!r}")
    k, p = layer.kernel, layer.padding
    s = layer.stride if kind == "conv" else (layer.stride or layer.kernel)
    d = getattr(layer, "dilation", 1)
    ceil = getattr(layer, "ceil_mode", False)
    what = f"{kind} {layer.name!r}"
    oh = _axis(h, k, s, p, d, what, ceil=ceil)
    ow = _axis(w, k, s, p, d, what, ceil=ceil)
    formula = _size_formula(h, k, s, p, d, oh, ceil)
    if h != w:
        formula = f"rows {formula}; columns {_size_formula(w, k, s, p, d, ow, ceil)}"
    axes = ((h, oh, "row"), (w, ow, "column"))
    note = "" if ceil else " ".join(
        t for t in (_uncovered(s, p, axes), _stepped_over(k, s, p, d, axes)) if t)
    return (c, h, w), (oh.size, ow.size), (k, s, p, d), formula, note


def _conv(layer: Conv, shape: Shape) -> Row:
    (c, _, _), (oh, ow), (k, s, p, d), size_formula, note = _window(layer, shape, "conv")
    if c % layer.groups or layer.filters % layer.groups:
        raise ValueError(
            f"conv {layer.name!r}: {c} input channels and {layer.filters} filters must both "
            f"divide into {layer.groups} groups."
        )
    pc = shapes.conv_params(k, k, c, layer.filters, bias=layer.bias, groups=layer.groups)
    bn = 2 * layer.filters if layer.batchnorm else 0
    cg = c // layer.groups
    cg_text = str(c) if layer.groups == 1 else f"{c}/{layer.groups}"
    if layer.bias:
        formula = f"({k}*{k}*{cg_text} + 1)*{layer.filters} = {_n(pc.total)}"
    else:
        formula = f"{k}*{k}*{cg_text}*{layer.filters} = {_n(pc.total)} (no bias)"
    if bn:
        formula += f" + BatchNorm 2*{layer.filters} = {_n(pc.total + bn)}"
    extras = [f"stride {s}"] + ([f"pad {p}"] if p else []) + ([f"dilation {d}"] if d > 1 else [])
    extras += [f"{layer.groups} groups"] if layer.groups > 1 else []
    extras += ["BN"] if layer.batchnorm else []
    extras += ["ReLU"] if layer.relu else []
    out = (layer.filters, oh, ow)
    return Row(
        layer.name, "conv", f"{layer.filters} filters {k}x{k}, " + ", ".join(extras), out,
        params=pc.total + bn, activations=math.prod(out),
        macs=oh * ow * layer.filters * k * k * cg, depth=1,
        params_formula=formula, size_formula=size_formula, note=note,
    )


def _pool(layer: Pool, shape: Shape) -> Row:
    if layer.mode not in ("max", "avg"):
        raise ValueError(f"pool {layer.name!r}: mode must be 'max' or 'avg', got {layer.mode!r}")
    if 2 * layer.padding > layer.kernel:
        raise ValueError(
            f"pool {layer.name!r}: padding {layer.padding} is more than half the "
            f"{layer.kernel}x{layer.kernel} window, so some windows would sit on padding only."
        )
    (c, _, _), (oh, ow), (k, s, p, _), size_formula, note = _window(layer, shape, "pool")
    detail = f"{layer.mode} {k}x{k}, stride {s}" + (f", pad {p}" if p else "")
    detail += ", ceil mode" if layer.ceil_mode else ""
    out = (c, oh, ow)
    return Row(layer.name, "pool", detail, out, activations=math.prod(out),
               params_formula="no parameters", size_formula=size_formula, note=note)


def _dense(layer: Dense, shape: Shape) -> Row:
    if len(shape) != 1:
        raise ValueError(
            f"dense {layer.name!r} needs a vector, but its input is a "
            f"{_shape_text(shape)} volume. Add a Flatten layer before it."
        )
    n_in = shape[0]
    pc = shapes.dense_params(n_in, layer.units, bias=layer.bias)
    formula = (f"({_n(n_in)} + 1)*{_n(layer.units)} = {_n(pc.total)}" if layer.bias
               else f"{_n(n_in)}*{_n(layer.units)} = {_n(pc.total)} (no bias)")
    detail = f"{n_in:,} -> {layer.units:,}" + (", ReLU" if layer.relu else "")
    return Row(layer.name, "dense", detail, (layer.units,), params=pc.total,
               activations=layer.units, macs=n_in * layer.units, depth=1,
               params_formula=formula)


def _simple(layer, shape: Shape) -> Row:
    if isinstance(layer, Flatten):
        n = math.prod(shape)
        size = "*".join(str(d) for d in shape) + f" = {n:,}"
        return Row(layer.name, "flatten", "volume -> vector", (n,), size_formula=size,
                   params_formula="no parameters",
                   note="A reshape (a view): the same values in one row, not stored again.")
    if isinstance(layer, GlobalAvgPool):
        c, h, w = _volume(shape, f"global pool {layer.name!r}")
        return Row(layer.name, "pool", f"average each {h}x{w} map to 1 value", (c, 1, 1),
                   activations=c, params_formula="no parameters")
    kind = "relu" if isinstance(layer, ReLU) else "norm"
    detail = "max(0, x), element-wise" if kind == "relu" else "local response normalisation"
    return Row(layer.name, kind, detail, shape, activations=math.prod(shape),
               params_formula="no parameters")


def _branches(layer: Branches, shape: Shape) -> Row:
    _volume(shape, f"{layer.name!r}")
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
               activations=sum(r.activations for r in children),
               macs=sum(r.macs for r in children), depth=depth,
               params_formula=" + ".join(_n(r.params) for r in children if r.params)
               + f" = {_n(sum(r.params for r in children))}",
               children=tuple(children))


def layer_row(layer, shape: Shape) -> Row:
    """The :class:`Row` of one layer spec applied to ``shape``; ``ValueError`` if it cannot work."""
    if isinstance(layer, Conv):
        return _conv(layer, shape)
    if isinstance(layer, Pool):
        return _pool(layer, shape)
    if isinstance(layer, Dense):
        return _dense(layer, shape)
    if isinstance(layer, Branches):
        return _branches(layer, shape)
    if isinstance(layer, Residual):
        return _residual(layer, shape)
    if isinstance(layer, Flatten | GlobalAvgPool | ReLU | LRN):
        return _simple(layer, shape)
    raise ValueError(f"unknown layer spec {layer!r}")


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
    one = shapes.conv_params(kernel, kernel, channels, channels, bias=False).total
    stacked = layers * one
    single = shapes.conv_params(rf, rf, channels, channels, bias=False).total
    c = channels
    return {
        "channels": c, "kernel": kernel, "layers": layers, "receptive_fields": fields,
        "receptive_field": rf,
        "stacked_params": stacked,
        "stacked_formula": f"{layers}*({kernel}^2*{c}^2) = {layers}*{_n(one)} = {_n(stacked)}",
        "single_params": single,
        "single_formula": f"{rf}^2*{c}^2 = {_n(single)}",
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
