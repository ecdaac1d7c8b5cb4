"""The calculator's quiz and layer chain (the single-layer sums are POST /api/output-size).

The quiz draws course-style exercises from a seed and checks answers with the same
worked formulas as the calculator. The chain walks a student's stack of layers with
``course.architectures`` and writes the stack out as Keras and PyTorch code.
"""

from __future__ import annotations

import random
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from app.layer_math import layer_json, refusal
from app.schemas import Strict
from course import architectures as arch
from engine.explain.layer import explain_layer
from engine.ops import shapes

router = APIRouter(prefix="/api/calculator", tags=["calculator"])

#: Largest integer a browser's numbers hold exactly (2^53 - 1).
JS_SAFE = 2**53 - 1



# --- Quiz ---------------------------------------------------------------------------

QuizKind = Literal["output_size", "params", "activations"]
KINDS: tuple[QuizKind, ...] = ("output_size", "params", "activations")
SIZES = (5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 28, 32, 55, 56, 64, 112, 224, 227)
KERNELS = (1, 2, 3, 3, 3, 5, 5, 7, 11)
STRIDES = (1, 1, 1, 2, 2, 3, 4)
PADS = (0, 0, 1, 1, 2, 3)
CHANNELS = (1, 3, 3, 16, 32, 64, 96, 128, 256)
FILTERS = (4, 6, 8, 10, 16, 32, 64, 96, 128, 256)


class Exercise(Strict):
    kind: QuizKind
    input_size: Annotated[int, Field(ge=1, le=512)]
    kernel: Annotated[int, Field(ge=1, le=15)]
    stride: Annotated[int, Field(ge=1, le=8)]
    padding: Annotated[int, Field(ge=0, le=10)]
    in_channels: Annotated[int, Field(ge=1, le=1024)]
    filters: Annotated[int, Field(ge=1, le=1024)]


def make_exercise(seed: int, kind: QuizKind | None = None) -> Exercise:
    """A course-style exercise whose filter fits its input exactly (the formula gives an integer)."""
    rng = random.Random(seed)
    chosen: QuizKind = kind if kind else rng.choice(KINDS)
    while True:
        n, f, s, p = rng.choice(SIZES), rng.choice(KERNELS), rng.choice(STRIDES), rng.choice(PADS)
        if p < f and f <= n + 2 * p and (n + 2 * p - f) % s == 0:
            break
    return Exercise(kind=chosen, input_size=n, kernel=f, stride=s, padding=p,
                    in_channels=rng.choice(CHANNELS), filters=rng.choice(FILTERS))


