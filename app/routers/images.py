"""Images in: uploads decoded to tensors, and sample images (generated or from the data)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Query, UploadFile
from fastapi.responses import Response
from PIL import Image

from app.deps import HeavyDep, SettingsDep
from app.encode import tensor_json
from app.errors import ApiError, error_responses
from app.services import samples
from app.services.imaging import open_image, png_bytes
from app.services.preprocess import image_tensor
from app.services.uploads import UPLOAD_BODY_LIMIT, read_upload

router = APIRouter(prefix="/api", tags=["images"], max_body_size=UPLOAD_BODY_LIMIT)

Channels = Literal["L", "RGB"]
SideSize = Annotated[int, Query(ge=4, le=128)]
NAME = re.compile(r"^[a-z0-9-]{1,40}$")


@router.post("/image", responses=error_responses(415))
def upload_image(
    file: UploadFile, _: HeavyDep, channels: Channels = "L", size: SideSize = 28
) -> dict:
    """Decode an uploaded image to a (C, H, W) tensor in [0, 1], longer side = ``size``."""
    data = read_upload(file)
    im, fmt = open_image(data, draft_to=size)
    width, height = im.info.get("original_size", im.size)
    x = image_tensor(im, channels, size)
    return {
        "tensor": tensor_json(x, decimals=4),
        "original": {"width": width, "height": height, "format": fmt},
    }


@router.get("/samples")
def list_samples(settings: SettingsDep) -> dict:
    """Generated samples, plus real MNIST / CIFAR-10 validation images when data is configured."""
    return {
        "samples": [
            {"name": s.name, "title": s.title, "kind": s.kind, "channels": s.channels, "label": s.label}
            for s in samples.catalogue(settings.data_dir)
        ]
    }


def _load(name: str, settings, size: int):
    if not NAME.match(name):
        raise ApiError(404, f"There is no sample called {name!r}.")
    found = samples.load(name, settings.data_dir, size)
    if found is None:
        raise ApiError(404, f"There is no sample called {name!r}.")
    return found


@router.get("/samples/{name}")
def get_sample(
    name: str, settings: SettingsDep, channels: Channels | None = None, size: SideSize = 28
) -> dict:
    """A sample as a (C, H, W) tensor in [0, 1]; dataset samples keep their native size
    unless ``size`` differs."""
    sample, arr = _load(name, settings, size)
    channels = channels or sample.channels
    if sample.kind == "course":
        x = (arr[None] / 255.0).astype(np.float32)
    else:
        im = Image.fromarray(arr)
        x = image_tensor(im, channels, size)
    return {
        "name": sample.name,
        "title": sample.title,
        "label": sample.label,
        "kind": sample.kind,
        "tensor": tensor_json(x, decimals=4),
    }


@router.get("/samples/{name}/image.png", response_class=Response)
def get_sample_png(name: str, settings: SettingsDep, size: SideSize = 112) -> Response:
    """A sample as a PNG file (what the classify page uploads to a model)."""
    sample, arr = _load(name, settings, size)
    return Response(png_bytes(arr.astype(np.uint8)), media_type="image/png")
