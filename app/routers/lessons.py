"""The lessons page's own numbers: one neuron's gradient, a dense network's parameters,
flattening a volume into a fully connected layer, and dropout and batch normalisation in
training and at inference (:mod:`course.regularise`, on the engine's ops).

Everything is computed by the engine (``engine.dense_forward``/``dense_backward``, the
activations' forward/backward, ``engine.flatten`` and ``engine.ops.counts.dense_params``);
this module only validates the request and writes the results out.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Body
from pydantic import Field

import engine
from app import openapi_examples as examples
from app.errors import ApiError
from app.schemas import Strict
from app.schemas.choices import ActivationName
from course import regularise
from course.examples import POOL_DATA, POOL_K, POOL_P, POOL_S, POOL_SHAPE
from engine import registry
from engine.explain.layer import explain_layer
from engine.ops import counts

router = APIRouter(prefix="/api/lessons", tags=["lessons"])

#: A neuron's gradient is "near 0" (the neuron is saturated) below this.
SATURATION = 0.05

Value = Annotated[float, Field(allow_inf_nan=False, ge=-100, le=100)]


class NeuronIn(Strict):
    w: Value = Field(description="the weight, in [-100, 100]")
    x: Value = Field(description="the input, in [-100, 100]")
    b: Value = Field(0.0, description="the bias, in [-100, 100]")
    function: ActivationName = "sigmoid"


@router.post("/neuron")
def neuron(req: Annotated[NeuronIn, Body(openapi_examples=examples.neuron())]) -> dict:
    """One neuron ``y = f(w*x + b)`` forward and backward (with ``dL/dy = 1``).

    ``local_gradient`` is ``f'(z)``; by the chain rule ``dy_dw = f'(z) * x``,
    ``dy_dx = f'(z) * w`` and ``dy_db = f'(z)``, as the engine's dense backward gives them.
    """
    x = np.array([[req.x]], dtype=np.float64)
    w = np.array([[req.w]], dtype=np.float64)
    b = np.array([req.b], dtype=np.float64)
    z, dense_cache = engine.dense_forward(x, w, b)
    entry = registry.activation(req.function)
    fwd, bwd = entry.forward, entry.backward
    y, act_cache = fwd(z)
    dz = bwd(np.ones_like(y), act_cache)
    dx, dw, db = engine.dense_backward(dz, dense_cache)
    assert db is not None
    local = float(dz[0, 0])
    return {
        "function": req.function,
        "w": req.w,
        "x": req.x,
        "b": req.b,
        "z": float(z[0, 0]),
        "y": float(y[0, 0]),
        "local_gradient": local,
        "dy_dw": float(dw[0, 0]),
        "dy_dx": float(dx[0, 0]),
        "dy_db": float(db[0]),
        "saturated": bool(abs(local) < SATURATION),
        "threshold": SATURATION,
    }


class NetworkIn(Strict):
    layers: Annotated[
        list[Annotated[int, Field(ge=1, le=100_000)]], Field(min_length=2, max_length=12)
    ] = Field(description="neurons per layer, inputs first: e.g. [3, 4, 2]")


@router.post("/network-params")
def network_params(req: Annotated[NetworkIn, Body(openapi_examples=examples.network_params())]) -> dict:
    """Weights and biases of a fully connected network, layer by layer.

    Each layer after the inputs has ``in * out`` weights and ``out`` biases
    (``engine.ops.counts.dense_params``).
    """
    per_layer: list[dict[str, Any]] = []
    for i, (n_in, n_out) in enumerate(zip(req.layers, req.layers[1:], strict=False), start=1):
        p = counts.dense_params(n_in, n_out)
        per_layer.append({
            "layer": i,
            "in_features": n_in,
            "out_features": n_out,
            "weights": p.weights,
            "biases": p.biases,
            "total": p.total,
            "formula": f"{n_in}*{n_out} + {n_out} = {p.total:,}",
        })
    weights = sum(p["weights"] for p in per_layer)
    biases = sum(p["biases"] for p in per_layer)
    total = weights + biases
    return {
        "layers": req.layers,
        "per_layer": per_layer,
        "weights": weights,
        "biases": biases,
        "total": total,
        "neurons": sum(req.layers[1:]),
        "summary": (
            f"{_count(weights, 'weight')} + {_count(biases, 'bias', 'biases')} = "
            f"{_count(total, 'learnable parameter')}"
        ),
    }


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


class DenseHeadIn(Strict):
    height: Annotated[int, Field(ge=1, le=4096)] = 32
    width: Annotated[int, Field(ge=1, le=4096)] = 32
    channels: Annotated[int, Field(ge=1, le=4096)] = 3
    outputs: Annotated[int, Field(ge=1, le=10_000)] = 10


#: The unrolling example is at most this many rows, columns and channels.
EXAMPLE_MAX = (4, 4, 3)


@router.post("/dense-head")
def dense_head(req: Annotated[DenseHeadIn, Body(openapi_examples=examples.dense_head())]) -> dict:
    """Flatten an ``H x W x C`` volume into one column and connect it to ``outputs`` scores.

    ``features = H*W*C``; the layer's weights ``W`` are ``(outputs, features)``, so it
    has ``outputs * features + outputs`` parameters. ``example`` flattens a small
    volume of the same kind (at most 4 x 4 x 3) with ``engine.flatten`` and lists, for
    each position of the column, the (channel, row, column) it came from.
    """
    h, w, c = req.height, req.width, req.channels
    features = counts.activation_count((c, h, w))
    p = counts.dense_params(features, req.outputs)
    eh, ew, ec = min(h, EXAMPLE_MAX[0]), min(w, EXAMPLE_MAX[1]), min(c, EXAMPLE_MAX[2])
    index = np.arange(ec * eh * ew).reshape(1, ec, eh, ew)
    column = engine.flatten(index)[0]
    order = [[int(v) // (eh * ew), (int(v) // ew) % eh, int(v) % ew] for v in column]
    return {
        "volume": [h, w, c],
        "volume_text": f"{h}x{w}x{c}",
        "features": features,
        "features_formula": f"{h}*{w}*{c} = {features:,}",
        "weights_shape": [req.outputs, features],
        "output_shape": [req.outputs],
        "params": {
            "weights": p.weights,
            "biases": p.biases,
            "total": p.total,
            "formula": f"{req.outputs}*{features:,} + {req.outputs} = {p.total:,}",
        },
        "example": {"volume": [eh, ew, ec], "length": len(order), "order": order},
    }


#: The course's pooling example: a 4x4 input pooled by a 2x2 window with stride 2.
POOL_LIMIT = 999  # the page's cells take values in [-limit, limit]


@router.get("/pooling")
def pooling_example() -> dict:
    """The pooling lesson's example: its input (the course's values), window, stride and
    padding, and the output's size (the page lays out one cell per window before the first
    answer). The page pools it with ``POST /api/pool``, whose ``windows`` say which cells
    each window covers."""
    _, h, w = POOL_SHAPE
    k, s, p = POOL_K, POOL_S, POOL_P
    layer = explain_layer((h, w), (k, k), (s, s), (p, p, p, p), (1, 1), 1, 1, with_params=False)
    return {"input": {"shape": list(POOL_SHAPE), "data": POOL_DATA}, "kernel_size": k,
            "stride": s, "padding": p, "limit": POOL_LIMIT, "output_size": list(layer.output_size)}


# --- Dropout and BatchNorm: train vs inference ----------------------------------------------

#: Inputs to the two lessons are bounded: at most this many values, each in [-LIMIT, LIMIT].
DROPOUT_MAX, BN_ROWS, BN_COLS, LIMIT = 16, 8, 4, 1000.0
Small = Annotated[float, Field(allow_inf_nan=False, ge=-LIMIT, le=LIMIT)]


class DropoutIn(Strict):
    x: Annotated[list[Small], Field(min_length=1, max_length=DROPOUT_MAX)] = Field(
        description=f"the layer's input, 1 to {DROPOUT_MAX} values")
    ratio: Annotated[float, Field(ge=0, le=0.9, allow_inf_nan=False)] = Field(
        0.5, description="the probability of dropping each value, in [0, 0.9]")
    training: bool = Field(True, description="true: training (a random mask); false: inference (identity)")
    seed: Annotated[int, Field(ge=0, le=999_999)] = Field(1, description="the mask's seed")
    dout: Annotated[list[Small], Field(min_length=1, max_length=DROPOUT_MAX)] | None = Field(
        None, description="the upstream gradient dL/dy (default: ones)")


@router.get("/dropout")
def dropout_example() -> dict:
    """The dropout lesson's example (the page starts from it) and the limits of ``POST``."""
    return {**regularise.DROPOUT_EXAMPLE, "max_values": DROPOUT_MAX, "limit": LIMIT, "max_ratio": 0.9,
            "draws": regularise.MASK_DRAWS}


