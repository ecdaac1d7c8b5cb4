"""Request bodies of ``/api/train``: the playground's data, network, hyper-parameters and
state; the backprop walk-through's parameters; the ReLU / ResNet comparison.

Names come from the tables that define them: data sets and features from
:mod:`course.datasets2d`, activations from :mod:`course.nettrain` (the registry's menu
activations plus ``linear``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from app.schemas import Strict
from app.schemas.choices import OneOf
from course import nettrain
from course.datasets2d import DATASETS, FEATURES

__all__ = [
    "N_POINTS", "BackpropIn", "CompareIn", "DataSpec", "Hyper", "NetworkIn", "StateIn",
    "StepIn", "TinyParams",
]

#: Points in every playground data set (train and test together).
N_POINTS = 500

Dataset = Annotated[str, OneOf(DATASETS)]
Feature = Annotated[str, OneOf(FEATURES)]
Activation = Annotated[str, OneOf(nettrain.ACTIVATIONS)]
Param = Annotated[float, Field(allow_inf_nan=False, ge=-nettrain.MAX_PARAM, le=nettrain.MAX_PARAM)]
Seed = Annotated[int, Field(ge=0, le=999_999)]
Rate = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]


class DataSpec(Strict):
    dataset: Dataset = "circle"
    noise: Annotated[int, Field(ge=0, le=50, description="percent, 0-50")] = 0
    train_ratio: Annotated[int, Field(ge=10, le=90, description="percent of points for training")] = 50
    seed: Seed = 1
    features: Annotated[list[Feature], Field(min_length=1, max_length=7)] = ["x1", "x2"]

    @model_validator(mode="after")
    def _unique(self) -> DataSpec:
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"each feature may be chosen once, got {self.features}")
        return self


class NetworkIn(Strict):
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=8)]], Field(max_length=6)] = [4, 2]
    activation: Activation = "tanh"
    weights: Annotated[
        list[Annotated[list[Annotated[list[Param], Field(max_length=8)]], Field(max_length=8)]],
        Field(max_length=7),
    ] | None = Field(default=None, description="per layer (out, in); null: initialise from the data seed")
    biases: Annotated[list[Annotated[list[Param], Field(max_length=8)]], Field(max_length=7)] | None = None


class Hyper(Strict):
    learning_rate: Rate = 0.03
    batch_size: Annotated[int, Field(ge=1, le=100)] = 10
    regularization: Literal["none", "l1", "l2"] = "none"
    reg_rate: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.0


class StateIn(Strict):
    epoch: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    cursor: Annotated[int, Field(ge=0, le=N_POINTS)] = 0
    step: Annotated[int, Field(ge=0, le=1_000_000_000)] = 0


class StepIn(Strict):
    data: DataSpec = DataSpec()
    network: NetworkIn = NetworkIn()
    hyper: Hyper = Hyper()
    steps: Annotated[int, Field(ge=0, le=50, description="0 evaluates without training")] = 1
    state: StateIn = StateIn()


Small = Annotated[float, Field(allow_inf_nan=False, ge=-100, le=100)]


class TinyParams(Strict):
    """Defaults: Matt Mazur's worked example (his first output neuron)."""

    w1: Small = 0.15
    w2: Small = 0.20
    w3: Small = 0.25
    w4: Small = 0.30
    w5: Small = 0.40
    w6: Small = 0.45
    b1: Small = 0.35
    b2: Small = 0.35
    b3: Small = 0.60


class BackpropIn(Strict):
    x1: Small = 0.05
    x2: Small = 0.10
    target: Annotated[float, Field(allow_inf_nan=False, ge=0, le=1)] = 0.01
    params: TinyParams = TinyParams()
    learning_rate: Rate = 0.5


class CompareIn(Strict):
    kind: Literal["activation", "depth"] = "activation"
    dataset: Dataset = "circle"
    noise: Annotated[int, Field(ge=0, le=50)] = 0
    seed: Seed = 4
    steps: Annotated[int, Field(ge=10, le=500)] = 300
    learning_rate: Annotated[float, Field(ge=0.001, le=1, allow_inf_nan=False)] = 0.1
