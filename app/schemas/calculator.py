"""Request bodies of ``/api/calculator``: a quiz exercise and its answer, and the layer chain.

The exercise is sent back with its answer (the server keeps nothing), so its bounds are
checked again on the way in.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas import Strict

__all__ = [
    "ChainIn", "CheckIn", "ConvLayer", "DenseLayer", "Exercise", "FlattenLayer", "Layer",
    "PoolLayer", "QuizKind", "ReluLayer",
]

QuizKind = Literal["output_size", "params", "activations"]


class Exercise(Strict):
    kind: QuizKind
    input_size: Annotated[int, Field(ge=1, le=512)]
    kernel: Annotated[int, Field(ge=1, le=15)]
    stride: Annotated[int, Field(ge=1, le=8)]
    padding: Annotated[int, Field(ge=0, le=10)]
    in_channels: Annotated[int, Field(ge=1, le=1024)]
    filters: Annotated[int, Field(ge=1, le=1024)]


class CheckIn(Strict):
    exercise: Exercise
    answer: Annotated[int, Field(ge=0, le=10**15)]


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


class ChainIn(Strict):
    input: Annotated[list[Dim], Field(min_length=3, max_length=3, description="[C, H, W]")]
    layers: Annotated[list[Layer], Field(max_length=64)]

