"""The ONNX ops the graph runner executes, each a thin adapter over the engine's own ops.

Every op here is ``op(ins, attrs, opset) -> tuple of outputs``: ``ins`` are the
node's input arrays in ONNX order (``None`` for an omitted optional input),
``attrs`` its attributes as plain Python values (names and meanings exactly as in
the ONNX operator docs), ``opset`` the model's default-domain opset, which decides
where some arguments live (``Pad`` pads and ``Clip`` bounds moved from attributes to
inputs in opset 11; ``Softmax`` stopped flattening to 2-D in opset 13).

Convolution, pooling, activations, ``Flatten``, ``Gemm`` and ``Softmax`` call
:mod:`engine.ops.conv`, :mod:`engine.ops.pool`, :mod:`engine.ops.activations` and
:mod:`engine.ops.dense`; the rest (broadcasting arithmetic, ``Reshape``, ``Concat``...)
are one NumPy call each. Bad arguments raise ``ValueError``; the runner adds the node.
Before anything large is allocated, its size is checked against :data:`MAX_ELEMENTS`
(and a convolution's or matrix product's multiply-adds against :data:`MAX_MACS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from engine.ops.activations import erf
from engine.ops.conv import conv2d_forward
from engine.ops.dense import dense_forward, flatten, softmax_forward
from engine.ops.pool import avgpool2d_forward, global_avgpool_forward, maxpool2d_forward
from engine.ops.shapes import conv_output_shape
from engine.registry import ACTIVATIONS

__all__ = ["MAX_ELEMENTS", "MAX_MACS", "OPS", "check_size"]

MAX_ELEMENTS = 1 << 26
"""Largest tensor (or im2col matrix) an op may allocate: 64 Mi values, 256 MiB of float32."""

MAX_MACS = 1 << 32
"""Most multiply-adds one Conv, Gemm or MatMul may do (about 4.3e9, seconds of work)."""

Op = Callable[[list, dict, int], tuple]


def check_size(shape: Sequence[int], what: str, limit: int = MAX_ELEMENTS) -> None:
    """Raise ``ValueError`` if a tensor of ``shape`` would hold more than ``limit`` values."""
    count = math.prod(int(d) for d in shape)
    if count > limit:
        raise ValueError(
            f"{what} of shape {tuple(shape)} would hold {count:,} values (the limit is {limit:,})"
        )


def _float(x: np.ndarray) -> np.ndarray:
    return x if x.dtype == np.float32 else x.astype(np.float32)


def _ints(x: np.ndarray | None, name: str) -> list[int]:
    if x is None:
        raise ValueError(f"the '{name}' input is required")
    if x.dtype.kind not in "iu":
        raise ValueError(f"the '{name}' input must be integers, got {x.dtype}")
    return [int(v) for v in x.reshape(-1)]


def _scalar(x: np.ndarray | None) -> float | None:
    if x is None:
        return None
    if x.size != 1:
        raise ValueError(f"expected a scalar, got shape {x.shape}")
    return x.reshape(-1)[0].item()


def _axis(axis: int, ndim: int, what: str = "axis") -> int:
    if not -ndim <= axis < ndim:
        raise ValueError(f"{what} {axis} is out of range for a {ndim}-D tensor")
    return axis % ndim


# ------------------------------------------------------------------ windows (Conv, pools)


def _window_pads(x_hw, kernel, strides, dilations, attrs) -> tuple[int, int, int, int]:
    """ONNX ``pads`` for a 2-D window op, resolving ``auto_pad``."""
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        return (0, 0, 0, 0)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begin, end = [], []
        for n, k, s, d in zip(x_hw, kernel, strides, dilations, strict=True):
            out = -(-n // s)  # ceil(n / s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - n)
            small, big = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else big)
            end.append(big if auto_pad == "SAME_UPPER" else small)
        return (begin[0], begin[1], end[0], end[1])
    if auto_pad != "NOTSET":
        raise ValueError(
            f"auto_pad must be NOTSET, SAME_UPPER, SAME_LOWER or VALID, got {auto_pad!r}"
        )
    pads = tuple(attrs.get("pads", (0, 0, 0, 0)))
    if len(pads) != 4:
        raise ValueError(f"only 2-D windows are supported: pads must have 4 entries, got {pads}")
    return pads


def node_window(x: np.ndarray, attrs: dict, kernel=None, *, with_dilations=True):
    """Checked ``(kernel, strides, pads, dilations)`` of a 2-D window op (Conv, pooling) on
    NCHW ``x``, with ``auto_pad`` resolved; also used by the app's trace to find windows."""
    if x.ndim != 4:
        raise ValueError(f"only 2-D (N, C, H, W) inputs are supported, got shape {x.shape}")
    given = attrs.get("kernel_shape")
    if kernel is None:
        if given is None:
            raise ValueError("the kernel_shape attribute is required")
        kernel = given
    elif given is not None and tuple(given) != tuple(kernel):
        raise ValueError(f"kernel_shape {tuple(given)} does not match the weights' {tuple(kernel)}")
    kernel = tuple(int(k) for k in kernel)
    strides = tuple(attrs.get("strides", (1, 1)))
    dilations = tuple(attrs.get("dilations", (1, 1))) if with_dilations else (1, 1)
    if len(kernel) != 2 or len(strides) != 2 or len(dilations) != 2:
        raise ValueError(
            f"only 2-D windows are supported, got kernel {kernel}, "
            f"strides {strides}, dilations {dilations}"
        )
    pads = _window_pads(x.shape[2:], kernel, strides, dilations, attrs)
    if min(pads) < 0:
        raise ValueError(f"pads must be >= 0, got {pads}")
    check_size((x.shape[2] + pads[0] + pads[2], x.shape[3] + pads[1] + pads[3]), "padded input")
    return kernel, strides, pads, dilations


