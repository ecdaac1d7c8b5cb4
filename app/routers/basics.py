"""The engine's single operations over JSON: output size, conv, pool, activation, softmax."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Body
from pydantic import Field

import engine
from app import __version__
from app import openapi_examples as examples
from app.deps import HeavyDep
from app.encode import MAX_ELEMENTS, Tensor, tensor_json
from app.errors import ApiError
from app.layer_math import layer_json, pair, refusal
from app.schemas import Strict
from app.schemas.choices import ActivationName
from engine import registry
from engine.explain.layer import Layer, explain_layer, resolve_pads
from engine.explain.trace import conv_trace, softmax_steps
from engine.explain.windows import windows

router = APIRouter(prefix="/api", tags=["engine"])

Size = Annotated[int, Field(ge=1, le=100_000)]
Small = Annotated[int, Field(ge=0, le=10_000)]
Pair = Annotated[list[Size], Field(min_length=2, max_length=2)]
Pads4 = Annotated[list[Small], Field(min_length=4, max_length=4)]
Padding = Small | Pads4 | Literal["same"]



@router.get("/health")
async def health() -> dict:
    """Liveness: ``{"status": "ok", "version": ...}``.

    ``async`` on purpose: it does no work, and so answers on the event loop even when
    every worker thread is busy with (or waiting for) heavy requests."""
    return {"status": "ok", "version": __version__}


class OutputSizeIn(Strict):
    input_size: Size | Pair = Field(description="N, or [H, W]")
    kernel_size: Size | Pair = Field(description="F, or [KH, KW]")
    stride: Size | Pair = 1
    padding: Padding = Field(0, description='P, [top, left, bottom, right], or "same"')
    dilation: Annotated[int, Field(ge=1, le=1000)] | Pair = 1
    in_channels: Size = 1
    filters: Size = 1


def _layer(hw: tuple[int, ...], kernel: tuple[int, int], strides: tuple[int, int],
           padding: int | list[int] | str, dil: tuple[int, int], in_channels: int, filters: int,
           *, with_params: bool = True) -> Layer:
    """The engine's explanation of one layer; the 422 (with its formula) when it cannot be."""
    try:
        pads = resolve_pads(padding, kernel, dil)
        return explain_layer((hw[0], hw[1]), kernel, strides, pads, dil, in_channels, filters,
                             with_params=with_params)
    except ValueError as exc:
        raise refusal(exc) from exc


@router.post("/output-size")
def output_size(req: Annotated[OutputSizeIn, Body(openapi_examples=examples.output_size())]) -> dict:
    """Output size (N - F + 2P)/S + 1 of one layer, with parameters and activations, and
    ``axes``: where the windows sit along the rows and the columns (window starts, tap
    offsets, the dilated span, the last cell reached; the first 300 cells of each axis)."""
    layer = _layer(pair(req.input_size), pair(req.kernel_size), pair(req.stride), req.padding,
                   pair(req.dilation), req.in_channels, req.filters)
    return layer_json(layer, reach=True)


# Interactive routes: bounded so one request costs at most tens of milliseconds.
Stride = Annotated[int, Field(ge=1, le=8)]
Dil = Annotated[int, Field(ge=1, le=5)]
PadN = Annotated[int, Field(ge=0, le=10)]
InteractivePadding = PadN | Annotated[list[PadN], Field(min_length=4, max_length=4)] | Literal[
    "same"
]
#: Values on the interactive routes. Bounded so that float32 arithmetic cannot overflow:
#: a conv output is at most 3 * 11 * 11 products of two such values plus a bias, about
#: 4e14, far inside float32's 3.4e38 (1e300 would become inf, and null in the JSON).
Value = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]


class BoundedTensor(Tensor):
    """A :class:`Tensor` whose values lie in [-1e6, 1e6]."""

    data: list[Value] = Field(max_length=MAX_ELEMENTS, fail_fast=True)


class PoolOptions(Strict):
    mode: Literal["max", "avg"] = "max"
    kernel_size: Annotated[int, Field(ge=1, le=11)] = 2
    stride: Stride = 2
    padding: PadN = 0


