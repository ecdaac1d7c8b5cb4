"""What every graph op shares: the size limits and the small argument readers.

An op is ``op(ins, attrs, opset) -> tuple of outputs`` (see :mod:`engine.graph.ops`);
one that gains from knowing its attributes and weights ahead of time also has a
*prepare* form, ``prepare(attrs, opset, consts) -> step``, where ``consts`` are the
node's inputs that are weights (``None`` for computed ones, possibly shorter than
the inputs) and ``step(ins) -> tuple of outputs`` is what the compiled plan calls.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "MAX_ELEMENTS",
    "MAX_MACS",
    "Op",
    "Prepare",
    "as_float",
    "axis_index",
    "check_size",
    "const",
    "int_list",
    "op_of",
    "scalar",
]

MAX_ELEMENTS = 1 << 26
"""Largest tensor (or im2col matrix) an op may allocate: 64 Mi values, 256 MiB of float32."""

MAX_MACS = 1 << 32
"""Most multiply-adds one Conv, Gemm or MatMul may do (about 4.3e9, seconds of work)."""

Op = Callable[[list, dict, int], Sequence]
Step = Callable[[list], Sequence]
Prepare = Callable[[dict, int, Sequence], Step]

_F32 = np.dtype(np.float32)


def check_size(shape: Sequence[int], what: str, limit: int = MAX_ELEMENTS) -> None:
    """Raise ``ValueError`` if a tensor of ``shape`` would hold more than ``limit`` values."""
    count = math.prod(int(d) for d in shape)
    if count > limit:
        raise ValueError(
            f"{what} of shape {tuple(shape)} would hold {count:,} values (the limit is {limit:,})"
        )


def as_float(x: np.ndarray) -> np.ndarray:
    """``x`` as float32 (itself when it already is)."""
    return x if x.dtype == _F32 else x.astype(np.float32)


def int_list(x: np.ndarray | None, name: str) -> list[int]:
    """An integer input (shape, pads, axes) as a list of ints."""
    if x is None:
        raise ValueError(f"the '{name}' input is required")
    if x.dtype.kind not in "iu":
        raise ValueError(f"the '{name}' input must be integers, got {x.dtype}")
    return [int(v) for v in x.reshape(-1)]


def scalar(x: np.ndarray | None) -> float | None:
    """A one-value input as a Python number (None when omitted)."""
    if x is None:
        return None
    if x.size != 1:
        raise ValueError(f"expected a scalar, got shape {x.shape}")
    return x.reshape(-1)[0].item()


def axis_index(axis: int, ndim: int, what: str = "axis") -> int:
    """``axis`` in ``[-ndim, ndim)`` as a non-negative index."""
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what} {axis} is out of range for a {ndim}-D tensor")
    return axis % ndim


def const(consts: Sequence, i: int) -> np.ndarray | None:
    """Input ``i`` of a node when it is a weight known ahead of time, else None."""
    return consts[i] if i < len(consts) else None


def op_of(prepare: Prepare) -> Op:
    """The plain ``op(ins, attrs, opset)`` form of a prepared op (nothing known ahead)."""

    def op(ins, attrs, opset):
        return prepare(attrs, opset, ())(ins)

    op.__name__ = op.__qualname__ = prepare.__name__.removeprefix("prepare_")
    op.__doc__ = prepare.__doc__
    return op
