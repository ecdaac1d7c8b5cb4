"""Builders of ONNX models that are cheap to send and (were) costly to hold or run, for
tests/app/test_hostile_models.py. Each returns the file's bytes, made here from scratch.

The biggest ones are written as raw protobuf appended to a valid model: a second
``graph`` field (ModelProto field 7) is merged into the first by every protobuf parser,
so its nodes and initializers join the model's (field numbers from onnx/onnx.proto).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.app.hostile_kit import _field, _varint
from tests.app.modelkit import tiny_cnn


def _model(nodes, input_dims, k, inits=()) -> bytes:
    graph = helper.make_graph(
        nodes, "costly", [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_dims)],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", k])], list(inits))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def _head(t: str, features: int, k: int = 3) -> tuple[list, list]:
    """Flatten -> Gemm to k scores: the classifier end of every model here."""
    fc = numpy_helper.from_array(np.full((k, features), 0.01, np.float32), "fc")
    return ([helper.make_node("Flatten", [t], ["flat"], name="flatten"),
             helper.make_node("Gemm", ["flat", "fc"], ["out"], name="fc", transB=1)], [fc])


def huge_attribute(values: int = 24_000_000) -> bytes:
    """A valid model plus one Identity node whose INTS attribute packs ``values`` zeros
    (one byte each in the file, 8 once parsed: 192 MB, more as a Python list)."""
    attr = (_field(1, b"junk") + _varint(20 << 3) + _varint(7)  # name, type = INTS
            + _field(8, b"\x00" * values))  # ints, packed
    node = (_field(1, b"probabilities") + _field(2, b"extra") + _field(3, b"extra")
            + _field(4, b"Identity") + _field(5, attr))
    return tiny_cnn() + _field(7, _field(1, node))


def unused_int64_initializer(values: int = 24_000_000) -> bytes:
    """A valid model plus an INT64 initializer of ``values`` zeros that no node reads
    (1-byte varints in the file: 192 MB as int64)."""
    tensor = (_varint(1 << 3) + _varint(values)  # dims
              + _varint(2 << 3) + _varint(TensorProto.INT64)  # data_type
              + _field(8, b"ballast") + _field(7, b"\x00" * values))  # name, int64_data
    return tiny_cnn() + _field(7, _field(5, tensor))


def computed_pads(side: int = 2048, relus: int = 10) -> bytes:
    """Pad widths that are the sum of two initializers, so ONNX shape inference cannot
    see them: a 3 x 8 x 8 input edge-padded to 3 x side x side, then ``relus`` ReLUs on a
    branch the scores do not use (11 x 12.6 M values kept by a layer-by-layer run)."""
    half = (side - 8) // 2
    a = np.array([0, 0, half, half, 0, 0, half, half], np.int64)
    inits = [numpy_helper.from_array(a // 2, "pads_a"), numpy_helper.from_array(a - a // 2, "pads_b")]
    nodes = [helper.make_node("Add", ["pads_a", "pads_b"], ["pads"], name="pads"),
             helper.make_node("Pad", ["input", "pads"], ["padded"], name="pad", mode="edge")]
    t = "padded"
    for i in range(relus):
        nodes.append(helper.make_node("Relu", [t], [f"r{i}"], name=f"relu{i}"))
        t = f"r{i}"
    head, fc = _head("input", 3 * 8 * 8)
    return _model(nodes + head, ["N", 3, 8, 8], 3, inits + fc)


def many_values(values: int) -> bytes:
    """ReLUs on a 3 x 256 x 256 input until the layers output just under ``values``."""
    per = 3 * 256 * 256
    nodes, t = [], "input"
    for i in range(values // per - 2):  # the pool, flatten and scores add a few values
        nodes.append(helper.make_node("Relu", [t], [f"r{i}"], name=f"relu{i}"))
        t = f"r{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [t], ["g"], name="gap"))
    head, fc = _head("g", 3)
    return _model(nodes + head, ["N", 3, 256, 256], 3, fc)


def denormal_matmuls(side: int = 256, layers: int = 12) -> bytes:
    """x + 1e-39, then ``layers`` MatMuls by an orthogonal matrix: on a black image every
    value is denormal (about 100x slower on a CPU unless flushed to zero)."""
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(side, side)))
    inits = [numpy_helper.from_array(np.array(1e-39, np.float32), "tiny"),
             numpy_helper.from_array(q.astype(np.float32), "q")]
    nodes, t = [helper.make_node("Add", ["input", "tiny"], ["x0"], name="add_tiny")], "x0"
    for i in range(layers):
        nodes.append(helper.make_node("MatMul", [t, "q"], [f"m{i}"], name=f"matmul{i}"))
        t = f"m{i}"
    head, fc = _head(t, side * side)
    return _model(nodes + head, ["N", 1, side, side], 3, inits + fc)


def relu_chain(depth: int = 600) -> bytes:
    """``depth`` ReLUs one after another on an 8 x 8 input."""
    nodes, t = [], "input"
    for i in range(depth):
        nodes.append(helper.make_node("Relu", [t], [f"r{i}"], name=f"relu{i}"))
        t = f"r{i}"
    head, fc = _head(t, 64)
    return _model(nodes + head, ["N", 1, 8, 8], 3, fc)


def add_chain(depth: int = 1995) -> bytes:
    """x_i = x_(i-1) + input, ``depth`` times: every Add is a skip connection."""
    nodes, t = [], "input"
    for i in range(depth):
        nodes.append(helper.make_node("Add", ["input", t], [f"a{i}"], name=f"add{i}"))
        t = f"a{i}"
    head, fc = _head(t, 64)
    return _model(nodes + head, ["N", 1, 8, 8], 3, fc)


def strip(height: int, width: int) -> bytes:
    """A dense classifier of a 1 x height x width image (1 x 256 or 256 x 1)."""
    head, fc = _head("input", height * width)
    return _model(head, ["N", 1, height, width], 3, fc)


def nan_on_black() -> bytes:
    """x / x: 1 everywhere on an ordinary image, 0 / 0 = NaN on a black one."""
    nodes = [helper.make_node("Div", ["input", "input"], ["ratio"], name="ratio")]
    head, fc = _head("ratio", 64)
    return _model(nodes + head, ["N", 1, 8, 8], 3, fc)


def check(data: bytes) -> bytes:
    """``data`` after onnx.checker (for builders small enough to parse in a test)."""
    onnx.checker.check_model(onnx.load_from_string(data))
    return data
