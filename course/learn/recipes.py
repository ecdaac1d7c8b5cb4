"""The networks a student can train live, their data sets and every option with its bounds.

A :class:`Config` is one run's choices, validated against :data:`OPTIONS` (the table
``GET /api/learn/recipes`` can serve as it is, with :func:`catalogue`). :func:`layers`
turns a config into a flat list of :class:`Layer` steps that :mod:`course.learn.network`
runs on the engine's ops; the same list drives the ONNX export and the generated code,
so the three never disagree about the architecture.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from engine import registry

__all__ = [
    "DATASETS",
    "OPTIONS",
    "RECIPES",
    "Config",
    "Dataset",
    "Layer",
    "Recipe",
    "catalogue",
    "layers",
    "param_count",
]


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    shape: tuple[int, int, int]  # (C, H, W)
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, of pixel / 255
    std: tuple[float, ...]

    def preprocessing(self) -> dict[str, Any]:
        """How raw pixels become the network's (and the ONNX model's) float32 input."""
        return {
            "input": f"float32 N x {self.shape[0]} x {self.shape[1]} x {self.shape[2]} (NCHW)",
            "formula": "x[n, c, y, x] = (pixel / 255 - mean[c]) / std[c]",
            "scale": 1 / 255,
            "mean": list(self.mean),
            "std": list(self.std),
        }


DATASETS: dict[str, Dataset] = {
    "mnist": Dataset("mnist", "MNIST digits", (1, 28, 28), tuple("0123456789"),
                     (0.1307,), (0.3081,)),
    "cifar10": Dataset(
        "cifar10", "CIFAR-10", (3, 32, 32),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
         "truck"),
        (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
    ),
}


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    dataset: str  # the one it was designed for (any data set works: shapes follow the input)
    note: str
    defaults: tuple[tuple[str, Any], ...] = ()  # option overrides for this recipe


RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in (
        Recipe("keras-mlp", "Keras MLP (the course's example)", "mnist",
               "Flatten, Dense 512 ReLU, Dropout 0.2, Dense 10 softmax; Adam.",
               (("dropout", 0.2),)),
        Recipe("convnetjs", "ConvNetJS MNIST demo", "mnist",
               "conv 8@5x5 pad 2, ReLU, max pool 2; conv 16@5x5 pad 2, ReLU, max pool 3; "
               "dense 10.", (("optimizer", "sgd"), ("learning_rate", 0.01),
                             ("batch_size", 20))),
        Recipe("lenet5", "LeNet-5", "mnist",
               "conv 6@5x5 pad 2, pool 2; conv 16@5x5, pool 2; dense 120, 84, 10."),
        Recipe("cifar-cnn", "Small CIFAR-10 CNN", "cifar10",
               "three conv 3x3 pad 1 + max pool 2 stages (16, 32, 64 filters); dense 64, 10.",
               (("augment", "flip"),)),
    )
}

#: Every option: kind, default, bounds or choices, one line of help. The API validates
#: requests with these and serves them; ``Config.make`` applies the same checks.
OPTIONS: dict[str, dict[str, Any]] = {
    "recipe": {"kind": "choice", "default": "lenet5", "choices": list(RECIPES),
               "help": "the network"},
    "dataset": {"kind": "choice", "default": None, "choices": list(DATASETS),
                "help": "default: the recipe's own"},
    "optimizer": {"kind": "choice", "default": "adam", "choices": ["sgd", "momentum", "adam"],
                  "help": "momentum 0.9; Adam beta1 0.9, beta2 0.999, eps 1e-8"},
    "learning_rate": {"kind": "float", "default": 1e-3, "min": 1e-6, "max": 1.0,
                      "help": "step size"},
    "batch_size": {"kind": "int", "default": 64, "min": 1, "max": 128,
                   "help": "images per step"},
    "l2": {"kind": "float", "default": 0.0, "min": 0.0, "max": 0.1,
           "help": "weight decay: adds l2 * w to each weight's gradient (not biases)"},
    "dropout": {"kind": "float", "default": 0.0, "min": 0.0, "max": 0.8,
                "help": "dropout rate before the classifier's dense layers; 0 = off"},
    "activation": {"kind": "choice", "default": "relu", "choices": list(registry.ACTIVATIONS),
                   "help": "the hidden layers' activation (engine/registry.py)"},
    "batchnorm": {"kind": "bool", "default": False,
                  "help": "batch normalisation after each conv (and hidden dense) layer"},
    "residual": {"kind": "bool", "default": False,
                 "help": "a residual block (two 3x3 convs + skip) after the first pool; "
                         "conv recipes only"},
    "augment": {"kind": "choice", "default": "none",
                "choices": ["none", "shift", "flip", "shift+flip"],
                "help": "random shifts of up to 2 pixels and/or horizontal flips"},
    "seed": {"kind": "int", "default": 0, "min": 0, "max": 2**31 - 1,
             "help": "same seed, same start and same steps: the same numbers, bit for bit"},
    "log_every": {"kind": "int", "default": 10, "min": 1, "max": 1000,
                  "help": "steps per point of the loss and training-accuracy curves"},
    "eval_every": {"kind": "int", "default": 100, "min": 1, "max": 100_000,
                   "help": "steps between validation-accuracy points"},
    "val_size": {"kind": "int", "default": 1000, "min": 10, "max": 2_000,
                 "help": "held-out images scored at each validation point"},
}


@dataclass(frozen=True)
class Config:
    """One run's choices (see :data:`OPTIONS`); build it with :meth:`make`."""

    recipe: str
    dataset: str
    optimizer: str
    learning_rate: float
    batch_size: int
    l2: float
    dropout: float
    activation: str
    batchnorm: bool
    residual: bool
    augment: str
    seed: int
    log_every: int
    eval_every: int
    val_size: int

    @classmethod
    def make(cls, **options: Any) -> Config:
        """Defaults, then the recipe's defaults, then ``options``; ValueError on a bad one."""
        unknown = set(options) - set(OPTIONS)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}; known: {', '.join(OPTIONS)}")
        recipe = options.get("recipe", OPTIONS["recipe"]["default"])
        if recipe not in RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; known: {', '.join(RECIPES)}")
        values = {k: spec["default"] for k, spec in OPTIONS.items()}
        values.update(RECIPES[recipe].defaults)
        values.update(options)
        if values["dataset"] is None:
            values["dataset"] = RECIPES[recipe].dataset
        for name, spec in OPTIONS.items():
            values[name] = _check(name, spec, values[name])
        if values["residual"] and recipe == "keras-mlp":
            raise ValueError("residual needs a conv recipe; keras-mlp has no conv layer")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Config:
        names = {f.name for f in fields(cls)}
        return cls.make(**{k: v for k, v in data.items() if k in names})


