"""A run's network as an ONNX model (opset 17) that onnxruntime and the engine's graph runner run.

Input ``input``: float32 ``N x C x H x W``, already normalised as the data set's
``preprocessing`` says (stored in the model's metadata as JSON, with the class names
and the recipe). Output ``probabilities``: ``N x 10`` softmax. Batch norm is exported in
inference mode (``BatchNormalization`` with the running statistics), dropout not at all
(it is the identity at inference). Activations newer than opset 17 are written out:
GELU as ``x * 0.5 * (1 + erf(x / sqrt 2))``, Swish as ``x * sigmoid(x)``.

Written by :mod:`course.learn.onnx_proto` (the standard library and NumPy: ``course``
does not import the ``onnx`` package); the tests check it with ``onnx.checker``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from course.learn import onnx_proto as pb
from course.learn.network import BN_EPSILON, Net
from course.learn.recipes import DATASETS
from course.learn.state import RunState
from engine import registry

__all__ = ["OPSET", "to_onnx"]

OPSET = 17


class _Builder:
    def __init__(self, params: dict[str, np.ndarray]):
        self.params = params
        self.nodes: list[bytes] = []
        self.inits: dict[str, bytes] = {}
        self.count = 0

    def init(self, name: str, value: np.ndarray | None = None) -> str:
        if name not in self.inits:
            array = self.params[name] if value is None else value
            self.inits[name] = pb.tensor(name, np.asarray(array, np.float32))
        return name

    def node(self, op: str, inputs: list[str], **attrs: Any) -> str:
        self.count += 1
        out = f"{op.lower()}_{self.count}"
        self.nodes.append(pb.node(op, inputs, [out], out, **attrs))
        return out

    def activation(self, name: str, x: str) -> str:
        a = registry.ACTIVATIONS[name]
        if a.onnx_op and a.onnx_since <= OPSET:  # the registry's own op, e.g. Relu, LeakyRelu
            return self.node(a.onnx_op, [x], **{k: v for k, v in a.onnx_attrs.items()})
        # Ops newer than opset 17, written out from older ones.
        if name == "swish":
            return self.node("Mul", [x, self.node("Sigmoid", [x])])
        if name == "gelu":
            inv_sqrt2 = self.init("const.inv_sqrt2", np.array(1 / math.sqrt(2)))
            half, one = self.init("const.half", np.array(0.5)), self.init("const.one",
                                                                           np.array(1.0))
            erf = self.node("Erf", [self.node("Mul", [x, inv_sqrt2])])
            return self.node("Mul", [x, self.node("Mul", [self.node("Add", [erf, one]), half])])
        raise ValueError(f"no ONNX export for activation {name!r}")

    def conv(self, name: str, x: str, pad: int) -> str:
        w = self.params[name + ".weight"]
        return self.node("Conv", [x, self.init(name + ".weight"), self.init(name + ".bias")],
                         kernel_shape=list(w.shape[2:]), pads=[pad] * 4)

    def bn(self, name: str, x: str, buffers: dict[str, np.ndarray]) -> str:
        ins = [x, self.init(name + ".weight"), self.init(name + ".bias"),
               self.init(name + ".running_mean", buffers[name + ".running_mean"]),
               self.init(name + ".running_var", buffers[name + ".running_var"])]
        return self.node("BatchNormalization", ins, epsilon=float(BN_EPSILON))


def to_onnx(state: RunState) -> bytes:
    """The run's network, as it is now, serialised as an ONNX ``ModelProto``."""
    cfg = state.config
    data = DATASETS[cfg.dataset]
    b = _Builder(state.params)
    x = "input"
    for layer in Net(cfg).layers:
        if layer.kind == "conv":
            x = b.conv(layer.name, x, layer.pad)
        elif layer.kind == "bn":
            x = b.bn(layer.name, x, state.buffers)
        elif layer.kind == "act":
            x = b.activation(cfg.activation, x)
        elif layer.kind == "pool":
            k = [layer.kernel, layer.kernel]
            x = b.node("MaxPool", [x], kernel_shape=k, strides=k)
        elif layer.kind == "flatten":
            x = b.node("Flatten", [x], axis=1)
        elif layer.kind == "dense":
            x = b.node("Gemm", [x, b.init(layer.name + ".weight"), b.init(layer.name + ".bias")],
                       transB=1)
        elif layer.kind == "residual":
            h = x
            for part in ("a", "b"):
                h = b.conv(f"{layer.name}.conv_{part}", h, 1)
                if layer.bn:
                    h = b.bn(f"{layer.name}.bn_{part}", h, state.buffers)
                if part == "a":
                    h = b.activation(cfg.activation, h)
            x = b.activation(cfg.activation, b.node("Add", [h, x]))
        elif layer.kind != "dropout":
            raise ValueError(f"no ONNX export for layer kind {layer.kind!r}")
    b.nodes.append(pb.node("Softmax", [x], ["probabilities"], "softmax", axis=1))
    graph = pb.graph(
        f"convlab-learn-{cfg.recipe}", b.nodes, list(b.inits.values()),
        [pb.value_info("input", ["N", *data.shape])], [pb.value_info("probabilities", ["N", 10])],
    )
    meta = {"preprocessing": json.dumps(data.preprocessing()),
            "classes": json.dumps(list(data.classes)), "recipe": cfg.recipe,
            "config": cfg.to_json(), "step": str(state.step)}
    doc = (f"{cfg.recipe} trained live on ConvLab's engine for {state.step} steps on "
           f"{data.title}; input normalised: {data.preprocessing()['formula']}")
    # IR version 8 goes with opset 17: any onnxruntime >= 1.13 loads it
    return pb.model(graph, opset=OPSET, ir_version=8, producer="convlab-learn", doc=doc,
                    metadata=meta)
