"""One entry per activation and per layer: name -> functions, title, formula, ONNX op.

Everything else reads these tables: the graph runner maps ONNX ops to the engine's
functions from them, the API's request schemas take their allowed names from them, the
training playground its choices, and the pages their menus and labels (``GET
/api/registry`` serves :func:`as_json`). Adding an activation is one entry here plus its
``*_forward`` / ``*_backward`` pair in :mod:`engine.ops.activations` (see
``docs/adding-an-activation.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.ops import activations as act

__all__ = [
    "ACTIVATIONS",
    "LAYERS",
    "Activation",
    "Layer",
    "activation",
    "as_json",
    "by_onnx_op",
    "names",
]


@dataclass(frozen=True)
class Activation:
    """An element-wise activation ``y = f(x)`` with its derivative, as the course shows it."""

    name: str  # the API's and the pages' key: "relu"
    title: str  # "ReLU"
    formula: str  # "max(0, x)", in plain Unicode maths
    derivative: str  # "1 if x > 0, else 0"
    forward: Callable[..., tuple[Any, Any]]  # the engine's (out, cache) protocol
    backward: Callable[..., Any]
    onnx_op: str | None  # the ONNX operator the graph runner maps to ``forward``
    onnx_attrs: Mapping[str, Any] = field(default_factory=dict)  # ONNX attribute -> default
    note: str = ""  # one sentence for a student: where it is used, what it is good for
    range: tuple[float | None, float | None] = (None, None)  # output range, None = unbounded
    lesson: bool = True  # offered in the lessons', playground's and training page's menus
    onnx_since: int = 1  # the ONNX opset that introduced ``onnx_op`` (exports at 17 need it)
    pytorch: str = ""  # the torch.nn module, as exported code writes it
    keras: str = ""  # the Keras ``activation=`` argument (or layer), as exported code writes it


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "relu", "ReLU", "max(0, x)", "1 if x > 0, else 0",
            act.relu_forward, act.relu_backward, "Relu",
            pytorch="nn.ReLU()", keras='"relu"',
            note="The default in modern CNNs (AlexNet onwards): cheap, and its gradient does "
                 "not shrink for positive inputs.",
            range=(0.0, None),
        ),
        Activation(
            "sigmoid", "Sigmoid", "1 / (1 + e^(−x))", "σ(x) · (1 − σ(x))",
            act.sigmoid_forward, act.sigmoid_backward, "Sigmoid",
            pytorch="nn.Sigmoid()", keras='"sigmoid"',
            note="Squashes to (0, 1); its gradient is at most 0.25, so deep stacks of it learn "
                 "slowly (vanishing gradients).",
            range=(0.0, 1.0),
        ),
        Activation(
            "tanh", "tanh", "(e^x − e^(−x)) / (e^x + e^(−x))", "1 − tanh²(x)",
            act.tanh_forward, act.tanh_backward, "Tanh",
            pytorch="nn.Tanh()", keras='"tanh"',
            note="Like sigmoid but centred on 0, in (−1, 1); LeNet-5's era.",
            range=(-1.0, 1.0),
        ),
        Activation(
            "leaky_relu", "Leaky ReLU", "x if x ≥ 0, else α·x (α = 0.01)", "1 if x > 0, else α",
            act.leaky_relu_forward, act.leaky_relu_backward, "LeakyRelu", {"alpha": 0.01},
            pytorch="nn.LeakyReLU(0.01)", keras="layers.LeakyReLU(negative_slope=0.01)",
            note="ReLU with a small slope below zero, so no unit's gradient is ever exactly 0.",
            lesson=False,
        ),
        Activation(
            "gelu", "GELU", "x · ½(1 + erf(x/√2))", "Φ(x) + x·φ(x)",
            act.gelu_forward, act.gelu_backward, "Gelu", {"approximate": "none"},
            onnx_since=20, pytorch="nn.GELU()", keras='"gelu"',
            note="A smooth ReLU used by transformers and ConvNeXt.",
            lesson=False,
        ),
        Activation(
            "swish", "Swish", "x · σ(x)", "σ(x) + x · σ(x) · (1 − σ(x))",
            act.swish_forward, act.swish_backward, "Swish", {"alpha": 1.0},
            onnx_since=24, pytorch="nn.SiLU()", keras='"swish"',
            note="x times its own sigmoid (also called SiLU): smooth, slightly negative below 0; "
                 "used by EfficientNet.",
        ),
    )
}


@dataclass(frozen=True)
class Layer:
    """A layer kind as the course names it."""

    name: str
    title: str
    formula: str
    onnx_ops: tuple[str, ...]
    params: str  # how its learnable parameters are counted


LAYERS: dict[str, Layer] = {
    la.name: la
    for la in (
        Layer("conv", "Convolution",
              "out[k, i, j] = b[k] + Σ_c Σ_u Σ_v w[k, c, u, v] · x[c, i·S + u·D − P, j·S + v·D − P]",
              ("Conv",), "K · (C · F_h · F_w + 1)"),
        Layer("maxpool", "Max pooling", "out[c, i, j] = max over the window of x[c, ...]",
              ("MaxPool",), "0"),
        Layer("avgpool", "Average pooling", "out[c, i, j] = mean over the window of x[c, ...]",
              ("AveragePool", "GlobalAveragePool"), "0"),
        Layer("dense", "Fully connected", "y = W · x + b", ("Gemm", "MatMul"),
              "inputs · outputs + outputs"),
        Layer("flatten", "Flatten", "(C, H, W) → C·H·W values, row by row", ("Flatten", "Reshape"),
              "0"),
        Layer("softmax", "Softmax", "p_i = e^(z_i − max z) / Σ_j e^(z_j − max z)", ("Softmax",),
              "0"),
        Layer("batchnorm", "Batch normalisation", "y = γ · (x − μ) / √(σ² + ε) + β",
              ("BatchNormalization",), "2 · C (γ, β; μ and σ² are statistics)"),
    )
}


def names(*, lesson_only: bool = False) -> tuple[str, ...]:
    """The activations' names, in the registry's order (``lesson_only``: the menus' ones)."""
    return tuple(a.name for a in ACTIVATIONS.values() if a.lesson or not lesson_only)


def activation(name: str) -> Activation:
    """The entry for ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None


def by_onnx_op(op: str) -> Activation | None:
    """The activation the graph runner uses for ONNX operator ``op``, if any."""
    return next((a for a in ACTIVATIONS.values() if a.onnx_op == op), None)


def as_json() -> dict[str, Any]:
    """The tables without their functions, for ``GET /api/registry``."""
    return {
        "activations": [
            {"name": a.name, "title": a.title, "formula": a.formula, "derivative": a.derivative,
             "onnx_op": a.onnx_op, "note": a.note, "range": list(a.range), "lesson": a.lesson}
            for a in ACTIVATIONS.values()
        ],
        "layers": [
            {"name": la.name, "title": la.title, "formula": la.formula,
             "onnx_ops": list(la.onnx_ops), "params": la.params}
            for la in LAYERS.values()
        ],
    }
