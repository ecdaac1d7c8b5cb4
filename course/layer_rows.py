"""One table row per simple layer spec: output shape, parameters, activations, MACs.

The counting rules are in :mod:`course.architectures`' docstring; the size formula and
the unread-cells note are written by :mod:`engine.explain.formulas`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from course.architecture_specs import LRN, Conv, Dense, Flatten, GlobalAvgPool, Pool, ReLU
from engine.explain import formulas
from engine.ops import counts, shapes

__all__ = ["Row", "Shape", "commas", "megabytes", "simple_row", "volume"]

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One table row: what the layer outputs, learns, stores and computes."""

    name: str
    type: str
    detail: str
    output_shape: Shape
    params: int = 0
    weights: int = 0  # the weights alone: params without biases and BatchNorm's scale and shift
    activations: int = 0
    macs: int = 0
    depth: int = 0  # weight layers on the longest path through this row
    params_formula: str = ""
    size_formula: str = ""
    note: str = ""
    children: tuple[Row, ...] = field(default_factory=tuple)


def commas(x: int) -> str:
    return f"{x:,}"


def megabytes(n_bytes: int) -> str:
    """Bytes in decimal units, as the course writes memory: 60,950,432 -> "61.0 MB"
    (1 MB = 10^6 bytes, 1 kB = 10^3 bytes; one decimal)."""
    if n_bytes < 0:
        raise ValueError(f"a byte count must be >= 0, got {n_bytes}")
    for unit, name in ((10**9, "GB"), (10**6, "MB"), (10**3, "kB")):
        if n_bytes >= unit:
            return f"{n_bytes / unit:.1f} {name}"
    return f"{n_bytes} B"


def _shape_text(shape: Shape) -> str:
    return "x".join(str(d) for d in shape)


def volume(shape: Shape, what: str) -> tuple[int, int, int]:
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


def _window(layer, shape: Shape, kind: str):
    c, h, w = volume(shape, f"{kind} {layer.name!r}")
    k, p = layer.kernel, layer.padding
    s = layer.stride if kind == "conv" else (layer.stride or layer.kernel)
    d = getattr(layer, "dilation", 1)
    ceil = getattr(layer, "ceil_mode", False)
    what = f"{kind} {layer.name!r}"
    oh = _axis(h, k, s, p, d, what, ceil=ceil)
    ow = _axis(w, k, s, p, d, what, ceil=ceil)
    rows, cols = formulas.Axis("rows", h, k, s, p, p, d), formulas.Axis("columns", w, k, s, p, p, d)
    formula = formulas.size_formula(rows, oh, ceil=ceil)
    if h != w:
        formula = f"rows {formula}; columns {formulas.size_formula(cols, ow, ceil=ceil)}"
    note = "" if ceil else formulas.unread_summary(
        [(rows, formulas.unread_cells(rows, oh.size)), (cols, formulas.unread_cells(cols, ow.size))])
    return (c, h, w), (oh.size, ow.size), (k, s, p, d), formula, note


def _conv(layer: Conv, shape: Shape) -> Row:
    (c, _, _), (oh, ow), (k, s, p, d), size_formula, note = _window(layer, shape, "conv")
    if c % layer.groups or layer.filters % layer.groups:
        raise ValueError(
            f"conv {layer.name!r}: {c} input channels and {layer.filters} filters must both "
            f"divide into {layer.groups} groups."
        )
    pc = counts.conv_params(k, k, c, layer.filters, bias=layer.bias, groups=layer.groups)
    bn = 2 * layer.filters if layer.batchnorm else 0
    cg = c // layer.groups
    cg_text = str(c) if layer.groups == 1 else f"{c}/{layer.groups}"
    if layer.bias:
        formula = f"({k}*{k}*{cg_text} + 1)*{layer.filters} = {commas(pc.total)}"
    else:
        formula = f"{k}*{k}*{cg_text}*{layer.filters} = {commas(pc.total)} (no bias)"
    if bn:
        formula += f" + BatchNorm 2*{layer.filters} = {commas(pc.total + bn)}"
    extras = [f"stride {s}"] + ([f"pad {p}"] if p else []) + ([f"dilation {d}"] if d > 1 else [])
    extras += [f"{layer.groups} groups"] if layer.groups > 1 else []
    extras += ["BN"] if layer.batchnorm else []
    extras += ["ReLU"] if layer.relu else []
    out = (layer.filters, oh, ow)
    return Row(
        layer.name, "conv", f"{layer.filters} filters {k}x{k}, " + ", ".join(extras), out,
        params=pc.total + bn, weights=pc.weights, activations=math.prod(out),
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
    pc = counts.dense_params(n_in, layer.units, bias=layer.bias)
    formula = (f"({commas(n_in)} + 1)*{commas(layer.units)} = {commas(pc.total)}" if layer.bias
               else f"{commas(n_in)}*{commas(layer.units)} = {commas(pc.total)} (no bias)")
    detail = f"{n_in:,} -> {layer.units:,}" + (", ReLU" if layer.relu else "")
    return Row(layer.name, "dense", detail, (layer.units,), params=pc.total, weights=pc.weights,
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
        c, h, w = volume(shape, f"global pool {layer.name!r}")
        return Row(layer.name, "pool", f"average each {h}x{w} map to 1 value", (c, 1, 1),
                   activations=c, params_formula="no parameters")
    kind = "relu" if isinstance(layer, ReLU) else "norm"
    detail = "max(0, x), element-wise" if kind == "relu" else "local response normalisation"
    return Row(layer.name, kind, detail, shape, activations=math.prod(shape),
               params_formula="no parameters")


def simple_row(layer, shape: Shape) -> Row | None:
    """The row of a layer that is not a block (None for Branches and Residual)."""
    if isinstance(layer, Conv):
        return _conv(layer, shape)
    if isinstance(layer, Pool):
        return _pool(layer, shape)
    if isinstance(layer, Dense):
        return _dense(layer, shape)
    if isinstance(layer, Flatten | GlobalAvgPool | ReLU | LRN):
        return _simple(layer, shape)
    return None
