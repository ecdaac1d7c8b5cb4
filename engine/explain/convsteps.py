"""The playground's other convolutions, step by step: one small example of each kind and the
arithmetic of one output value, from the engine's own ops.

Kinds (``op``): ``standard``, ``pointwise`` (1x1), ``grouped``, ``depthwise``, ``separable``
(depthwise, then 1x1), ``transposed`` and ``conv1d``. :func:`example` draws the input and the
weights as small whole numbers from a seed (so a student can check the sums by hand), runs
the vectorised op and traces output ``(k, i, j)``: every product that makes it, from the
input cells and kernel taps the formula names, and the engine's value to compare with.
A transposed convolution is traced three ways: the scatter (which input cells' kernel copies
land on the cell), the zero-insertion view (a stride-1 convolution of the spread-out input
with the turned kernel) and the "gradient of a convolution" view (the engine's conv
backward gives the same map). ``ValueError`` for impossible settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.explain.convkinds import KindSummary, describe_kind
from engine.explain.formulas import transpose_views
from engine.ops.conv import conv2d_backward, conv2d_forward
from engine.ops.conv1d import conv1d_forward
from engine.ops.conv_transpose import conv_transpose2d_forward, zero_insertion_view

__all__ = ["OPS", "Example", "Term", "Trace", "example"]

OPS = ("standard", "pointwise", "grouped", "depthwise", "separable", "transposed", "conv1d")


@dataclass(frozen=True)
class Term:
    """One product ``x * w`` of a traced value. ``row``/``col``: the input cell (unpadded
    coordinates; outside the input on padding, where ``x`` is 0); ``tap``: the kernel cell."""

    channel: int
    row: int
    col: int
    tap: tuple[int, int]
    x: float
    w: float
    product: float
    padding: bool = False


@dataclass(frozen=True)
class Trace:
    """Output ``(k, i, j)``: ``terms`` add up to ``sum``; ``+ bias = value``; ``engine`` is the
    vectorised op's value there. ``channels``: the input channels this output reads."""

    position: tuple[int, int, int]
    channels: list[int]
    terms: list[Term]
    sum: float
    bias: float
    value: float
    engine: float
    channel_sums: list[float] = field(default_factory=list)  # the terms of each of ``channels``
    stage_values: list[Trace] = field(default_factory=list)  # separable: the depthwise values
    zero_view: dict | None = None  # transposed: the stride-1 convolution on the spread input
    gradient_gap: float | None = None  # transposed: max |conv backward - this op| over the map


@dataclass(frozen=True)
class Example:
    op: str
    x: np.ndarray  # (C, H, W), or (C, L) for conv1d
    w: np.ndarray  # the op's weights in ONNX layout (separable: the depthwise ones, no bias)
    b: np.ndarray  # the biases of the output channels
    out: np.ndarray  # (K, OH, OW), or (K, L_out)
    summary: KindSummary
    trace: Trace
    attrs: dict
    stage: np.ndarray | None = None  # separable: the depthwise output (C, OH, OW)
    w2: np.ndarray | None = None  # separable: the 1x1 weights (K, C, 1, 1)
    views: dict[str, str] | None = None  # transposed: its three readings, in words


def _sums(terms: list[Term], channels: list[int]) -> list[float]:
    return [float(sum(t.product for t in terms if t.channel == ch)) for ch in channels]


def _ints(rng: np.random.Generator, shape, lo: int, hi: int) -> np.ndarray:
    return rng.integers(lo, hi + 1, size=shape).astype(np.float64)


