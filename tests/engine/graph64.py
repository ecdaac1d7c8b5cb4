"""A float64 graph runner for gradient checks: the graph's ops in float64.

The graph ops that compute in float32 (Conv, pooling, Gemm, Softmax, activations, Erf,
BatchNormalization) have a float64 *mirror* here: the same engine op (``engine.ops``)
with the node's attributes resolved as the graph op resolves them
(:func:`engine.graph.ops_window.node_window`). The other ops (broadcasting arithmetic,
MatMul, layout ops) keep float64 and run as they are. ``test_graph_vjps`` checks each
mirror against the graph op on float32 inputs.
"""

from __future__ import annotations

import numpy as np

from engine.graph import Graph
from engine.graph.ops import OPS
from engine.graph.ops_window import node_window
from engine.ops.activations import erf
from engine.ops.avgpool import avgpool2d_forward, global_avgpool_forward
from engine.ops.conv import conv2d_forward
from engine.ops.dense import flatten, softmax_forward
from engine.ops.pool import maxpool2d_forward
from engine.registry import ACTIVATIONS


def conv64(ins, attrs, opset):
    x, w = ins[0], ins[1]
    b = ins[2] if len(ins) > 2 else None
    kernel, strides, pads, dilations = node_window(x, attrs, w.shape[2:])
    return conv2d_forward(x, w, b, strides=strides, pads=pads, dilations=dilations,
                          group=attrs.get("group", 1))[0]


def _max_pool(ins, attrs, opset):
    kernel, strides, pads, dilations = node_window(ins[0], attrs)
    return maxpool2d_forward(ins[0], kernel_shape=kernel, strides=strides, pads=pads,
                             dilations=dilations, ceil_mode=bool(attrs.get("ceil_mode", 0)))[0]


def _average_pool(ins, attrs, opset):
    kernel, strides, pads, _ = node_window(ins[0], attrs, with_dilations=False)
    return avgpool2d_forward(ins[0], kernel_shape=kernel, strides=strides, pads=pads,
                             ceil_mode=bool(attrs.get("ceil_mode", 0)),
                             count_include_pad=bool(attrs.get("count_include_pad", 0)))[0]


def _batch_norm(ins, attrs, opset):
    x, scale, bias, mean, var = ins
    shape = (1, -1) + (1,) * (x.ndim - 2)
    eps = attrs.get("epsilon", 1e-5)
    return ((x - mean.reshape(shape)) * (scale / np.sqrt(var + eps)).reshape(shape)
            + bias.reshape(shape))


def _gemm(ins, attrs, opset):
    a = ins[0].T if attrs.get("transA", 0) else ins[0]
    b = ins[1].T if attrs.get("transB", 0) else ins[1]
    y = attrs.get("alpha", 1.0) * (a @ b)
    return y + attrs.get("beta", 1.0) * ins[2] if len(ins) > 2 else y


def _softmax(ins, attrs, opset):
    x = ins[0]
    if opset >= 13:
        return softmax_forward(x, axis=attrs.get("axis", -1))[0]
    return softmax_forward(flatten(x, attrs.get("axis", 1)), axis=1)[0].reshape(x.shape)


def _activation(entry):
    def forward(ins, attrs, opset):
        kwargs = {k: attrs.get(k, d) for k, d in entry.onnx_attrs.items()}
        return entry.forward(ins[0], **kwargs)[0]

    return forward


MIRRORS = {
    "Conv": conv64,
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": lambda ins, attrs, opset: global_avgpool_forward(ins[0])[0],
    "BatchNormalization": _batch_norm,
    "Gemm": _gemm,
    "Softmax": _softmax,
    "Erf": lambda ins, attrs, opset: erf(ins[0]),
    **{a.onnx_op: _activation(a) for a in ACTIVATIONS.values() if a.onnx_op},
}
"""float64 forwards of the graph ops that compute in float32."""


def forward64(op_type, ins, attrs, opset):
    """The node's first output, computed in float64."""
    if op_type in MIRRORS:
        return MIRRORS[op_type](ins, attrs, opset)
    out = np.asarray(OPS[op_type](ins, attrs, opset)[0])
    if any(a is not None and a.dtype == np.float64 for a in ins):
        assert out.dtype == np.float64, f"{op_type} did not keep float64"
    return out.astype(np.float64) if out.dtype == np.float32 else out


def run64(graph: Graph, x: np.ndarray, override: dict | None = None) -> dict[str, np.ndarray]:
    """Every tensor of ``graph`` run in float64 on ``x`` (one input); a tensor named in
    ``override`` takes that value instead of its node's result (to differentiate
    numerically with respect to an intermediate tensor)."""
    override = override or {}
    tensors = {graph.inputs[0].name: np.asarray(x, np.float64)}
    for node in graph.nodes:
        ins = []
        for name in node.inputs:
            value = tensors.get(name, graph.initializers.get(name)) if name else None
            if value is not None and value.dtype == np.float32:
                value = value.astype(np.float64)
            ins.append(value)
        name = node.outputs[0]
        tensors[name] = override[name] if name in override else forward64(
            node.op_type, ins, node.attributes, graph.opset)
    return tensors
