"""Every forward agrees with onnxruntime running the same op as a one-node ONNX graph."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import engine

TOL = 1e-5


def run_node(op_type, inputs, opset=17, **attrs):
    """Run one ONNX node on named float32 ``inputs`` with onnxruntime; return its output."""
    node = helper.make_node(op_type, list(inputs), ["y"], **attrs)
    graph = helper.make_graph(
        [node],
        f"single_{op_type}",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.astype(np.float32) for k, v in inputs.items()})[0]


def assert_matches(ours, theirs):
    assert ours.dtype == np.float32
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=TOL, atol=TOL)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    ("c", "k", "kernel", "strides", "pads", "dilations", "group", "bias"),
    [
        (1, 1, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, False),
        (3, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1, True),
        (3, 4, (5, 3), (2, 3), (2, 0, 1, 2), (1, 1), 1, True),
        (3, 5, (3, 2), (1, 2), (1, 1, 0, 0), (2, 3), 1, True),
        (3, 3, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 3, True),  # depthwise
        (4, 6, (2, 3), (1, 1), (0, 1, 1, 0), (2, 1), 2, False),
    ],
)
def test_conv(c, k, kernel, strides, pads, dilations, group, bias):
    x, w, b = rand(2, c, 9, 8, seed=1), rand(k, c // group, *kernel, seed=2), rand(k, seed=3)
    inputs = {"x": x, "w": w, "b": b} if bias else {"x": x, "w": w}
    theirs = run_node(
        "Conv",
        inputs,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
        group=group,
    )
    ours, _ = engine.conv2d_forward(
        x, w, b if bias else None, strides=strides, pads=pads, dilations=dilations, group=group
    )
    assert_matches(ours, theirs)


@pytest.mark.parametrize(
    ("kernel", "strides", "pads", "dilations", "ceil_mode"),
    [
        ((2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 0),
        ((3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 0),
        ((3, 3), (2, 2), (0, 0, 0, 0), (1, 1), 1),
        ((3, 2), (2, 3), (1, 0, 2, 1), (1, 1), 1),
        ((2, 3), (1, 2), (1, 1, 0, 2), (2, 2), 0),
        ((2, 2), (3, 2), (1, 1, 1, 1), (2, 1), 1),
        ((2, 2), (2, 2), (1, 1, 1, 1), (1, 1), 1),  # ceil's last window would start in pads
    ],
)
def test_maxpool(kernel, strides, pads, dilations, ceil_mode):
    x = rand(2, 3, 9, 8, seed=4)
    theirs = run_node(
        "MaxPool",
        {"x": x},
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
        ceil_mode=ceil_mode,
    )
    ours, _ = engine.maxpool2d_forward(
        x,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        dilations=dilations,
        ceil_mode=bool(ceil_mode),
    )
    assert_matches(ours, theirs)


def test_maxpool_default_strides_are_one():
    x = rand(1, 2, 6, 5, seed=5)
    theirs = run_node("MaxPool", {"x": x}, kernel_shape=(3, 2))
    assert_matches(engine.maxpool2d_forward(x, kernel_shape=(3, 2))[0], theirs)


@pytest.mark.parametrize(
    ("kernel", "strides", "pads", "ceil_mode", "count_include_pad"),
    [
        ((2, 2), (2, 2), (0, 0, 0, 0), 0, 0),
        ((3, 3), (1, 1), (1, 1, 1, 1), 0, 0),
        ((3, 3), (1, 1), (1, 1, 1, 1), 0, 1),
        ((3, 3), (2, 2), (0, 0, 0, 0), 1, 0),
        ((3, 2), (2, 3), (1, 0, 2, 1), 1, 0),
        ((3, 2), (2, 3), (1, 0, 2, 1), 1, 1),
        ((3, 3), (2, 2), (2, 1, 1, 2), 0, 1),
        ((2, 2), (3, 3), (1, 1, 1, 1), 1, 1),
        ((2, 2), (2, 2), (1, 1, 1, 1), 1, 0),  # ceil's last window would start in pads
        ((2, 2), (2, 2), (1, 1, 1, 1), 1, 1),
    ],
)
def test_averagepool(kernel, strides, pads, ceil_mode, count_include_pad):
    x = rand(2, 3, 9, 8, seed=6)
    theirs = run_node(
        "AveragePool",
        {"x": x},
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    ours, _ = engine.avgpool2d_forward(
        x,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        ceil_mode=bool(ceil_mode),
        count_include_pad=bool(count_include_pad),
    )
    assert_matches(ours, theirs)


def test_global_average_pool():
    x = rand(2, 3, 5, 7, seed=7)
    assert_matches(engine.global_avgpool_forward(x)[0], run_node("GlobalAveragePool", {"x": x}))


@pytest.mark.parametrize(
    ("op_type", "forward", "attrs", "opset"),
    [
        ("Relu", engine.relu_forward, {}, 17),
        ("Sigmoid", engine.sigmoid_forward, {}, 17),
        ("Tanh", engine.tanh_forward, {}, 17),
        ("LeakyRelu", lambda x: engine.leaky_relu_forward(x, 0.1), {"alpha": 0.1}, 17),
        ("Gelu", engine.gelu_forward, {}, 20),
        ("Gelu", lambda x: engine.gelu_forward(x, "tanh"), {"approximate": "tanh"}, 20),
    ],
    ids=["relu", "sigmoid", "tanh", "leaky_relu", "gelu", "gelu_tanh"],
)
def test_activation(op_type, forward, attrs, opset):
    x = rand(2, 3, 4, 5, seed=8) * 4  # reach the saturated tails too
    assert_matches(forward(x)[0], run_node(op_type, {"x": x}, opset=opset, **attrs))


@pytest.mark.parametrize("bias", [True, False])
def test_gemm_trans_b(bias):
    x, w, b = rand(4, 12, seed=9), rand(5, 12, seed=10), rand(5, seed=11)
    inputs = {"x": x, "w": w, "b": b} if bias else {"x": x, "w": w}
    theirs = run_node("Gemm", inputs, transB=1)
    assert_matches(engine.dense_forward(x, w, b if bias else None)[0], theirs)


@pytest.mark.parametrize(("shape", "axis"), [((4, 10), -1), ((2, 3, 4), 1), ((3, 5), 0)])
def test_softmax(shape, axis):
    x = rand(*shape, seed=12) * 5
    theirs = run_node("Softmax", {"x": x}, axis=axis)
    assert_matches(engine.softmax_forward(x, axis)[0], theirs)


@pytest.mark.parametrize("axis", [0, 1, 2, 4, -1, -3])
def test_flatten(axis):
    x = rand(2, 3, 4, 5, seed=13)
    assert_matches(engine.flatten(x, axis), run_node("Flatten", {"x": x}, axis=axis))
