"""Trained models: their cards, predictions on uploaded images, and your own models."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile

from app.deps import HeavyDep, ModelDep, StoreDep
from app.encode import tensor_json
from app.errors import ApiError, error_responses
from app.services.model import Model, public_card
from app.services.modelstore import ModelStore
from app.services.onnx_checks import MAX_BYTES
from app.services.predict import answer_json, decode_for, steps_json
from app.services.store_models import client_id, new_handle
from app.services.uploads import UPLOAD_BODY_LIMIT, read_upload
from app.services.usermodels import BODY_LIMIT, MAX_LABELS_BYTES, build_user_model

router = APIRouter(prefix="/api/models", tags=["models"], max_body_size=UPLOAD_BODY_LIMIT)


@router.get("")
def list_models(store: StoreDep) -> dict:
    """The shipped models, as their model cards. Uploaded models are private: never listed."""
    return {"models": store.cards()}


def card_json(model: Model, store: ModelStore) -> dict:
    """A model's public card; an upload's also says after how long unused it is deleted."""
    card = public_card(model)
    if model.source == "user" and store.user is not None:
        card["idle_hours"] = store.user.idle_hours
    return card


@router.get("/{name}")
def model_card(model: ModelDep, store: StoreDep) -> dict:
    """One model's card: dataset, classes, input preprocessing, architecture, metrics.
    An uploaded model is found only by its handle (the ``name`` its upload answered)."""
    return card_json(model, store)


@router.delete("/{name}", status_code=204, responses=error_responses(403))
def delete_model(name: str, store: StoreDep) -> Response:
    """Delete an uploaded model: whoever holds its handle may. Shipped models stay."""
    if name in store.shipped:
        raise ApiError(403, f"{name} is one of the server's own models; only uploaded models "
                            "can be deleted.")
    if store.user is None or not store.user.delete(name):
        raise store.missing(name)
    return Response(status_code=204)


@router.post("/{name}/predict", responses=error_responses(415))
def predict(
    model: ModelDep,
    file: UploadFile,
    _: HeavyDep,
    explain: Annotated[bool, Query(description="include the preprocessing steps as images")] = True,
) -> dict:
    """Classify one image (PNG, JPEG, WebP, GIF or BMP in the multipart field ``file``)."""
    t0 = time.perf_counter()
    prepared, info, timing = decode_for(model, file)
    t1 = time.perf_counter()
    probs = model.infer(prepared.tensor)[0]
    t2 = time.perf_counter()
    result = answer_json(model, probs, prepared, info)
    result["input"] = tensor_json(prepared.tensor[0], decimals=5)
    if explain:
        result["preprocessing"] = steps_json(prepared)
    timing["inference"] = (t2 - t1) * 1e3
    timing["total"] = (time.perf_counter() - t0) * 1e3
    result["timing_ms"] = {k: round(v, 3) for k, v in timing.items()}
    return result


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
    """Bring your own model: an ``.onnx`` file (at most 25 MiB, 26.2 MB) in ``file``.

    Optional: ``labels`` (a text file, one class name per line), ``mean`` and ``std``
    (x = (pixel/255 - mean) / std per channel; default 0 and 1) and ``preprocess``
    (``digit`` for MNIST-style digit preparation). The model is checked (see
    app/services/onnx_checks.py and usermodels.py) and works like a shipped one. The
    response is its card, whose ``name`` is the model's private handle (``user-`` and 22
    random characters): only who holds it can use the model or ``DELETE`` it, and it is
    never listed. Uploads count
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
