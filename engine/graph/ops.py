"""The ONNX ops the graph runner executes, each a thin adapter over the engine's own ops.

Every op here is ``op(ins, attrs, opset) -> tuple of outputs``: ``ins`` are the
node's input arrays in ONNX order (``None`` for an omitted optional input),
``attrs`` its attributes as plain Python values (names and meanings exactly as in
the ONNX operator docs), ``opset`` the model's default-domain opset, which decides
where some arguments live (``Pad`` pads and ``Clip`` bounds moved from attributes to
inputs in opset 11; ``Softmax`` stopped flattening to 2-D in opset 13).

The ops live by family: windows (``Conv``, pooling) in :mod:`engine.graph.ops_window`,
arithmetic (activations, ``Gemm``, ``Softmax``...) in :mod:`engine.graph.ops_math`,
shape and layout (``Reshape``, ``Concat``, ``Pad``...) in :mod:`engine.graph.ops_tensor`,
and the limits they share in :mod:`engine.graph.ops_common`. Bad arguments raise
``ValueError``; the runner adds the node. Before anything large is allocated, its size
is checked against :data:`MAX_ELEMENTS` (and a convolution's or matrix product's
multiply-adds against :data:`MAX_MACS`).

:data:`PREPARED` holds the ops that gain from being prepared once per node, with the
node's attributes and weights, before a model runs (see :mod:`engine.graph.run`);
every other op runs as its plain form.
"""

from __future__ import annotations

import numpy as np

from engine.graph.ops_common import MAX_ELEMENTS, MAX_MACS, Op, Prepare, check_size, op_of
from engine.graph.ops_convtranspose import conv_transpose
from engine.graph.ops_math import (
    activation,
    batch_norm,
    binary,
    clip,
    divide,
    erf_op,
    matmul,
    prepare_gemm,
    softmax,
)
from engine.graph.ops_tensor import (
    concat,
    constant,
    dropout,
    flatten_op,
    identity,
    pad,
    reshape,
    transpose,
)
from engine.graph.ops_window import (
    average_pool,
    global_average_pool,
    node_window,
    prepare_conv,
    prepare_max_pool,
)
from engine.registry import ACTIVATIONS

__all__ = ["MAX_ELEMENTS", "MAX_MACS", "OPS", "PREPARED", "check_size", "node_window"]

PREPARED: dict[str, Prepare] = {
    "Conv": prepare_conv,
    # Relu, LeakyRelu, Sigmoid, Tanh, Gelu, Swish: one line each in engine/registry.py.
    **{a.onnx_op: activation(a.forward, **a.onnx_attrs)
       for a in ACTIVATIONS.values() if a.onnx_op},
    "MaxPool": prepare_max_pool,
    "Add": binary(np.add),
    "Sub": binary(np.subtract),
    "Mul": binary(np.multiply),
    "Div": binary(divide),
    "Gemm": prepare_gemm,
}
"""Op type -> ``prepare(attrs, opset, consts) -> step`` (see :mod:`engine.graph.ops_common`)."""

OPS: dict[str, Op] = {
    **{name: op_of(prepare) for name, prepare in PREPARED.items()},
    "Erf": erf_op,
    "ConvTranspose": conv_transpose,
    "AveragePool": average_pool,
    "GlobalAveragePool": global_average_pool,
    "BatchNormalization": batch_norm,
    "Concat": concat,
    "Flatten": flatten_op,
    "Reshape": reshape,
    "Transpose": transpose,
    "MatMul": matmul,
    "Softmax": softmax,
    "Dropout": dropout,
    "Identity": identity,
    "Pad": pad,
    "Clip": clip,
    "Constant": constant,
}
"""Op type -> implementation, for the default ONNX domain."""
