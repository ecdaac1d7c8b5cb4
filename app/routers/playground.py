"""The playground's presets: classic filters at any size, and the course's 6x6 example.

The kernels come from :mod:`engine.filters`; the page never types a weight in itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from app.tensors import tensor_json
from engine import filters

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


@router.get("/course-example")
def course_example() -> dict:
    """The course's first convolution: a 6x6 binary image and two 3x3 pattern detectors."""
    return {
        "name": "course-6x6",
        "title": "6×6 image, two 3×3 filters",
        "description": (
            "A 6×6 black-and-white image and two 3×3 filters, each a detector for a small "
            "pattern: a \\ diagonal and a vertical line. At stride 1 each filter stops at "
            "4×4 positions, so the two filters give two 4×4 feature maps: a 4×4×2 volume."
        ),
        "input": tensor_json(filters.COURSE_IMAGE[None]),
        "kernel_size": 3,
        "stride": 1,
        "filters": [_preset_json(filters.PRESETS[n], 3, 1) for n in filters.COURSE_FILTERS],
    }