class ConvIn(Strict):
    input: BoundedTensor = Field(description="(C, H, W), at most 3 x 128 x 128")
    weights: BoundedTensor = Field(description="(K, C, KH, KW), at most 16 filters of 11 x 11")
    bias: Annotated[list[Value], Field(max_length=16)] | None = None
    stride: Stride | Annotated[list[Stride], Field(min_length=2, max_length=2)] = 1
    padding: InteractivePadding = 0
    dilation: Dil | Annotated[list[Dil], Field(min_length=2, max_length=2)] = 1
    activation: ActivationName | None = None
    trace: Annotated[list[Annotated[int, Field(ge=0, le=4096)]], Field(min_length=3, max_length=3)] | None = None
    pool: PoolOptions | None = Field(None, description="pool every output map too, in the same request")


def _image_tensor(t: Tensor, name: str) -> np.ndarray:
    x = t.to_array()
    if x.ndim != 3:
        raise ApiError(422, f"{name} must have shape (C, H, W); got {list(x.shape)}.")
    c, h, w = x.shape
    if c > 3 or h > 128 or w > 128:
        raise ApiError(422, f"{name} may be at most 3 x 128 x 128; got {c} x {h} x {w}.")
    return x


@router.post("/conv")
def conv(req: Annotated[ConvIn, Body(openapi_examples=examples.conv())], _: HeavyDep) -> dict:
    """Convolve (C, H, W) with K filters; optionally trace one output value's arithmetic."""
    x = _image_tensor(req.input, "input")
    w = req.weights.to_array()
    if w.ndim != 4:
        raise ApiError(422, f"weights must have shape (K, C, KH, KW); got {list(w.shape)}.")
    k, c, kh, kw = w.shape
    if k > 16 or kh > 11 or kw > 11:
        raise ApiError(422, f"at most 16 filters of 11 x 11; got {k} filters of {kh} x {kw}.")
    if c != x.shape[0]:
        raise ApiError(
            422,
            f"each filter needs one slice per input channel: the input has {x.shape[0]} "
            f"channel(s) but the filters have {c}.",
        )
    b = None
    if req.bias is not None:
        if len(req.bias) != k:
            raise ApiError(422, f"bias needs one value per filter: {k} filters, {len(req.bias)} biases.")
        b = np.asarray(req.bias, dtype=np.float32)
    strides, dil = pair(req.stride), pair(req.dilation)
    layer = _layer(x.shape[1:], (kh, kw), strides, req.padding, dil, c, k)
    pads = layer.pads
    size = layer_json(layer)
    out, _cache = engine.conv2d_forward(x[None], w, b, strides=strides, pads=pads, dilations=dil)
    pre = out[0]
    result: dict = {"output_size": size}
    # Where each output's window sits in the padded input, and which outputs each cell feeds.
    padded = (x.shape[1] + pads[0] + pads[2], x.shape[2] + pads[1] + pads[3])
    result["windows"] = windows(pre.shape[1:], (kh, kw), strides, dil, size=padded).as_dict()
    result["filter_ranges"] = [[float(w[n].min()), float(w[n].max())] for n in range(k)]
    if req.activation:
        fwd = registry.activation(req.activation).forward
        act, _ = fwd(pre)
        result["pre_activation"] = tensor_json(pre)
        result["output"] = tensor_json(act)
    else:
        act = pre
        result["output"] = tensor_json(pre)
    # Each map's own [min, max] (a page may colour each map on its own scale).
    result["map_ranges"] = {"output": map_ranges(act), "pre_activation": map_ranges(pre)}
    if req.pool is not None:
        po = req.pool
        try:
            result["pool"] = _pool_json(act, po.mode, po.kernel_size, po.stride, po.padding)
        except ValueError as exc:  # the conv stands; the page says why this pooling cannot
            result["pool"] = {"error": str(exc)}
    if req.trace is not None:
        tk, ti, tj = req.trace
        try:
            tr = conv_trace(x, w, b, tk, ti, tj, strides=strides, pads=pads, dilations=dil)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from exc
        trace = {
            "position": [tk, ti, tj],
            "patch": tensor_json(tr.patch),
            "weights": tensor_json(tr.weights),
            "products": tensor_json(tr.products),
            "channel_sums": np.round(tr.channel_sums, 6).tolist(),
            "sum": round(tr.total, 6),
            "bias": round(tr.bias, 6),
            "value": round(tr.value, 6),
            "engine_value": round(float(pre[tk, ti, tj]), 6),
            "rows": tr.rows,
            "cols": tr.cols,
            "input_rows": tr.in_rows,
            "input_cols": tr.in_cols,
        }
        if req.activation:
            trace["activation"] = req.activation
            trace["activated"] = round(float(result_value(result, tk, ti, tj)), 6)
        result["trace"] = trace
    return result


