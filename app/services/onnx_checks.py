"""What an uploaded ONNX file must be before anything of it runs.

Checked from the file alone, cheapest first (:func:`parse` bounds the bytes before the
protobuf parser runs): every weight inside the file and used by some node; one float
NCHW image in (1 or 3 channels, a fixed H, W of at most :data:`MAX_SIDE`) and one vector
of at most :data:`MAX_CLASSES` scores out; and what one image costs (:func:`count_cost`,
from ONNX shape inference). :mod:`app.services.usermodels` then runs the model and
writes its card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeGuard

from app.errors import ApiError, megabytes
from app.services.onnx_scan import ScanError, scan
from engine.graph import FOLD_VALUES, Graph, fold_constants

MAX_BYTES = 25 * 1024 * 1024
MAX_CLASSES = 1000
MAX_SIDE = 256


def refuse(detail: str, status: int = 422) -> ApiError:
    """The error an upload is refused with (422 unless said)."""
    return ApiError(status, detail)


def parse(data: bytes):
    """(ModelProto, its :class:`~app.services.onnx_scan.Scan`), or 4xx: empty, too large, too costly to decode (:func:`app.services.onnx_scan.scan`,
    before the parser runs), or not a protobuf ONNX model."""
    import onnx

    if not data:
        raise refuse("The uploaded model file is empty.")
    if len(data) > MAX_BYTES:
        raise refuse(f"The model file is {megabytes(len(data))}; the limit is {megabytes(MAX_BYTES)}.", 413)
    try:
        cost = scan(data)
    except ScanError as exc:
        raise refuse(str(exc)) from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:
        raise refuse("This file is not an ONNX model: its bytes are not a valid ONNX protobuf "
                     "(export the model with torch.onnx.export or tf2onnx).") from None
    if not model.HasField("graph") or not len(model.graph.node):
        raise refuse("This file is not an ONNX model: it holds no graph (no nodes).")
    return model, cost


def _all_tensors(graph):
    """Every TensorProto in ``graph`` and its subgraphs (a loop over a stack of graphs)."""
    graphs = [graph]
    while graphs:
        g = graphs.pop()
        yield from g.initializer
        for sparse in g.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in g.node:
            for attr in node.attribute:
                if attr.HasField("t"):
                    yield attr.t
                yield from attr.tensors
                if attr.HasField("g"):
                    graphs.append(attr.g)
                graphs.extend(attr.graphs)


def refuse_unused_initializers(model) -> None:
    """Every weight must be read by some node: an unused one would only take memory."""
    g = model.graph
    used = {name for node in g.node for name in node.input} | {vi.name for vi in g.output}
    unused = [t.name for t in g.initializer if t.name not in used]
    if unused:
        raise refuse(f"The model holds {len(unused)} weight tensor(s) that no node uses (e.g. "
                     f"'{unused[0][:60]}'); remove them (onnx.helper or onnxsim do it).")


def refuse_external_data(model) -> None:
    """A tensor stored outside the file names a path; the model is refused, the path never read."""
    for t in _all_tensors(model.graph):
        if t.data_location == t.EXTERNAL or len(t.external_data):
            raise refuse(f"The model stores tensor '{t.name}' as external data (in a separate "
                         "file). Upload a single .onnx file with every weight inside it "
                         "(e.g. onnx.save(model, path, save_as_external_data=False)).")


def _dims(value_info) -> list[int | str | None] | None:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def _unbounded(node) -> ApiError:
    return refuse(f"The shapes around node '{node.name or node.op_type}' could not be "
                  "inferred, so its cost cannot be bounded; export with fixed shapes.")


def _known(dims: list[int | str | None] | None) -> TypeGuard[list[int]]:
    return dims is not None and all(isinstance(d, int) for d in dims)


def check_io(model) -> tuple[str, tuple[int, int, int], str]:
    """(input name, (C, H, W), output name); 422 unless one NCHW image in, one score vector out."""
    g = model.graph
    weights = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in weights]
    if len(inputs) != 1:
        raise refuse(f"The model has {len(inputs)} inputs ({', '.join(v.name for v in inputs)}); "
                     "ConvLab feeds one image, so it needs exactly one input.")
    vi = inputs[0]
    if vi.type.tensor_type.elem_type != 1:  # FLOAT
        raise refuse(f"The input '{vi.name}' must be float32 (a normalised image tensor).")
    dims = _dims(vi)
    if dims is None or len(dims) != 4:
        raise refuse(f"The input '{vi.name}' must be 4-D (N, C, H, W); it has shape "
                     f"{dims if dims is not None else 'unknown'}.")
    n, c, h, w = dims
    if isinstance(n, int) and n not in (0, 1):
        raise refuse(f"The input's batch size is fixed at {n}; ConvLab classifies one image "
                     "at a time, so the batch axis must be 1 or dynamic.")
    if c not in (1, 3):
        hint = (" It looks like NHWC (channels last); export it as NCHW (channels first)."
                if w in (1, 3) else "")
        raise refuse(f"The input shape is {dims}: ConvLab needs NCHW images with 1 (grey) or 3 "
                     f"(RGB) channels in axis 1.{hint}")
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise refuse(f"The input's height and width must be fixed numbers (got {h} x {w}); "
                     "export the model with a fixed image size.")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise refuse(f"The input is {h} x {w}; ConvLab accepts images of at most "
                     f"{MAX_SIDE} x {MAX_SIDE}.")
    if len(g.output) != 1:
        raise refuse(f"The model has {len(g.output)} outputs; ConvLab needs exactly one, the "
                     "class scores.")
    out = _dims(g.output[0])
    if out is not None and (len(out) != 2 or (isinstance(out[1], int) and out[1] > MAX_CLASSES)):
        raise refuse(f"The output '{g.output[0].name}' has shape {out}; ConvLab needs a vector "
                     f"of class scores per image, (N, K) with K <= {MAX_CLASSES}.")
    return vi.name, (c, h, w), g.output[0].name


@dataclass(frozen=True)
class Cost:
    """What one image costs, from ONNX shape inference, before anything runs."""

    macs: int  # multiply-adds of the Conv, ConvTranspose, Gemm and MatMul nodes
    reads: int  # values the pooling nodes read (window taps x outputs)
    values: int  # values all nodes output: what a layer-by-layer run keeps


def count_cost(model, input_name: str, graph: Graph) -> Cost:
    """Multiply-adds, pooling reads and kept values of one image (ONNX shape inference).

    Small tensors computed from weights alone (``graph``'s :func:`fold_constants`, e.g.
    Pad widths that are a sum) are given to shape inference as initializers; a node
    output whose shape is still unknown is refused, never counted as zero.
    """
    import onnx
    from onnx import numpy_helper

    m = onnx.ModelProto()
    m.CopyFrom(model)
    folded = {k: v for k, v in fold_constants(graph).items() if v.size <= FOLD_VALUES}
    kept = [n for n in m.graph.node if not all(o in folded for o in n.output if o)]
    del m.graph.node[:]
    m.graph.node.extend(kept)
    m.graph.initializer.extend(numpy_helper.from_array(v, k) for k, v in folded.items())
    for vi in m.graph.input:
        if vi.name == input_name:
            vi.type.tensor_type.shape.dim[0].Clear()
            vi.type.tensor_type.shape.dim[0].dim_value = 1
    for vi in m.graph.output:  # inferred, not as declared (a wrong declaration is caught later)
        vi.type.tensor_type.ClearField("shape")
    try:
        m = onnx.shape_inference.infer_shapes(m)
    except Exception as exc:
        raise refuse(f"ONNX shape inference failed on the model: {str(exc)[:300]}") from None
    shapes = {vi.name: _dims(vi) for vi in [*m.graph.input, *m.graph.value_info, *m.graph.output]}
    shapes.update({t.name: list(t.dims) for t in m.graph.initializer})
    total = reads = values = 0
    for node in m.graph.node:
        for name in filter(None, node.output):
            dims = shapes.get(name)
            if not _known(dims):
                raise _unbounded(node)
            values += math.prod(dims)
        if node.op_type in ("MaxPool", "AveragePool", "GlobalMaxPool", "GlobalAveragePool"):
            out, a = shapes.get(node.output[0]), shapes.get(node.input[0])
            if not (_known(out) and _known(a)):
                raise _unbounded(node)
            kernel = next((list(at.ints) for at in node.attribute if at.name == "kernel_shape"), None)
            reads += math.prod(a) if kernel is None else math.prod(out) * math.prod(kernel)
            continue
        if node.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul"):
            continue
        out, a, b = shapes.get(node.output[0]), shapes.get(node.input[0]), shapes.get(node.input[1])
        if not (_known(out) and _known(a) and _known(b)):
            raise _unbounded(node)
        if node.op_type == "Conv":
            total += math.prod(out) * math.prod(b[1:])
        elif node.op_type == "ConvTranspose":  # every input value times its kernel copies
            total += math.prod(a) * math.prod(b[1:])
        elif node.op_type == "Gemm":
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            total += math.prod(out) * (a[0] if trans_a else a[-1])
        else:
            total += math.prod(out) * a[-1]
    return Cost(macs=int(total), reads=int(reads), values=int(values))
