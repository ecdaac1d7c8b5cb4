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
optional form fields; nothing is guessed from names in the file. The checks of the file
itself (bytes, weights, inputs and outputs, cost) are in :mod:`app.services.onnx_checks`;
this module measures the model by running it, reads the form fields and writes the card.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from pathlib import PurePosixPath

import numpy as np

from app.errors import ApiError
from app.services.model import Model, make_session
from app.services.onnx_checks import (
    MAX_CLASSES,
    check_io,
    count_cost,
    parse,
    refuse,
    refuse_external_data,
    refuse_unused_initializers,
)
from engine.graph import (
    SUPPORTED_OPS,
    Graph,
    GraphError,
    UnsupportedOpError,
    graph_params,
    load_graph,
    run,
)

BODY_LIMIT = 26 * 1024 * 1024  # POST /api/models's body limit (the file and its form)
MAX_MACS = 2e9
MAX_POOL_READS = 5e8  # pooling is not multiply-adds, but the engine's time all the same
MAX_VALUES = 16_000_000  # 64 MB of float32 outputs kept by one layer-by-layer run
MAX_RUN_S = 1.0
MAX_LABEL_CHARS = 64
MAX_LABELS_BYTES = 64 * 1024
AGREE = 1e-3  # largest |engine - onnxruntime|, relative to the output's scale

_ALLOWED_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")


def parse_floats(text: str | None, channels: int, what: str, default: float) -> list[float]:
    if text is None or not text.strip():
        return [default] * channels
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise refuse(f"{what} must be numbers separated by commas, e.g. "
                     f"{', '.join(['0.5'] * channels)}.") from None
    if len(values) == 1:
        values = values * channels
    if len(values) != channels:
        raise refuse(f"{what} needs one number per input channel ({channels}); got {len(values)}.")
    if not all(math.isfinite(v) and abs(v) <= 1000 for v in values):
        raise refuse(f"{what} must be finite numbers between -1000 and 1000.")
    if what == "std" and any(v < 1e-3 for v in values):
        raise refuse(
            "std must be at least 0.001: x = (pixel * scale - mean) / std divides by it, and a "
            "tinier std would blow the inputs up."
        )
    return values


def parse_labels(raw: bytes | None, k: int) -> list[str]:
    if raw is None:
        return [f"class {i}" for i in range(k)]
    if len(raw) > MAX_LABELS_BYTES:
        raise refuse(f"The labels file is larger than {MAX_LABELS_BYTES // 1024} KB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse("The labels file must be UTF-8 text, one label per line.") from None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if len(labels) != k:
        raise refuse(f"The labels file has {len(labels)} labels but the model outputs {k} class "
                     "scores; give one label per line, in the order of the outputs.")
    long = [lb for lb in labels if len(lb) > MAX_LABEL_CHARS]
    if long:
        raise refuse(f"Labels may be at most {MAX_LABEL_CHARS} characters; {long[0][:20]!r}... "
                     "is longer.")
    return labels


def safe_filename(name: str | None) -> str:
    base = PurePosixPath((name or "model.onnx").replace("\\", "/")).name
    return _ALLOWED_NAME.sub("_", base)[:80] or "model.onnx"


def _load_engine_graph(data: bytes) -> Graph:
    try:
        return load_graph(data)
    except UnsupportedOpError as exc:
        raise refuse(f"{exc} ConvLab's engine runs: {', '.join(sorted(SUPPORTED_OPS))}.") from None
    except GraphError as exc:
        raise refuse(f"The engine cannot load the model: {exc}.") from None


def _timed(fn, what: str):
    t0 = time.perf_counter()
    try:
        result = fn()
    except ApiError:
        raise
    except Exception as exc:
        raise refuse(f"The model failed when {what} ran it on a test image: "
                     f"{str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__}") from None
    seconds = time.perf_counter() - t0
    if seconds > MAX_RUN_S:
        raise refuse(f"One image took {seconds:.1f} s in {what}; the limit is {MAX_RUN_S:.0f} s.")
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
        raise refuse(f"onnx.checker rejects the model: {first}") from None
    input_name, (c, h, w), output_name = check_io(model)
    cost = count_cost(model, input_name, graph)
    macs = cost.macs
    if macs > MAX_MACS:
        raise refuse(f"The model needs {macs / 1e9:.1f} billion multiply-adds per image; the "
                     f"limit is {MAX_MACS / 1e9:.0f} billion.")
    if cost.reads > MAX_POOL_READS:
        raise refuse(f"The model's pooling layers read {cost.reads / 1e9:.1f} billion values per "
                     f"image; the limit is {MAX_POOL_READS / 1e9:.1f} billion.")
    if cost.values > MAX_VALUES:
        raise refuse(f"The model's layers output {cost.values / 1e6:.0f} million values per image, "
                     f"which the layer-by-layer view keeps; the limit is {MAX_VALUES / 1e6:.0f} million.")
    if preprocess == "digit" and c != 1:
        raise refuse("preprocess=digit (MNIST-style) needs a 1-channel model; this one has 3.")
    if preprocess == "digit" and h != w:
        raise refuse(f"preprocess=digit (MNIST-style) centres the digit in a square field; this "
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
        raise refuse(f"For one image the model outputs shape {list(ort_out.shape)}; ConvLab needs "
                     f"a vector of class scores, (1, K) with K <= {MAX_CLASSES}.")
    if ort_out.dtype.kind != "f" or not np.all(np.isfinite(ort_out)):
        raise refuse("The model's output on a test image is not finite float scores.")
    values, engine_ms = _timed(lambda: run(graph, x, keep=False), "ConvLab's engine")
    diff = float(np.max(np.abs(values[output_name].astype(np.float64) - ort_out)))
    scale = max(1.0, float(np.max(np.abs(ort_out))))
    if not diff <= AGREE * scale:
        raise refuse(f"ConvLab's engine and onnxruntime disagree on this model (largest "
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
