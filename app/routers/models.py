"""Trained models: their cards, and predictions on uploaded images."""

from __future__ import annotations

import base64
import time
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Query, Request, Response, UploadFile

from app.deps import HeavyDep
from app.errors import ApiError, error_responses
from app.routers.images import UPLOAD_LIMIT, read_upload
from app.services.imaging import open_image, png_bytes, prepare
from app.services.modelstore import Model, ModelStore, public_card
from app.tensors import tensor_json

router = APIRouter(prefix="/api/models", tags=["models"], max_body_size=UPLOAD_LIMIT + 64 * 1024)


def get_store(request: Request) -> ModelStore:
    return request.app.state.models


StoreDep = Annotated[ModelStore, Depends(get_store)]


def get_model(name: str, store: StoreDep) -> Model:
    return store.get(name)


ModelDep = Annotated[Model, Depends(get_model)]


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


def data_url(arr: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(arr)).decode("ascii")


def steps_json(prepared) -> list[dict]:
    return [
        {"name": name, "caption": caption, "image": data_url(np.clip(arr, 0, 255).astype(np.uint8))}
        for name, caption, arr in prepared.steps
    ]


def decode_for(model: Model, file: UploadFile):
    """Read, validate and preprocess an upload for ``model``; returns (prepared, info, ms)."""
    t0 = time.perf_counter()
    data = read_upload(file)
    spec = model.input_spec
    side = int(max(spec["shape"][-2:]))
    im, fmt = open_image(data, draft_to=side if spec.get("channels") == "RGB" else 4 * side)
    t1 = time.perf_counter()
    prepared = prepare(im, spec)
    t2 = time.perf_counter()
    width, height = im.info.get("original_size", im.size)
    info = {"width": width, "height": height, "format": fmt}
    return prepared, info, {"decode": (t1 - t0) * 1e3, "preprocess": (t2 - t1) * 1e3}


def answer_json(model: Model, probs: np.ndarray, prepared, info: dict) -> dict:
    """The part of a prediction that predict and inspect share: label, probabilities, top-3."""
    index = int(np.argmax(probs))
    classes = model.classes
    return {
        "model": model.name,
        "label": classes[index],
        "index": index,
        "classes": classes,
        "probabilities": [float(p) for p in probs],
        "top": top_k(probs, classes),
        "original": info,
        "notes": prepared.notes,
    }


def top_k(probs: np.ndarray, classes: list[str], k: int = 3) -> list[dict]:
    order = np.argsort(-probs)[:k]
    return [{"index": int(i), "label": classes[i], "probability": float(probs[i])} for i in order]


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