def _question(ex: Exercise) -> str:
    layer = (
        f"Input volume {ex.input_size}x{ex.input_size}x{ex.in_channels}. A conv layer with "
        f"{ex.filters} filters of {ex.kernel}x{ex.kernel}, stride {ex.stride}, pad {ex.padding}."
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


class CheckIn(Strict):
    exercise: Exercise
    answer: Annotated[int, Field(ge=0, le=10**15)]


def _layer(ex: Exercise) -> dict:
    n, f, s, p = ex.input_size, ex.kernel, ex.stride, ex.padding
    try:  # an exercise sent back may have been edited into one that cannot be
        layer = explain_layer((n, n), (f, f), (s, s), (p, p, p, p), (1, 1), ex.in_channels, ex.filters)
    except ValueError as exc:
        raise refusal(exc) from exc
    return layer_json(layer)


def _hint(ex: Exercise, d: dict, answer: int) -> str:
    """Name the usual slip when the wrong answer is what that slip would give."""
    n, f, s, p, c, k = (ex.input_size, ex.kernel, ex.stride, ex.padding, ex.in_channels,
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
def check(req: CheckIn) -> dict:
    """Is ``answer`` right? The expected value, the worked formula and a hint for the usual slips."""
    ex = req.exercise
    d = _layer(ex)
    o, k = d["output_size"][0], ex.filters
    if ex.kind == "output_size":
        expected, formula = o, d["formula"]
        explanation = d["explanation"]
    elif ex.kind == "params":
        expected, formula = d["params"]["total"], d["params"]["formula"]
        explanation = (
            f"Each filter has {ex.kernel}*{ex.kernel}*{ex.in_channels} weights (it covers the full "
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
    return {
        "correct": correct,
        "answer": req.answer,
        "expected": expected,
        "formula": formula,
        "explanation": explanation,
        "hint": "" if correct else _hint(ex, d, req.answer),
    }


# --- Layer chain --------------------------------------------------------------------


class ConvLayer(Strict):
    type: Literal["conv"]
    filters: Annotated[int, Field(ge=1, le=2048)]
    kernel: Annotated[int, Field(ge=1, le=32)]
    stride: Annotated[int, Field(ge=1, le=16)] = 1
    padding: Annotated[int, Field(ge=0, le=32)] = 0
    dilation: Annotated[int, Field(ge=1, le=8)] = 1


class PoolLayer(Strict):
    type: Literal["pool"]
    mode: Literal["max", "avg"] = "max"
    kernel: Annotated[int, Field(ge=1, le=32)] = 2
    stride: Annotated[int, Field(ge=1, le=32)] | None = Field(None, description="default: kernel")
    padding: Annotated[int, Field(ge=0, le=16)] = 0


class ReluLayer(Strict):
    type: Literal["relu"]


class FlattenLayer(Strict):
    type: Literal["flatten"]


class DenseLayer(Strict):
    type: Literal["dense"]
    units: Annotated[int, Field(ge=1, le=16384)]


Layer = Annotated[
    ConvLayer | PoolLayer | ReluLayer | FlattenLayer | DenseLayer, Field(discriminator="type")
]
Dim = Annotated[int, Field(ge=1, le=1024)]
Spec = arch.Conv | arch.Pool | arch.Dense | arch.ReLU | arch.Flatten


class ChainIn(Strict):
    input: Annotated[list[Dim], Field(min_length=3, max_length=3, description="[C, H, W]")]
    layers: Annotated[list[Layer], Field(max_length=64)]


def _specs(layers: list) -> list[Spec]:
    counts: dict[str, int] = {}
    specs: list[Spec] = []
    for layer in layers:
        counts[layer.type] = counts.get(layer.type, 0) + 1
        name = f"{'fc' if layer.type == 'dense' else layer.type}{counts[layer.type]}"
        if isinstance(layer, ConvLayer):
            specs.append(arch.Conv(layer.filters, layer.kernel, layer.stride, layer.padding,
                                   layer.dilation, relu=False, name=name))
        elif isinstance(layer, PoolLayer):
            specs.append(arch.Pool(layer.kernel, layer.stride or layer.kernel, layer.padding,
                                   layer.mode, name=name))
        elif isinstance(layer, DenseLayer):
            specs.append(arch.Dense(layer.units, name=name))
        elif isinstance(layer, ReluLayer):
            specs.append(arch.ReLU(name=name))
        else:
            specs.append(arch.Flatten(name=name))
    return specs


@router.post("/chain")
def chain(req: ChainIn) -> dict:
    """Each layer's output shape, parameters, activations and float32 memory, with totals;
    the first layer that cannot work carries the reason. Keras and PyTorch code when all work."""
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
            activations=r.activations, memory_bytes=shapes.float32_bytes(r.activations),
            macs=r.macs, params_formula=r.params_formula, size_formula=r.size_formula,
            note=r.note,
        )
    ok = [r for r in rows if "output_shape" in r]
    out_shape = ok[-1]["output_shape"] if ok else [c, h, w]
    result: dict[str, Any] = {
        "input_shape": [c, h, w],
        "input": {"activations": c * h * w, "memory_bytes": shapes.float32_bytes(c * h * w)},
        "layers": rows,
        "totals": {
            **totals,
            "memory_bytes": shapes.float32_bytes(totals["activations"]),
            "output_shape": out_shape,
            "broken_at": broken_at,
        },
        "keras": None,
        "pytorch": None,
    }
    if broken_at is None:
        result["pytorch"] = pytorch_code((c, h, w), req.layers, rows, totals["params"])
        result["keras"] = keras_code((c, h, w), req.layers, rows)
    return result


def _shape_comment(row: dict) -> str:
    """``  # -> (10, 32, 32)``: the output shape of one sample, as the framework prints it."""
    return f"  # -> {tuple(row['output_shape'])}"


def pytorch_code(shape: tuple[int, int, int], layers: list, rows: list[dict], params: int) -> str:
    """``nn.Sequential`` with in_channels and in_features tracked from the engine's shapes."""
    c, h, w = shape
    lines = ["import torch", "from torch import nn", "", "model = nn.Sequential("]
    channels, features = c, None
    for layer, row in zip(layers, rows, strict=True):
        if isinstance(layer, ConvLayer):
            args = f"{channels}, {layer.filters}, kernel_size={layer.kernel}, stride={layer.stride}"
            args += f", padding={layer.padding}" + (f", dilation={layer.dilation}" if layer.dilation > 1 else "")
            text = f"nn.Conv2d({args}),"
            channels = layer.filters
        elif isinstance(layer, PoolLayer):
            cls = "MaxPool2d" if layer.mode == "max" else "AvgPool2d"
            text = f"nn.{cls}(kernel_size={layer.kernel}, stride={layer.stride or layer.kernel}"
            text += f", padding={layer.padding})," if layer.padding else "),"
        elif isinstance(layer, ReluLayer):
            text = "nn.ReLU(),"
        elif isinstance(layer, FlattenLayer):
            text = "nn.Flatten(),"
            features = row["output_shape"][0]
        else:
            text = f"nn.Linear({features}, {layer.units}),"
            features = layer.units
        lines.append(f"    {text}{_shape_comment(row)}")
    lines += [
        ")",
        "",
        f"x = torch.zeros(1, {c}, {h}, {w})  # a batch of one {c}x{h}x{w} image (N, C, H, W)",
        "print(model(x).shape)",
        f"print(sum(p.numel() for p in model.parameters()))  # {params}",
    ]
    return "\n".join(lines) + "\n"


def _keras_same(n: int, span: int, stride: int) -> tuple[int, int]:
    """The (begin, end) padding Keras's padding="same" uses along one axis."""
    out = -(-n // stride)
    total = max((out - 1) * stride + span - n, 0)
    return total // 2, total - total // 2


def _keras_padding(in_hw: tuple[int, int], span: int, stride: int, p: int) -> str | None:
    """ "valid" or "same" when Keras pads exactly as PyTorch's ``padding=p``; else None."""
    if p == 0:
        return "valid"
    if all(_keras_same(n, span, stride) == (p, p) for n in in_hw):
        return "same"
    return None


def keras_code(shape: tuple[int, int, int], layers: list, rows: list[dict]) -> str:
    """``keras.Sequential`` from ``Input(shape=(H, W, C))``: Keras keeps channels last."""
    c, h, w = shape
    lines = ["import keras", "from keras import layers", "", "model = keras.Sequential(["]
    lines.append(f"    keras.Input(shape=({h}, {w}, {c})),  # Keras keeps channels last: (H, W, C)")
    hw = (h, w)
    for layer, row in zip(layers, rows, strict=True):
        out = row["output_shape"]
        comment = _shape_comment({"output_shape": out[1:] + out[:1] if len(out) == 3 else out})
        if isinstance(layer, ConvLayer):
            s, d, p = layer.stride, layer.dilation, layer.padding
            span = d * (layer.kernel - 1) + 1
            conv_stride = 1 if s > 1 and d > 1 else s  # Keras refuses strides > 1 with dilation
            mode = _keras_padding(hw, span, conv_stride, p)
            if mode is None:
                lines.append(f"    layers.ZeroPadding2D(padding={p}),")
                mode = "valid"
            args = f"{layer.filters}, kernel_size={layer.kernel}, strides={conv_stride}"
            args += f', padding="{mode}"' + (f", dilation_rate={d}" if d > 1 else "")
            if conv_stride != s:
                lines.append(f"    layers.Conv2D({args}),  # Keras refuses strides > 1 with dilation")
                lines.append(f"    layers.Lambda(lambda t: t[:, ::{s}, ::{s}, :]),{comment}"
                             f": positions 0, {s}, {2 * s}, ... = stride {s}")
            else:
                lines.append(f"    layers.Conv2D({args}),{comment}")
        elif isinstance(layer, PoolLayer):
            s, p, k = layer.stride or layer.kernel, layer.padding, layer.kernel
            cls = "MaxPooling2D" if layer.mode == "max" else "AveragePooling2D"
            # Keras's "same" average ignores the padding; PyTorch's counts it as zeros.
            mode = _keras_padding(hw, k, s, p) if layer.mode == "max" or p == 0 else None
            if mode is None and layer.mode == "max":
                pad = f"(0, 0), ({p}, {p}), ({p}, {p}), (0, 0)"
                lines.append(f'    layers.Lambda(lambda t: keras.ops.pad(t, ({pad}), constant_values=float("-inf"))),'
                             "  # max pooling pads with -inf, as PyTorch does")
                mode = "valid"
            elif mode is None:
                lines.append(f"    layers.ZeroPadding2D(padding={p}),  # PyTorch averages the padding zeros in")
                mode = "valid"
            lines.append(f'    layers.{cls}(pool_size={k}, strides={s}, padding="{mode}"),{comment}')
        elif isinstance(layer, ReluLayer):
            lines.append(f"    layers.ReLU(),{comment}")
        elif isinstance(layer, FlattenLayer):
            lines.append(f"    layers.Flatten(),{comment}, flattened in (H, W, C) order")
        else:
            lines.append(f"    layers.Dense({layer.units}),{comment}")
        if len(out) == 3:
            hw = (out[1], out[2])
    lines += ["])", "model.summary()"]
    return "\n".join(lines) + "\n"
