"""The case studies: LeNet-5 to ResNet-152, counted layer by layer by ``course.architectures``.

Every count comes from the engine's layer specifications and every sentence from
:mod:`course.architecture_notes`; this module puts them together as JSON.
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query

from app.errors import ApiError
from course import architectures as arch
from course.architecture_notes import COUNTING, INFO, find_row, notes
from engine.ops import counts

router = APIRouter(prefix="/api/architectures", tags=["architectures"])


def _row_json(row: arch.Row) -> dict:
    out = {
        "name": row.name,
        "type": row.type,
        "detail": row.detail,
        "output_shape": list(row.output_shape),
        "params": row.params,
        "activations": row.activations,
        "memory_bytes": counts.float32_bytes(row.activations),
        "macs": row.macs,
        "params_formula": row.params_formula,
        "size_formula": row.size_formula,
        "note": row.note,
    }
    if row.children:
        out["children"] = [_row_json(c) for c in row.children]
    return out


def summary(name: str) -> dict:
    t, info = arch.table(name), INFO[name]
    return {
        "name": name,
        "title": info["title"],
        "year": info["year"],
        "authors": info["authors"],
        "depth": t.depth,
        "input_shape": list(t.input_shape),
        "total_params": t.total_params,
        "total_activations": t.total_activations,
        "memory_bytes": counts.float32_bytes(t.total_activations),
        "total_macs": t.total_macs,
        "top5_error": info["top5_error"],
        "idea": info["idea"],
    }


@functools.lru_cache(maxsize=16)
def _detail(name: str) -> dict:
    t = arch.table(name)
    return {
        **summary(name),
        "input": {
            "shape": list(t.input_shape),
            "activations": counts.activation_count(t.input_shape),
            "memory_bytes": counts.float32_bytes(counts.activation_count(t.input_shape)),
        },
        "layers": [_row_json(r) for r in t.rows],
        "output_shape": list(t.output_shape),
        "notes": notes(name),
        "counting": COUNTING,
    }


@router.get("")
def list_architectures() -> dict:
    """Every case study's totals: depth, parameters, activations, multiply-adds, top-5 error."""
    return {"architectures": [summary(n) for n in arch.ARCHITECTURES], "counting": COUNTING}


def _inception_idea() -> dict:
    """The course's Inception example: a 28x28x256 input, naive module vs 1x1 bottlenecks."""
    shape = (256, 28, 28)
    pool = arch.Pool(3, 1, 1, name="pool 3x3")
    naive = arch.Branches((
        (arch.Conv(128, 1, name="1x1 conv, 128"),),
        (arch.Conv(192, 3, padding=1, name="3x3 conv, 192"),),
        (arch.Conv(96, 5, padding=2, name="5x5 conv, 96"),),
        (pool,),
    ), name="naive")
    bottleneck = arch.Branches((
        (arch.Conv(128, 1, name="1x1 conv, 128"),),
        (arch.Conv(64, 1, name="1x1 conv, 64"), arch.Conv(192, 3, padding=1, name="3x3 conv, 192")),
        (arch.Conv(64, 1, name="1x1 conv, 64"), arch.Conv(96, 5, padding=2, name="5x5 conv, 96")),
        (pool, arch.Conv(64, 1, name="1x1 conv, 64")),
    ), name="with 1x1 bottlenecks")
    goog = arch.table("googlenet")
    last = find_row(goog, "inception5b").output_shape
    fc = counts.dense_params(counts.activation_count(last), 4096)
    return {
        "input_shape": list(shape),
        "naive": _row_json(arch.layer_row(naive, shape)),
        "bottleneck": _row_json(arch.layer_row(bottleneck, shape)),
        "no_fc": {
            "last_volume": list(last),
            "fc_4096_params": fc.total,
            "fc_formula": f"({'*'.join(map(str, last))} + 1)*4096 = {fc.total:,}",
            "avgpool_params": 0,
            "classifier_params": find_row(goog, "fc").params,
            "total_params": goog.total_params,
        },
    }


def _residual_idea(c: int) -> dict:
    size = 56
    basic = arch.layer_row(arch.residual_block(c, c, 1, False, "basic"), (c, size, size))
    wide = arch.layer_row(arch.residual_block(4 * c, 4 * c, 1, False, "basic"), (4 * c, size, size))
    neck = arch.layer_row(arch.residual_block(4 * c, c, 1, True, "bottleneck"), (4 * c, size, size))
    down = arch.layer_row(arch.residual_block(c, 2 * c, 2, False, "downsampling"), (c, size, size))
    depths = [
        {"name": n, "depth": arch.table(n).depth, "total_params": arch.table(n).total_params}
        for n in ("resnet18", "resnet34", "resnet50", "resnet152")
    ]
    return {
        "channels": c,
        "spatial": size,
        "basic": _row_json(basic),
        "basic_wide": _row_json(wide),
        "bottleneck": _row_json(neck),
        "downsampling": _row_json(down),
        "identity_params": 0,
        "resnets": depths,
    }


@router.get("/ideas")
def ideas(
    channels: Annotated[int, Query(ge=1, le=1024, description="C for the 3x3-vs-7x7 and residual sums")] = 64,
) -> dict:
    """The numbers behind the three ideas: stacked 3x3 convs, Inception, residual blocks."""
    return {
        "stacked": arch.stacked_vs_single(channels),
        "inception": _inception_idea(),
        "residual": _residual_idea(channels),
    }


@router.get("/{name}")
def architecture(name: str) -> dict:
    """One network's full table: every layer's output shape, parameters, activations, MACs."""
    if name not in arch.ARCHITECTURES:
        raise ApiError(
            404,
            f"Unknown architecture {name[:40]!r}. Choose one of: {', '.join(arch.ARCHITECTURES)}.",
        )
    return _detail(name)
