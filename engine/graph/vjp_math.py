"""Backward (vector-Jacobian products) of the arithmetic ops: activations, ``Erf``,
broadcasting ``Add``/``Sub``/``Mul``/``Div``, ``Clip``, ``BatchNormalization``, ``Gemm``,
``MatMul`` and ``Softmax``.

Every VJP is ``vjp(node, ins, outs, douts, opset, need=None) -> tuple of gradients``,
one per node input (see :mod:`engine.graph.backward`). A broadcast operand's gradient is
summed back to the operand's own shape (:func:`unbroadcast`).
"""

from __future__ import annotations

import math

import numpy as np

from engine.graph.ops_common import axis_index, scalar
from engine.graph.vjp_window import wants
from engine.ops.dense import SoftmaxCache, flatten, softmax_backward

__all__ = ["activation_vjp", "add_vjp", "batch_norm_vjp", "clip_vjp", "div_vjp", "erf_vjp",
           "gemm_vjp", "matmul_vjp", "mul_vjp", "softmax_vjp", "sub_vjp", "unbroadcast"]

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``grad`` (of a broadcast result) summed over the axes NumPy broadcasting added or
    stretched, so it has the operand's ``shape``."""
    if grad.shape == tuple(shape):
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, d in enumerate(shape) if d == 1 and grad.shape[lead + i] != 1)
    return grad.sum(axis=axes).reshape(shape)


def activation_vjp(entry):
    """The VJP of a registry activation: its ``forward`` rebuilds the cache, its ``backward``
    gives ``dx = g * f'(x)``."""

    def vjp(node, ins, outs, douts, opset, need=None):
        kwargs = {k: node.attributes.get(k, d) for k, d in entry.onnx_attrs.items()}
        _, cache = entry.forward(ins[0], **kwargs)
        return (entry.backward(douts[0], cache),)

    vjp.__name__ = vjp.__qualname__ = f"{entry.name}_vjp"
    vjp.__doc__ = f"``{entry.onnx_op}``: ``dx = g * ({entry.derivative})``."
    return vjp


def erf_vjp(node, ins, outs, douts, opset, need=None):
    """``Erf``: ``dx = g * 2/sqrt(pi) * exp(-x^2)``."""
    x = ins[0]
    d = np.exp(-(x * x))
    d *= x.dtype.type(_TWO_OVER_SQRT_PI)
    return (douts[0] * d,)


def add_vjp(node, ins, outs, douts, opset, need=None):
    """``Add``: ``dA = g``, ``dB = g``, each summed to its operand's shape."""
    g = douts[0]
    return tuple(unbroadcast(g, ins[i].shape) if wants(need, i, ins) else None for i in (0, 1))


def sub_vjp(node, ins, outs, douts, opset, need=None):
    """``Sub``: ``dA = g``, ``dB = -g``, each summed to its operand's shape."""
    g = douts[0]
    da = unbroadcast(g, ins[0].shape) if wants(need, 0, ins) else None
    db = unbroadcast(-g, ins[1].shape) if wants(need, 1, ins) else None
    return da, db


def mul_vjp(node, ins, outs, douts, opset, need=None):
    """``Mul``: ``dA = g B``, ``dB = g A``, each summed to its operand's shape."""
    a, b = ins[0], ins[1]
    g = douts[0]
    da = unbroadcast(g * b, a.shape) if wants(need, 0, ins) else None
    db = unbroadcast(g * a, b.shape) if wants(need, 1, ins) else None
    return da, db


def div_vjp(node, ins, outs, douts, opset, need=None):
    """``Div``: ``dA = g / B``, ``dB = -g A / B^2 = -g Y / B``."""
    a, b = ins[0], ins[1]
    g = douts[0]
    da = unbroadcast(g / b, a.shape) if wants(need, 0, ins) else None
    db = unbroadcast(-g * outs[0] / b, b.shape) if wants(need, 1, ins) else None
    return da, db


def clip_vjp(node, ins, outs, douts, opset, need=None):
    """``Clip``: ``dx = g`` where ``min <= x <= max``, 0 where the value was clipped.
    The bounds get no gradient."""
    x = ins[0]
    if opset >= 11:
        low = scalar(ins[1] if len(ins) > 1 else None)
        high = scalar(ins[2] if len(ins) > 2 else None)
    else:
        low, high = node.attributes.get("min"), node.attributes.get("max")
    keep = np.ones(x.shape, dtype=bool)
    if low is not None:
        keep &= x >= low
    if high is not None:
        keep &= x <= high
    g = douts[0]
    return (np.where(keep, g, g.dtype.type(0)),) + (None,) * (len(ins) - 1)