@router.post("/dropout")
def dropout(req: DropoutIn) -> dict:
    """Inverted dropout of ``x`` by the engine, forward and backward.

    Training: each value is kept with probability ``1 - ratio`` (``keep``), kept values are
    scaled by ``scale = 1 / (1 - ratio)``; ``dx = dout * keep * scale``. Inference: the
    identity. ``mean_over_masks``: each output averaged over ``draws`` more masks, which
    approaches ``x``: the scaling keeps the expected output equal to the input.
    """
    try:
        r = regularise.dropout_lesson(req.x, req.ratio, training=req.training, seed=req.seed, dout=req.dout)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    return {"x": req.x, "dout": req.dout or [1.0] * len(req.x), **r.__dict__}


class BatchNormIn(Strict):
    x: Annotated[list[Annotated[list[Small], Field(min_length=1, max_length=BN_COLS)]],
                 Field(min_length=1, max_length=BN_ROWS)] = Field(
        description=f"a mini-batch: 1 to {BN_ROWS} examples (rows) of 1 to {BN_COLS} channels")
    gamma: Annotated[list[Small], Field(min_length=1, max_length=BN_COLS)] = Field(description="learned scale, per channel")
    beta: Annotated[list[Small], Field(min_length=1, max_length=BN_COLS)] = Field(description="learned shift, per channel")
    running_mean: Annotated[list[Small], Field(min_length=1, max_length=BN_COLS)] = Field(
        description="estimated mean, per channel")
    running_var: Annotated[list[Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]],
                           Field(min_length=1, max_length=BN_COLS)] = Field(description="estimated variance, per channel")
    training: bool = Field(True, description="true: the batch's statistics (and the running ones move); false: the running ones")
    dout: Annotated[list[Annotated[list[Small], Field(min_length=1, max_length=BN_COLS)]],
                    Field(min_length=1, max_length=BN_ROWS)] | None = Field(
        None, description="the upstream gradient dL/dy, x's shape (default: ones)")