def conv(ins, attrs, opset):
    x, w, b = _float(ins[0]), _float(ins[1]), ins[2] if len(ins) > 2 else None
    if w.ndim != 4:
        raise ValueError(f"only 2-D convolutions are supported, got weights of shape {w.shape}")
    kernel, strides, pads, dilations = node_window(x, attrs, w.shape[2:])
    group = int(attrs.get("group", 1))
    oh, ow = conv_output_shape(x.shape[2:], kernel, strides, pads, dilations)
    n, c = x.shape[:2]
    check_size((n, oh, ow, c, *kernel), "the convolution's im2col matrix")
    check_size((n, w.shape[0], oh, ow, c // max(group, 1), *kernel), "the multiply-adds", MAX_MACS)
    out, _ = conv2d_forward(
        x,
        w,
        None if b is None else _float(b),
        strides=strides,
        pads=pads,
        dilations=dilations,
        group=group,
    )
    return (out,)


def max_pool(ins, attrs, opset):
    x = _float(ins[0])
    kernel, strides, pads, dilations = node_window(x, attrs)
    if int(attrs.get("storage_order", 0)) != 0:
        raise ValueError("MaxPool with storage_order=1 (column-major indices) is not supported")
    out, cache = maxpool2d_forward(
        x,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
        ceil_mode=bool(attrs.get("ceil_mode", 0)),
    )
    return _MaxPoolResults(out, cache)


class _MaxPoolResults:
    """``(Y, Indices)`` where Indices (flat NCHW offsets, as ONNX) is only worked out when a
    node asks for that second output: most models never do, and it costs more than Y."""

    def __init__(self, out, cache):
        self.out, self.cache = out, cache

    def __len__(self) -> int:
        return 2

    def __iter__(self):
        yield self.out
        n, c, h, w = self.cache.x.shape
        plane = (np.arange(n * c, dtype=np.int64).reshape(n, c, 1, 1)) * (h * w)
        yield plane + self.cache.rows * w + self.cache.cols


def average_pool(ins, attrs, opset):
    x = _float(ins[0])
    if any(d != 1 for d in attrs.get("dilations", (1, 1))):
        raise ValueError(
            f"dilated AveragePool is not supported, got dilations {attrs['dilations']}"
        )
    kernel, strides, pads, _ = node_window(x, attrs, with_dilations=False)
    out, _ = avgpool2d_forward(
        x,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        ceil_mode=bool(attrs.get("ceil_mode", 0)),
        count_include_pad=bool(attrs.get("count_include_pad", 0)),
    )
    return (out,)


def global_average_pool(ins, attrs, opset):
    return (global_avgpool_forward(_float(ins[0]))[0],)


def batch_norm(ins, attrs, opset):
    if int(attrs.get("training_mode", 0)):
        raise ValueError("BatchNormalization in training mode is not supported (inference only)")
    x, scale, bias, mean, var = (_float(a) for a in ins[:5])
    if x.ndim < 2:
        raise ValueError(f"BatchNormalization needs an (N, C, ...) input, got shape {x.shape}")
    c = x.shape[1]
    if any(a.shape != (c,) for a in (scale, bias, mean, var)):
        raise ValueError(
            f"scale, B, mean and var must all have shape ({c},), got "
            f"{[a.shape for a in (scale, bias, mean, var)]}"
        )
    eps = np.float32(attrs.get("epsilon", 1e-5))
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    factor = (scale / np.sqrt(var + eps)).reshape(per_channel)  # y = (x - mean) * factor + B
    return ((x - mean.reshape(per_channel)) * factor + bias.reshape(per_channel),)


# ------------------------------------------------------------------ element-wise


def _activation(forward, **names):
    def op(ins, attrs, opset):
        kwargs = {k: attrs.get(k, default) for k, default in names.items()}
        return (forward(_float(ins[0]), **kwargs)[0],)

    return op


def erf_op(ins, attrs, opset):
    return (erf(_float(ins[0])),)


def _binary(fn):
    def op(ins, attrs, opset):
        a, b = ins[0], ins[1]
        check_size(np.broadcast_shapes(a.shape, b.shape), "the broadcast result")
        return (fn(a, b),)

    return op


def _divide(a, b):
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        if np.any(b == 0):
            raise ValueError("integer division by zero")
        return np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))  # truncates toward 0, as C
    return np.divide(a, b)


