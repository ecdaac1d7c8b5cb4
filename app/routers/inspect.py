"""Inside a model: every layer's output for one image, and the arithmetic behind one value."""

from __future__ import annotations

import math
import time

import numpy as np
from fastapi import APIRouter, UploadFile
from pydantic import Field

from app.deps import HeavyDep, ModelDep, RunsDep
from app.encode import tensor_json, trace_json
from app.errors import ApiError, error_responses
from app.schemas import Strict
from app.services.layers import layers_json, probabilities, softmax_json
from app.services.model import Model
from app.services.predict import answer_json, decode_for, steps_json
from app.services.runs import Run, RunStore, run_model
from app.services.uploads import UPLOAD_BODY_LIMIT
from engine.explain import values as explain
from engine.graph import GraphError

router = APIRouter(prefix="/api/models", tags=["models"])


def _engine(model: Model, what):
    """``what()``, with the engine's refusal of this model or input as a 422."""
    try:
        return what()
    except GraphError as exc:
        raise ApiError(422, f"The engine could not run {model.name} on this input: {exc}") from None


@router.post("/{name}/inspect", max_body_size=UPLOAD_BODY_LIMIT, responses=error_responses(415))
def inspect(model: ModelDep, file: UploadFile, runs: RunsDep, _: HeavyDep) -> dict:
    """Classify one image with the engine, layer by layer.

    Returns the prediction, the preprocessing steps (as images), the exact input the
    model saw (``input``, shape (1, C, H, W)), ``run`` (the id ``/trace`` takes to look
    inside this run), every layer (``layers``: op, attributes, shapes, parameters, output
    as float16 base64, a conv layer's filters), the softmax step by step, and ``check``:
    the largest difference between the engine's output and onnxruntime's.
    """
    t0 = time.perf_counter()
    prepared, info, timing = decode_for(model, file)
    # The input rounded as it travels in JSON, so the run is of exactly the numbers shown.
    x = np.round(prepared.tensor.astype(np.float64), 5).astype(np.float32)
    t1 = time.perf_counter()
    r: Run = _engine(model, lambda: run_model(model, x, compare=True))
    run_id = runs.add(model, r)
    t2 = time.perf_counter()
    probs = probabilities(r, model.name)
    diff = r.max_abs_diff
    result = {
        **answer_json(model, probs, prepared, info),
        "run": run_id,
        "input": tensor_json(x, decimals=5),
        "preprocessing": steps_json(prepared),
        "layers": layers_json(r),
        "softmax": softmax_json(r),
        "check": {"max_abs_diff_vs_onnxruntime": diff if diff is not None and math.isfinite(diff) else None},
    }
    timing["engine_and_onnxruntime"] = (t2 - t1) * 1e3
    timing["encode"] = (time.perf_counter() - t2) * 1e3
    timing["total"] = (time.perf_counter() - t0) * 1e3
    result["timing_ms"] = {k: round(v, 3) for k, v in timing.items()}
    return result


class TraceIn(Strict):
    run: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
                     description="the run id /inspect answered")
    layer: str = Field(min_length=1, max_length=200, description="a node name from /inspect")
    channel: int = Field(ge=0, le=100_000, description="feature map (or vector index)")
    row: int = Field(0, ge=0, le=10_000)
    col: int = Field(0, ge=0, le=10_000)


def find_run(runs: RunStore, model: Model, run_id: str) -> Run:
    r = _engine(model, lambda: runs.get(model, run_id))
    if r is None:
        raise ApiError(410, "This run of the model is no longer kept on the server (runs are "
                            "kept a short while): run the image through /inspect again and "
                            "trace with the new run id.")
    return r


@router.post("/{name}/trace", responses=error_responses(410))
def trace_value(model: ModelDep, req: TraceIn, runs: RunsDep, _: HeavyDep) -> dict:
    """Where one output value of a layer came from, in the run ``run`` of ``/inspect``.

    Conv: the window in the layer's input (padding marked), patch x filter = products,
    the sum per input channel, the bias and the value. Gemm/MatMul: the ten largest
    contributions x_i * w_i, the rest, the bias. Pooling: the window and the winner (max)
    or the average. Activations: the formula, with the value that went in (and where that
    came from). For a feature map, ``field`` is the receptive field in the model input.
    A run this server no longer keeps answers 410: inspect again.
    """
    r = find_run(runs, model, req.run)
    try:
        return trace_json(explain.trace_value(r.graph, r.values, req.layer, req.channel, req.row, req.col))
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