@router.get("/batchnorm")
def batchnorm_example() -> dict:
    """The BatchNorm lesson's example (the page starts from it) and the limits of ``POST``."""
    return {**regularise.BATCHNORM_EXAMPLE, "max_rows": BN_ROWS, "max_channels": BN_COLS, "limit": LIMIT}


@router.post("/batchnorm")
def batchnorm(req: BatchNormIn) -> dict:
    """Batch normalisation of an ``(N, C)`` mini-batch by the engine, forward and backward.

    Training: each channel is normalised with the batch's own mean and (biased) variance and
    the running estimates move toward them, ``running = 0.9 * running + 0.1 * batch`` (ONNX
    momentum 0.9); inference: the running estimates are used and nothing moves. ``dgamma``
    and ``dbeta`` are the gradients of the learned parameters; the running statistics get
    none (they are estimated, not learned). A one-example batch cannot be normalised in
    training mode (its variance is 0): 422.
    """
    momentum, epsilon = regularise.BN_MOMENTUM, regularise.BN_EPSILON
    try:
        r = regularise.batchnorm_lesson(req.x, req.gamma, req.beta, req.running_mean, req.running_var,
                                        training=req.training, dout=req.dout, momentum=momentum,
                                        epsilon=epsilon)
    except ValueError as exc:
        raise ApiError(422, _bn_message(str(exc))) from exc
    return {"x": req.x, "momentum": momentum, "epsilon": epsilon, **r.__dict__}


def _bn_message(text: str) -> str:
    if "more than one value per channel" in text:
        return ("Training-mode BatchNorm needs at least 2 examples in the batch: one example's "
                "variance is 0, so it cannot be normalised by its batch. Add a row, or switch to "
                "inference, which uses the running estimates.")
    return text
