"""Inside a model: every layer's output for one image, the arithmetic behind one value,
and bringing your own ONNX model."""

from __future__ import annotations

import math
import time
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Form, Request, Response, UploadFile
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.deps import HeavyDep
from app.errors import ApiError, error_responses
from app.inspection import layers_json, probabilities, run_model, softmax_json
from app.routers.images import UPLOAD_LIMIT, read_upload
from app.routers.models import (
    ModelDep,
    StoreDep,
    answer_json,
    card_json,
    decode_for,
    steps_json,
)
from app.services.modelstore import Model
from app.services.store_models import client_id, new_handle
from app.services.usermodels import (
    BODY_LIMIT,
    MAX_BYTES,
    MAX_LABELS_BYTES,
    MAX_SIDE,
    build_user_model,
)
from app.tensors import tensor_json
from app.tracing import trace
from engine.graph import GraphError

router = APIRouter(prefix="/api/models", tags=["models"])

MAX_INPUT_VALUES = 3 * MAX_SIDE * MAX_SIDE
TRACE_BODY_LIMIT = 4 * 1024 * 1024  # a 3 x 256 x 256 input as JSON numbers is about 2 MB


def _engine_run(model: Model, x: np.ndarray, *, compare: bool, fresh: bool):
    try:
        return run_model(model, x, compare=compare, fresh=fresh)
    except GraphError as exc:
        raise ApiError(422, f"The engine could not run {model.name} on this input: {exc}") from None


@router.post("/{name}/inspect", max_body_size=UPLOAD_LIMIT + 64 * 1024,
             responses=error_responses(415))
def inspect(model: ModelDep, file: UploadFile, _: HeavyDep) -> dict:
    """Classify one image with the engine, layer by layer.

    Returns the prediction, the preprocessing steps (as images), the exact input the
    model saw (``input``, shape (1, C, H, W); send it back to ``/trace``), every layer
    (``layers``: op, attributes, shapes, parameters, output as float16 base64, a conv
    layer's filters), the softmax step by step, and ``check``: the largest difference
    between the engine's output and onnxruntime's.
    """
    t0 = time.perf_counter()
    prepared, info, timing = decode_for(model, file)
    # The input rounded as it travels in JSON, so a trace of this input repeats these numbers.
    x = np.round(prepared.tensor.astype(np.float64), 5).astype(np.float32)
    t1 = time.perf_counter()
    r = _engine_run(model, x, compare=True, fresh=True)
    t2 = time.perf_counter()
    probs = probabilities(r, model.name)
    diff = r.max_abs_diff
    result = {
        **answer_json(model, probs, prepared, info),
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


class InputTensor(BaseModel):
    """The model input exactly as ``/inspect`` returned it: (1, C, H, W) or (C, H, W)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    shape: list[Annotated[int, Field(ge=1, le=MAX_SIDE)]] = Field(min_length=3, max_length=4)
    # Model inputs are normalised pixels (|x| of a few units): bounded so no value overflows.
    data: list[Annotated[float, Field(allow_inf_nan=False, ge=-1e4, le=1e4)]] = Field(
        max_length=MAX_INPUT_VALUES, fail_fast=True
    )

    @model_validator(mode="after")
    def _shape_matches_data(self) -> InputTensor:
        if math.prod(self.shape) != len(self.data):
            raise ValueError(f"shape {self.shape} needs {math.prod(self.shape)} values but data "
                             f"has {len(self.data)}")
        return self


class TraceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    layer: str = Field(min_length=1, max_length=200, description="a node name from /inspect")
    channel: int = Field(ge=0, le=100_000, description="feature map (or vector index)")
    row: int = Field(0, ge=0, le=10_000)
    col: int = Field(0, ge=0, le=10_000)
    input: InputTensor


@router.post("/{name}/trace", max_body_size=TRACE_BODY_LIMIT)
def trace_value(model: ModelDep, req: TraceIn, _: HeavyDep) -> dict:
    """Where one output value of a layer came from.

    Conv: the window in the layer's input (padding marked), patch x filter = products,
    the sum per input channel, the bias and the value. Gemm/MatMul: the ten largest
    contributions x_i * w_i, the rest, the bias. Pooling: the window and the winner (max)
    or the average. Activations: the formula, with the value that went in (and where that
    came from). For a feature map, ``field`` is the receptive field in the model input.
    """
    x = np.asarray(req.input.data, dtype=np.float32).reshape(req.input.shape)
    if x.ndim == 3:
        x = x[None]
    expected = [1, *model.input_spec["shape"][1:]]
    if list(x.shape) != expected:
        raise ApiError(422, f"input must have the model's input shape {expected} (the 'input' "
                            f"that /inspect returned); got {list(x.shape)}.")
    r = _engine_run(model, x, compare=False, fresh=False)
    return trace(r, req.layer, req.channel, req.row, req.col)


Floats = Annotated[str | None, Form(max_length=200, description="comma-separated, one per channel")]


@router.post("", status_code=201, max_body_size=BODY_LIMIT, form_limits={"max_files": 2},
             responses=error_responses(429, 507))
def upload_model(
    request: Request,
    response: Response,
    store: StoreDep,
    file: UploadFile,
    _: HeavyDep,
    labels: UploadFile | None = None,
    mean: Floats = None,
    std: Floats = None,
    preprocess: Annotated[Literal["none", "digit"] | None, Form()] = None,
) -> dict:
    """Bring your own model: an ``.onnx`` file (at most 25 MB) in ``file``.

    Optional: ``labels`` (a text file, one class name per line), ``mean`` and ``std``
    (x = (pixel/255 - mean) / std per channel; default 0 and 1) and ``preprocess``
    (``digit`` for MNIST-style digit preparation). The model is checked (see
    app/services/usermodels.py) and works like a shipped one. The response is its card, whose
    ``name`` is the model's private handle (``user-`` and 22 random characters): only who
    holds it can use the model or ``DELETE`` it, and it is never listed. Uploads count
    against a cap per browser (a ``convlab_client`` cookie), per network address and for
    the whole server (429 or 507 says which), and a model unused for a day is deleted
    (app/services/store_models.py).
    """
    assert store.user is not None  # set by the lifespan
    owner = client_id(request, response)
    data = read_upload(file, MAX_BYTES)
    raw_labels = None
    if labels is not None:
        labels.file.seek(0)
        raw_labels = labels.file.read(MAX_LABELS_BYTES + 1)  # parse_labels refuses the excess
    model = build_user_model(data, name=new_handle(), filename=file.filename,
                             labels=raw_labels, mean=mean, std=std,
                             preprocess=preprocess, threads=store.threads)
    store.user.add(model, owner=owner, address=request.client.host if request.client else "")
    return card_json(model, store)