def identity(ins, attrs, opset):
    return (ins[0],)


def dropout(ins, attrs, opset):
    training = ins[2] if len(ins) > 2 else None
    if training is not None and bool(_scalar(training)):
        raise ValueError("Dropout in training mode is not supported (inference only)")
    x = ins[0]
    return x, np.ones(x.shape, dtype=bool)


def clip(ins, attrs, opset):
    x = ins[0]
    if opset >= 11:
        low = _scalar(ins[1] if len(ins) > 1 else None)
        high = _scalar(ins[2] if len(ins) > 2 else None)
    else:
        low, high = attrs.get("min"), attrs.get("max")
    if low is not None:
        x = np.maximum(x, np.asarray(low, dtype=x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high, dtype=x.dtype))
    return (x,)


# ------------------------------------------------------------------ shape and layout


def flatten_op(ins, attrs, opset):
    return (flatten(ins[0], int(attrs.get("axis", 1))),)


def reshape(ins, attrs, opset):
    x, shape = ins[0], _ints(ins[1], "shape")
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
    x = ins[0]
    perm = attrs.get("perm", list(range(x.ndim))[::-1])
    if sorted(perm) != list(range(x.ndim)):
        raise ValueError(f"perm {perm} is not a permutation of the axes of {x.shape}")
    return (np.ascontiguousarray(x.transpose(perm)),)


