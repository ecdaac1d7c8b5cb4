"""The calculator's quiz, layer chain, kinds of convolution and rules (the single-layer sums
are POST /api/output-size).

The quiz draws course-style exercises from a seed and checks answers with the same
worked formulas as the calculator. The chain walks a student's stack of layers with
``course.architectures`` and writes the stack out as Keras and PyTorch code
(:mod:`app.services.chain_code`). ``/kind`` answers one layer of a kind of convolution
after the course (1x1, bottleneck, grouped, depthwise, separable, transposed, 1-D) with its
counts against the standard one (:mod:`engine.explain.convkinds`); ``/rules`` the rules the
page states ("(F-1)/2 keeps the size"). The request bodies are in :mod:`app.schemas.calculator`.

``kernel_size`` is the kernel's name in every body; the old ``kernel`` is accepted for one
release, answered with a ``Deprecation`` header (RFC 9745: the date it was deprecated) and a
``warnings`` list in the JSON.
"""

from __future__ import annotations

import random
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.errors import ApiError
from app.layer_math import layer_json, refusal
from app.schemas.calculator import (
    KERNEL_DEPRECATED_ON,
    KERNEL_DEPRECATION,
    ChainIn,
    CheckIn,
    ConvLayer,
    DenseLayer,
    Exercise,
    KindIn,
    PoolLayer,
    QuizKind,
    ReluLayer,
)
from app.services.chain_code import keras_code, pytorch_code
from course import architectures as arch
from engine.explain.convkinds import KINDS as CONV_KINDS
from engine.explain.convkinds import describe_kind
from engine.explain.formulas import same_padding_rule
from engine.explain.layer import explain_layer
from engine.ops import counts

router = APIRouter(prefix="/api/calculator", tags=["calculator"])

#: Largest integer a browser's numbers hold exactly (2^53 - 1).
JS_SAFE = 2**53 - 1



def _deprecated(response: Response, result: dict, where: list[str]) -> dict:
    """Mark an answer to a request that used the old name ``kernel``: header and warning."""
    if where:
        response.headers["Deprecation"] = f"@{int(KERNEL_DEPRECATED_ON.timestamp())}"
        result["warnings"] = [f"{KERNEL_DEPRECATION} (used in: {', '.join(where)})"]
    return result


# --- Quiz ---------------------------------------------------------------------------

KINDS: tuple[QuizKind, ...] = ("output_size", "params", "activations")
SIZES = (5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 28, 32, 55, 56, 64, 112, 224, 227)
KERNELS = (1, 2, 3, 3, 3, 5, 5, 7, 11)
STRIDES = (1, 1, 1, 2, 2, 3, 4)
PADS = (0, 0, 1, 1, 2, 3)
CHANNELS = (1, 3, 3, 16, 32, 64, 96, 128, 256)
FILTERS = (4, 6, 8, 10, 16, 32, 64, 96, 128, 256)


def make_exercise(seed: int, kind: QuizKind | None = None) -> Exercise:
    """A course-style exercise whose filter fits its input exactly (the formula gives an integer)."""
    rng = random.Random(seed)
    chosen: QuizKind = kind if kind else rng.choice(KINDS)
    while True:
        n, f, s, p = rng.choice(SIZES), rng.choice(KERNELS), rng.choice(STRIDES), rng.choice(PADS)
        if p < f and f <= n + 2 * p and (n + 2 * p - f) % s == 0:
            break
    return Exercise(kind=chosen, input_size=n, kernel_size=f, stride=s, padding=p,
                    in_channels=rng.choice(CHANNELS), filters=rng.choice(FILTERS))


def _question(ex: Exercise) -> str:
    layer = (
        f"Input volume {ex.input_size}x{ex.input_size}x{ex.in_channels}. A conv layer with "
        f"{ex.filters} filters of {ex.kernel_size}x{ex.kernel_size}, stride {ex.stride}, pad {ex.padding}."
    )
    ask = {
        "output_size": "What is the output's width (and height)?",
        "params": "How many parameters (weights + biases) does the layer have?",
        "activations": "How many values does the output volume hold (width x height x depth)?",
    }[ex.kind]
    return f"{layer} {ask}"


@router.get("/quiz")
def quiz(
    seed: Annotated[int | None, Query(ge=0, le=2**31 - 1)] = None,
    kind: QuizKind | None = None,
) -> dict:
    """A random exercise; the same ``seed`` always gives the same exercise."""
    if seed is None:
        seed = secrets.randbelow(2**31)
    ex = make_exercise(seed, kind)
    return {"seed": seed, "exercise": ex.model_dump(), "question": _question(ex)}


