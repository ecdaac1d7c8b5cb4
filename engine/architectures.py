"""Classic CNNs as layer specifications, and the counts derived from them.

A network is a tuple of small frozen layer specs (:class:`Conv`, :class:`Pool`,
:class:`Dense`, ...; :class:`Branches` for an Inception module, :class:`Residual`
for a ResNet block). :func:`walk` pushes an input shape ``(C, H, W)`` through the
specs with :mod:`engine.shapes` and returns one :class:`Row` per layer:

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
in the tables is arithmetic on the specs at the end of this module, which follow
the torchvision reference implementations layer for layer.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from engine import shapes

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Conv:
    """``filters`` kernels of ``kernel x kernel``; ``batchnorm`` adds 2 params per filter."""

    filters: int
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    groups: int = 1
    bias: bool = True
    batchnorm: bool = False
    relu: bool = True
    name: str = "conv"


@dataclass(frozen=True)
class Pool:
    """Max or average pooling; ``stride=None`` means stride = kernel."""

    kernel: int
    stride: int | None = None
    padding: int = 0
    mode: str = "max"
    ceil_mode: bool = False
    name: str = "pool"


@dataclass(frozen=True)
class GlobalAvgPool:
    """Average each channel down to one value: ``(C, H, W) -> (C, 1, 1)``."""

    name: str = "global avg pool"


@dataclass(frozen=True)
class ReLU:
    name: str = "relu"


@dataclass(frozen=True)
class LRN:
    """Local response normalisation (AlexNet's "NORM" layers): no parameters."""

    name: str = "norm"


@dataclass(frozen=True)
class Flatten:
    name: str = "flatten"


@dataclass(frozen=True)
class Dense:
    units: int
    relu: bool = False
    bias: bool = True
    name: str = "fc"


@dataclass(frozen=True)
class Branches:
    """Parallel paths over the same input, concatenated along channels (Inception)."""

    branches: tuple[tuple[object, ...], ...]
    name: str = "inception"


@dataclass(frozen=True)
class Residual:
    """``H(x) = F(x) + x``: ``main`` is F, ``shortcut`` is () for identity or a projection."""

    main: tuple[object, ...]
    shortcut: tuple[object, ...] = ()
    name: str = "residual block"


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
    note = "" if ceil else _uncovered(s, p, ((h, oh, "row"), (w, ow, "column")))
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


# --- The networks ---------------------------------------------------------------
# Each builder returns (input_shape, layers). The torchvision ones match
# torchvision.models layer for layer (Dropout and identity pools left out: they
# have no parameters and do not change the shape).


def _bn_conv(filters: int, kernel: int, stride: int = 1, padding: int = 0, *,
             name: str, relu: bool = True) -> Conv:
    """torchvision's conv + BatchNorm: the conv has no bias (BN's shift replaces it)."""
    return Conv(filters, kernel, stride, padding, bias=False, batchnorm=True, relu=relu, name=name)


def lenet5():
    """LeNet-5 as the course draws it: 28x28 digits, 5x5 convs (the first padded), 2x2 pools."""
    return (1, 28, 28), (
        Conv(6, 5, padding=2, name="conv1"), Pool(2, name="pool1"),
        Conv(16, 5, name="conv2"), Pool(2, name="pool2"),
        Flatten(), Dense(120, relu=True, name="fc1"), Dense(84, relu=True, name="fc2"),
        Dense(10, name="fc3"),
    )


def alexnet():
    """torchvision's AlexNet (the single-GPU "one weird trick" widths), 224x224 input."""
    return (3, 224, 224), (
        Conv(64, 11, 4, 2, name="conv1"), Pool(3, 2, name="pool1"),
        Conv(192, 5, padding=2, name="conv2"), Pool(3, 2, name="pool2"),
        Conv(384, 3, padding=1, name="conv3"), Conv(256, 3, padding=1, name="conv4"),
        Conv(256, 3, padding=1, name="conv5"), Pool(3, 2, name="pool3"),
        Flatten(), Dense(4096, relu=True, name="fc6"), Dense(4096, relu=True, name="fc7"),
        Dense(1000, name="fc8"),
    )


def alexnet_paper(groups: int = 2):
    """The 2012 paper's AlexNet as the course tells it: 227x227 input, LRN ("NORM") layers,
    conv2/4/5 split in ``groups`` halves across two GPUs (``groups=1``: one tower)."""
    return (3, 227, 227), (
        Conv(96, 11, 4, name="conv1"), Pool(3, 2, name="pool1"), LRN(name="norm1"),
        Conv(256, 5, padding=2, groups=groups, name="conv2"), Pool(3, 2, name="pool2"),
        LRN(name="norm2"),
        Conv(384, 3, padding=1, name="conv3"),
        Conv(384, 3, padding=1, groups=groups, name="conv4"),
        Conv(256, 3, padding=1, groups=groups, name="conv5"), Pool(3, 2, name="pool3"),
        Flatten(), Dense(4096, relu=True, name="fc6"), Dense(4096, relu=True, name="fc7"),
        Dense(1000, name="fc8"),
    )


def _vgg(convs_per_stage: tuple[int, ...]):
    layers: list[object] = []
    for stage, (n, width) in enumerate(zip(convs_per_stage, (64, 128, 256, 512, 512), strict=True), 1):
        layers += [Conv(width, 3, padding=1, name=f"conv{stage}_{i}") for i in range(1, n + 1)]
        layers.append(Pool(2, name=f"pool{stage}"))
    layers += [Flatten(), Dense(4096, relu=True, name="fc6"), Dense(4096, relu=True, name="fc7"),
               Dense(1000, name="fc8")]
    return (3, 224, 224), tuple(layers)


def vgg16():
    return _vgg((2, 2, 3, 3, 3))


def vgg19():
    return _vgg((2, 2, 4, 4, 4))


def _inception(name: str, c1: int, c3r: int, c3: int, c5r: int, c5: int, proj: int,
               paper: bool) -> Branches:
    def conv(f: int, k: int, nm: str) -> Conv:
        return Conv(f, k, padding=k // 2, name=nm) if paper else _bn_conv(f, k, padding=k // 2, name=nm)

    k5 = 5 if paper else 3  # torchvision's "5x5" branch is a 3x3 conv
    return Branches((
        (conv(c1, 1, "1x1"),),
        (conv(c3r, 1, "3x3 reduce"), conv(c3, 3, "3x3")),
        (conv(c5r, 1, "5x5 reduce"), conv(c5, k5, "5x5" if paper else "5x5 branch (3x3)")),
        (Pool(3, 1, 1, ceil_mode=True, name="pool 3x3"), conv(proj, 1, "pool proj")),
    ), name=name)


_INCEPTIONS = {  # name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj), Table 1 of the paper
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(paper: bool = False):
    """torchvision's GoogLeNet without the auxiliary heads (conv + BatchNorm, 3x3 "5x5"
    branches); ``paper=True``: the 2014 paper's convs with biases, 5x5 branches, no BN."""
    def conv(f: int, k: int, s: int = 1, p: int = 0, *, name: str) -> Conv:
        return Conv(f, k, s, p, name=name) if paper else _bn_conv(f, k, s, p, name=name)

    def inc(key: str) -> Branches:
        return _inception(f"inception{key}", *_INCEPTIONS[key], paper=paper)

    return (3, 224, 224), (
        conv(64, 7, 2, 3, name="conv1"), Pool(3, 2, ceil_mode=True, name="pool1"),
        conv(64, 1, name="conv2"), conv(192, 3, p=1, name="conv3"),
        Pool(3, 2, ceil_mode=True, name="pool2"),
        inc("3a"), inc("3b"), Pool(3, 2, ceil_mode=True, name="pool3"),
        inc("4a"), inc("4b"), inc("4c"), inc("4d"), inc("4e"),
        Pool(2, 2, ceil_mode=True, name="pool4"),
        inc("5a"), inc("5b"), GlobalAvgPool(name="avgpool"), Flatten(), Dense(1000, name="fc"),
    )


_RESNETS = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False),
            50: ((3, 4, 6, 3), True), 101: ((3, 4, 23, 3), True), 152: ((3, 8, 36, 3), True)}


def residual_block(in_c: int, planes: int, stride: int, bottleneck: bool, name: str,
                   v15: bool = True) -> Residual:
    """torchvision's BasicBlock (two 3x3) or Bottleneck (1x1, 3x3, 1x1 to 4x planes; the
    stride on the 3x3 as torchvision's "v1.5", on the first 1x1 with ``v15=False`` as the
    2015 paper); a 1x1 projection shortcut when the shape changes."""
    out_c = planes * 4 if bottleneck else planes
    if bottleneck:
        s1, s3 = (1, stride) if v15 else (stride, 1)
        main = (_bn_conv(planes, 1, s1, name="conv1 1x1"),
                _bn_conv(planes, 3, s3, 1, name="conv2 3x3"),
                _bn_conv(out_c, 1, name="conv3 1x1", relu=False))
    else:
        main = (_bn_conv(planes, 3, stride, 1, name="conv1 3x3"),
                _bn_conv(planes, 3, 1, 1, name="conv2 3x3", relu=False))
    shortcut = ()
    if stride != 1 or in_c != out_c:
        shortcut = (_bn_conv(out_c, 1, stride, name="downsample 1x1", relu=False),)
    return Residual(main, shortcut, name=name)


def resnet(depth: int, v15: bool = True):
    blocks, bottleneck = _RESNETS[depth]
    layers: list[object] = [_bn_conv(64, 7, 2, 3, name="conv1"), Pool(3, 2, 1, name="maxpool")]
    in_c = 64
    for stage, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512), strict=True), 1):
        for i in range(n):
            stride = 2 if stage > 1 and i == 0 else 1
            layers.append(residual_block(in_c, planes, stride, bottleneck, f"layer{stage}.{i}", v15))
            in_c = planes * 4 if bottleneck else planes
    layers += [GlobalAvgPool(name="avgpool"), Flatten(), Dense(1000, name="fc")]
    return (3, 224, 224), tuple(layers)


#: The case studies, by the name the API uses.
ARCHITECTURES = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "resnet18": lambda: resnet(18),
    "resnet34": lambda: resnet(34),
    "resnet50": lambda: resnet(50),
    "resnet152": lambda: resnet(152),
}

#: Variants the pages compare against (the papers' own layouts).
VARIANTS = {
    "alexnet_paper": alexnet_paper,
    "alexnet_one_tower": lambda: alexnet_paper(groups=1),
    "googlenet_paper": lambda: googlenet(paper=True),
    "resnet50_v1": lambda: resnet(50, v15=False),
}


@functools.lru_cache(maxsize=32)
def table(name: str) -> Table:
    """The counted :class:`Table` of a case study or variant; ``KeyError`` if unknown."""
    builder = ARCHITECTURES.get(name) or VARIANTS[name]
    shape, layers = builder()
    return count(name, shape, layers)