def concat(ins, attrs, opset):
    parts = [a for a in ins if a is not None]
    if "axis" not in attrs:
        raise ValueError("the axis attribute is required")
    axis = _axis(int(attrs["axis"]), parts[0].ndim)
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
    x = ins[0]
    mode = attrs.get("mode", "constant")
    if mode not in ("constant", "reflect", "edge"):
        raise ValueError(f"Pad mode must be constant, reflect or edge, got {mode!r}")
    if opset >= 11:
        pads = _ints(ins[1] if len(ins) > 1 else None, "pads")
        value = _scalar(ins[2] if len(ins) > 2 else None) or 0
        axes = _ints(ins[3], "axes") if len(ins) > 3 and ins[3] is not None else range(x.ndim)
    else:
        pads, value, axes = list(attrs.get("pads", ())), attrs.get("value", 0.0), range(x.ndim)
    axes = [_axis(a, x.ndim) for a in axes]
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


# ------------------------------------------------------------------ products and softmax


def gemm(ins, attrs, opset):
    a, b = _float(ins[0]), _float(ins[1])
    c = ins[2] if len(ins) > 2 else None
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"Gemm needs 2-D A and B, got {a.shape} and {b.shape}")
    a = a.T if int(attrs.get("transA", 0)) else a
    w = b if int(attrs.get("transB", 0)) else b.T  # dense_forward wants (out, in)
    check_size((a.shape[0], a.shape[1], w.shape[0]), "the multiply-adds", MAX_MACS)
    y, _ = dense_forward(a, w)  # y = A' B'
    alpha, beta = np.float32(attrs.get("alpha", 1.0)), np.float32(attrs.get("beta", 1.0))
    if alpha != 1:
        y *= alpha
    if c is not None:
        np.broadcast_shapes(c.shape, y.shape)  # C broadcasts to (M, N) (raises if not)
        y = y + beta * _float(c)
    return (y,)


def matmul(ins, attrs, opset):
    a, b = ins[0], ins[1]
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"MatMul needs at least 1-D inputs, got {a.shape} and {b.shape}")
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"MatMul shapes {a.shape} and {b.shape} do not match (inner sizes differ)")
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    check_size((*batch, a2.shape[-2], b2.shape[-1]), "the product")
    check_size((*batch, *a2.shape[-2:], b2.shape[-1]), "the multiply-adds", MAX_MACS)
    return (np.matmul(a, b),)


def softmax(ins, attrs, opset):
    x = _float(ins[0])
    if opset >= 13:
        axis = _axis(int(attrs.get("axis", -1)), x.ndim)
        return (softmax_forward(x, axis=axis)[0],)
    # Before opset 13: flatten to 2-D at `axis` (default 1), softmax each row, reshape back.
    axis = int(attrs.get("axis", 1))
    return (softmax_forward(flatten(x, axis), axis=1)[0].reshape(x.shape),)


def constant(ins, attrs, opset):
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


OPS: dict[str, Op] = {
    "Conv": conv,
    # Relu, LeakyRelu, Sigmoid, Tanh, Gelu, Swish: one line each in engine/registry.py.
    **{a.onnx_op: _activation(a.forward, **a.onnx_attrs)
       for a in ACTIVATIONS.values() if a.onnx_op},
    "Erf": erf_op,
    "MaxPool": max_pool,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool,
    "BatchNormalization": batch_norm,
    "Add": _binary(np.add),
    "Sub": _binary(np.subtract),
    "Mul": _binary(np.multiply),
    "Div": _binary(_divide),
    "Concat": concat,
    "Flatten": flatten_op,
    "Reshape": reshape,
    "Transpose": transpose,
    "Gemm": gemm,
    "MatMul": matmul,
    "Softmax": softmax,
    "Dropout": dropout,
    "Identity": identity,
    "Pad": pad,
    "Clip": clip,
    "Constant": constant,
}
"""Op type -> implementation, for the default ONNX domain."""
