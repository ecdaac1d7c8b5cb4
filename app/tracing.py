"""Where one value of a layer came from: the arithmetic, and the part of the image it saw.

Every number comes from one engine run (:class:`app.inspection.Run`): the layer's
input tensor as the engine computed it, the weights from the model, and
:func:`engine.explain.trace.conv_trace` for a convolution's dot product. The receptive field
is found by walking the graph back from the layer to the model input, composing the
kernels, strides, paddings and dilations of every Conv and pooling layer on the way
(element-wise layers keep positions; a layer that mixes all positions, such as
Flatten or Gemm, makes the field the whole image).
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from app.errors import ApiError
from app.inspection import ELEMENTWISE, PASS_THROUGH, Run, Structure, num
from engine.explain.trace import conv_trace
from engine.graph import Node
from engine.graph.ops import node_window  # the runner's own auto_pad / pads resolution

DETAIL_CHANNELS = 16  # input channels whose patch x filter is spelled out in full
TOP_INPUTS = 10  # largest contributions shown for a dense layer
MAX_WINDOW_CELLS = 1024  # pooling windows larger than this are summarised
WINDOW_OPS = {"Conv", "MaxPool", "AveragePool"}
UNARY = {"Relu": "max(0, x)", "Sigmoid": "1 / (1 + e^(−x))", "Tanh": "tanh(x)",
         "Gelu": "x · ½(1 + erf(x/√2))", "GELU": "x · ½(1 + erf(x/√2))", "Erf": "erf(x)",
         "Identity": "x", "Dropout": "x (dropout does nothing at inference)"}


_r = num


def _grid(a: np.ndarray) -> list:
    return [_grid(row) for row in a] if a.ndim > 1 else [_r(v) for v in a]


def _tensor(r: Run, name: str) -> np.ndarray:
    if name in r.values:
        return r.values[name]
    return r.graph.initializers[name]


def window_of(r: Run, node: Node):
    """(kernel, strides, pads, dilations) of a Conv/MaxPool/AveragePool, as the runner uses them."""
    x = np.broadcast_to(np.float32(0), _tensor(r, node.inputs[0]).shape)
    kernel = _tensor(r, node.inputs[1]).shape[2:] if node.op_type == "Conv" else None
    return node_window(x, node.attributes, kernel, with_dilations=node.op_type != "AveragePool")


# ------------------------------------------------------------------ receptive field

class _Whole(Exception):
    pass


Box = tuple[int, int, int, int]  # first row, last row, first column, last column


def _union(a: Box | None, b: Box) -> Box:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def _input_boxes(r: Run, st: Structure, node: Node, t: str, box: Box) -> list[tuple[str, Box]]:
    """Where the cells ``box`` of ``t`` (an output of ``node``) come from, per data input."""
    r0, r1, c0, c1 = box
    op = node.op_type
    if op in WINDOW_OPS:
        (kh, kw), (sh, sw), pads, (dh, dw) = window_of(r, node)
        return [(node.inputs[0], (r0 * sh - pads[0], r1 * sh - pads[0] + dh * (kh - 1),
                                  c0 * sw - pads[1], c1 * sw - pads[1] + dw * (kw - 1)))]
    out_shape = r.values[t].shape
    if op == "MatMul" and len(out_shape) == 4 and st.data_inputs(node) == [node.inputs[0]]:
        # x @ W mixes the columns of each row: rows stay, every column counts
        return [(node.inputs[0], (r0, r1, 0, r.values[node.inputs[0]].shape[3] - 1))]
    if op in ELEMENTWISE | PASS_THROUGH or (op == "Concat" and node.attributes.get("axis") in (1, -3)):
        inputs = [i for i in st.data_inputs(node) if r.values[i].ndim == 4]
        if any(r.values[i].shape[2:] != out_shape[2:] and st.from_input(i) for i in inputs):
            # A broadcast map computed from the image, e.g. squeeze-and-excitation's
            # (1, C, 1, 1) from a global pool: every input pixel reaches it.
            raise _Whole
        same = [(i, box) for i in inputs if r.values[i].shape[2:] == out_shape[2:]]
        if same:
            return same
    raise _Whole


def receptive_field(r: Run, st: Structure, tensor: str, row: int, col: int) -> dict:
    """Rows and columns of the model input that position (row, col) of ``tensor`` depends on.

    One pass over the nodes from the last to the first (a loop, not a recursion, however
    deep the model): each node maps the box of its output that the position reaches to
    boxes of its inputs, and where skip connections meet again the boxes are united.
    """
    _, _, h, w = r.x.shape
    boxes: dict[str, Box] = {tensor: (row, row, col, col)}
    field: Box | None = None
    try:
        for node in reversed(r.graph.nodes):
            for t in [o for o in node.outputs if o in boxes]:
                for name, box in _input_boxes(r, st, node, t, boxes.pop(t)):
                    if name in st.input_names:
                        field = _union(field, box)
                    elif st.producer.get(name) is None:
                        raise _Whole
                    else:
                        boxes[name] = _union(boxes.get(name), box)
        if field is None or boxes:
            raise _Whole
    except _Whole:
        return {"whole": True, "rows": [0, h - 1], "cols": [0, w - 1], "size": [h, w]}
    r0, r1, c0, c1 = field
    return {"whole": False, "rows": [max(0, r0), min(h - 1, r1)], "cols": [max(0, c0), min(w - 1, c1)],
            "size": [r1 - r0 + 1, c1 - c0 + 1]}


# ------------------------------------------------------------------ per-op arithmetic

def _conv(r: Run, st: Structure, node: Node, ch: int, i: int, j: int) -> dict:
    x = _tensor(r, node.inputs[0])[0]
    w = _tensor(r, node.inputs[1])
    b = _tensor(r, node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else None
    group = int(node.attributes.get("group", 1))
    cg = w.shape[1]
    g = ch // (w.shape[0] // group)
    xg = x[g * cg:(g + 1) * cg]
    kernel, strides, pads, dil = window_of(r, node)
    tr = conv_trace(xg, w[ch:ch + 1], None if b is None else b[ch:ch + 1], 0, i, j,
                    strides=strides, pads=pads, dilations=dil)
    _, h, wd = x.shape
    sums = tr.channel_sums
    order = np.argsort(-np.abs(sums), kind="stable")[:DETAIL_CHANNELS]
    return {
        "kind": "conv",
        "input_layer": st.source(node.inputs[0]),
        "input_shape": list(x.shape),
        "kernel": list(kernel), "strides": list(strides), "pads": list(pads),
        "dilations": list(dil), "group": group,
        "window": {"rows": tr.in_rows, "cols": tr.in_cols,
                   "padding": [[not (0 <= rr < h and 0 <= cc < wd) for cc in tr.in_cols]
                               for rr in tr.in_rows]},
        "channels_total": int(cg),
        "channels": [{"channel": int(g * cg + c), "patch": _grid(tr.patch[c]),
                      "weights": _grid(tr.weights[c]), "products": _grid(tr.products[c]),
                      "sum": _r(sums[c])} for c in order],
        "channel_sums": [_r(s) for s in sums],
        "rest_sum": _r(sums.sum() - sums[order].sum()),
        "sum": _r(tr.total), "bias": _r(tr.bias), "result": _r(tr.value),
    }


def _flat_source(r: Run, st: Structure, tensor: str) -> tuple[str, tuple[int, ...]] | None:
    node = st.producer.get(tensor)
    if node is None or node.op_type not in ("Flatten", "Reshape"):
        return None
    src = st.data_inputs(node)[0]
    shape = r.values[src].shape
    return (st.source(src), shape[1:]) if len(shape) == 4 and shape[0] == 1 else None


def _dense(r: Run, st: Structure, node: Node, idx: tuple[int, ...]) -> dict:
    a, b = _tensor(r, node.inputs[0]), _tensor(r, node.inputs[1])
    bias, alpha = 0.0, 1.0
    if node.op_type == "Gemm":
        attrs = node.attributes
        a = a.T if attrs.get("transA") else a
        b = b.T if attrs.get("transB") else b
        alpha = float(attrs.get("alpha", 1.0))
        if len(node.inputs) > 2 and node.inputs[2]:
            c = np.broadcast_to(_tensor(r, node.inputs[2]), (a.shape[0], b.shape[1]))
            bias = float(attrs.get("beta", 1.0)) * float(c[idx])
        x, wcol = a[idx[0]], b[:, idx[1]]
    else:
        if b.ndim != 2 or a.ndim != len(idx):
            raise ApiError(422, f"Tracing a MatMul needs a 2-D right operand; '{node.name}' has {list(b.shape)}.")
        x, wcol = a[idx[:-1]], b[:, idx[-1]]
    prods = alpha * x.astype(np.float64) * wcol.astype(np.float64)
    order = np.argsort(-np.abs(prods), kind="stable")[:TOP_INPUTS]
    src = _flat_source(r, st, node.inputs[0]) if len(idx) == 2 else None
    top = []
    for k in order:
        item: dict[str, Any] = {"index": int(k), "x": _r(x[k]), "w": _r(wcol[k]), "product": _r(prods[k])}
        if src is not None:
            ch, y, z = np.unravel_index(int(k), src[1])
            item["source"] = {"layer": src[0], "channel": int(ch), "row": int(y), "col": int(z)}
        top.append(item)
    total = float(prods.sum())
    return {
        "kind": "dense", "input_layer": st.source(node.inputs[0]), "inputs_total": int(x.size),
        "alpha": _r(alpha), "top": top, "rest_sum": _r(total - prods[order].sum()),
        "sum": _r(total), "bias": _r(bias), "result": _r(total + bias),
    }


def _pool(r: Run, st: Structure, node: Node, ch: int, i: int, j: int) -> dict:
    x = _tensor(r, node.inputs[0])[0, ch]
    h, w = x.shape
    if node.op_type == "GlobalAveragePool":
        rows, cols, top, left, bottom, right = list(range(h)), list(range(w)), 0, 0, 0, 0
        include_pad, kind = False, "avgpool"
    else:
        (kh, kw), (sh, sw), pads, (dh, dw) = window_of(r, node)
        top, left, bottom, right = pads
        rows = [i * sh - top + dh * a for a in range(kh)]
        cols = [j * sw - left + dw * c for c in range(kw)]
        include_pad = bool(node.attributes.get("count_include_pad", 0))
        kind = "maxpool" if node.op_type == "MaxPool" else "avgpool"
    inside = np.array([[0 <= a < h and 0 <= c < w for c in cols] for a in rows])
    vals = np.array([[x[a, c] if 0 <= a < h and 0 <= c < w else np.nan for c in cols] for a in rows])
    out: dict[str, Any] = {
        "kind": kind, "input_layer": st.source(node.inputs[0]), "input_shape": [int(h), int(w)],
        "window": {"rows": rows, "cols": cols, "padding": (~inside).tolist()},
    }
    if inside.size <= MAX_WINDOW_CELLS:
        out["window"]["values"] = [[None if np.isnan(v) else _r(v) for v in row] for row in vals]
    if kind == "maxpool":
        flat = np.where(inside, vals, -np.inf).ravel()
        k = int(np.argmax(flat))
        wr, wc = divmod(k, len(cols))
        out["winner"] = {"row": rows[wr], "col": cols[wc], "value": _r(flat[k])}
        out["result"] = _r(flat[k])
    else:
        total = float(np.nansum(vals))
        # count_include_pad counts the zero padding, but not the cells beyond it that a
        # ceil_mode window can reach: those are not part of the padded input at all.
        in_padded = [[-top <= a < h + bottom and -left <= c < w + right for c in cols] for a in rows]
        count = int(np.sum(in_padded)) if include_pad else int(inside.sum())
        out.update(sum=_r(total), count=count, result=_r(total / max(count, 1)))
    return out


def _elementwise(r: Run, st: Structure, node: Node, idx: tuple[int, ...], depth: int) -> dict:
    label = st.activation_name(node) or node.op_type
    data = st.data_inputs(node)
    skip = st.skip_connection(node)
    if skip:
        return _skip(r, st, node, idx, depth, *skip)
    if label == "GELU":
        a, b = data
        x_name = a if st.producer.get(b) and st.is_chain_step(st.producer[b]) else b
    elif len(data) == 1:
        x_name = data[0]
    else:
        raise ApiError(422, f"Tracing explains a {node.op_type} of one tensor; '{node.name}' combines {len(data)}.")
    x = _tensor(r, x_name)
    if x.shape != r.values[node.outputs[0]].shape:
        raise ApiError(422, f"'{node.name}' broadcasts its input; tracing it is not supported.")
    out: dict[str, Any] = {"kind": "elementwise", "op": label, "input_layer": st.source(x_name), "x": _r(x[idx])}
    if label in UNARY:
        out["formula"] = UNARY[label]
    elif label == "LeakyRelu":
        out["formula"] = f"x if x > 0, else {node.attributes.get('alpha', 0.01):g} · x"
    elif label == "Clip":
        out["formula"] = "min(max(x, low), high)"
    elif label == "BatchNormalization":
        s, bb, m, v = (float(_tensor(r, n)[idx[1]]) for n in node.inputs[1:5])
        eps = float(node.attributes.get("epsilon", 1e-5))
        out.update(formula="(x − mean) / √(var + ε) · scale + B",
                   constants={"mean": _r(m), "var": _r(v), "epsilon": eps, "scale": _r(s), "B": _r(bb)})
    elif node.op_type in ("Add", "Sub", "Mul", "Div"):
        other = next(n for n in node.inputs if n and n != x_name)
        c = np.broadcast_to(_tensor(r, other), x.shape)[idx]
        sign = {"Add": "+", "Sub": "−", "Mul": "×", "Div": "÷"}[node.op_type]
        first = node.inputs[0] == x_name
        out.update(formula=f"x {sign} c" if first else f"c {sign} x", constant=_r(c))
    out["result"] = _r(r.values[node.outputs[0]][idx])
    _add_source(out, r, st, x_name, idx, depth)
    return out


def _add_source(out: dict, r: Run, st: Structure, tensor: str, idx: tuple[int, ...],
                depth: int) -> None:
    """``out["source"]``: the trace of the same position in the layer that made ``tensor``."""
    src = st.producer.get(tensor)
    if src is not None and depth < 3:
        with contextlib.suppress(ApiError):  # a source tracing cannot explain is left out
            out["source"] = {"layer": src.name, "op_type": src.op_type,
                             **_dispatch(r, st, src, idx, depth + 1)}


def _skip(r: Run, st: Structure, node: Node, idx: tuple[int, ...], depth: int,
          shortcut: str, main: str) -> dict:
    """A residual Add: the block's input x plus what the block computed from it, F(x)."""
    x, fx = _tensor(r, shortcut), _tensor(r, main)
    if not x.shape == fx.shape == r.values[node.outputs[0]].shape:
        raise ApiError(422, f"'{node.name}' broadcasts its inputs; tracing it is not supported.")
    out = {"kind": "skip", "op": "Add", "formula": "x + F(x)", "x": _r(x[idx]), "fx": _r(fx[idx]),
           "shortcut_layer": st.source(shortcut), "main_layer": st.source(main),
           "result": _r(r.values[node.outputs[0]][idx])}
    _add_source(out, r, st, main, idx, depth)
    return out