def map_ranges(maps: np.ndarray) -> list[list[float]]:
    """``[min, max]`` of each (H, W) map of a (C, H, W) array."""
    return [[float(m.min()), float(m.max())] for m in maps]


def result_value(result: dict, k: int, i: int, j: int) -> float:
    shape = result["output"]["shape"]
    return result["output"]["data"][(k * shape[1] + i) * shape[2] + j]


class PoolIn(Strict):
    input: BoundedTensor = Field(description="(C, H, W), at most 3 x 128 x 128")
    mode: Literal["max", "avg"] = "max"
    kernel_size: Annotated[int, Field(ge=1, le=11)] = 2
    stride: Stride = 2
    padding: PadN = 0


@router.post("/pool")
def pool(req: Annotated[PoolIn, Body(openapi_examples=examples.pool())], _: HeavyDep) -> dict:
    """Max or average pooling; for max, where each maximum came from (input row, column)."""
    x = _image_tensor(req.input, "input")
    try:
        return _pool_json(x, req.mode, req.kernel_size, req.stride, req.padding)
    except ValueError as exc:
        raise refusal(exc) from exc


def _pool_json(x: np.ndarray, mode: str, k: int, s: int, p: int) -> dict:
    """Pool each (H, W) map of ``x``; ``windows``: the map cells under each window.
    ``ValueError`` (a :class:`LayerError` when the window fits nowhere) if it cannot."""
    if 2 * p > k:
        raise ValueError(f"padding ({p}) may be at most half the pooling window ({k}).")
    pads = (p, p, p, p)
    size = layer_json(explain_layer(x.shape[1:], (k, k), (s, s), pads, (1, 1), x.shape[0],
                                    x.shape[0], with_params=False))
    if mode == "max":
        out, cache = engine.maxpool2d_forward(x[None], kernel_shape=(k, k), strides=(s, s), pads=pads)
        result: dict[str, Any] = {"output": tensor_json(out[0]), "argmax": _argmax_json((cache.rows, cache.cols))}
    else:
        out, _cache = engine.avgpool2d_forward(x[None], kernel_shape=(k, k), strides=(s, s), pads=pads)
        result = {"output": tensor_json(out[0]), "argmax": None}
    result["output_size"] = size
    result["map_ranges"] = map_ranges(out[0])
    result["windows"] = windows(out.shape[2:], (k, k), (s, s), offsets=(p, p), size=x.shape[1:],
                                clip=True).as_dict()
    return result


def _argmax_json(arg) -> dict:
    rows, cols = arg
    rows, cols = np.asarray(rows)[0], np.asarray(cols)[0]
    return {"shape": list(rows.shape), "rows": rows.ravel().tolist(), "cols": cols.ravel().tolist()}


class ActivationIn(Strict):
    input: BoundedTensor
    function: ActivationName


@router.post("/activation")
def activation(req: Annotated[ActivationIn, Body(openapi_examples=examples.activation())]) -> dict:
    """Apply one of the registry's activations (GET /api/registry lists them);
    ``gradient`` is the local derivative at each value."""
    x = req.input.to_array()
    entry = registry.activation(req.function)
    out, cache = entry.forward(x)
    grad = entry.backward(np.ones_like(x), cache)
    return {"function": req.function, "output": tensor_json(out), "gradient": tensor_json(grad)}


class SoftmaxIn(Strict):
    scores: Annotated[list[Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]], Field(min_length=1, max_length=1000)]


@router.post("/softmax")
def softmax(req: Annotated[SoftmaxIn, Body(openapi_examples=examples.softmax())]) -> dict:
    """Softmax step by step: shift by the max, exponentiate, normalise."""
    st = softmax_steps(np.asarray(req.scores, dtype=np.float64))
    return {
        "max": st.max,
        "shifted": st.shifted.tolist(),
        "exp": st.exp.tolist(),
        "sum": st.sum,
        "probabilities": st.probabilities.tolist(),
    }
