"""An uploaded image prepared for a model, and the answer predict and inspect share."""

from __future__ import annotations

import base64
import time

import numpy as np
from fastapi import UploadFile

from app.services.imaging import open_image, png_bytes
from app.services.model import Model
from app.services.preprocess import prepare
from app.services.uploads import read_upload


def data_url(arr: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(arr)).decode("ascii")


def steps_json(prepared) -> list[dict]:
    """The preprocessing steps, each as a PNG data URL with its caption."""
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
