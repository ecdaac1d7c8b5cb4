"""Backward (vector-Jacobian products) of the shape and layout ops: ``Flatten``,
``Reshape``, ``Transpose``, ``Concat``, ``Pad``, ``Identity``, ``Dropout`` (inference)
and ``Constant``.

These ops only move, copy or select values, so each gradient is the upstream gradient
moved back: reshaped, transposed by the inverse permutation, split, or (``Pad``) summed
over every output cell that copies an input cell.
"""

from __future__ import annotations

import numpy as np

from engine.graph.ops_common import axis_index
from engine.graph.ops_tensor import pad

__all__ = ["concat_vjp", "constant_vjp", "identity_vjp", "pad_vjp", "reshape_vjp",
           "transpose_vjp"]


def reshape_vjp(node, ins, outs, douts, opset, need=None):
    """``Flatten``, ``Reshape``, ``Identity``, ``Dropout`` (inference): ``dx = g`` in
    ``x``'s shape; the shape input (and Dropout's ratio and mode) get none."""
    return (douts[0].reshape(ins[0].shape),) + (None,) * (len(ins) - 1)


identity_vjp = reshape_vjp


def transpose_vjp(node, ins, outs, douts, opset, need=None):
    """``Transpose`` by ``perm``: ``dx = g`` transposed by the inverse permutation."""
    x = ins[0]
    perm = node.attributes.get("perm", list(range(x.ndim))[::-1])
    return (np.ascontiguousarray(douts[0].transpose(np.argsort(perm))),)


def concat_vjp(node, ins, outs, douts, opset, need=None):
    """``Concat`` along ``axis``: each input's gradient is its own slice of ``g``."""
    g = douts[0]
    axis = axis_index(int(node.attributes["axis"]), g.ndim)
    grads: list = []
    start = 0
    for x in ins:
        if x is None:
            grads.append(None)
            continue
        size = x.shape[axis]
        index = [slice(None)] * g.ndim
        index[axis] = slice(start, start + size)
        grads.append(g[tuple(index)])
        start += size
    return tuple(grads)


def pad_vjp(node, ins, outs, douts, opset, need=None):
    """``Pad`` (constant, reflect, edge; negative pads crop): ``dx[k]`` is the sum of ``g``
    over every output cell that is a copy of input cell ``k``.

    Which cell each output copies is found by padding the input's flat indices with the
    forward op itself (the constant fill is -1: no input cell), so the backward follows
    every rule of the forward.
    """
    x, g = ins[0], douts[0]
    index = np.arange(x.size, dtype=np.int64).reshape(x.shape)
    attrs = node.attributes
    rest = list(ins[1:])
    if opset >= 11:
        while len(rest) < 2:
            rest.append(None)
        rest[1] = np.array(-1, dtype=np.int64)  # the constant value
    else:
        attrs = {**attrs, "value": -1}
    source = pad([index, *rest], attrs, opset)[0].reshape(-1)
    copied = source >= 0
    dx = np.bincount(source[copied], weights=g.reshape(-1)[copied], minlength=x.size)
    return (dx.astype(g.dtype, copy=False).reshape(x.shape),) + (None,) * (len(ins) - 1)


def constant_vjp(node, ins, outs, douts, opset, need=None):
    """``Constant``: no inputs, so no gradients."""
    return ()