def _layer(ex: Exercise) -> dict:
    n, f, s, p = ex.input_size, ex.kernel_size, ex.stride, ex.padding
    try:  # an exercise sent back may have been edited into one that cannot be
        layer = explain_layer((n, n), (f, f), (s, s), (p, p, p, p), (1, 1), ex.in_channels, ex.filters)
    except ValueError as exc:
        raise refusal(exc) from exc
    return layer_json(layer)


def _hint(ex: Exercise, d: dict, answer: int) -> str:
    """Name the usual slip when the wrong answer is what that slip would give."""
    n, f, s, p, c, k = (ex.input_size, ex.kernel_size, ex.stride, ex.padding, ex.in_channels,
                        ex.filters)
    o = d["output_size"][0]
    slips = {
        "output_size": [
            ((n - f + 2 * p) // s, "It looks like the + 1 is missing: the first position counts too."),
            ((n - f) // s + 1, "Did you leave out the padding? It adds 2P: P on each side."),
            ((n - f + p) // s + 1, "Padding goes on both sides: add 2P, not P."),
            (n - f + 2 * p + 1, "Did you forget to divide by the stride?"),
        ],
        "params": [
            (f * f * c * k, f"You counted the weights but not the {k} biases (one per filter)."),
            ((f * f + 1) * k, f"Each filter spans the whole input depth: {f}*{f}*{c} weights, not {f}*{f}."),
            (f * f * c + 1, f"That is one filter; the layer has {k}."),
        ],
        "activations": [
            (o * o, f"That is one activation map; {k} filters give {k} maps."),
            (n * n * c, "That is the input volume; the question asks about the output."),
            (o, "That is the width only: multiply width x height x depth."),
        ],
    }[ex.kind]
    return next((text for value, text in slips if value == answer), "")


@router.post("/check")
def check(req: CheckIn, response: Response) -> dict:
    """Is ``answer`` right? The expected value, the worked formula and a hint for the usual slips.

    The exercise's kernel is ``kernel_size``; ``kernel`` (deprecated) is still accepted, with
    a ``Deprecation`` header and a ``warnings`` entry."""
    ex = req.exercise
    d = _layer(ex)
    o, k = d["output_size"][0], ex.filters
    if ex.kind == "output_size":
        expected, formula = o, d["formula"]
        explanation = d["explanation"]
    elif ex.kind == "params":
        expected, formula = d["params"]["total"], d["params"]["formula"]
        explanation = (
            f"Each filter has {ex.kernel_size}*{ex.kernel_size}*{ex.in_channels} weights (it covers the full "
            f"depth of the input) and 1 bias; the layer has {k} filters."
        )
    else:
        expected = d["activations"]
        formula = f"{o}*{o}*{k} = {expected:,}"
        explanation = (
            f"The output volume is {o}x{o}x{k}: one {o}x{o} activation map per filter. "
            f"In float32 that is {d['memory_bytes']:,} bytes."
        )
    correct = req.answer == expected
    return _deprecated(response, {
        "correct": correct,
        "answer": req.answer,
        "expected": expected,
        "formula": formula,
        "explanation": explanation,
        "hint": "" if correct else _hint(ex, d, req.answer),
    }, ["exercise"] if ex.used_old_name else [])


# --- Layer chain --------------------------------------------------------------------

Spec = arch.Conv | arch.Pool | arch.Dense | arch.ReLU | arch.Flatten


def _specs(layers: list) -> list[Spec]:
    counts: dict[str, int] = {}
    specs: list[Spec] = []
    for layer in layers:
        counts[layer.type] = counts.get(layer.type, 0) + 1
        name = f"{'fc' if layer.type == 'dense' else layer.type}{counts[layer.type]}"
        if isinstance(layer, ConvLayer):
            specs.append(arch.Conv(layer.filters, layer.kernel_size, layer.stride, layer.padding,
                                   layer.dilation, relu=False, name=name))
        elif isinstance(layer, PoolLayer):
            specs.append(arch.Pool(layer.kernel_size, layer.stride or layer.kernel_size, layer.padding,
                                   layer.mode, name=name))
        elif isinstance(layer, DenseLayer):
            specs.append(arch.Dense(layer.units, name=name))
        elif isinstance(layer, ReluLayer):
            specs.append(arch.ReLU(name=name))
        else:
            specs.append(arch.Flatten(name=name))
    return specs


@router.post("/chain")
def chain(req: ChainIn, response: Response) -> dict:
    """Each layer's output shape, parameters, activations and float32 memory, with totals;
    the first layer that cannot work carries the reason. Keras and PyTorch code when all work.

    Conv and pool layers name their kernel ``kernel_size``; ``kernel`` (deprecated) is still
    accepted for one release, answered with a ``Deprecation`` header and a ``warnings`` entry."""
    c, h, w = req.input
    specs = _specs(req.layers)
    steps = arch.chain((c, h, w), specs)
    rows: list[dict] = []
    totals = {"params": 0, "activations": c * h * w, "macs": 0}
    broken_at: int | None = None
    for i, (spec, step) in enumerate(zip(specs, steps, strict=True)):
        row: dict = {"index": i, "type": req.layers[i].type, "name": spec.name, "error": None,
                     "skipped": False}
        rows.append(row)
        if broken_at is not None:
            row["skipped"] = True
            continue
        if step.row is None:
            row["error"], broken_at = step.error, i
            continue
        r = step.row
        after = {key: totals[key] + getattr(r, key) for key in totals}
        if max(r.params, r.macs, *after.values()) > JS_SAFE:
            row["error"], broken_at = (
                "The counts pass 2^53 (about 9 quadrillion) at this layer, more than a browser "
                "can show exactly. Use smaller sizes."
            ), i
            continue
        totals = after
        row.update(
            detail=r.detail, output_shape=list(r.output_shape), params=r.params,
            activations=r.activations, memory_bytes=counts.float32_bytes(r.activations),
            macs=r.macs, params_formula=r.params_formula, size_formula=r.size_formula,
            note=r.note,
        )
    ok = [r for r in rows if "output_shape" in r]
    out_shape = ok[-1]["output_shape"] if ok else [c, h, w]
    result: dict[str, Any] = {
        "input_shape": [c, h, w],
        "input": {"activations": c * h * w, "memory_bytes": counts.float32_bytes(c * h * w)},
        "layers": rows,
        "totals": {
            **totals,
            "memory_bytes": counts.float32_bytes(totals["activations"]),
            "output_shape": out_shape,
            "broken_at": broken_at,
        },
        "keras": None,
        "pytorch": None,
    }
    if broken_at is None:
        result["pytorch"] = pytorch_code((c, h, w), req.layers, rows, totals["params"])
        result["keras"] = keras_code((c, h, w), req.layers, rows)
    old = [f"layer {i + 1}" for i, layer in enumerate(req.layers)
           if isinstance(layer, ConvLayer | PoolLayer) and layer.used_old_name]
    return _deprecated(response, result, old)


# --- Kinds of convolution, and the rules ---------------------------------------------


@router.get("/kinds")
def kinds() -> dict:
    """The kinds ``POST /kind`` takes, with their titles, in the order a page lists them."""
    return {"kinds": [{"name": name, "title": title} for name, title in CONV_KINDS.items()]}


@router.post("/kind")
def kind(req: KindIn) -> dict:
    """One layer of a kind of convolution: output shape with the worked size formula, parameters
    and multiply-adds with theirs, and the standard convolution with the same input, kernel and
    output channels (for ``transposed``: the convolution it transposes) to compare with."""
    try:
        s = describe_kind(req.kind, tuple(req.input_size), req.in_channels, req.filters,
                          req.kernel_size, stride=req.stride, padding=req.padding,
                          dilation=req.dilation, groups=req.groups,
                          output_padding=req.output_padding, bottleneck=req.bottleneck)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    if max(s.params, s.macs, s.standard_params, s.standard_macs, s.activations) > JS_SAFE:
        raise ApiError(422, "The counts pass 2^53 (about 9 quadrillion), more than a browser can show "
                            "exactly. Use smaller sizes.")
    return {
        "kind": s.kind, "title": s.title, "input_shape": list(s.input_shape),
        "output_shape": list(s.output_shape), "size_formula": s.size_formula,
        "params": {"total": s.params, "formula": s.params_formula},
        "macs": {"total": s.macs, "formula": s.macs_formula},
        "activations": s.activations, "memory_bytes": counts.float32_bytes(s.activations),
        "standard": {"params": s.standard_params, "macs": s.standard_macs, "formula": s.standard_formula},
        "savings": s.savings, "explanation": s.explanation,
        "stages": [{"name": st.name, "output_shape": list(st.output_shape), "params": st.params,
                    "params_formula": st.params_formula, "macs": st.macs, "macs_formula": st.macs_formula}
                   for st in s.stages],
    }


@router.get("/rules")
def rules() -> dict:
    """The rules the calculator states beside its numbers: the padding that keeps the size at
    stride 1, with its course values (F = 3, 5, 7)."""
    text, pairs = same_padding_rule()
    return {"same_padding": {"rule": text,
                             "examples": [{"kernel_size": f, "padding": p} for f, p in pairs]}}
