"""ONNX graphs built in tests for inspect, trace and uploads (no trained model needed).

``cifar_like`` has the shape of cifar10-net as exported (airbench94: a 2x2 whitening
conv, three conv/pool/GELU groups of 64, 256 and 256 filters, GELU spelled out as
Mul/Erf/Add/Mul, and horizontal-flip test-time augmentation through a MatMul), with
random weights; ``residual=True`` adds the skip connections of the shipped model's
airbench96 blocks (batch norm, folded at export, is left out).
"""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: list = []
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def const(self, value, stem: str = "k") -> str:
        n = self.name(stem)
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), n))
        return n

    def node(self, op: str, inputs: list[str], stem: str | None = None, **attrs) -> str:
        out = self.name(stem or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def conv(self, x: str, cin: int, cout: int, k: int, pad: int, w_name: str | None = None,
             **attrs) -> str:
        if w_name is None:
            w = self.rng.normal(0, math.sqrt(2 / (cin * k * k)), (cout, cin, k, k))
            w_name = self.const(w, "w")
            b_name = self.const(self.rng.normal(0, 0.05, cout), "b")
        else:
            w_name, b_name = w_name
        return self.node("Conv", [x, w_name, b_name], "conv", kernel_shape=[k, k],
                         pads=[pad] * 4, **attrs)

    def constant_node(self, value) -> str:
        """A constant as torch.onnx exports it: a Constant node, not an initializer."""
        out = self.name("const")
        self.nodes.append(helper.make_node("Constant", [], [out], name=out,
                                           value=numpy_helper.from_array(np.asarray(value, np.float32))))
        return out

    def gelu(self, x: str, constant_nodes: bool = False) -> str:
        k = self.constant_node if constant_nodes else self.const
        t = self.node("Mul", [x, k(1 / math.sqrt(2))], "mul")
        t = self.node("Erf", [t], "erf")
        t = self.node("Add", [t, k(1.0)], "add")
        t = self.node("Mul", [t, k(0.5)], "mul")
        return self.node("Mul", [x, t], "gelu")

    def model(self, x: str, out: str, input_shape, classes: int) -> bytes:
        graph = helper.make_graph(
            self.nodes, "test",
            [helper.make_tensor_value_info(x, TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", classes])],
            self.inits,
        )
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m.SerializeToString()


def cifar_like(seed: int = 0, widths: tuple[int, int, int] = (64, 256, 256),
               residual: bool = False) -> bytes:
    """``residual``: airbench96's blocks instead, conv -> pool -> GELU, then
    conv -> GELU -> conv added to that (a skip connection) -> GELU."""
    b = Builder(seed)
    shared: dict[str, tuple[str, str]] = {}

    def weights(key: str, cin: int, cout: int, k: int) -> tuple[str, str]:
        if key not in shared:
            w = b.rng.normal(0, math.sqrt(2 / (cin * k * k)), (cout, cin, k, k))
            shared[key] = (b.const(w, "w"), b.const(b.rng.normal(0, 0.05, cout), "b"))
        return shared[key]

    def net(x: str) -> str:
        t = b.gelu(b.conv(x, 3, 24, 2, 0, weights("whiten", 3, 24, 2)))
        cin = 24
        for i, width in enumerate(widths):
            t = b.conv(t, cin, width, 3, 1, weights(f"g{i}a", cin, width, 3))
            t = b.node("MaxPool", [t], "pool", kernel_shape=[2, 2], strides=[2, 2])
            t = b.gelu(t)
            if residual:
                f = b.gelu(b.conv(t, width, width, 3, 1, weights(f"g{i}b", width, width, 3)))
                f = b.conv(f, width, width, 3, 1, weights(f"g{i}c", width, width, 3))
                t = b.gelu(b.node("Add", [t, f], "skip"))
            else:
                t = b.gelu(b.conv(t, width, width, 3, 1, weights(f"g{i}b", width, width, 3)))
            cin = width
        t = b.node("MaxPool", [t], "pool", kernel_shape=[3, 3], strides=[3, 3])
        t = b.node("Flatten", [t], "flatten")
        if "fc" not in shared:
            fc = b.rng.normal(0, 0.05, (10, widths[2]))
            shared["fc"] = (b.const(fc, "fc"), b.const(np.zeros(10), "fcb"))
        return b.node("Gemm", [t, *shared["fc"]], "fc", transB=1)

    flip = b.node("MatMul", ["input", b.const(np.eye(32)[::-1], "flipJ")], "flip")
    both = b.node("Add", [net("input"), net(flip)], "add")
    mean = b.node("Mul", [both, b.const(0.5)], "mul")
    out = b.node("Softmax", [mean], "probabilities", axis=1)
    return b.model("input", out, ["N", 3, 32, 32], 10)


def lenet5(seed: int = 0) -> bytes:
    """LeNet-5 as shipped: conv 6@5x5 pad 2, pool, conv 16@5x5, pool, FC 120-84-10, softmax."""
    b = Builder(seed)
    t = b.node("MaxPool", [b.node("Relu", [b.conv("input", 1, 6, 5, 2)])], "pool",
               kernel_shape=[2, 2], strides=[2, 2])
    t = b.node("MaxPool", [b.node("Relu", [b.conv(t, 6, 16, 5, 0)])], "pool",
               kernel_shape=[2, 2], strides=[2, 2])
    t = b.node("Flatten", [t], "flatten")
    for fin, fout in ((400, 120), (120, 84), (84, 10)):
        t = b.node("Gemm", [t, b.const(b.rng.normal(0, math.sqrt(2 / fin), (fout, fin))),
                            b.const(np.zeros(fout))], "fc", transB=1)
        if fout != 10:
            t = b.node("Relu", [t])
    out = b.node("Softmax", [t], "probabilities", axis=1)
    return b.model("input", out, ["N", 1, 28, 28], 10)


def mixed(seed: int = 0) -> bytes:
    """Strided, padded, grouped and pooled layers, BN, LeakyRelu and a MatMul + Add head:
    the cases the receptive field and the traces must compose."""
    b = Builder(seed)
    t = b.conv("input", 3, 8, 3, 1, strides=[2, 2])  # 3x30x30 -> 8x15x15
    t = b.node("BatchNormalization", [t, b.const(b.rng.uniform(0.5, 1.5, 8)),
                                      b.const(b.rng.normal(0, 0.1, 8)),
                                      b.const(b.rng.normal(0, 0.1, 8)),
                                      b.const(b.rng.uniform(0.5, 2.0, 8))], "bn", epsilon=1e-5)
    t = b.node("LeakyRelu", [t], "lrelu", alpha=0.1)
    t = b.node("AveragePool", [t], "avgpool", kernel_shape=[3, 3], strides=[2, 2],
               pads=[1, 1, 1, 1])  # -> 8x8x8
    t = b.conv(t, 4, 8, 3, 0, group=2, dilations=[2, 2])  # grouped, dilated -> 8x4x4
    t = b.node("Relu", [t])
    t = b.node("MaxPool", [t], "maxpool", kernel_shape=[2, 2], strides=[1, 1])  # -> 8x3x3
    t = b.node("Flatten", [t], "flatten")
    t = b.node("MatMul", [t, b.const(b.rng.normal(0, 0.3, (72, 5)))], "matmul")
    t = b.node("Add", [t, b.const(b.rng.normal(0, 0.1, 5))], "bias")
    t = b.gelu(t, constant_nodes=True)
    out = b.node("Softmax", [t], "probabilities", axis=1)
    return b.model("input", out, ["N", 3, 30, 30], 5)


def squeeze_excite(seed: int = 0) -> bytes:
    """A squeeze-and-excitation gate (every channel scaled by a number computed from the
    whole image) and a ceil_mode average pool that counts its padding: a pixel reaches
    every output after the gate, and the pool's last windows hang past the input."""
    b = Builder(seed)
    t = b.conv("input", 1, 4, 4, 0)  # 1x28x28 -> 4x25x25
    t = b.node("Relu", [t])
    s = b.node("GlobalAveragePool", [t], "squeeze")  # 4x1x1, from the whole image
    s = b.conv(s, 4, 4, 1, 0)
    s = b.node("Sigmoid", [s], "gate")
    t = b.node("Mul", [t, s], "excite")
    t = b.node("AveragePool", [t], "avgpool", kernel_shape=[2, 2], strides=[2, 2],
               ceil_mode=1, count_include_pad=1)  # 25 -> 13: the last window is half outside
    t = b.conv(t, 4, 6, 1, 0)  # conv after the gate
    t = b.node("GlobalAveragePool", [t], "gap")
    t = b.node("Flatten", [t], "flatten")
    t = b.node("MatMul", [t, b.const(b.rng.normal(0, 0.5, (6, 10)))], "head")
    out = b.node("Softmax", [t], "probabilities", axis=1)
    return b.model("input", out, ["N", 1, 28, 28], 10)
