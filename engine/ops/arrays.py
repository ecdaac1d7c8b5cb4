"""Array helpers every op shares: attribute checks, the common float dtype, padding.

Not arithmetic a page shows (that is :mod:`engine.ops.shapes`): these turn ONNX
attributes into checked int tuples and pad ``(N, C, H, W)`` arrays the way the
vectorised ops need.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["float_dtype", "pad_hw", "window_attrs"]


def window_attrs(
    kernel_shape: Sequence[int],
    strides: Sequence[int] | None,
    pads: Sequence[int],
    dilations: Sequence[int],
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int, int, int], tuple[int, int]]:
    """Check 2-D window attributes and return them as int tuples.

    ``strides=None`` means 1 per axis (the ONNX default). Values must be >= 1
    (pads >= 0); lengths must be 2, 2, 4, 2.
    """
    strides = (1, 1) if strides is None else strides
    checked = []
    for name, value, length, low in (
        ("kernel_shape", kernel_shape, 2, 1),
        ("strides", strides, 2, 1),
        ("pads", pads, 4, 0),
        ("dilations", dilations, 2, 1),
    ):
        value = tuple(value)
        if len(value) != length or any(int(v) != v or v < low for v in value):
            raise ValueError(f"{name} must be {length} integers >= {low}, got {value!r}")
        checked.append(tuple(int(v) for v in value))
    kernel, stride, pad, dilation = checked
    return kernel, stride, pad, dilation  # type: ignore[return-value]


def float_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """Common floating dtype of the given arrays (``None`` entries are skipped).

    float32 inputs stay float32, any float64 input makes float64, and integer
    inputs are promoted to float64.
    """
    if len(arrays) == 1 and isinstance(arrays[0], np.ndarray) and arrays[0].dtype.kind == "f":
        return arrays[0].dtype  # the usual call (one float array), without result_type's cost
    dtype = np.result_type(*[a for a in arrays if a is not None])
    return dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)


def pad_hw(x: np.ndarray, pads: Sequence[int], value: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W) padded with ``value`` by ``pads = (top, left, bottom, right)``.

    The same as ``np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)),
    constant_values=value)`` without its per-call overhead (about 60 microseconds, more
    than a small layer's arithmetic); ``x`` itself when every pad is 0.
    """
    top, left, bottom, right = pads
    if not (top or left or bottom or right):
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, top + h + bottom, left + w + right), value, x.dtype)
    xp[:, :, top:top + h, left:left + w] = x
    return xp