def _conv_trace(x, w, b, k, i, j, strides, pads, group, engine_value) -> Trace:
    """The dot product of filter ``k`` with its window at ``(i, j)`` (``x`` (C, H, W))."""
    c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    first = (k // (f // group)) * cg
    terms = []
    for ch in range(cg):
        for p in range(kh):
            for q in range(kw):
                r, s = i * strides[0] - pads[0] + p, j * strides[1] - pads[1] + q
                inside = 0 <= r < h and 0 <= s < wd
                xv = float(x[first + ch, r, s]) if inside else 0.0
                wv = float(w[k, ch, p, q])
                terms.append(Term(first + ch, r, s, (p, q), xv, wv, xv * wv, not inside))
    total = float(sum(t.product for t in terms))
    channels = list(range(first, first + cg))
    return Trace((k, i, j), channels, terms, total, float(b[k]), total + float(b[k]), float(engine_value),
                 _sums(terms, channels))


def _transposed_trace(x, w, b, out, k, i, j, attrs) -> Trace:
    """Scatter: input cells ``(a, c)`` whose kernel copy puts tap ``(p, q)`` on ``(i, j)``."""
    c, h, wd = x.shape
    _, _, kh, kw = w.shape
    (sh, sw), (top, left, _, _) = attrs["strides"], attrs["pads"]
    terms = []
    for ch in range(c):
        for a in range(h):
            p = i + top - a * sh
            if not 0 <= p < kh:
                continue
            for col in range(wd):
                q = j + left - col * sw
                if 0 <= q < kw:
                    xv, wv = float(x[ch, a, col]), float(w[ch, k, p, q])
                    terms.append(Term(ch, a, col, (p, q), xv, wv, xv * wv))
    total = float(sum(t.product for t in terms))
    z, wz = zero_insertion_view(x[None], w, **attrs)
    rows, cols = [i + p for p in range(kh)], [j + q for q in range(kw)]
    patch = z[0][:, rows][:, :, cols]
    spread_rows = _source_index(h, sh, kh, top, z.shape[2])
    spread_cols = _source_index(wd, sw, kw, left, z.shape[3])
    zero_view = {"z": z[0], "weights": wz[k], "rows": rows, "cols": cols, "patch": patch,
                 "products": patch * wz[k], "sum": float((patch * wz[k]).sum()),
                 "source_rows": spread_rows, "source_cols": spread_cols}
    # The convolution whose backward this is: conv2d_forward on an input of the output's size,
    # then conv2d_backward with the transposed convolution's input as the upstream gradient.
    _, cache = conv2d_forward(np.zeros((1, out.shape[0], *out.shape[1:])), w, None,
                              strides=attrs["strides"], pads=attrs["pads"])
    dx, _, _ = conv2d_backward(x[None], cache)
    gap = float(np.abs(dx[0] + b[:, None, None] - out).max())
    return Trace((k, i, j), list(range(c)), terms, total, float(b[k]), total + float(b[k]),
                 float(out[k, i, j]), _sums(terms, list(range(c))), zero_view=zero_view, gradient_gap=gap)


def _source_index(n: int, s: int, kernel: int, crop: int, size: int) -> list[int]:
    """For each row of the zero-insertion grid, the input row it holds (-1: an inserted or
    padding zero). Row ``a`` of the input sits at ``(F - 1) + a*S - crop``."""
    out = [-1] * size
    for a in range(n):
        at = kernel - 1 + a * s - crop
        if 0 <= at < size:
            out[at] = a
    return out


def example(op: str, *, size: int, in_channels: int, filters: int, kernel: int, stride: int = 1,
            padding: int = 0, output_padding: int = 0, groups: int = 1, seed: int = 0,
            position: tuple[int, int, int] = (0, 0, 0)) -> Example:
    """A seeded example of ``op`` (input ``size`` x ``size``, or ``size`` long for ``conv1d``;
    values 0..4, weights -1..1, biases 0..1) and the trace of output ``position``."""
    if op not in OPS:
        raise ValueError(f"unknown operation {op!r}; one of {', '.join(OPS)}")
    rng = np.random.default_rng(seed)
    c = in_channels
    kernel = 1 if op == "pointwise" else kernel
    k = c if op in ("depthwise",) else filters
    group = c if op == "depthwise" else groups if op == "grouped" else 1
    hw = (size,) if op == "conv1d" else (size, size)
    summary = describe_kind(op, hw, c, k, kernel, stride=stride, padding=padding, groups=group,
                            output_padding=output_padding)
    x = _ints(rng, (c, *hw), 0, 4)
    b = _ints(rng, (k,), 0, 1)
    strides, pads = (stride, stride), (padding, padding, padding, padding)
    kk, ki, kj = position
    oshape = summary.output_shape
    if op == "conv1d":
        ki, oshape = 0, (oshape[0], 1, oshape[1])
    if not (0 <= kk < oshape[0] and 0 <= ki < oshape[1] and 0 <= kj < oshape[2]):
        raise ValueError(f"position (channel {kk}, row {ki}, column {kj}) is outside the output "
                         f"of {oshape[0]} x {oshape[1]} x {oshape[2]}")
    attrs: dict[str, Any]
    if op == "transposed":
        w = _ints(rng, (c, k, kernel, kernel), -1, 1)
        attrs = {"strides": strides, "pads": pads, "dilations": (1, 1),
                 "output_padding": (output_padding, output_padding), "group": 1}
        out = conv_transpose2d_forward(x[None], w, b, **attrs)[0][0]
        trace = _transposed_trace(x, w, b, out, kk, ki, kj, attrs)
        views = transpose_views(x.shape[1:], out.shape[1:], kernel, stride, padding, output_padding,
                                trace.gradient_gap or 0.0)
        return Example(op, x, w, b, out, summary, trace, attrs, views=views)
    if op == "conv1d":
        w = _ints(rng, (k, c, kernel), -1, 1)
        out = conv1d_forward(x[None], w, b, strides=(stride,), pads=(padding, padding))[0][0]
        trace = _conv_trace(x[:, None, :], w[:, :, None, :], b, kk, 0, kj, (1, stride),
                            (0, padding), 1, out[kk, kj])
        return Example(op, x, w, b, out, summary, trace, {"strides": (stride,), "pads": (padding, padding)})
    attrs = {"strides": strides, "pads": pads, "group": group}
    if op == "separable":
        wd = _ints(rng, (c, 1, kernel, kernel), -1, 1)
        w2 = _ints(rng, (k, c, 1, 1), -1, 1)
        bd = np.zeros(c)
        stage = conv2d_forward(x[None], wd, bd, strides=strides, pads=pads, group=c)[0][0]
        out = conv2d_forward(stage[None], w2, b)[0][0]
        firsts = [_conv_trace(x, wd, bd, ch, ki, kj, strides, pads, c, stage[ch, ki, kj]) for ch in range(c)]
        mix = _conv_trace(stage, w2, b, kk, ki, kj, (1, 1), (0, 0, 0, 0), 1, out[kk, ki, kj])
        trace = Trace(mix.position, mix.channels, mix.terms, mix.sum, mix.bias, mix.value, mix.engine,
                      mix.channel_sums, stage_values=firsts)
        return Example(op, x, wd, b, out, summary, trace, attrs, stage=stage, w2=w2)
    w = _ints(rng, (k, c // group, kernel, kernel), -1, 1)
    out = conv2d_forward(x[None], w, b, strides=strides, pads=pads, group=group)[0][0]
    trace = _conv_trace(x, w, b, kk, ki, kj, strides, pads, group, out[kk, ki, kj])
    return Example(op, x, w, b, out, summary, trace, attrs)
