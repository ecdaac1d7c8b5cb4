"""Request body of ``POST /api/playground/convolution``: one small example of a kind of
convolution (its numbers drawn from ``seed``) and the output value to trace.

Every size is bounded so an answer stays a few kilobytes and a few milliseconds: inputs of
at most 8 x 8 (16 long in 1-D), 4 channels, 4 filters of at most 5 x 5.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from app.schemas import Strict

__all__ = ["ConvolutionIn", "LayerCheckIn", "Operation"]

Operation = Literal["standard", "pointwise", "grouped", "depthwise", "separable", "transposed", "conv1d"]


class ConvolutionIn(Strict):
    op: Operation = Field(description="the kind of convolution")
    size: Annotated[int, Field(ge=1, le=16, description="input height = width (at most 8), or 1-D length")] = 5
    in_channels: Annotated[int, Field(ge=1, le=4)] = 2
    filters: Annotated[int, Field(ge=1, le=4, description="output channels (depthwise: the input's)")] = 2
    kernel_size: Annotated[int, Field(ge=1, le=5, description="F of an F x F kernel (1x1: always 1)")] = 3
    stride: Annotated[int, Field(ge=1, le=3)] = 1
    padding: Annotated[int, Field(ge=0, le=3)] = 0
    output_padding: Annotated[int, Field(ge=0, le=2, description="transposed only")] = 0
    groups: Annotated[int, Field(ge=1, le=4, description="grouped only")] = 2
    seed: Annotated[int, Field(ge=0, le=2**31 - 1, description="draws the example's numbers")] = 0
    position: Annotated[list[Annotated[int, Field(ge=0, le=64)]], Field(
        min_length=3, max_length=3, description="[channel, row, column] of the output value to trace")] = [0, 0, 0]


class LayerCheckIn(Strict):
    """The playground's layer, checked before it is computed; bounds as ``POST /api/conv``'s."""

    input_size: Annotated[list[Annotated[int, Field(ge=1, le=128)]], Field(min_length=2, max_length=2,
                                                                            description="[H, W]")]
    kernel_size: Annotated[int, Field(ge=1, le=11)]
    stride: Annotated[int, Field(ge=1, le=8)] = 1
    padding: Annotated[int, Field(ge=0, le=10)] | Literal["same"] = 0
    dilation: Annotated[int, Field(ge=1, le=5)] = 1
    in_channels: Annotated[int, Field(ge=1, le=3)] = 1
    filters: Annotated[int, Field(ge=1, le=16)] = 1
