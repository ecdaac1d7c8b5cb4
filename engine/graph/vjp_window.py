"""Backward (vector-Jacobian products) of the window ops: ``Conv``, ``MaxPool``,
``AveragePool``, ``GlobalAveragePool``.

Every VJP is ``vjp(node, ins, outs, douts, opset, need=None) -> tuple of gradients``,
one per node input (see :mod:`engine.graph.backward`). Attributes are resolved exactly
as the forward ops resolve them (:func:`engine.graph.ops_window.node_window`, ``auto_pad``
included), and the arithmetic is the engine's own backward of each op pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.graph.ops_window import node_window
from engine.ops.avgpool import (
    GlobalAvgPoolCache,
    avgpool2d_backward,
    avgpool2d_forward,
    global_avgpool_backward,
)
from engine.ops.conv import ConvCache, conv2d_backward
from engine.ops.conv_input import conv2d_input_grad
from engine.ops.pool import MaxPoolCache, maxpool2d_backward

__all__ = ["average_pool_vjp", "conv_vjp", "global_average_pool_vjp", "max_pool_vjp", "wants"]


def wants(need: Sequence[bool] | None, i: int, ins: Sequence) -> bool:
    """Whether input ``i`` needs a gradient: asked for (all float inputs when ``need`` is
    None), present, and a floating-point array."""
    if i >= len(ins) or ins[i] is None or (need is not None and not need[i]):
        return False
    return np.asarray(ins[i]).dtype.kind == "f"


def conv_vjp(node, ins, outs, douts, opset, need=None):
    """``Conv``: ``dx`` by :func:`conv2d_input_grad` (col2im of ``W^T g``); ``dW`` and ``dB``
    (by :func:`conv2d_backward`) only when asked for, as for weights computed in the graph."""
    x, w = ins[0], ins[1]
    g = douts[0]
    group = int(node.attributes.get("group", 1))
    kernel, strides, pads, dilations = node_window(x, node.attributes, w.shape[2:])
    has_bias = len(ins) > 2 and ins[2] is not None
    if wants(need, 1, ins):
        cache = ConvCache(x, w, has_bias, strides, pads, dilations, group)
        dx, dw, db = conv2d_backward(g, cache)
        return (dx if wants(need, 0, ins) else None, dw,
                db if wants(need, 2, ins) else None)[: len(ins)]
    dx = None
    if wants(need, 0, ins):
        dx = conv2d_input_grad(g, w, x.shape, strides=strides, pads=pads, dilations=dilations,
                               group=group)
    db = g.sum(axis=(0, 2, 3)) if wants(need, 2, ins) else None
    return (dx, None, db)[: len(ins)]


def max_pool_vjp(node, ins, outs, douts, opset, need=None):
    """``MaxPool``: each gradient goes to the cell that held its window's maximum (the first
    in row-major kernel order on ties), :func:`engine.ops.pool.maxpool2d_backward`."""
    x = ins[0]
    kernel, strides, pads, dilations = node_window(x, node.attributes)
    cache = MaxPoolCache(x, kernel, strides, tuple(pads), dilations,
                         bool(node.attributes.get("ceil_mode", 0)))
    return (maxpool2d_backward(douts[0], cache),)


def average_pool_vjp(node, ins, outs, douts, opset, need=None):
    """``AveragePool``: each gradient shared equally over its window's counted cells
    (``count_include_pad`` as the forward), :func:`engine.ops.avgpool.avgpool2d_backward`."""
    x = ins[0]
    kernel, strides, pads, _ = node_window(x, node.attributes, with_dilations=False)
    _, cache = avgpool2d_forward(
        x, kernel_shape=kernel, strides=strides, pads=pads,
        ceil_mode=bool(node.attributes.get("ceil_mode", 0)),
        count_include_pad=bool(node.attributes.get("count_include_pad", 0)),
    )
    return (avgpool2d_backward(douts[0], cache),)


def global_average_pool_vjp(node, ins, outs, douts, opset, need=None):
    """``GlobalAveragePool``: ``dx[n, c, h, w] = g[n, c, 0, 0] / (H W)``."""
    return (global_avgpool_backward(douts[0], GlobalAvgPoolCache(ins[0])),)