def batch_norm_vjp(node, ins, outs, douts, opset, need=None):
    """``BatchNormalization`` at inference, ``y = (x - mean) * scale / sqrt(var + eps) + B``:
    an affine map per channel, so ``dx = g * scale / sqrt(var + eps)``. The parameters'
    gradients are given only when asked for."""
    x, scale, _, mean, var = ins[:5]
    g = douts[0]
    eps = float(node.attributes.get("epsilon", 1e-5))
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    inv = 1.0 / np.sqrt(var.astype(g.dtype) + g.dtype.type(eps))
    grads: list = [None] * len(ins)
    if wants(need, 0, ins):
        grads[0] = g * (scale * inv).reshape(shape)
    if wants(need, 1, ins) or wants(need, 4, ins):
        gx = (g * (x - mean.reshape(shape))).sum(axis=axes)  # sum g (x - mean), per channel
        if wants(need, 1, ins):
            grads[1] = gx * inv
        if wants(need, 4, ins):
            grads[4] = -0.5 * gx * scale * inv**3
    if wants(need, 2, ins) or wants(need, 3, ins):
        gs = g.sum(axis=axes)
        if wants(need, 2, ins):
            grads[2] = gs
        if wants(need, 3, ins):
            grads[3] = -gs * scale * inv
    return tuple(grads)


def gemm_vjp(node, ins, outs, douts, opset, need=None):
    """``Gemm``, ``Y = alpha A' B' + beta C``: ``dA' = alpha g B'^T``, ``dB' = alpha A'^T g``
    (transposed back where ``transA``/``transB``), ``dC = beta g`` summed to ``C``'s shape."""
    attrs = node.attributes
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    a, b = ins[0], ins[1]
    g = douts[0]
    if alpha != 1:
        g_alpha = g * g.dtype.type(alpha)
    else:
        g_alpha = g
    grads: list = [None] * len(ins)
    if wants(need, 0, ins):  # dA' = g B'^T, with B' = B^T if transB
        da = g_alpha @ (b if trans_b else b.T)
        grads[0] = da.T if trans_a else da
    if wants(need, 1, ins):  # dB' = A'^T g
        db = (a if trans_a else a.T) @ g_alpha
        grads[1] = db.T if trans_b else db
    if wants(need, 2, ins):
        grads[2] = unbroadcast(g * g.dtype.type(beta), ins[2].shape)
    return tuple(grads)


def matmul_vjp(node, ins, outs, douts, opset, need=None):
    """``MatMul`` (NumPy semantics): ``dA = g B^T``, ``dB = A^T g`` over the broadcast batch
    axes, summed back to each operand's shape; a 1-D operand is a row (A) or column (B)
    vector whose added axis is dropped again."""
    a, b = ins[0], ins[1]
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    # g with the axes a 1-D operand dropped put back: (..., M, N)
    batch = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    g = douts[0].reshape(*batch, a2.shape[-2], b2.shape[-1])
    da = db = None
    if wants(need, 0, ins):
        da = g @ np.swapaxes(b2, -1, -2)
        da = unbroadcast(da, a2.shape).reshape(a.shape)
    if wants(need, 1, ins):
        db = np.swapaxes(a2, -1, -2) @ g
        db = unbroadcast(db, b2.shape).reshape(b.shape)
    return da, db


def softmax_vjp(node, ins, outs, douts, opset, need=None):
    """``Softmax``: the vector-Jacobian product ``dx = y * (g - sum(g * y))`` along ``axis``
    from opset 13; before, over the 2-D flattening at ``axis`` (default 1)."""
    y, g = outs[0], douts[0]
    if opset >= 13:
        axis = axis_index(int(node.attributes.get("axis", -1)), y.ndim)
        return (softmax_backward(g, SoftmaxCache(y, axis)),)
    axis = int(node.attributes.get("axis", 1))
    y2 = flatten(y, axis)
    return (softmax_backward(g.reshape(y2.shape), SoftmaxCache(y2, 1)).reshape(y.shape),)
