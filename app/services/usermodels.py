"""Users' own ONNX models: checked and measured once (kept private by app/services/store_models.py).

A model is accepted when it is a small image classifier the engine can explain:

- a well-formed ONNX protobuf that passes ``onnx.checker``, with every weight inside
  the file (a tensor stored as *external data* names a path; such a model is refused
  before anything could read that path);
- one float input, NCHW with 1 or 3 channels and a fixed H, W of at most 256 (the
  batch axis may be dynamic);
- one output, a vector of K <= 1000 class scores per image;
- bounded before anything is decoded (:mod:`app.services.onnx_scan`): at most 64 MB of weights
  once decoded, 65,536 values per node attribute, 200,000 protobuf entries; every
  initializer used by some node;
- only ops the engine runs; per image at most 2e9 multiply-adds, 5e8 values read by
  pooling windows and 16 M values output by all layers (what the layer-by-layer view
  keeps: 64 MB, so four runs at once and the run cache fit in the memory budget), all
  bounded from ONNX shape inference (after folding constants such as computed Pad
  widths; a shape still unknown is refused) before anything runs; and one run on a
  test image in under 1 s in both onnxruntime and the engine, which must agree.

Everything the card says (input preprocessing, classes) comes from the upload and the
optional form fields; nothing is guessed from names in the file.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TypeGuard

import numpy as np

from app.errors import ApiError
from app.services.model import Model, make_session
from app.services.onnx_scan import ScanError, scan
from engine.graph import (
    FOLD_VALUES,
    SUPPORTED_OPS,
    Graph,
    GraphError,
    UnsupportedOpError,
    fold_constants,
    graph_params,
    load_graph,
    run,
)

MAX_BYTES = 25 * 1024 * 1024
BODY_LIMIT = 26 * 1024 * 1024  # POST /api/models's body limit (the file and its form)
MAX_CLASSES = 1000
MAX_SIDE = 256
MAX_MACS = 2e9
MAX_POOL_READS = 5e8  # pooling is not multiply-adds, but the engine's time all the same
MAX_VALUES = 16_000_000  # 64 MB of float32 outputs kept by one layer-by-layer run
MAX_RUN_S = 1.0
MAX_LABEL_CHARS = 64
MAX_LABELS_BYTES = 64 * 1024
AGREE = 1e-3  # largest |engine - onnxruntime|, relative to the output's scale

_ALLOWED_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")


def _refuse(detail: str, status: int = 422) -> ApiError:
    return ApiError(status, detail)


def parse(data: bytes):
    """(ModelProto, its :class:`~app.services.onnx_scan.Scan`), or 4xx: empty, too large, too costly to decode (:func:`app.services.onnx_scan.scan`,
    before the parser runs), or not a protobuf ONNX model."""
    import onnx

    if not data:
        raise _refuse("The uploaded model file is empty.")
    if len(data) > MAX_BYTES:
        raise _refuse(f"The model file is {len(data) / 2**20:.1f} MB; the limit is 25 MB.", 413)
    try:
        cost = scan(data)
    except ScanError as exc:
        raise _refuse(str(exc)) from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:
        raise _refuse("This file is not an ONNX model: its bytes are not a valid ONNX protobuf "
                      "(export the model with torch.onnx.export or tf2onnx).") from None
    if not model.HasField("graph") or not len(model.graph.node):
        raise _refuse("This file is not an ONNX model: it holds no graph (no nodes).")
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
        raise _refuse(f"The model holds {len(unused)} weight tensor(s) that no node uses (e.g. "
                      f"'{unused[0][:60]}'); remove them (onnx.helper or onnxsim do it).")


def refuse_external_data(model) -> None:
    """A tensor stored outside the file names a path; the model is refused, the path never read."""
    for t in _all_tensors(model.graph):
        if t.data_location == t.EXTERNAL or len(t.external_data):
            raise _refuse(f"The model stores tensor '{t.name}' as external data (in a separate "
                          "file). Upload a single .onnx file with every weight inside it "
                          "(e.g. onnx.save(model, path, save_as_external_data=False)).")


def _dims(value_info) -> list[int | str | None] | None:
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def _unbounded(node) -> ApiError:
    return _refuse(f"The shapes around node '{node.name or node.op_type}' could not be "
                   "inferred, so its cost cannot be bounded; export with fixed shapes.")


def _known(dims: list[int | str | None] | None) -> TypeGuard[list[int]]:
    return dims is not None and all(isinstance(d, int) for d in dims)


def check_io(model) -> tuple[str, tuple[int, int, int], str]:
    """(input name, (C, H, W), output name); 422 unless one NCHW image in, one score vector out."""
    g = model.graph
    weights = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in weights]
    if len(inputs) != 1:
        raise _refuse(f"The model has {len(inputs)} inputs ({', '.join(v.name for v in inputs)}); "
                      "ConvLab feeds one image, so it needs exactly one input.")
    vi = inputs[0]
    if vi.type.tensor_type.elem_type != 1:  # FLOAT
        raise _refuse(f"The input '{vi.name}' must be float32 (a normalised image tensor).")
    dims = _dims(vi)
    if dims is None or len(dims) != 4:
        raise _refuse(f"The input '{vi.name}' must be 4-D (N, C, H, W); it has shape "
                      f"{dims if dims is not None else 'unknown'}.")
    n, c, h, w = dims
    if isinstance(n, int) and n not in (0, 1):
        raise _refuse(f"The input's batch size is fixed at {n}; ConvLab classifies one image "
                      "at a time, so the batch axis must be 1 or dynamic.")
    if c not in (1, 3):
        hint = (" It looks like NHWC (channels last); export it as NCHW (channels first)."
                if w in (1, 3) else "")
        raise _refuse(f"The input shape is {dims}: ConvLab needs NCHW images with 1 (grey) or 3 "
                      f"(RGB) channels in axis 1.{hint}")
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise _refuse(f"The input's height and width must be fixed numbers (got {h} x {w}); "
                      "export the model with a fixed image size.")
    if h > MAX_SIDE or w > MAX_SIDE:
        raise _refuse(f"The input is {h} x {w}; ConvLab accepts images of at most "
                      f"{MAX_SIDE} x {MAX_SIDE}.")
    if len(g.output) != 1:
        raise _refuse(f"The model has {len(g.output)} outputs; ConvLab needs exactly one, the "
                      "class scores.")
    out = _dims(g.output[0])
    if out is not None and (len(out) != 2 or (isinstance(out[1], int) and out[1] > MAX_CLASSES)):
        raise _refuse(f"The output '{g.output[0].name}' has shape {out}; ConvLab needs a vector "
                      f"of class scores per image, (N, K) with K <= {MAX_CLASSES}.")
    return vi.name, (c, h, w), g.output[0].name


@dataclass(frozen=True)
class Cost:
    """What one image costs, from ONNX shape inference, before anything runs."""

    macs: int  # multiply-adds of the Conv, Gemm and MatMul nodes
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
        raise _refuse(f"ONNX shape inference failed on the model: {str(exc)[:300]}") from None
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
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        out, a, b = shapes.get(node.output[0]), shapes.get(node.input[0]), shapes.get(node.input[1])
        if not (_known(out) and _known(a) and _known(b)):
            raise _unbounded(node)
        if node.op_type == "Conv":
            total += math.prod(out) * math.prod(b[1:])
        elif node.op_type == "Gemm":
            trans_a = any(at.name == "transA" and at.i for at in node.attribute)
            total += math.prod(out) * (a[0] if trans_a else a[-1])
        else:
            total += math.prod(out) * a[-1]
    return Cost(macs=int(total), reads=int(reads), values=int(values))


def parse_floats(text: str | None, channels: int, what: str, default: float) -> list[float]:
    if text is None or not text.strip():
        return [default] * channels
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise _refuse(f"{what} must be numbers separated by commas, e.g. "
                      f"{', '.join(['0.5'] * channels)}.") from None
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise _refuse(f"{what} needs one number per input channel ({channels}); got {len(values)}.")
    if not all(math.isfinite(v) and abs(v) <= 1000 for v in values):
        raise _refuse(f"{what} must be finite numbers between -1000 and 1000.")
    if what == "std" and any(v < 1e-3 for v in values):
        raise _refuse(
            "std must be at least 0.001: x = (pixel * scale - mean) / std divides by it, and a "
            "tinier std would blow the inputs up."
        )
    return values


def parse_labels(raw: bytes | None, k: int) -> list[str]:
    if raw is None:
        return [f"class {i}" for i in range(k)]
    if len(raw) > MAX_LABELS_BYTES:
        raise _refuse(f"The labels file is larger than {MAX_LABELS_BYTES // 1024} KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _refuse("The labels file must be UTF-8 text, one label per line.") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if len(labels) != k:
        raise _refuse(f"The labels file has {len(labels)} labels but the model outputs {k} class "
                      "scores; give one label per line, in the order of the outputs.")
    long = [lb for lb in labels if len(lb) > MAX_LABEL_CHARS]
    if long:
        raise _refuse(f"Labels may be at most {MAX_LABEL_CHARS} characters; {long[0][:20]!r}... "
                      "is longer.")
    return labels


def safe_filename(name: str | None) -> str:
    base = PurePosixPath((name or "model.onnx").replace("\\", "/")).name
    return _ALLOWED_NAME.sub("_", base)[:80] or "model.onnx"


def _load_engine_graph(data: bytes) -> Graph:
    try:
        return load_graph(data)
    except UnsupportedOpError as exc:
        raise _refuse(f"{exc} ConvLab's engine runs: {', '.join(sorted(SUPPORTED_OPS))}.") from None
    except GraphError as exc:
        raise _refuse(f"The engine cannot load the model: {exc}.") from None


def _timed(fn, what: str):
    t0 = time.perf_counter()
    try:
        result = fn()
    except ApiError:
        raise
    except Exception as exc:
        raise _refuse(f"The model failed when {what} ran it on a test image: "
                      f"{str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}") from None
    seconds = time.perf_counter() - t0
    if seconds > MAX_RUN_S:
        raise _refuse(f"One image took {seconds:.1f} s in {what}; the limit is {MAX_RUN_S:.0f} s.")
    return result, seconds * 1e3


def build_user_model(data: bytes, *, name: str, filename: str | None, labels: bytes | None,
                     mean: str | None, std: str | None, preprocess: str | None,
                     threads: int = 1) -> Model:
    """Validate an uploaded model and return it with its card (not yet in the store)."""
    import onnx

    model, weights = parse(data)  # cheap bounds first: nothing is decoded before them
    refuse_external_data(model)
    refuse_unused_initializers(model)
    graph = _load_engine_graph(data)  # bounded by the scan; says more than the checker
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise _refuse(f"onnx.checker rejects the model: {first}") from None
    input_name, (c, h, w), output_name = check_io(model)
    cost = count_cost(model, input_name, graph)
    macs = cost.macs
    if macs > MAX_MACS:
        raise _refuse(f"The model needs {macs / 1e9:.1f} billion multiply-adds per image; the "
                      f"limit is {MAX_MACS / 1e9:.0f} billion.")
    if cost.reads > MAX_POOL_READS:
        raise _refuse(f"The model's pooling layers read {cost.reads / 1e9:.1f} billion values per "
                      f"image; the limit is {MAX_POOL_READS / 1e9:.1f} billion.")
    if cost.values > MAX_VALUES:
        raise _refuse(f"The model's layers output {cost.values / 1e6:.0f} million values per image, "
                      f"which the layer-by-layer view keeps; the limit is {MAX_VALUES / 1e6:.0f} million.")
    if preprocess == "digit" and c != 1:
        raise _refuse("preprocess=digit (MNIST-style) needs a 1-channel model; this one has 3.")
    if preprocess == "digit" and h != w:
        raise _refuse(f"preprocess=digit (MNIST-style) centres the digit in a square field; this "
                      f"model's input is {h} x {w}. Use preprocess=none, or a square input.")
    mean_v = parse_floats(mean, c, "mean", 0.0)
    std_v = parse_floats(std, c, "std", 1.0)

    session, _ = _timed(lambda: make_session(data, threads), "onnxruntime (loading)")
    x = ((np.random.default_rng(0).random((1, c, h, w), dtype=np.float32)
          - np.asarray(mean_v, np.float32).reshape(1, c, 1, 1))
         / np.asarray(std_v, np.float32).reshape(1, c, 1, 1)).astype(np.float32)
    ort_out, ort_ms = _timed(lambda: session.run(None, {input_name: x})[0], "onnxruntime")
    ort_out = np.asarray(ort_out)
    if ort_out.ndim != 2 or ort_out.shape[0] != 1 or not 1 <= ort_out.shape[1] <= MAX_CLASSES:
        raise _refuse(f"For one image the model outputs shape {list(ort_out.shape)}; ConvLab needs "
                      f"a vector of class scores, (1, K) with K <= {MAX_CLASSES}.")
    if ort_out.dtype.kind != "f" or not np.all(np.isfinite(ort_out)):
        raise _refuse("The model's output on a test image is not finite float scores.")
    values, engine_ms = _timed(lambda: run(graph, x, keep=False), "ConvLab's engine")
    diff = float(np.max(np.abs(values[output_name].astype(np.float64) - ort_out)))
    scale = max(1.0, float(np.max(np.abs(ort_out))))
    if not diff <= AGREE * scale:
        raise _refuse(f"ConvLab's engine and onnxruntime disagree on this model (largest "
                      f"difference {diff:.3g}), so the engine cannot explain it faithfully.")
    k = int(ort_out.shape[1])
    classes = parse_labels(labels, k)
    fname = safe_filename(filename)
    digit = preprocess == "digit"
    card = {
        "name": name,
        "title": f"Your model: {fname}",
        "description": ("An ONNX model you uploaded. It is private: only whoever holds its "
                        "handle (its name, in your link) can see, run or delete it."),
        "dataset": None,
        "classes": classes,
        "input": {
            "shape": [1, c, h, w], "layout": "NCHW", "channels": "L" if c == 1 else "RGB",
            "scale": 1 / 255, "mean": mean_v, "std": std_v,
            "background": "black" if digit else "none",
            "formula": "x = (pixel * scale - mean) / std, per channel; pixel in 0..255",
        },
        "parameters": int(graph_params(graph)),
        "multiply_adds": macs,
        "metrics": None,
        "onnx": {
            "file": fname, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "opset": graph.opset, "input_name": input_name, "output_name": output_name,
            "op_types": sorted({n.op_type for n in graph.nodes}), "nodes": len(graph.nodes),
        },
        "check": {"max_abs_diff_vs_onnxruntime": diff, "onnxruntime_ms": round(ort_ms, 2),
                  "engine_ms": round(engine_ms, 2)},
    }
    # What it holds: the file, the engine's arrays and onnxruntime's copy of the weights.
    user_model = Model(name, card, data, session, source="user",
                       held_bytes=len(data) + weights.weight_bytes + weights.stored_bytes)
    user_model._graph = graph
    return user_model
