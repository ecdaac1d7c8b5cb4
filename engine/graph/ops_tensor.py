"""Shape and layout ops: ``Flatten``, ``Reshape``, ``Transpose``, ``Concat``, ``Pad``,
and the pass-throughs ``Identity``, ``Dropout`` (inference) and ``Constant``.

Each is one NumPy call after its arguments are checked; sizes are checked against
:data:`~engine.graph.ops_common.MAX_ELEMENTS` before anything large is allocated.
"""

from __future__ import annotations

import math

import numpy as np

from engine.graph.ops_common import axis_index, check_size, int_list, scalar
from engine.ops.dense import flatten

__all__ = ["concat", "constant", "dropout", "flatten_op", "identity", "pad", "reshape",
           "transpose"]


def flatten_op(ins, attrs, opset):
    """ONNX ``Flatten``: :func:`engine.ops.dense.flatten` at ``axis`` (default 1)."""
    return (flatten(ins[0], int(attrs.get("axis", 1))),)


def reshape(ins, attrs, opset):
    """ONNX ``Reshape``: 0 copies a dimension (unless ``allowzero``), -1 is inferred."""
    x, shape = ins[0], int_list(ins[1], "shape")
    allowzero = opset >= 14 and int(attrs.get("allowzero", 0))
    if shape.count(-1) > 1 or any(d < -1 for d in shape):
        raise ValueError(f"shape {shape} may hold at most one -1 and no other negative size")
    if not allowzero:
        if any(d == 0 and i >= x.ndim for i, d in enumerate(shape)):
            raise ValueError(f"shape {shape} copies (0) a dimension that {x.shape} does not have")
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    elif 0 in shape and -1 in shape:
        raise ValueError(f"with allowzero=1, shape {shape} cannot hold both 0 and -1")
    known = math.prod(d for d in shape if d != -1)
    if -1 in shape:
        if known == 0 or x.size % known:
            raise ValueError(f"cannot infer the -1 in {shape} for {x.size} values of {x.shape}")
        shape = [x.size // known if d == -1 else d for d in shape]
    elif known != x.size:
        raise ValueError(f"cannot reshape {x.shape} ({x.size} values) to {tuple(shape)}")
    return (x.reshape(shape),)


def transpose(ins, attrs, opset):
    """ONNX ``Transpose`` by ``perm`` (default: reverse the axes), as a contiguous copy."""
    x = ins[0]
    perm = attrs.get("perm", list(range(x.ndim))[::-1])
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"perm {perm} is not a permutation of the axes of {x.shape}")
    return (np.ascontiguousarray(x.transpose(perm)),)


def concat(ins, attrs, opset):
    """ONNX ``Concat`` along ``axis``."""
    parts = [a for a in ins if a is not None]
    if "axis" not in attrs:
        raise ValueError("the axis attribute is required")
    axis = axis_index(int(attrs["axis"]), parts[0].ndim)
    shapes = [a.shape for a in parts]
    if any(
        len(s) != len(shapes[0])
        or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :]
        for s in shapes
    ):
        raise ValueError(f"inputs of shapes {shapes} differ off the concat axis {axis}")
    check_size((sum(a.size for a in parts),), "the concatenation")
    return (np.concatenate(parts, axis=axis),)


def pad(ins, attrs, opset):
    """ONNX ``Pad`` (constant, reflect or edge); negative pads crop."""
    x = ins[0]
    mode = attrs.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge"):
        raise ValueError(f"Pad mode must be constant, reflect or edge, got {mode!r}")
    if opset >= 11:
        pads = int_list(ins[1] if len(ins) > 1 else None, "pads")
        value = scalar(ins[2] if len(ins) > 2 else None) or 0
        axes = int_list(ins[3], "axes") if len(ins) > 3 and ins[3] is not None else range(x.ndim)
    else:
        pads, value, axes = list(attrs.get("pads", ())), attrs.get("value", 0.0), range(x.ndim)
    axes = [axis_index(a, x.ndim) for a in axes]
    if len(pads) != 2 * len(axes):
        raise ValueError(f"pads {pads} must hold 2 entries per padded axis ({len(axes)} axes)")
    widths = [[0, 0] for _ in range(x.ndim)]
    for i, a in enumerate(axes):
        widths[a] = [pads[i], pads[i + len(axes)]]
    # Negative pads crop: slice first, then pad by what is left.
    crop = tuple(slice(-min(lo, 0), x.shape[a] + min(hi, 0)) for a, (lo, hi) in enumerate(widths))
    x = x[crop]
    if any(s < 0 for s in x.shape):
        raise ValueError(f"pads {pads} crop away more than the whole input")
    widths = [(max(lo, 0), max(hi, 0)) for lo, hi in widths]
    check_size(
        [s + lo + hi for s, (lo, hi) in zip(x.shape, widths, strict=True)], "the padded tensor"
    )
    if mode == "constant":
        return (np.pad(x, widths, constant_values=np.asarray(value, dtype=x.dtype)),)
    if x.size == 0 or (
        mode == "reflect"
        and any((lo or hi) and s < 2 for s, (lo, hi) in zip(x.shape, widths, strict=True))
    ):
        raise ValueError(f"cannot {mode}-pad an axis of size {x.shape}")
    return (np.pad(x, widths, mode=mode),)


def identity(ins, attrs, opset):
    """ONNX ``Identity``: the input itself."""
    return (ins[0],)


def dropout(ins, attrs, opset):
    """ONNX ``Dropout`` at inference: the input and an all-true mask."""
    training = ins[2] if len(ins) > 2 else None
    if training is not None and bool(scalar(training)):
        raise ValueError("Dropout in training mode is not supported (inference only)")
    x = ins[0]
    return x, np.ones(x.shape, dtype=bool)


def constant(ins, attrs, opset):
    """ONNX ``Constant``: its ``value`` tensor or ``value_float(s)`` / ``value_int(s)``."""
    for name, dtype in (
        ("value", None),
        ("value_float", np.float32),
        ("value_floats", np.float32),
        ("value_int", np.int64),
        ("value_ints", np.int64),
    ):
        if name in attrs:
            return (np.asarray(attrs[name], dtype=dtype),)
    raise ValueError(f"Constant needs value, value_float(s) or value_int(s), got {sorted(attrs)}")
