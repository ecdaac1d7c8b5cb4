"""Where one value of a layer came from: the arithmetic, and the part of the image it saw.

Every number comes from one engine run (the graph and the ``values`` that
:func:`engine.graph.run` kept): the layer's input tensor as the engine computed it, the
weights from the model, :func:`engine.explain.trace.conv_trace` for a convolution's dot
product and the runner's own window geometry (:func:`engine.graph.analysis.window_of`)
for every window. Impossible requests raise :class:`~engine.explain.kinds.TraceError`
(a ``ValueError``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine import registry
from engine.explain.kinds import (
    Cells,
    Contribution,
    ConvChannel,
    ConvValue,
    DenseValue,
    Detail,
    ElementwiseValue,
    PoolValue,
    Position,
    SkipValue,
    Source,
    TraceError,
    ValueTrace,
    Winner,
)
from engine.explain.trace import conv_trace
from engine.graph import Graph, Node
from engine.graph.analysis import ELEMENTWISE, Shapes, Structure, receptive_field, window_of

__all__ = ["DETAIL_CHANNELS", "MAX_SOURCE_DEPTH", "MAX_WINDOW_CELLS", "TOP_INPUTS", "trace_value"]

DETAIL_CHANNELS = 16  # input channels whose patch x filter is spelled out in full
TOP_INPUTS = 10  # largest contributions shown for a dense layer
MAX_WINDOW_CELLS = 1024  # pooling windows larger than this are summarised
MAX_SOURCE_DEPTH = 3  # how many layers back an element-wise value's source is followed
FORMULAS = {a.onnx_op: a.formula for a in registry.ACTIVATIONS.values() if a.onnx_op}
FORMULAS.update({"GELU": registry.ACTIVATIONS["gelu"].formula, "Erf": "erf(x)", "Identity": "x",
                 "Dropout": "x (dropout does nothing at inference)"})


@dataclass(frozen=True)
class _Run:
    graph: Graph
    values: Mapping[str, np.ndarray]
    st: Structure
    shapes: Shapes

    def tensor(self, name: str) -> np.ndarray:
        found = self.values.get(name)
        return self.graph.initializers[name] if found is None else found


def _conv(r: _Run, node: Node, ch: int, i: int, j: int) -> ConvValue:
    x = r.tensor(node.inputs[0])[0]
    w = r.tensor(node.inputs[1])
    b = r.tensor(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    group = int(node.attributes.get("group", 1))
    cg = w.shape[1]
    g = ch // (w.shape[0] // group)
    win = window_of(node, r.shapes)
    tr = conv_trace(x[g * cg:(g + 1) * cg], w[ch:ch + 1], None if b is None else b[ch:ch + 1], 0, i, j,
                    strides=win.strides, pads=win.pads, dilations=win.dilations)
    _, h, wd = x.shape
    sums = tr.channel_sums
    order = np.argsort(-np.abs(sums), kind="stable")[:DETAIL_CHANNELS]
    outside = np.array([[not (0 <= rr < h and 0 <= cc < wd) for cc in tr.in_cols] for rr in tr.in_rows])
    return ConvValue(
        "conv", r.st.source(node.inputs[0]), list(x.shape), win.kernel, win.strides, win.pads,
        win.dilations, group, Cells(tr.in_rows, tr.in_cols, outside), int(cg),
        [ConvChannel(int(g * cg + c), tr.patch[c], tr.weights[c], tr.products[c], float(sums[c]))
         for c in order],
        sums, float(sums.sum() - sums[order].sum()), tr.total, tr.bias, tr.value)


def _flat_source(r: _Run, tensor: str) -> tuple[str, tuple[int, ...]] | None:
    node = r.st.producer.get(tensor)
    if node is None or node.op_type not in ("Flatten", "Reshape"):
        return None
    src = r.st.data_inputs(node)[0]
    shape = r.shapes[src]
    return (r.st.source(src), shape[1:]) if len(shape) == 4 and shape[0] == 1 else None


def _dense(r: _Run, node: Node, idx: tuple[int, ...]) -> DenseValue:
    a, b = r.tensor(node.inputs[0]), r.tensor(node.inputs[1])
    bias, alpha = 0.0, 1.0
    if node.op_type == "Gemm":
        attrs = node.attributes
        a = a.T if attrs.get("transA") else a
        b = b.T if attrs.get("transB") else b
        alpha = float(attrs.get("alpha", 1.0))
        if len(node.inputs) > 2 and node.inputs[2]:
            c = np.broadcast_to(r.tensor(node.inputs[2]), (a.shape[0], b.shape[1]))
            bias = float(attrs.get("beta", 1.0)) * float(c[idx])
        x, wcol = a[idx[0]], b[:, idx[1]]
    else:
        if b.ndim != 2 or a.ndim != len(idx):
            raise TraceError(f"Tracing a MatMul needs a 2-D right operand; '{node.name}' has {list(b.shape)}.")
        x, wcol = a[idx[:-1]], b[:, idx[-1]]
    prods = alpha * x.astype(np.float64) * wcol.astype(np.float64)
    order = np.argsort(-np.abs(prods), kind="stable")[:TOP_INPUTS]
    src = _flat_source(r, node.inputs[0]) if len(idx) == 2 else None
    top = []
    for k in order:
        where = None
        if src is not None:
            ch, y, z = np.unravel_index(int(k), src[1])
            where = Position(src[0], int(ch), int(y), int(z))
        top.append(Contribution(int(k), float(x[k]), float(wcol[k]), float(prods[k]), where))
    total = float(prods.sum())
    return DenseValue("dense", r.st.source(node.inputs[0]), int(x.size), alpha, top,
                      total - float(prods[order].sum()), total, bias, total + bias)


def _pool(r: _Run, node: Node, ch: int, i: int, j: int) -> PoolValue:
    x = r.tensor(node.inputs[0])[0, ch]
    h, w = x.shape
    if node.op_type == "GlobalAveragePool":
        rows, cols, top, left, bottom, right = list(range(h)), list(range(w)), 0, 0, 0, 0
        include_pad, kind = False, "avgpool"
    else:
        win = window_of(node, r.shapes)
        (kh, kw), (sh, sw), (dh, dw) = win.kernel, win.strides, win.dilations
        top, left, bottom, right = win.pads
        rows = [i * sh - top + dh * a for a in range(kh)]
        cols = [j * sw - left + dw * c for c in range(kw)]
        include_pad = bool(node.attributes.get("count_include_pad", 0))
        kind = "maxpool" if node.op_type == "MaxPool" else "avgpool"
    inside = np.array([[0 <= a < h and 0 <= c < w for c in cols] for a in rows])
    vals = np.array([[x[a, c] if 0 <= a < h and 0 <= c < w else np.nan for c in cols] for a in rows])
    cells = Cells(rows, cols, ~inside, vals if inside.size <= MAX_WINDOW_CELLS else None)
    source = r.st.source(node.inputs[0])
    if kind == "maxpool":
        flat = np.where(inside, vals, -np.inf).ravel()
        k = int(np.argmax(flat))
        wr, wc = divmod(k, len(cols))
        best = float(flat[k])
        return PoolValue(kind, source, [int(h), int(w)], cells, best, winner=Winner(rows[wr], cols[wc], best))
    total = float(np.nansum(vals))
    # count_include_pad counts the zero padding, but not the cells beyond it that a
    # ceil_mode window can reach: those are not part of the padded input at all.
    in_padded = [[-top <= a < h + bottom and -left <= c < w + right for c in cols] for a in rows]
    count = int(np.sum(in_padded)) if include_pad else int(inside.sum())
    return PoolValue(kind, source, [int(h), int(w)], cells, total / max(count, 1), sum=total, count=count)


def _elementwise(r: _Run, node: Node, idx: tuple[int, ...], depth: int) -> Detail:
    st = r.st
    label = st.activation_name(node) or node.op_type
    data = st.data_inputs(node)
    skip = st.skip_connection(node)
    if skip:
        return _skip(r, node, idx, depth, *skip)
    if label == "GELU":
        a, b = data
        x_name = a if st.producer.get(b) and st.is_chain_step(st.producer[b]) else b
    elif len(data) == 1:
        x_name = data[0]
    else:
        raise TraceError(f"Tracing explains a {node.op_type} of one tensor; '{node.name}' combines {len(data)}.")
    x = r.tensor(x_name)
    out = r.values[node.outputs[0]]
    if x.shape != out.shape:
        raise TraceError(f"'{node.name}' broadcasts its input; tracing it is not supported.")
    formula, constant, constants = FORMULAS.get(label), None, None
    if label == "LeakyRelu":
        formula = f"x if x > 0, else {node.attributes.get('alpha', 0.01):g} · x"
    elif label == "Clip":
        formula = "min(max(x, low), high)"
    elif label == "BatchNormalization":
        s, bb, m, v = (float(r.tensor(n)[idx[1]]) for n in node.inputs[1:5])
        formula = "(x − mean) / √(var + ε) · scale + B"
        constants = {"mean": m, "var": v, "epsilon": float(node.attributes.get("epsilon", 1e-5)),
                     "scale": s, "B": bb}
    elif node.op_type in ("Add", "Sub", "Mul", "Div"):
        other = next(n for n in node.inputs if n and n != x_name)
        constant = float(np.broadcast_to(r.tensor(other), x.shape)[idx])
        sign = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷"}[node.op_type]
        formula = f"x {sign} c" if node.inputs[0] == x_name else f"c {sign} x"
    return ElementwiseValue("elementwise", label, st.source(x_name), float(x[idx]), float(out[idx]),
                            formula, constant, constants, _source(r, x_name, idx, depth))


def _source(r: _Run, tensor: str, idx: tuple[int, ...], depth: int) -> Source | None:
    """The trace of the same position in the layer that made ``tensor``, if it can be told."""
    src = r.st.producer.get(tensor)
    if src is not None and depth < MAX_SOURCE_DEPTH:
        with contextlib.suppress(TraceError):  # a source tracing cannot explain is left out
            return Source(src.name, src.op_type, _dispatch(r, src, idx, depth + 1))
    return None


def _skip(r: _Run, node: Node, idx: tuple[int, ...], depth: int, shortcut: str, main: str) -> SkipValue:
    x, fx, out = r.tensor(shortcut), r.tensor(main), r.values[node.outputs[0]]
    if not x.shape == fx.shape == out.shape:
        raise TraceError(f"'{node.name}' broadcasts its inputs; tracing it is not supported.")
    return SkipValue("skip", "Add", "x + F(x)", float(x[idx]), float(fx[idx]), r.st.source(shortcut),
                     r.st.source(main), float(out[idx]), _source(r, main, idx, depth))


def _dispatch(r: _Run, node: Node, idx: tuple[int, ...], depth: int = 0) -> Detail:
    op = node.op_type
    spatial = len(idx) == 4
    if op == "Conv" and spatial:
        return _conv(r, node, *idx[1:])
    if op in ("MaxPool", "AveragePool", "GlobalAveragePool") and spatial:
        return _pool(r, node, *idx[1:])
    if op in ("Gemm", "MatMul"):
        return _dense(r, node, idx)
    if op in ELEMENTWISE | {"Identity", "Dropout"}:
        return _elementwise(r, node, idx, depth)
    raise TraceError(f"Tracing explains Conv, Gemm/MatMul, pooling and activation layers; "
                     f"'{node.name}' is a {op}.")


def trace_value(graph: Graph, values: Mapping[str, np.ndarray], layer: str, channel: int,
                row: int = 0, col: int = 0, *, structure: Structure | None = None) -> ValueTrace:
    """The arithmetic behind output (channel, row, col) of ``layer`` in one run.

    ``values`` are the tensors :func:`engine.graph.run` kept (the input and every node
    output); ``row = col = 0`` for a vector. :class:`TraceError` when the layer is not in
    the graph, the position is outside its output, or its op cannot be explained.
    """
    r = _Run(graph, values, structure or Structure(graph), Shapes(graph, values))
    try:
        node = graph.node(layer)
    except KeyError:
        raise TraceError(f"The model has no layer called {layer!r}.") from None
    out = values.get(node.outputs[0]) if node.outputs else None
    if out is None or out.dtype.kind != "f":
        raise TraceError(f"Layer '{layer}' has no numeric output to trace.")
    if out.ndim == 4:
        _, c, h, w = out.shape
        if not (channel < c and row < h and col < w):
            raise TraceError(f"Layer '{layer}' outputs {c} maps of {h} x {w}: there is no "
                             f"(channel {channel}, row {row}, column {col}).")
        idx: tuple[int, ...] = (0, channel, row, col)
    elif out.ndim == 2:
        if channel >= out.shape[1] or row or col:
            raise TraceError(f"Layer '{layer}' outputs a vector of {out.shape[1]} values: there "
                             f"is no index {channel} (row and col must be 0).")
        idx = (0, channel)
    else:
        raise TraceError(f"Layer '{layer}' has an output of shape {list(out.shape)}; tracing "
                         "explains feature maps (N, C, H, W) and vectors (N, K).")
    detail = _dispatch(r, node, idx)
    field = receptive_field(r.st, r.shapes, node.outputs[0], row, col) if len(idx) == 4 else None
    return ValueTrace(node.name, node.op_type, (channel, row, col), list(out.shape), float(out[idx]),
                      detail, field)
