"""ONNX ``ConvTranspose`` (2-D) for the graph runner, and its vector-Jacobian product.

The op resolves the node's attributes (``strides``, ``pads``, ``dilations``,
``output_padding``, ``group``, ``output_shape`` with ``auto_pad`` NOTSET or VALID) and calls
:func:`engine.ops.conv_transpose.conv_transpose2d_forward`. Its input gradient is a plain
convolution of the upstream gradient with the same weights (the op *is* a convolution's
backward), so :func:`conv_transpose_vjp` calls :func:`engine.ops.conv.conv2d_forward`; the
weight and bias gradients come from :func:`engine.ops.conv_transpose.conv_transpose2d_backward`
when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.graph.ops_common import MAX_MACS, as_float, check_size
from engine.ops.conv import conv2d_forward
from engine.ops.conv_transpose import (
    ConvTransposeCache,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
)
from engine.ops.shapes import conv_transpose_output_shape

__all__ = ["conv_transpose", "conv_transpose_attrs", "conv_transpose_vjp"]


def _pair(attrs: dict, name: str, default: int) -> tuple[int, int]:
    value = tuple(int(v) for v in attrs.get(name, (default, default)))
    if len(value) != 2:
        raise ValueError(f"only 2-D ConvTranspose is supported: {name} must have 2 values, got {value}")
    return value[0], value[1]


def conv_transpose_attrs(x: np.ndarray, w: np.ndarray, attrs: dict) -> dict:
    """The node's attributes as keyword arguments of ``conv_transpose2d_forward``, checked."""
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(
            f"only 2-D ConvTranspose is supported, got input {x.shape} and weights {w.shape}")
    given = attrs.get("kernel_shape")
    if given is not None and tuple(given) != tuple(w.shape[2:]):
        raise ValueError(f"kernel_shape {tuple(given)} does not match the weights' {tuple(w.shape[2:])}")
    strides, dilations = _pair(attrs, "strides", 1), _pair(attrs, "dilations", 1)
    opad = _pair(attrs, "output_padding", 0)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad not in ("NOTSET", "VALID"):
        raise ValueError(f"ConvTranspose with auto_pad={auto_pad!r} is not supported (NOTSET or VALID)")
    pads = tuple(int(v) for v in attrs.get("pads", (0, 0, 0, 0))) if auto_pad == "NOTSET" else (0,) * 4
    if len(pads) != 4:
        raise ValueError(f"only 2-D ConvTranspose is supported: pads must have 4 values, got {pads}")
    shape = attrs.get("output_shape")
    if shape is not None:  # pads worked out from the requested size, as the ONNX spec says
        shape = tuple(int(v) for v in shape)[-2:]
        if len(shape) != 2:
            raise ValueError(f"output_shape must give the output's height and width, got {shape}")
        begin, end = [], []
        for n, k, s, d, o, want in zip(x.shape[2:], w.shape[2:], strides, dilations, opad, shape,
                                       strict=True):
            total = s * (n - 1) + o + d * (k - 1) + 1 - want
            if total < 0:
                raise ValueError(f"output_shape {shape} is larger than this ConvTranspose can make")
            begin.append(total - total // 2)
            end.append(total // 2)
        pads = (begin[0], begin[1], end[0], end[1])
    group = int(attrs.get("group", 1))
    return {"strides": strides, "pads": pads, "dilations": dilations, "output_padding": opad,
            "group": group}


def conv_transpose(ins: Sequence, attrs: dict, opset: int) -> tuple[np.ndarray]:
    """ONNX ``ConvTranspose``: ``Y = conv_transpose2d_forward(X, W, B)``."""
    x, w = as_float(ins[0]), as_float(ins[1])
    b = as_float(ins[2]) if len(ins) > 2 and ins[2] is not None else None
    kw = conv_transpose_attrs(x, w, attrs)
    oh, ow = conv_transpose_output_shape(x.shape[2:], w.shape[2:], kw["strides"], kw["pads"],
                                         kw["dilations"], kw["output_padding"])
    n, c, h, wd = x.shape
    m = w.shape[1] * kw["group"]
    check_size((n, m, oh, ow), "the ConvTranspose output")
    check_size((n, m, *w.shape[2:], h, wd), "the ConvTranspose's scattered products")
    check_size((n, h, wd, c, w.shape[1], *w.shape[2:]), "the multiply-adds", MAX_MACS)
    return (conv_transpose2d_forward(x, w, b, **kw)[0],)


def conv_transpose_vjp(node, ins, outs, douts, opset, need=None):
    """``ConvTranspose``: ``dx`` is the convolution of the upstream gradient with the same
    weights, strides, pads and dilations (cut to the input's size); ``dW`` and ``dB`` by
    :func:`conv_transpose2d_backward`, only when asked for."""
    x, w, g = ins[0], ins[1], douts[0]

    def wanted(i: int) -> bool:
        if i >= len(ins) or ins[i] is None or (need is not None and not need[i]):
            return False
        return np.asarray(ins[i]).dtype.kind == "f"

    kw = conv_transpose_attrs(x, w, node.attributes)
    has_bias = len(ins) > 2 and ins[2] is not None
    if wanted(1):
        cache = ConvTransposeCache(x, w, has_bias, kw["strides"], kw["pads"], kw["dilations"],
                                   kw["output_padding"], kw["group"])
        dx, dw, db = conv_transpose2d_backward(g, cache)
        return (dx if wanted(0) else None, dw, db if wanted(2) else None)[: len(ins)]
    dx = None
    if wanted(0):
        full, _ = conv2d_forward(g, w, None, strides=kw["strides"], pads=kw["pads"],
                                 dilations=kw["dilations"], group=kw["group"])
        dx = np.ascontiguousarray(full[:, :, : x.shape[2], : x.shape[3]])
    db = g.sum(axis=(0, 2, 3)) if wanted(2) else None
    return (dx, None, db)[: len(ins)]
