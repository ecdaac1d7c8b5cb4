"""The playground's filter presets: classic kernels at any size the engine defines them.

The kernels come from :mod:`course.filters`; the page never types a weight in itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.encode import tensor_json
from course import filters

router = APIRouter(prefix="/api/filters", tags=["playground"])

KernelSize = Annotated[int, Query(ge=1, le=filters.MAX_SIZE, description="F of an F x F kernel")]
Channels = Annotated[Literal["L", "RGB"], Query(description="L: one slice; RGB: three slices")]


def _preset_json(preset: filters.Preset, size: int, channels: int) -> dict:
    return {
        "name": preset.name,
        "title": preset.title,
        "description": preset.description,
        "weights": tensor_json(filters.filter_bank(preset.name, size, channels)),
    }


@router.get("")
def list_filters(size: KernelSize = 3, channels: Channels = "L") -> dict:
    """Every preset defined at ``size``, as one filter of shape ``(C, size, size)``.

    For RGB each slice is the kernel divided by 3, so the filter acts on mean brightness.
    """
    c = 3 if channels == "RGB" else 1
    return {
        "size": size,
        "channels": channels,
        "filters": [_preset_json(p, size, c) for p in filters.available(size)],
    }

