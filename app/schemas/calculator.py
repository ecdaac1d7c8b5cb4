"""Request bodies of ``/api/calculator``: a quiz exercise and its answer, the layer chain, and
one layer of each kind of convolution.

The exercise is sent back with its answer (the server keeps nothing), so its bounds are
checked again on the way in.

The kernel's size is ``kernel_size`` everywhere in the API. The old name ``kernel`` (of the
chain's conv and pool layers and of the quiz exercise) is still accepted for one release:
:class:`KernelSizeNamed` renames it on the way in and remembers it, and the router answers
with a ``Deprecation`` header and a ``warnings`` entry (see :data:`KERNEL_DEPRECATION`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, model_validator

from app.schemas import Strict

__all__ = [
    "KERNEL_DEPRECATED_ON", "KERNEL_DEPRECATION", "ChainIn", "CheckIn", "ConvLayer", "DenseLayer", "Exercise", "FlattenLayer",
    "KindIn", "KernelSizeNamed", "Layer", "PoolLayer", "QuizKind", "ReluLayer",
]

QuizKind = Literal["output_size", "params", "activations"]

#: When ``kernel`` (and /api/filters' ``size``) became deprecated names of ``kernel_size``:
#: the Deprecation header's date.
KERNEL_DEPRECATED_ON = datetime(2026, 12, 2, tzinfo=UTC)

KERNEL_DEPRECATION = (
    "The field name 'kernel' is deprecated: send 'kernel_size' (the name every other ConvLab "
    "endpoint uses). 'kernel' is still accepted in this release and will be refused in the next."
)
_OLD_NAME = ("Old name of kernel_size, deprecated: accepted for one release with a Deprecation "
             "header and a warning in the answer.")


class KernelSizeNamed(Strict):
    """A body with ``kernel_size`` that also accepts the deprecated ``kernel`` (not both)."""

    _old_name: bool = PrivateAttr(default=False)

    @model_validator(mode="wrap")
    @classmethod
    def _rename_kernel(cls, data: Any, handler):
        old = isinstance(data, dict) and "kernel" in data
        if old:
            if "kernel_size" in data:
                raise ValueError("give the kernel's size once, as kernel_size ('kernel' is its deprecated old name)")
            data = {("kernel_size" if key == "kernel" else key): v for key, v in data.items()}
        model = handler(data)
        model._old_name = old
        return model

    @property
    def used_old_name(self) -> bool:
        """The request said ``kernel`` instead of ``kernel_size``."""
        return self._old_name

    @property
    def kernel(self) -> int:
        """The kernel size under its old name, for code written against it."""
        return self.kernel_size  # type: ignore[attr-defined, no-any-return]


class Exercise(KernelSizeNamed):
    kind: QuizKind
    input_size: Annotated[int, Field(ge=1, le=512)]
    kernel_size: Annotated[int, Field(ge=1, le=15, description=f"F. {_OLD_NAME}")]
    stride: Annotated[int, Field(ge=1, le=8)]
    padding: Annotated[int, Field(ge=0, le=10)]
    in_channels: Annotated[int, Field(ge=1, le=1024)]
    filters: Annotated[int, Field(ge=1, le=1024)]


class CheckIn(Strict):
    exercise: Exercise
    answer: Annotated[int, Field(ge=0, le=10**15)]


class ConvLayer(KernelSizeNamed):
    type: Literal["conv"]
    filters: Annotated[int, Field(ge=1, le=2048)]
    kernel_size: Annotated[int, Field(ge=1, le=32, description=f"F ('kernel': {_OLD_NAME})")]
    stride: Annotated[int, Field(ge=1, le=16)] = 1
    padding: Annotated[int, Field(ge=0, le=32)] = 0
    dilation: Annotated[int, Field(ge=1, le=8)] = 1


class PoolLayer(KernelSizeNamed):
    type: Literal["pool"]
    mode: Literal["max", "avg"] = "max"
    kernel_size: Annotated[int, Field(ge=1, le=32, description=f"F ('kernel': {_OLD_NAME})")] = 2
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



KindName = Literal["standard", "pointwise", "bottleneck", "grouped", "depthwise", "separable",
                   "transposed", "conv1d"]
Side = Annotated[int, Field(ge=1, le=4096)]


class KindIn(Strict):
    """One layer of a kind of convolution (``engine.explain.convkinds``)."""

    kind: KindName
    input_size: Annotated[list[Side], Field(min_length=1, max_length=2,
                                            description="[H, W], or [L] for conv1d")]
    in_channels: Annotated[int, Field(ge=1, le=8192)]
    filters: Annotated[int, Field(ge=1, le=8192, description="output channels K")]
    kernel_size: Annotated[int, Field(ge=1, le=64, description="F (pointwise: always 1)")] = 3
    stride: Annotated[int, Field(ge=1, le=64)] = 1
    padding: Annotated[int, Field(ge=0, le=64)] = 0
    dilation: Annotated[int, Field(ge=1, le=16)] = 1
    groups: Annotated[int, Field(ge=1, le=8192, description="grouped only")] = 1
    output_padding: Annotated[int, Field(ge=0, le=63, description="transposed only")] = 0
    bottleneck: Annotated[int, Field(ge=1, le=8192, description="the 1x1's channels (bottleneck only)")] = 16