def _dispatch(r: Run, st: Structure, node: Node, idx: tuple[int, ...], depth: int = 0) -> dict:
    op = node.op_type
    spatial = len(idx) == 4
    if op == "Conv" and spatial:
        return _conv(r, st, node, *idx[1:])
    if op in ("MaxPool", "AveragePool", "GlobalAveragePool") and spatial:
        return _pool(r, st, node, *idx[1:])
    if op in ("Gemm", "MatMul"):
        return _dense(r, st, node, idx)
    if op in ELEMENTWISE | {"Identity", "Dropout"}:
        return _elementwise(r, st, node, idx, depth)
    raise ApiError(422, f"Tracing explains Conv, Gemm/MatMul, pooling and activation layers; "
                        f"'{node.name}' is a {op}.")


def trace(r: Run, layer: str, channel: int, row: int, col: int) -> dict:
    """The arithmetic behind output (channel, row, col) of ``layer`` (row = col = 0 for a vector)."""
    st = Structure(r.graph)
    try:
        node = r.graph.node(layer)
    except KeyError:
        raise ApiError(422, f"The model has no layer called {layer!r}.") from None
    out = r.values.get(node.outputs[0]) if node.outputs else None
    if out is None or out.dtype.kind != "f":
        raise ApiError(422, f"Layer '{layer}' has no numeric output to trace.")
    if out.ndim == 4:
        _, c, h, w = out.shape
        if not (channel < c and row < h and col < w):
            raise ApiError(422, f"Layer '{layer}' outputs {c} maps of {h} x {w}: there is no "
                                f"(channel {channel}, row {row}, column {col}).")
        idx: tuple[int, ...] = (0, channel, row, col)
    elif out.ndim == 2:
        if channel >= out.shape[1] or row or col:
            raise ApiError(422, f"Layer '{layer}' outputs a vector of {out.shape[1]} values: there "
                                f"is no index {channel} (row and col must be 0).")
        idx = (0, channel)
    else:
        raise ApiError(422, f"Layer '{layer}' has an output of shape {list(out.shape)}; tracing "
                            "explains feature maps (N, C, H, W) and vectors (N, K).")
    result = {"layer": node.name, "op_type": node.op_type,
              "position": {"channel": channel, "row": row, "col": col},
              "output_shape": list(out.shape), "value": _r(out[idx]),
              **_dispatch(r, st, node, idx)}
    if len(idx) == 4:
        result["field"] = receptive_field(r, st, node.outputs[0], row, col)
    return result
