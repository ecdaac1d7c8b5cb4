"""Why did it say that? Grad-CAM, saliency and the fast gradient sign method for one image."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Form, UploadFile

from app.deps import HeavyDep, ModelDep
from app.errors import error_responses
from app.services.explain import fgsm_json, gradcam_json
from app.services.predict import decode_for
from app.services.uploads import UPLOAD_BODY_LIMIT

router = APIRouter(prefix="/api/models", tags=["explain"], max_body_size=UPLOAD_BODY_LIMIT)

Target = Annotated[str | None, Form(max_length=100, description=(
    "the class to explain: an index or a class name (default: the model's answer)"))]
Layer = Annotated[str | None, Form(max_length=300, description=(
    "a conv layer: its title (conv1, conv2...), tensor or node name "
    "(default: the last conv layer whose maps are larger than 1x1)"))]


def _input(model, file: UploadFile) -> np.ndarray:
    prepared, _, _ = decode_for(model, file)
    return prepared.tensor.astype(np.float32)


@router.post("/{name}/gradcam", responses=error_responses(415))
def gradcam(
    model: ModelDep,
    file: UploadFile,
    _: HeavyDep,
    target: Target = None,
    layer: Layer = None,
    check: Annotated[bool, Form(description=(
        "also run the randomisation sanity check (Adebayo et al., 2018)"))] = False,
) -> dict:
    """Grad-CAM (Selvaraju et al., 2017) for one image (multipart ``file``).

    ``heatmap``: where the chosen conv layer's maps raised the class score, at the model
    input's resolution, values in [0, 1]; ``cam`` the same at the layer's resolution;
    ``alphas`` the weight of each map (the mean gradient over its positions) and
    ``formula`` the two formulas with this image's numbers. ``saliency``: |d score / d
    pixel|, the largest over channels, in [0, 1]. ``layers`` lists the conv layers to
    choose from. With ``check``: ``sanity``, the Grad-CAM of the same model with random
    weights in its class-score layer and the rank correlation of the two maps (near 1:
    the map does not depend on what the model learned).
    """
    return gradcam_json(model, _input(model, file), target=target, layer=layer, check=check)


@router.post("/{name}/fgsm", responses=error_responses(415))
def fgsm(model: ModelDep, file: UploadFile, _: HeavyDep) -> dict:
    """Fool the model (fast gradient sign method, Goodfellow et al., 2015).

    Each pixel moves by at most epsilon against the answer (x + epsilon * sign of the
    loss gradient, clipped to the pixel range: a pixel at black or white may not move) for epsilon = 1, 2, 4, 8, 16, 32 grey levels
    out of 255. ``ladder`` gives each step's answer; ``flipped_at`` the first step that
    changes it (null: none did), with the ``perturbation`` in pixel units (0..1), the
    ``adversarial`` input the model saw, and its new ``probabilities``.
    """
    return fgsm_json(model, _input(model, file))
