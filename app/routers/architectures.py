"""The case studies: LeNet-5 to ResNet-152, counted layer by layer by ``course.architectures``.

Every count comes from the engine's layer specifications; every quoted figure (error
rates, years, authors) and its source from :mod:`course.architecture_info` and
:mod:`course.architecture_ilsvrc`; the sentences from :mod:`course.architecture_notes`.
This module puts them together as JSON. ``/{name}`` serves the nine case studies and the
papers' own layouts (``alexnet_paper``, ``googlenet_paper``, ...).
"""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query

from app.errors import ApiError
from course import architectures as arch
from course.architecture_ideas import inception_idea, residual_idea, vgg_lessons
from course.architecture_ilsvrc import ilsvrc as ilsvrc_facts
from course.architecture_info import VARIANT_INFO, base_of, info
from course.architecture_notes import COUNTING, notes
from course.layer_rows import megabytes
from engine.ops import counts

router = APIRouter(prefix="/api/architectures", tags=["architectures"])


def _row_json(row: arch.Row) -> dict:
    out = {
        "name": row.name,
        "type": row.type,
        "detail": row.detail,
        "output_shape": list(row.output_shape),
        "params": row.params,
        "weights": row.weights,
        "activations": row.activations,
        "memory_bytes": counts.float32_bytes(row.activations),
        "memory_text": megabytes(counts.float32_bytes(row.activations)),
        "macs": row.macs,
        "params_formula": row.params_formula,
        "size_formula": row.size_formula,
        "note": row.note,
    }
    if row.children:
        out["children"] = [_row_json(c) for c in row.children]
    return out


def _jsonable(value):
    """Plain data with every :class:`Row` in it (at any depth) as its JSON row."""
    if isinstance(value, arch.Row):
        return _row_json(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def summary(name: str) -> dict:
    t, facts = arch.table(name), info(name)
    nbytes = counts.float32_bytes(t.total_activations)
    return {
        "name": name,
        "base": base_of(name),
        "title": facts["title"],
        "year": facts["year"],
        "ilsvrc": facts["ilsvrc"],
        "published": facts["published"],
        "authors": facts["authors"],
        "depth": t.depth,
        "input_shape": list(t.input_shape),
        "total_params": t.total_params,
        "total_weights": t.total_weights,
        "total_activations": t.total_activations,
        "memory_bytes": nbytes,
        "memory_text": megabytes(nbytes),
        "total_macs": t.total_macs,
        "top5_error": facts["top5_error"],
        "single_model": facts["single_model"],
        "idea": facts["idea"],
    }


@functools.lru_cache(maxsize=16)
def _detail(name: str) -> dict:
    t = arch.table(name)
    n_in = counts.activation_count(t.input_shape)
    return {
        **summary(name),
        "layouts": info(name)["layouts"],
        "input": {
            "shape": list(t.input_shape),
            "activations": n_in,
            "memory_bytes": counts.float32_bytes(n_in),
            "memory_text": megabytes(counts.float32_bytes(n_in)),
        },
        "layers": [_row_json(r) for r in t.rows],
        "output_shape": list(t.output_shape),
        "notes": notes(name),
        "counting": COUNTING,
    }


@router.get("")
def list_architectures() -> dict:
    """Every case study's totals: depth, parameters, activations, multiply-adds, top-5 error;
    and the papers' own layouts served beside them (``variants``)."""
    return {"architectures": [summary(n) for n in arch.ARCHITECTURES],
            "variants": [summary(n) for n in VARIANT_INFO], "counting": COUNTING}


@router.get("/ilsvrc")
def ilsvrc() -> dict:
    """ImageNet's challenge: what it is, its tasks, the results quoted with their sources, and
    the points of the error-by-year and error-by-size charts (counts by the engine)."""
    return _ilsvrc()


@functools.lru_cache(maxsize=1)
def _ilsvrc() -> dict:
    return ilsvrc_facts()


@router.get("/ideas")
def ideas(
    channels: Annotated[int, Query(ge=1, le=1024, description="C for the 3x3-vs-7x7 and residual sums")] = 64,
) -> dict:
    """The numbers behind the three ideas: stacked 3x3 convs, Inception, residual blocks."""
    return {
        "stacked": arch.stacked_vs_single(channels),
        "vgg_lessons": vgg_lessons(),
        "inception": _jsonable(inception_idea()),
        "residual": _jsonable(residual_idea(channels)),
    }


@router.get("/{name}")
def architecture(name: str) -> dict:
    """One network's full table: every layer's output shape, parameters, activations, MACs."""
    if name not in arch.ARCHITECTURES and name not in arch.VARIANTS:
        raise ApiError(
            404,
            f"Unknown architecture {name[:40]!r}. Choose one of: {', '.join(arch.ARCHITECTURES)}, "
            f"or a paper's layout: {', '.join(arch.VARIANTS)}.",
        )
    return _detail(name)
