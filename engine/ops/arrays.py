"""Array helpers every op shares: attribute and shape checks, the common float dtype, padding.

Not arithmetic a page shows (that is :mod:`engine.ops.shapes`): these turn ONNX
attributes into checked int tuples, refuse arrays that do not fit an op with the shapes
in the message, and pad ``(N, C, H, W)`` arrays the way the vectorised ops need.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["attr_tuples", "check_conv_shapes", "checked_dout", "float_dtype", "pad_hw", "pad_pair",
           "window_attrs"]

Attr = tuple[str, Sequence[int], int] | tuple[str, Sequence[int], int, int]


def attr_tuples(*attrs: Attr, of: str = "") -> list[tuple[int, ...]]:
    """Check each ``(name, value, length[, low])`` and return the values as tuples.

    ``value`` must have ``length`` entries; with ``low`` given, each must also be an
    integer >= ``low`` and comes back as an ``int``. The first that fails raises
    ``ValueError`` naming it and its value, e.g. ``pads must have 4 values (integers >= 0),
    got (1, 1)``; ``of`` follows the name (``" of a 1-D convolution"``).
    """
    checked = []
    for name, value, length, *low in attrs:
        value = tuple(value)
        if len(value) != length or (low and any(int(v) != v or v < low[0] for v in value)):
            need = f"{length} value{'s' if length != 1 else ''}"
            need += f" (integers >= {low[0]})" if low else ""
            raise ValueError(f"{name}{of} must have {need}, got {value!r}")
        checked.append(tuple(int(v) for v in value) if low else value)
    return checked


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
    kernel, stride, pad, dilation = attr_tuples(
        ("kernel_shape", kernel_shape, 2, 1),
        ("strides", (1, 1) if strides is None else strides, 2, 1),
        ("pads", pads, 4, 0),
        ("dilations", dilations, 2, 1),
    )
    return kernel, stride, pad, dilation  # type: ignore[return-value]


def pad_pair(pad: int | Sequence[int]) -> tuple[int, int]:
    """One axis's padding as ``(begin, end)``: an int pads both sides alike."""
    if isinstance(pad, int):
        return pad, pad
    pad = tuple(pad)
    if len(pad) != 2:
        raise ValueError(f"pad must be an int or a (begin, end) pair, got {pad!r}")
    return int(pad[0]), int(pad[1])


def check_conv_shapes(
    op: str,
    x_shape: Sequence[int],
    w_shape: Sequence[int],
    b_shape: Sequence[int] | None,
    group: int,
    *,
    layouts: tuple[str, str],
    transposed: bool = False,
) -> int:
    """Refuse a convolution's arrays unless they fit together; return its output channels.

    ``layouts`` names the axes of ``x`` and ``w`` for the message (``("(N, C, H, W)",
    "(F, C/group, KH, KW)")``); their ranks are what ``x`` and ``w`` must have. A
    convolution's ``w`` is ``(F, C / group, ...)`` and it gives ``F`` channels; a
    transposed one's is ``(C, M / group, ...)`` (input channels first, as ONNX) and it
    gives ``M``. Each mismatch raises ``ValueError`` with the shapes in it.
    """
    x_shape, w_shape = tuple(x_shape), tuple(w_shape)
    x_axes, w_axes = layouts
    if len(x_shape) != x_axes.count(",") + 1 or len(w_shape) != w_axes.count(",") + 1:
        raise ValueError(f"{op} expects x {x_axes} and w {w_axes}, got x {x_shape} and w {w_shape}")
    c = x_shape[1]
    if transposed:
        out = w_shape[1] * group
        if group < 1 or c % group or w_shape[0] != c:
            raise ValueError(
                f"x {x_shape} has {c} channels but w {w_shape} has {w_shape[0]} input channels "
                f"(group={group}: the channels must match and divide by the group)"
            )
    else:
        out, cg = w_shape[0], w_shape[1]
        if group < 1 or c % group or out % group or cg * group != c:
            raise ValueError(
                f"x {x_shape} has {c} channels but w {w_shape} expects {cg} per group x group={group}"
                " (channels and filters must both divide by group)"
            )
    if b_shape is not None and tuple(b_shape) != (out,):
        raise ValueError(f"bias must have shape ({out},) for w {w_shape} and group={group}, "
                         f"got {tuple(b_shape)}")
    return out


def checked_dout(dout: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """``dout`` as an array, or ``ValueError`` unless it has the forward output's ``shape``."""
    dout = np.asarray(dout)
    if dout.shape != tuple(shape):
        raise ValueError(f"dout must have the output shape {tuple(shape)}, got {dout.shape}")
    return dout


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
