"""Random small CNNs (seeded) through the graph runner against onnxruntime.

Each seed draws a network: 2-6 blocks (convolutions with random kernels, strides, pads,
dilations, groups and auto_pad; batch norm; activations; max/average pooling with
ceil_mode; residual adds; concatenated branches; padding; per-channel arithmetic),
then a classifier head. Every tensor is compared with onnxruntime (1e-4) and every
shape with ONNX shape inference, by :func:`tests.engine.test_graph.check`.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from tests.engine.test_graph import check, make_model

SEEDS = range(60)


def _out(n, k, s, d, pad_total, ceil=False):
    span = d * (k - 1) + 1
    num = n + pad_total - span
    if num < 0:
        return 0
    return (-(-num // s) if ceil else num // s) + 1


class Net:
    """A network being drawn: the nodes so far, the weights, the current tensor and shape."""

    def __init__(self, rng, shape, opset):
        self.rng, self.shape, self.opset = rng, shape, opset
        self.nodes, self.inits, self.x, self.count = [], {}, "x", 0

    def name(self, stem):
        self.count += 1
        return f"{stem}{self.count}"

    def weight(self, stem, shape, positive=False):
        name = self.name(stem)
        value = self.rng.standard_normal(shape).astype(np.float32) * 0.5
        self.inits[name] = np.abs(value) + 0.5 if positive else value
        return name

    def add(self, op_type, inputs, shape, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        self.x, self.shape = out, shape
        return out

    def choice(self, options):
        return options[int(self.rng.integers(len(options)))]

    # -------------------------------------------------------------- blocks

    def conv(self, src=None, out_ch=None, keep_size=False):
        rng = self.rng
        src = src or self.x
        n, c, h, w = self.shape
        groups = [g for g in (1, 2, 3, c) if c % g == 0 and (out_ch is None or out_ch % g == 0)]
        group = self.choice(groups)
        out_ch = out_ch or group * int(rng.integers(1, 4))
        attrs = {"group": group} if group > 1 or rng.random() < 0.3 else {}
        if keep_size:
            k = self.choice([1, 3])
            kernel, strides, dil, pads = (k, k), (1, 1), (1, 1), [k // 2] * 4
            attrs["pads"] = pads
        else:
            kernel = tuple(int(v) for v in rng.integers(1, 4, size=2))
            strides = tuple(int(v) for v in rng.integers(1, 3, size=2))
            mode = self.choice(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"])
            dil = (
                (1, 1)
                if mode.startswith("SAME")
                else tuple(int(v) for v in rng.integers(1, 3, size=2))
            )
            if mode == "NOTSET":
                pads = [
                    int(rng.integers(0, kernel[i % 2])) if kernel[i % 2] > 1 else 0
                    for i in range(4)
                ]
                attrs["pads"] = pads
            else:
                attrs["auto_pad"] = mode
            attrs.update(strides=list(strides), dilations=list(dil))
            if rng.random() < 0.5:
                attrs["kernel_shape"] = list(kernel)
        if mode_same := attrs.get("auto_pad", "").startswith("SAME"):
            oh, ow = -(-h // strides[0]), -(-w // strides[1])
        elif attrs.get("auto_pad") == "VALID":
            oh, ow = (
                _out(h, kernel[0], strides[0], dil[0], 0),
                _out(w, kernel[1], strides[1], dil[1], 0),
            )
        else:
            oh = _out(h, kernel[0], strides[0], dil[0], pads[0] + pads[2])
            ow = _out(w, kernel[1], strides[1], dil[1], pads[1] + pads[3])
        if min(oh, ow) < 1 and not mode_same:
            return self.conv(src, out_ch, keep_size=True)
        inputs = [src, self.weight("w", (out_ch, c // group, *kernel))]
        if rng.random() < 0.7:
            inputs.append(self.weight("b", (out_ch,)))
        return self.add("Conv", inputs, (n, out_ch, oh, ow), **attrs)

    def batchnorm(self):
        c = self.shape[1]
        inputs = [
            self.x,
            self.weight("scale", (c,)),
            self.weight("B", (c,)),
            self.weight("mean", (c,)),
            self.weight("var", (c,), positive=True),
        ]
        self.add("BatchNormalization", inputs, self.shape, epsilon=float(self.choice([1e-5, 1e-3])))

    def activation(self):
        ops = ["Relu", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "Clip"] + ["Gelu"] * (
            self.opset >= 20
        )
        op = self.choice(ops)
        if op == "LeakyRelu":
            self.add(op, [self.x], self.shape, alpha=float(self.rng.uniform(0.01, 0.3)))
        elif op == "Clip":
            lo, hi = self.name("lo"), self.name("hi")
            self.inits[lo] = np.array(-0.5, np.float32)
            self.inits[hi] = np.array(self.rng.uniform(0, 2), np.float32)
            self.add(op, [self.x, lo, hi], self.shape)
        elif op == "Gelu":
            self.add(op, [self.x], self.shape, approximate=self.choice(["none", "tanh"]))
        else:
            self.add(op, [self.x], self.shape)

    def pool(self):
        rng = self.rng
        n, c, h, w = self.shape
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pads = [int(rng.integers(0, k[i % 2])) for i in range(4)]
        ceil = bool(rng.random() < 0.4)
        sizes = [
            _out(size, k[a], s[a], 1, pads[a] + pads[a + 2], ceil) for a, size in enumerate((h, w))
        ]
        if ceil and any(
            (out - 1) * s[a] >= size + pads[a]
            for a, (out, size) in enumerate(zip(sizes, (h, w), strict=True))
        ):
            # ceil_mode would add a window starting in the end padding, which onnxruntime
            # (and the engine) drop but ONNX shape inference keeps: see
            # test_graph.py::test_ceil_mode_window_in_padding_is_dropped.
            ceil = False
            sizes = [
                _out(size, k[a], s[a], 1, pads[a] + pads[a + 2]) for a, size in enumerate((h, w))
            ]
        if min(sizes) < 1:
            return
        attrs = {"kernel_shape": list(k), "strides": list(s), "pads": pads, "ceil_mode": int(ceil)}
        if rng.random() < 0.5:
            self.add("MaxPool", [self.x], (n, c, *sizes), **attrs)
        else:
            self.add(
                "AveragePool",
                [self.x],
                (n, c, *sizes),
                count_include_pad=int(rng.random() < 0.5),
                **attrs,
            )

    def residual(self):
        src = self.x
        self.conv(out_ch=self.shape[1], keep_size=True)
        self.activation()
        self.add("Add", [self.x, src], self.shape)

    def branches(self):
        src, shape = self.x, self.shape
        left = self.conv(src, keep_size=True)
        left_ch = self.shape[1]
        self.shape = shape
        right = self.conv(src, keep_size=True)
        n, _, h, w = shape
        self.add("Concat", [left, right], (n, left_ch + self.shape[1], h, w), axis=1)

    def pad(self):
        n, c, h, w = self.shape
        p = [int(v) for v in self.rng.integers(0, 3, size=4)]
        name = self.name("pads")
        self.inits[name] = np.array([0, 0, p[0], p[1], 0, 0, p[2], p[3]], np.int64)
        self.add("Pad", [self.x, name], (n, c, h + p[0] + p[2], w + p[1] + p[3]))

    def channel_op(self):
        op = self.choice(["Mul", "Sub", "Div", "Add"])
        name = self.weight("k", (self.shape[1], 1, 1), positive=op == "Div")
        self.add(op, [self.x, name], self.shape)

    def head(self, classes):
        n, c, h, w = self.shape
        kind = self.choice(["gap", "flatten", "reshape"])
        if kind == "gap":
            self.add("GlobalAveragePool", [self.x], (n, c, 1, 1))
            self.add("Flatten", [self.x], (n, c))
            self.add(
                "Gemm",
                [self.x, self.weight("fc", (classes, c)), self.weight("fb", (classes,))],
                (n, classes),
                transB=1,
            )
        elif kind == "flatten":
            self.add("Flatten", [self.x], (n, c * h * w))
            self.add("MatMul", [self.x, self.weight("fc", (c * h * w, classes))], (n, classes))
            self.add("Add", [self.x, self.weight("fb", (classes,))], (n, classes))
        else:
            self.add("Transpose", [self.x], (n, h, w, c), perm=[0, 2, 3, 1])
            shape = self.name("shape")
            self.inits[shape] = np.array([0, -1], np.int64)
            self.add("Reshape", [self.x, shape], (n, c * h * w))
            self.add(
                "Gemm",
                [self.x, self.weight("fc", (c * h * w, classes))],
                (n, classes),
                alpha=float(self.rng.uniform(0.5, 2)),
            )
        self.add("Softmax", [self.x], (n, classes), axis=-1)


def random_cnn(seed):
    rng = np.random.default_rng(seed)
    opset = 20 if seed % 4 == 3 else 17
    shape = (
        int(rng.integers(1, 3)),
        int(rng.integers(1, 5)),
        int(rng.integers(5, 13)),
        int(rng.integers(5, 13)),
    )
    net = Net(rng, shape, opset)
    net.conv()
    blocks = [
        net.conv,
        net.batchnorm,
        net.activation,
        net.pool,
        net.residual,
        net.branches,
        net.pad,
        net.channel_op,
    ]
    for _ in range(int(rng.integers(2, 7))):
        net.choice(blocks)()
    net.head(int(rng.integers(2, 6)))
    model = make_model(net.nodes, {"x": shape}, [net.x], net.inits, opset)
    x = rng.standard_normal(shape).astype(np.float32)
    return model, x, net.shape


@pytest.mark.parametrize("seed", SEEDS)
def test_random_cnn_matches_onnxruntime(seed):
    model, x, final_shape = random_cnn(seed)
    ours = check(model, {"x": x})
    probs = ours[model.graph.output[0].name]
    assert probs.shape == final_shape
    np.testing.assert_allclose(probs.sum(axis=-1), 1, rtol=1e-5)


def test_random_cnns_cover_every_block():
    """The seeds above draw every op the generator knows, so no block goes untested."""
    seen = {n.op_type for seed in SEEDS for n in random_cnn(seed)[0].graph.node}
    assert seen >= {
        "Conv",
        "BatchNormalization",
        "Relu",
        "LeakyRelu",
        "Sigmoid",
        "Tanh",
        "Erf",
        "Clip",
        "Gelu",
        "MaxPool",
        "AveragePool",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Concat",
        "Pad",
        "GlobalAveragePool",
        "Flatten",
        "Gemm",
        "MatMul",
        "Transpose",
        "Reshape",
        "Softmax",
    }
    autopads = {
        a.s
        for seed in SEEDS
        for n in random_cnn(seed)[0].graph.node
        for a in n.attribute
        if a.name == "auto_pad"
    }
    assert autopads == {b"SAME_UPPER", b"SAME_LOWER", b"VALID"}
