"""Arithmetic ops: activations, ``Erf``, broadcasting ``Add``/``Sub``/``Mul``/``Div``,
``Clip``, ``BatchNormalization``, ``Gemm``, ``MatMul`` and ``Softmax``.

Activations come from :data:`engine.registry.ACTIVATIONS` (see :mod:`engine.graph.ops`);
``Gemm`` is :func:`engine.ops.dense.dense_forward` and ``Softmax``
:func:`engine.ops.dense.softmax_forward`. The prepared forms (see
:mod:`engine.graph.ops_common`) resolve attributes once and check each new pair of
input shapes once: later inputs of shapes already checked skip straight to the maths.
"""

from __future__ import annotations

import numpy as np

from engine.graph.ops_common import (
    MAX_MACS,
    Prepare,
    as_float,
    axis_index,
    check_size,
    const,
    op_of,
    scalar,
)
from engine.ops.activations import erf
from engine.ops.dense import dense_forward, flatten, softmax_forward

__all__ = ["activation", "batch_norm", "binary", "clip", "divide", "erf_op", "gemm", "matmul",
           "prepare_gemm", "softmax"]

_SHAPES = 16  # shape combinations remembered as checked, per node
_F32 = np.dtype(np.float32)


def activation(forward, **names) -> Prepare:
    """The prepared op of an element-wise ``forward(x, **attrs) -> (y, cache)``; ``names``
    are its ONNX attributes with their defaults."""

    def prepare_activation(attrs, opset, consts):
        kwargs = {k: attrs.get(k, default) for k, default in names.items()}

        def step(ins):
            return (forward(as_float(ins[0]), **kwargs)[0],)

        return step

    return prepare_activation


def erf_op(ins, attrs, opset):
    """ONNX ``Erf``: :func:`engine.ops.activations.erf`."""
    return (erf(as_float(ins[0])),)


def binary(fn) -> Prepare:
    """The prepared op of a broadcasting ``fn(a, b)``, its result's size checked."""

    def prepare_binary(attrs, opset, consts):
        checked: set[tuple] = set()

        def step(ins):
            a, b = ins[0], ins[1]
            key = (a.shape, b.shape)
            if key not in checked:
                check_size(np.broadcast_shapes(a.shape, b.shape), "the broadcast result")
                if len(checked) < _SHAPES:
                    checked.add(key)
            return (fn(a, b),)

        return step

    return prepare_binary


def divide(a, b):
    """ONNX ``Div``: true division, or integer division truncated toward 0 (as C)."""
    if a.dtype.kind in "iu" and b.dtype.kind in "iu":
        if np.any(b == 0):
            raise ValueError("integer division by zero")
        return np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))
    return np.divide(a, b)


def clip(ins, attrs, opset):
    """ONNX ``Clip``: bounds are inputs from opset 11, attributes before."""
    x = ins[0]
    if opset >= 11:
        low = scalar(ins[1] if len(ins) > 1 else None)
        high = scalar(ins[2] if len(ins) > 2 else None)
    else:
        low, high = attrs.get("min"), attrs.get("max")
    if low is not None:
        x = np.maximum(x, np.asarray(low, dtype=x.dtype))
    if high is not None:
        x = np.minimum(x, np.asarray(high, dtype=x.dtype))
    return (x,)


def batch_norm(ins, attrs, opset):
    """ONNX ``BatchNormalization`` at inference: ``(x - mean) * scale / sqrt(var + eps) + B``."""
    if int(attrs.get("training_mode", 0)):
        raise ValueError("BatchNormalization in training mode is not supported (inference only)")
    x, scale, bias, mean, var = (as_float(a) for a in ins[:5])
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


def prepare_gemm(attrs, opset, consts):
    """ONNX ``Gemm``: ``alpha * A' B' + beta * C`` with :func:`dense_forward` (``A'`` is ``A``
    or its transpose by ``transA``, ``B'`` likewise by ``transB``)."""
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    alpha, beta = np.float32(attrs.get("alpha", 1.0)), np.float32(attrs.get("beta", 1.0))
    b_const, c_const = const(consts, 1), const(consts, 2)
    w_fixed = None  # B' as dense_forward wants it, (out, in)
    if b_const is not None and b_const.ndim == 2:
        w_fixed = as_float(b_const) if trans_b else as_float(b_const).T
    c_fixed = None if c_const is None else beta * as_float(c_const)
    wt_fixed = None if w_fixed is None else w_fixed.T  # B' transposed back, as the matmul reads it
    checked: dict[tuple, bool] = {}  # shapes -> whether C adds in place

    def gemm(ins):
        a = ins[0]
        if a.dtype is not _F32:
            a = as_float(a)
        if w_fixed is not None and a.ndim == 2:
            w = w_fixed
        else:
            b = as_float(ins[1])
            if a.ndim != 2 or b.ndim != 2:
                raise ValueError(f"Gemm needs 2-D A and B, got {a.shape} and {b.shape}")
            w = b if trans_b else b.T
        a = a.T if trans_a else a
        c = ins[2] if len(ins) > 2 else None
        if c is not None:
            c = c_fixed if c_fixed is not None else beta * as_float(c)
        key = (a.shape, w.shape, None if c is None else c.shape)
        in_place = checked.get(key)
        if in_place is None:
            check_size((a.shape[0], a.shape[1], w.shape[0]), "the multiply-adds", MAX_MACS)
            y, _ = dense_forward(a, w)  # y = A' B' (checks the shapes)
            # C broadcasts to (M, N) (raises if not)
            in_place = c is None or np.broadcast_shapes(c.shape, y.shape) == y.shape
            if len(checked) < _SHAPES:
                checked[key] = in_place
        else:
            y = np.matmul(a, wt_fixed if w is w_fixed else w.T)
        if alpha != 1:
            y *= alpha
        if c is not None:
            if in_place:
                y += c
            else:
                y = y + c
        return (y,)

    return gemm


def matmul(ins, attrs, opset):
    """ONNX ``MatMul``: NumPy's ``matmul`` semantics, sizes checked first."""
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
    """ONNX ``Softmax``: along ``axis`` from opset 13; before, over the 2-D flattening at
    ``axis`` (default 1), reshaped back."""
    x = as_float(ins[0])
    if opset >= 13:
        axis = axis_index(int(attrs.get("axis", -1)), x.ndim)
        return (softmax_forward(x, axis=axis)[0],)
    axis = int(attrs.get("axis", 1))
    return (softmax_forward(flatten(x, axis), axis=1)[0].reshape(x.shape),)


gemm = op_of(prepare_gemm)