def _check(name: str, spec: dict[str, Any], value: Any) -> Any:
    kind = spec["kind"]
    if kind == "choice":
        if value not in spec["choices"]:
            raise ValueError(f"{name} must be one of {spec['choices']}, got {value!r}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, got {value!r}")
    if kind == "int":
        if int(value) != value:
            raise ValueError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if not spec["min"] <= value <= spec["max"]:
        raise ValueError(f"{name} must be in [{spec['min']}, {spec['max']}], got {value!r}")
    return value


@dataclass(frozen=True)
class Layer:
    """One step of a network: ``kind`` in conv, bn, act, pool, flatten, dropout, dense,
    residual (two 3x3 convs, each optionally batch-normalised, plus the identity)."""

    kind: str
    name: str = ""
    units: int = 0  # conv filters, dense outputs, residual channels
    kernel: int = 0  # conv / pool kernel (square)
    pad: int = 0
    rate: float = 0.0  # dropout
    bn: bool = False  # residual: batch norm inside the block


def layers(config: Config) -> list[Layer]:
    """The network of ``config`` as a flat list (hidden activations are ``config.activation``)."""
    bn, act, drop = config.batchnorm, Layer("act"), config.dropout

    def conv(name: str, filters: int, kernel: int, pad: int) -> list[Layer]:
        out = [Layer("conv", name, filters, kernel, pad)]
        return out + ([Layer("bn", "bn" + name[4:])] if bn else []) + [act]

    def dense(name: str, units: int) -> list[Layer]:
        out = [Layer("dense", name, units)]
        return out + ([Layer("bn", "bn_" + name)] if bn else []) + [act]

    def dropout() -> list[Layer]:
        return [Layer("dropout", rate=drop)] if drop > 0 else []

    def residual(channels: int) -> list[Layer]:
        return [Layer("residual", "res1", channels, 3, 1, bn=bn)] if config.residual else []

    r = config.recipe
    if r == "keras-mlp":
        return [Layer("flatten"), *dense("fc1", 512), *dropout(), Layer("dense", "fc2", 10)]
    if r == "convnetjs":
        return [*conv("conv1", 8, 5, 2), Layer("pool", kernel=2), *residual(8),
                *conv("conv2", 16, 5, 2), Layer("pool", kernel=3), Layer("flatten"),
                *dropout(), Layer("dense", "fc1", 10)]
    if r == "lenet5":
        return [*conv("conv1", 6, 5, 2), Layer("pool", kernel=2), *residual(6),
                *conv("conv2", 16, 5, 0), Layer("pool", kernel=2), Layer("flatten"),
                *dense("fc1", 120), *dropout(), *dense("fc2", 84), *dropout(),
                Layer("dense", "fc3", 10)]
    if r == "cifar-cnn":
        return [*conv("conv1", 16, 3, 1), Layer("pool", kernel=2), *residual(16),
                *conv("conv2", 32, 3, 1), Layer("pool", kernel=2),
                *conv("conv3", 64, 3, 1), Layer("pool", kernel=2), Layer("flatten"),
                *dense("fc1", 64), *dropout(), Layer("dense", "fc2", 10)]
    raise ValueError(f"unknown recipe {r!r}")


def param_count(config: Config) -> int:
    """Learnable parameters (weights, biases, batch-norm gamma and beta) of ``config``."""
    from course.learn.network import param_shapes  # the one place shapes are worked out

    return sum(math.prod(s) for s in param_shapes(config)[0].values())


def catalogue() -> dict[str, Any]:
    """Networks (with their default parameter counts), data sets and options with bounds."""
    return {
        "recipes": [
            {"name": r.name, "title": r.title, "dataset": r.dataset, "note": r.note,
             "defaults": dict(r.defaults),
             "params": param_count(Config.make(recipe=r.name))}
            for r in RECIPES.values()
        ],
        "datasets": [
            {"name": d.name, "title": d.title, "shape": list(d.shape), "classes": list(d.classes),
             "preprocessing": d.preprocessing()}
            for d in DATASETS.values()
        ],
        "options": OPTIONS,
    }
