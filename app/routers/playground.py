"""The playground's API: the filter presets, and the convolutions after the course.

``GET /api/filters``: classic kernels at any size the engine defines them (from
:mod:`course.filters`; the page never types a weight in itself).
``POST /api/playground/convolution``: a small example of a 1x1, grouped, depthwise,
depthwise-separable, transposed or 1-D convolution (or a standard one, to compare), with
its output size, parameters and multiply-adds, and the arithmetic of one output value
(:mod:`engine.explain.convsteps`).
``POST /api/playground/layer``: whether the playground's layer can be computed, answered
with 200 either way (the page checks its settings before it asks ``/api/conv``, so an
impossible setting is explained without a failed request).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from app.encode import tensor_json
from app.errors import ApiError, error_responses
from app.layer_math import layer_json, pair
from app.schemas.calculator import KERNEL_DEPRECATED_ON
from app.schemas.playground import ConvolutionIn, LayerCheckIn
from course import filters
from engine.explain.convkinds import KINDS
from engine.explain.convsteps import OPS, Example, Term, Trace, example
from engine.explain.layer import explain_layer, resolve_pads

router = APIRouter(tags=["playground"])

Channels = Annotated[Literal["L", "RGB"], Query(description="L: one slice; RGB: three slices")]


def _preset_json(preset: filters.Preset, size: int, channels: int) -> dict:
    return {
        "name": preset.name,
        "title": preset.title,
        "description": preset.description,
        "weights": tensor_json(filters.filter_bank(preset.name, size, channels)),
    }


@router.get("/api/filters", responses=error_responses(422))
def list_filters(
    response: Response,
    kernel_size: Annotated[int | None, Query(ge=1, le=filters.MAX_SIZE,
                                             description="F of an F x F kernel (default 3)")] = None,
    size: Annotated[int | None, Query(ge=1, le=filters.MAX_SIZE, deprecated=True,
                                      description="the old name of kernel_size")] = None,
    channels: Channels = "L",
) -> dict:
    """Every preset defined at ``kernel_size``, as one filter of shape ``(C, F, F)``.

    For RGB each slice is the kernel divided by 3, so the filter acts on mean brightness.
    ``size`` is the old name of ``kernel_size``: accepted for one release, answered with a
    ``Deprecation`` header and a ``warnings`` entry.
    """
    if kernel_size is not None and size is not None:
        raise ApiError(422, "Give kernel_size only (size is its old, deprecated name), not both.")
    f = kernel_size if kernel_size is not None else size if size is not None else 3
    c = 3 if channels == "RGB" else 1
    result: dict = {
        "kernel_size": f,
        "size": f,
        "channels": channels,
        "filters": [_preset_json(p, f, c) for p in filters.available(f)],
    }
    if size is not None:
        response.headers["Deprecation"] = f"@{int(KERNEL_DEPRECATED_ON.timestamp())}"
        result["warnings"] = ["'size' is deprecated: call it 'kernel_size' (the API's one name "
                              "for a kernel's size); the old name is accepted for one release."]
    return result


@router.post("/api/playground/layer")
def layer_check(req: LayerCheckIn) -> dict:
    """``{"possible": true, "layer": ...}`` (as ``POST /api/output-size``, without ``axes``),
    or ``{"possible": false, "detail": the engine's sentence, "formula": the output-size sum
    when the filter fits nowhere}``: a 200 both ways, since an impossible layer is a lesson."""
    kernel, dil = (req.kernel_size, req.kernel_size), pair(req.dilation)
    try:
        pads = resolve_pads(req.padding, kernel, dil)
        layer = explain_layer(pair(req.input_size), kernel, pair(req.stride), pads, dil,
                              req.in_channels, req.filters)
    except ValueError as exc:
        return {"possible": False, "detail": str(exc), "formula": getattr(exc, "formula", None)}
    return {"possible": True, "layer": layer_json(layer)}


@router.get("/api/playground/operations")
def operations() -> dict:
    """The kinds of convolution ``POST /api/playground/convolution`` shows, with their titles."""
    return {"operations": [{"name": op, "title": KINDS[op]} for op in OPS]}


def _term_json(t: Term) -> dict:
    return {"channel": t.channel, "row": t.row, "col": t.col, "tap": list(t.tap), "x": t.x, "w": t.w,
            "product": t.product, "padding": t.padding}


def _trace_json(t: Trace) -> dict:
    out: dict = {
        "position": list(t.position), "channels": t.channels, "terms": [_term_json(x) for x in t.terms],
        "channel_sums": t.channel_sums, "sum": t.sum, "bias": t.bias, "value": t.value,
        "engine_value": t.engine,
    }
    if t.stage_values:
        out["stage_values"] = [_trace_json(s) for s in t.stage_values]
    if t.zero_view is not None:
        z = t.zero_view
        out["zero_view"] = {
            "input": tensor_json(z["z"]), "weights": tensor_json(z["weights"]), "rows": z["rows"],
            "cols": z["cols"], "patch": tensor_json(z["patch"]), "products": tensor_json(z["products"]),
            "sum": z["sum"], "source_rows": z["source_rows"], "source_cols": z["source_cols"],
        }
        out["gradient_gap"] = t.gradient_gap
    return out


def _example_json(e: Example) -> dict:
    s = e.summary
    result = {
        "op": e.op, "title": s.title, "explanation": s.explanation,
        "input": tensor_json(e.x), "weights": tensor_json(e.w), "bias": e.b.tolist(),
        "output": tensor_json(e.out),
        "input_shape": list(s.input_shape), "output_shape": list(s.output_shape),
        "size_formula": s.size_formula,
        "params": {"total": s.params, "formula": s.params_formula},
        "macs": {"total": s.macs, "formula": s.macs_formula},
        "standard": {"params": s.standard_params, "macs": s.standard_macs, "formula": s.standard_formula},
        "savings": s.savings,
        "stages": [{"name": st.name, "output_shape": list(st.output_shape), "params": st.params,
                    "params_formula": st.params_formula, "macs": st.macs, "macs_formula": st.macs_formula}
                   for st in s.stages],
        "attributes": {k: (list(v) if isinstance(v, tuple) else v) for k, v in e.attrs.items()},
        "trace": _trace_json(e.trace),
    }
    if e.views is not None:
        result["views"] = e.views
    if e.stage is not None and e.w2 is not None:
        result["depthwise_output"] = tensor_json(e.stage)
        result["pointwise_weights"] = tensor_json(e.w2)
    return result


@router.post("/api/playground/convolution")
def convolution(req: ConvolutionIn) -> dict:
    """A seeded example of ``op`` and the arithmetic of output ``position``.

    Inputs are whole numbers 0..4, weights -1..1 and biases 0..1 (drawn from ``seed``), so
    every product can be checked by hand. For ``transposed`` the trace also holds
    ``zero_view`` (the same value as a stride-1 convolution of the zero-inserted input with
    the turned kernel) and ``gradient_gap`` (the largest difference between this map and the
    backward pass of the convolution it transposes, computed by the engine: 0).
    """
    if req.op != "conv1d" and req.size > 8:
        raise ApiError(422, f"The input is at most 8 x 8 here (got {req.size}); 1-D inputs may be 16 long.")
    if req.op == "transposed" and req.output_padding >= req.stride:
        raise ApiError(422, f"output_padding ({req.output_padding}) must be smaller than the stride "
                            f"({req.stride}): it picks one of the {req.stride} input sizes a stride-"
                            f"{req.stride} convolution maps to the same output size.")
    if req.op == "transposed" and req.padding >= req.kernel_size:
        raise ApiError(422, f"Padding ({req.padding}) must be smaller than the kernel ({req.kernel_size}) "
                            "here, so the zero-insertion view pads rather than crops.")
    try:
        e = example(req.op, size=req.size, in_channels=req.in_channels, filters=req.filters,
                    kernel=req.kernel_size, stride=req.stride, padding=req.padding,
                    output_padding=req.output_padding, groups=req.groups, seed=req.seed,
                    position=(req.position[0], req.position[1], req.position[2]))
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    return _example_json(e)
