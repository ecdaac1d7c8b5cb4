"""Explanations from held-out data: what each filter responds to, and where a model goes wrong.

Answers that need a pass over the model's held-out images (predictions, every layer's
top patches) answer ``202 Accepted`` with the progress (``status: "computing"``,
``done`` of ``total``) and ``Retry-After`` the first time: the pass runs once per server
process in the background (app/services/explain_data_jobs.py). Ask again; afterwards each
answer is a lookup.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse

from app.deps import HeavyDep, ModelDep, SettingsDep
from app.errors import error_responses
from app.services import explain_data as ed
from app.services import explain_data_filters as ef
from app.services.explain_data_jobs import Computing
from app.services.imaging import png_bytes

router = APIRouter(prefix="/api/models", tags=["explain"])

Layer = Annotated[str, Query(min_length=1, max_length=200, description="a layer (node) name from .../filters")]
Channel = Annotated[int, Query(ge=0, le=100_000, description="the channel (feature map) of that layer")]
Klass = Annotated[int, Path(ge=0, le=999)]


def _later(exc: Computing) -> JSONResponse:
    return JSONResponse(exc.json(), status_code=202, headers={"Retry-After": "1"})


@router.get("/{name}/heldout", responses=error_responses(404))
def heldout_panels(model: ModelDep, settings: SettingsDep, _: HeavyDep) -> dict:
    """Which held-out explanations this model has: ``confusion`` and ``filters``, each
    ``{"available": bool, "reason": sentence or null}`` (the reason is the 4xx those
    endpoints would answer), so a page asks only for what exists."""
    return ef.panels_json(model, settings.data_dir)


@router.get("/{name}/filters", responses=error_responses(404))
def filter_layers(model: ModelDep, _: HeavyDep) -> dict:
    """The model's feature-map layers (node name, label, shape C x H x W) and a default one
    (the first call per model runs it once on the engine, to learn the shapes)."""
    return ef.layers_json(model)


@router.get("/{name}/filters/patches", responses={**error_responses(404), 202: {"description": "computing"}})
def filter_patches(model: ModelDep, settings: SettingsDep, layer: Layer, channel: Channel,
                   _: HeavyDep):
    """The 9 held-out images whose largest value in ``channel`` of ``layer`` is largest (one
    per image, at its maximum): value, position, receptive-field box in the model input
    (rows and columns, first and last, clipped to the image), the image and its URL."""
    try:
        return ef.top_patches_json(model, settings.data_dir, layer, channel)
    except Computing as exc:
        return _later(exc)


@router.get("/{name}/filters/maximise", responses=error_responses(404))
def filter_maximise(model: ModelDep, layer: Layer, channel: Channel, _: HeavyDep,
                    seed: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> dict:
    """An image optimised from seeded noise to raise the channel's mean activation (gradient
    ascent through the engine's backward, with jitter, blur and decay towards grey; a fixed
    number of steps), at the model input's size, with the objective before and after."""
    return ef.maximised_json(model, layer, channel, seed)


@router.get("/{name}/confusion", responses={**error_responses(404), 202: {"description": "computing"}})
def confusion(model: ModelDep, settings: SettingsDep):
    """Counts of (true class, predicted class) over the model's held-out images, which images
    those are (``source``), and whether the counts equal the model card's matrix."""
    try:
        return ed.confusion_json(model, ed.predictions(model, settings.data_dir))
    except Computing as exc:
        return _later(exc)


@router.get("/{name}/confusion/{true}/{pred}", responses={**error_responses(404), 202: {"description": "computing"}})
def confusion_cell(model: ModelDep, settings: SettingsDep, _: HeavyDep, true: Klass, pred: Klass,
                   offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
                   limit: Annotated[int, Query(ge=1, le=ed.MAX_LIST)] = 24):
    """The held-out images of class ``true`` that the model predicted as ``pred``, most
    confident first, ``limit`` from ``offset``: index, thumbnail, p(pred) and p(true)."""
    try:
        return ed.cell_json(model, ed.predictions(model, settings.data_dir), true, pred, offset, limit)
    except Computing as exc:
        return _later(exc)


@router.get("/{name}/mistakes", responses={**error_responses(404), 202: {"description": "computing"}})
def mistakes(model: ModelDep, settings: SettingsDep, _: HeavyDep,
             limit: Annotated[int, Query(ge=1, le=ed.MAX_LIST)] = 12):
    """The held-out images the model got wrong with the highest probability for its answer."""
    try:
        return ed.mistakes_json(model, ed.predictions(model, settings.data_dir), limit)
    except Computing as exc:
        return _later(exc)


@router.get("/{name}/heldout/{index}.png", response_class=Response, responses=error_responses(404))
def heldout_image(model: ModelDep, settings: SettingsDep, _: HeavyDep,
                  index: Annotated[int, Path(ge=0, le=100_000)]) -> Response:
    """Held-out image ``index`` of the model's data as a PNG (its own pixels, native size):
    what the classify page takes as an upload."""
    png = png_bytes(ed.heldout_png(model, settings.data_dir, index))
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})
