"""The graph runner against onnxruntime (values) and ONNX shape inference (shapes).

Every test builds a small model with ``onnx.helper``, runs it with :func:`engine.graph.run`
and compares *every* tensor the graph makes (not just the final output: the model is
re-exported with each node output as a graph output) with onnxruntime, and every
intermediate shape with ``onnx.shape_inference``. Then the refusals: unknown ops,
external data (never opened), cycles, undefined tensors, malformed bytes, limits.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from engine.graph import (
    MAX_NODES,
    SUPPORTED_OPS,
    GraphError,
    UnsupportedOpError,
    conv_weights,
    graph_params,
    infer_shapes,
    load_graph,
    node_params,
    run,
)
from engine.registry import ACTIVATIONS

TOL = 1e-4
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"


# ------------------------------------------------------------------ helpers (also used by
# test_graph_random.py)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def make_model(nodes, inputs, outputs, inits=None, opset=17):
    """A model from nodes; ``inputs`` name -> shape, ``outputs`` names, ``inits`` name -> array."""
    graph = helper.make_graph(
        nodes,
        "test",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs.items()],
        [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outputs],
        [numpy_helper.from_array(v, k) for k, v in (inits or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def inferred_shapes(model) -> dict[str, tuple]:
    """Every tensor shape ONNX shape inference finds (strict: a failure is an error)."""
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    shapes = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
            shapes[vi.name] = tuple(d.dim_value for d in dims)
    return shapes, inferred


def ort_all(model, feeds) -> dict[str, np.ndarray]:
    """onnxruntime's value of every node output (each made a graph output)."""
    _, inferred = inferred_shapes(model)
    types = {
        vi.name: vi.type.tensor_type.elem_type
        for vi in list(inferred.graph.value_info) + list(inferred.graph.output)
    }
    full = onnx.ModelProto()
    full.CopyFrom(model)
    del full.graph.output[:]
    names = [o for node in model.graph.node for o in node.output if o]
    full.graph.output.extend(
        helper.make_tensor_value_info(n, types.get(n, TensorProto.FLOAT), None) for n in names
    )
    session = ort.InferenceSession(full.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(names, session.run(None, feeds), strict=True))


def check(model, feeds, tol=TOL, shape_inference=True):
    """Run ``model`` through the engine; compare every tensor with onnxruntime and shapes
    with ONNX shape inference. Returns the engine's tensors.

    The graph runs twice: the first run compiles its plan and checks each op's input
    shapes; the second runs the plan with the geometry each op remembered for them.
    Both are compared with onnxruntime."""
    graph = load_graph(model.SerializeToString())
    first = run(graph, feeds)
    ours = run(graph, feeds)
    assert list(ours) == list(first)
    for name, value in first.items():
        np.testing.assert_allclose(ours[name], value, rtol=1e-6, atol=1e-6, err_msg=name)
    theirs = ort_all(model, feeds)
    shapes = (
        inferred_shapes(model)[0] if shape_inference else {k: v.shape for k, v in theirs.items()}
    )
    for name, value in feeds.items():
        np.testing.assert_array_equal(ours[name], value)
    for name, expected in theirs.items():
        got = ours[name]
        assert got.shape == expected.shape, name
        assert got.dtype == (np.float32 if expected.dtype.kind == "f" else expected.dtype), name
        assert got.shape == shapes[name], f"{name}: {got.shape} vs shape inference {shapes[name]}"
        if expected.dtype.kind == "f":
            np.testing.assert_allclose(got, expected, rtol=tol, atol=tol, err_msg=name)
        else:
            np.testing.assert_array_equal(got, expected, err_msg=name)
    assert set(ours) == set(theirs) | set(feeds)
    return ours


def node(op_type, inputs, outputs=("y",), **attrs):
    return helper.make_node(op_type, list(inputs), list(outputs), **attrs)


def check_one(op_type, inputs: dict, inits=None, opset=17, outputs=("y",), **attrs):
    """One node: float inputs fed, ``inits`` stored in the model."""
    model = make_model(
        [node(op_type, [*inputs, *(inits or {})], outputs, **attrs)],
        {k: v.shape for k, v in inputs.items()},
        list(outputs),
        inits,
        opset,
    )
    return check(model, inputs)


# ------------------------------------------------------------------ single ops


@pytest.mark.parametrize(
    ("c", "k", "kernel", "attrs", "bias"),
    [
        (1, 2, (3, 3), {}, False),
        (3, 4, (3, 3), {"pads": [1, 1, 1, 1], "kernel_shape": [3, 3]}, True),
        (3, 4, (5, 3), {"strides": [2, 3], "pads": [2, 0, 1, 2]}, True),
        (3, 5, (3, 2), {"dilations": [2, 3], "pads": [1, 1, 0, 0]}, True),
        (4, 6, (3, 3), {"group": 2, "strides": [2, 1]}, True),
        (3, 3, (3, 3), {"group": 3, "pads": [1, 1, 1, 1]}, False),  # depthwise
        (2, 3, (4, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, True),
        (2, 3, (4, 2), {"auto_pad": "SAME_LOWER", "strides": [2, 1]}, True),
        (2, 3, (3, 3), {"auto_pad": "VALID", "strides": [2, 2]}, True),
        (2, 3, (1, 1), {}, True),
    ],
)
def test_conv(c, k, kernel, attrs, bias):
    group = attrs.get("group", 1)
    inits = {"w": rand(k, c // group, *kernel, seed=2)}
    if bias:
        inits["b"] = rand(k, seed=3)
    check_one("Conv", {"x": rand(2, c, 9, 8, seed=1)}, inits, **attrs)


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize(
    "attrs", [{}, {"pads": [1, 2, 0, 1], "strides": [2, 1]}, {"group": 2, "dilations": [1, 2]}]
)
def test_conv_weights_fed_and_batch_one(n, attrs):
    """Weights and bias as graph inputs (nothing known ahead), batch 1 and 3."""
    group = attrs.get("group", 1)
    feeds = {"x": rand(n, 4, 7, 9, seed=40), "w": rand(6, 4 // group, 3, 2, seed=41),
             "b": rand(6, seed=42)}
    check_one("Conv", feeds, **attrs)


def test_gemm_weights_fed():
    check_one("Gemm", {"A": rand(1, 5, seed=43), "B": rand(4, 5, seed=44), "C": rand(4, seed=45)},
              transB=1, alpha=0.5)


@pytest.mark.parametrize("op_type", ["Conv", "MaxPool", "Gemm"])
def test_new_input_shapes_after_the_first_run(op_type):
    """Ops remember geometry per input shape: a graph fed several batch sizes and sizes,
    in any order, gives what a fresh graph gives for each."""
    if op_type == "Gemm":
        nodes, inits = [node("Gemm", ["x", "w"], transB=1)], {"w": rand(3, 6, seed=46)}
        shapes = [(1, 6), (4, 6), (1, 6), (2, 6)]
    else:
        attrs = {"kernel_shape": [3, 3], "strides": [2, 2]}
        inputs = ["x", "w"] if op_type == "Conv" else ["x"]
        nodes = [node(op_type, inputs, pads=[1, 1, 1, 1], **attrs)] if op_type == "Conv" else [
            node(op_type, inputs, **attrs)]
        inits = {"w": rand(2, 3, 3, 3, seed=47)} if op_type == "Conv" else {}
        shapes = [(1, 3, 9, 9), (2, 3, 9, 9), (1, 3, 12, 7), (1, 3, 9, 9)]
    model = make_model(nodes, {"x": ["N", *(["C", "H", "W"] if op_type != "Gemm" else ["K"])]},
                       ["y"], inits)
    graph = load_graph(model.SerializeToString())
    for i, shape in enumerate(shapes):
        x = rand(*shape, seed=48 + i)
        expected = run(load_graph(model.SerializeToString()), x)["y"]
        np.testing.assert_allclose(run(graph, x)["y"], expected, rtol=1e-6, atol=1e-6)


def test_denormals_are_flushed_in_every_layer_of_every_run():
    """A layer whose products underflow (1e-20 * 1e-20) gives 0, not a denormal, on the
    first and on later runs; so does every layer after it, and the input itself."""
    tiny = np.float32(1e-20)
    model = make_model(
        [node("Conv", ["x", "w", "b"], ["c"]), node("Relu", ["c"], ["r"]),
         node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2]), node("Flatten", ["p"], ["f"]),
         node("Gemm", ["f", "g"], ["y"], transB=1)],
        {"x": (1, 2, 5, 5)}, ["y"],
        {"w": np.full((3, 2, 2, 2), tiny), "b": np.zeros(3, np.float32),
         "g": np.full((2, 27), tiny)},
    )
    graph = load_graph(model.SerializeToString())
    x = np.full((1, 2, 5, 5), tiny)
    x[0, 0, 0, 0] = np.float32(1e-39)  # a denormal input
    for _ in range(2):
        out = run(graph, x)
        for name, value in out.items():
            mag = np.abs(value)
            assert not np.any((mag > 0) & (mag < np.finfo(np.float32).tiny)), name
        assert np.all(out["c"] == 0) and np.all(out["y"] == 0)


def test_the_plan_is_compiled_once_per_graph():
    graph = load_graph(small_cnn())
    x = rand(2, 3, 10, 9, seed=49)
    run(graph, x)
    plan = graph._plan
    run(graph, x, keep=False)
    assert graph._plan is plan
    copy = dataclasses.replace(graph)
    assert copy._plan is None
    np.testing.assert_array_equal(run(copy, x)["probs"], run(graph, x)["probs"])


@pytest.mark.parametrize(
    ("op_type", "attrs", "opset"),
    [
        ("Relu", {}, 17),
        ("LeakyRelu", {}, 17),
        ("LeakyRelu", {"alpha": 0.2}, 17),
        ("Sigmoid", {}, 17),
        ("Tanh", {}, 17),
        ("Erf", {}, 17),
        ("Identity", {}, 17),
        ("Gelu", {}, 20),
        ("Gelu", {"approximate": "tanh"}, 20),
        ("Gelu", {"approximate": "none"}, 20),
    ],
)
def test_elementwise(op_type, attrs, opset):
    x = rand(2, 3, 5, 4, seed=4) * 3
    check_one(op_type, {"x": x}, opset=opset, **attrs)


@pytest.mark.parametrize(
    "attrs",
    [
        {"kernel_shape": [2, 2], "strides": [2, 2]},
        {"kernel_shape": [3, 3]},
        {"kernel_shape": [3, 2], "strides": [2, 1], "pads": [1, 0, 1, 1]},
        {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
        {"kernel_shape": [2, 3], "dilations": [2, 2], "strides": [1, 2]},
        {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
        {"kernel_shape": [2, 2], "auto_pad": "SAME_LOWER"},
    ],
)
def test_maxpool(attrs):
    check_one("MaxPool", {"x": rand(2, 3, 9, 8, seed=5)}, outputs=("y", "indices"), **attrs)


@pytest.mark.parametrize(
    "attrs",
    [
        {"kernel_shape": [2, 2], "strides": [2, 2]},
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]},
        {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1},
        {"kernel_shape": [3, 2], "strides": [2, 2], "ceil_mode": 1},
        {
            "kernel_shape": [3, 3],
            "strides": [2, 2],
            "pads": [1, 0, 1, 1],
            "ceil_mode": 1,
            "count_include_pad": 1,
        },
        {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
        {"kernel_shape": [2, 2], "auto_pad": "VALID"},
    ],
)
def test_avgpool(attrs):
    check_one("AveragePool", {"x": rand(2, 3, 9, 8, seed=6)}, **attrs)


@pytest.mark.parametrize("op_type", ["MaxPool", "AveragePool"])
def test_ceil_mode_window_in_padding_is_dropped(op_type):
    """W=12, kernel 3, stride 2, pads (0, 2), ceil_mode: ceil(11 / 2) + 1 = 7 windows, but the
    7th would start at column 12, inside the end padding; onnxruntime (as PyTorch and the
    current ONNX spec) drops it, giving 6. ONNX 1.23 shape inference still says 7, so only
    onnxruntime is the oracle here."""
    ours = check(
        make_model(
            [
                node(
                    op_type,
                    ["x"],
                    kernel_shape=[3, 3],
                    strides=[2, 2],
                    pads=[1, 0, 1, 2],
                    ceil_mode=1,
                )
            ],
            {"x": (1, 2, 7, 12)},
            ["y"],
        ),
        {"x": rand(1, 2, 7, 12, seed=6)},
        shape_inference=False,
    )
    assert ours["y"].shape == (1, 2, 4, 6)


def test_global_avgpool():
    check_one("GlobalAveragePool", {"x": rand(2, 5, 7, 6, seed=7)})


@pytest.mark.parametrize(("shape", "epsilon"), [((2, 4, 5, 3), None), ((3, 4), 1e-3)])
def test_batchnorm(shape, epsilon):
    c = shape[1]
    inits = {
        "scale": rand(c, seed=1),
        "B": rand(c, seed=2),
        "mean": rand(c, seed=3),
        "var": np.abs(rand(c, seed=4)) + 0.1,
    }
    attrs = {} if epsilon is None else {"epsilon": epsilon}
    check_one("BatchNormalization", {"x": rand(*shape, seed=8)}, inits, **attrs)


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize(
    ("a", "b"),
    [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (3, 1, 1)), ((4, 1), (1, 5)), ((2, 3), ())],
)
def test_binary(op_type, a, b):
    rhs = rand(*b, seed=10) if b else np.float32(1.5)
    rhs = np.where(np.abs(rhs) < 0.3, 0.5, rhs).astype(np.float32)  # no near-zero divisors
    check_one(op_type, {"a": rand(*a, seed=9)}, {"b": np.asarray(rhs)})


def test_binary_two_graph_inputs():
    check_one("Sub", {"a": rand(2, 3, 1, 4, seed=1), "b": rand(3, 5, 1, seed=2)})


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_concat(axis):
    shapes = {
        1: [(2, 1, 3, 4), (2, 3, 3, 4), (2, 2, 3, 4)],
        -1: [(2, 3, 2), (2, 3, 5), (2, 3, 1)],
        0: [(1, 4), (3, 4), (2, 4)],
    }[axis]
    inputs = {f"x{i}": rand(*s, seed=i) for i, s in enumerate(shapes)}
    check_one("Concat", inputs, axis=axis)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, 4])
def test_flatten(axis):
    check_one("Flatten", {"x": rand(2, 3, 4, 5, seed=11)}, axis=axis)


@pytest.mark.parametrize(
    ("shape", "target", "allowzero"),
    [
        ((2, 3, 4, 5), [0, -1], 0),
        ((2, 3, 4, 5), [-1, 5, 4], 0),
        ((2, 3, 4, 5), [0, 0, 20], 0),
        ((2, 3, 4, 5), [6, 20], 1),
        ((2, 3, 4), [24], 0),
        ((0, 3), [3, 0], 1),
    ],
)
def test_reshape(shape, target, allowzero):
    check_one(
        "Reshape",
        {"x": rand(*shape, seed=12)},
        {"shape": np.array(target, np.int64)},
        allowzero=allowzero,
    )


@pytest.mark.parametrize("perm", [None, [0, 2, 3, 1], [1, 0, 3, 2]])
def test_transpose(perm):
    attrs = {} if perm is None else {"perm": perm}
    check_one("Transpose", {"x": rand(2, 3, 4, 5, seed=13)}, **attrs)


@pytest.mark.parametrize(
    ("a", "b", "c", "attrs"),
    [
        ((3, 5), (5, 4), (4,), {}),
        ((3, 5), (4, 5), (4,), {"transB": 1}),
        ((5, 3), (5, 4), (3, 4), {"transA": 1, "alpha": 0.5, "beta": 2.0}),
        ((5, 3), (4, 5), (), {"transA": 1, "transB": 1, "beta": -1.0}),
        ((3, 5), (5, 4), None, {"alpha": 3.0}),
        ((3, 5), (5, 4), (3, 1), {}),
    ],
)
def test_gemm(a, b, c, attrs):
    inits = {"B": rand(*b, seed=15)}
    if c is not None:
        inits["C"] = np.asarray(rand(*c, seed=16) if c else np.float32(0.7))
    check_one("Gemm", {"A": rand(*a, seed=14)}, inits, **attrs)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((3, 5), (5, 4)),
        ((2, 3, 5), (5, 4)),
        ((2, 1, 3, 5), (3, 5, 2)),
        ((5,), (5, 3)),
        ((3, 5), (5,)),
    ],
)
def test_matmul(a, b):
    check_one("MatMul", {"a": rand(*a, seed=17), "b": rand(*b, seed=18)})


@pytest.mark.parametrize(
    ("opset", "attrs"),
    [
        (17, {}),
        (17, {"axis": 1}),
        (13, {"axis": -3}),
        (11, {}),
        (11, {"axis": 2}),
        (11, {"axis": -1}),
    ],
)
def test_softmax(opset, attrs):
    check_one("Softmax", {"x": rand(2, 3, 4, 5, seed=19) * 2}, opset=opset, **attrs)


def test_dropout_is_identity_with_mask():
    ours = check_one(
        "Dropout",
        {"x": rand(2, 3, 4, seed=20)},
        {"ratio": np.array(0.5, np.float32), "training_mode": np.array(False)},
        outputs=("y", "mask"),
    )
    assert ours["mask"].dtype == bool and ours["mask"].all()
    check_one("Dropout", {"x": rand(2, 3, seed=21)}, opset=10, ratio=0.3)


@pytest.mark.parametrize(
    ("pads", "value", "mode", "axes", "opset"),
    [
        ([0, 0, 1, 2, 0, 0, 2, 1], None, "constant", None, 17),
        ([0, 0, 1, 1, 0, 0, 1, 1], 1.5, "constant", None, 17),
        ([0, 1, -1, 2, 0, 0, 2, -2], None, "constant", None, 17),  # negative pads crop
        ([0, 0, 2, 1, 0, 0, 1, 2], None, "reflect", None, 17),
        ([0, 0, 2, 1, 0, 0, 1, 2], None, "edge", None, 17),
        ([1, 2, 2, 0], -0.5, "constant", [2, -1], 18),
        ([0, 0, 1, 2, 0, 0, 2, 1], 0.25, "constant", None, 10),  # attributes before opset 11
    ],
)
def test_pad(pads, value, mode, axes, opset):
    x = {"x": rand(2, 3, 4, 5, seed=22)}
    if opset < 11:
        attrs = {"pads": pads, "mode": mode} | ({} if value is None else {"value": value})
        check_one("Pad", x, opset=opset, **attrs)
        return
    inits = {"pads": np.array(pads, np.int64)}
    inputs = ["x", "pads"]
    if value is not None or axes is not None:
        inits["value"] = np.array(0.0 if value is None else value, np.float32)
        inputs.append("value")
    if axes is not None:
        inits["axes"] = np.array(axes, np.int64)
        inputs.append("axes")
    model = make_model([node("Pad", inputs, mode=mode)], {"x": (2, 3, 4, 5)}, ["y"], inits, opset)
    check(model, x)


@pytest.mark.parametrize(
    ("low", "high", "opset"),
    [
        (-0.5, 0.5, 17),
        (None, 0.3, 17),
        (-0.2, None, 17),
        (None, None, 17),
        (-1.0, 0.25, 10),
        (None, 0.1, 6),
    ],
)
def test_clip(low, high, opset):
    x = {"x": rand(3, 4, 5, seed=23)}
    if opset < 11:
        attrs = {k: v for k, v in (("min", low), ("max", high)) if v is not None}
        check_one("Clip", x, opset=opset, **attrs)
        return
    inits = {k: np.array(v, np.float32) for k, v in (("lo", low), ("hi", high)) if v is not None}
    inputs = ["x", "lo" if low is not None else "", "hi" if high is not None else ""]
    while inputs[-1] == "":
        inputs.pop()
    check(make_model([node("Clip", inputs)], {"x": (3, 4, 5)}, ["y"], inits), x)


@pytest.mark.parametrize(
    "attrs",
    [
        {"value": numpy_helper.from_array(rand(3, 1, 1, seed=24), "c")},
        {"value_float": 2.5},
        {"value_floats": [1.0, -2.0, 0.5, 4.0]},
    ],
)
def test_constant_feeds_mul(attrs):
    nodes = [node("Constant", [], ["c"], **attrs), node("Mul", ["x", "c"])]
    check(make_model(nodes, {"x": (2, 3, 4, 4)}, ["y"]), {"x": rand(2, 3, 4, 4, seed=25)})


@pytest.mark.parametrize(
    "attrs",
    [{"value_ints": [0, -1]}, {"value": numpy_helper.from_array(np.array([2, 12], np.int64), "s")}],
)
def test_constant_shape_feeds_reshape(attrs):
    nodes = [node("Constant", [], ["shape"], **attrs), node("Reshape", ["x", "shape"])]
    check(make_model(nodes, {"x": (2, 3, 4)}, ["y"]), {"x": rand(2, 3, 4, seed=26)})


# ------------------------------------------------------------------ small networks


def small_cnn(opset=17):
    """conv -> bn -> relu -> maxpool -> conv(group 2) -> add(skip) -> gap -> flatten -> gemm
    -> softmax."""
    inits = {
        "w1": rand(4, 3, 3, 3, seed=1),
        "b1": rand(4, seed=2),
        "scale": rand(4, seed=3),
        "B": rand(4, seed=4),
        "mean": rand(4, seed=5),
        "var": np.abs(rand(4, seed=6)) + 0.5,
        "w2": rand(4, 2, 3, 3, seed=7),
        "b2": rand(4, seed=8),
        "fc_w": rand(5, 4, seed=9),
        "fc_b": rand(5, seed=10),
    }
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["conv1"], pads=[1, 1, 1, 1], name="conv1"),
        node("BatchNormalization", ["conv1", "scale", "B", "mean", "var"], ["bn1"], name="bn1"),
        node("Relu", ["bn1"], ["relu1"], name="relu1"),
        node("MaxPool", ["relu1"], ["pool1"], kernel_shape=[2, 2], strides=[2, 2], name="pool1"),
        node("Conv", ["pool1", "w2", "b2"], ["conv2"], pads=[1, 1, 1, 1], group=2, name="conv2"),
        node("Add", ["conv2", "pool1"], ["skip"], name="skip"),
        node("GlobalAveragePool", ["skip"], ["gap"], name="gap"),
        node("Flatten", ["gap"], ["flat"], name="flat"),
        node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"], transB=1, name="fc"),
        node("Softmax", ["logits"], ["probs"], axis=1, name="softmax"),
    ]
    return make_model(nodes, {"x": (2, 3, 10, 9)}, ["probs"], inits, opset)


def test_small_cnn():
    ours = check(small_cnn(), {"x": rand(2, 3, 10, 9, seed=30)})
    assert list(ours) == [
        "x",
        "conv1",
        "bn1",
        "relu1",
        "pool1",
        "conv2",
        "skip",
        "gap",
        "flat",
        "logits",
        "probs",
    ]
    np.testing.assert_allclose(ours["probs"].sum(axis=1), 1, rtol=1e-5)


def test_layout_path():
    """pad -> conv -> clip -> transpose -> reshape -> matmul -> concat -> reshape -> softmax."""
    inits = {
        "pads": np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64),
        "w": rand(3, 2, 3, 3, seed=1),
        "lo": np.array(-1.0, np.float32),
        "hi": np.array(1.0, np.float32),
        "shape1": np.array([0, -1, 3], np.int64),
        "m": rand(3, 4, seed=2),
        "shape2": np.array([2, -1], np.int64),
    }
    nodes = [
        node("Pad", ["x", "pads"], ["padded"]),
        node("Conv", ["padded", "w"], ["conv"], kernel_shape=[3, 3]),
        node("Clip", ["conv", "lo", "hi"], ["clipped"]),
        node("Transpose", ["clipped"], ["nhwc"], perm=[0, 2, 3, 1]),
        node("Reshape", ["nhwc", "shape1"], ["rows"]),
        node("MatMul", ["rows", "m"], ["proj"]),
        node("Tanh", ["proj"], ["act"]),
        node("Concat", ["proj", "act"], ["both"], axis=-1),
        node("Reshape", ["both", "shape2"], ["flat"]),
        node("Softmax", ["flat"], ["y"]),
    ]
    check(make_model(nodes, {"x": (2, 2, 5, 6)}, ["y"], inits), {"x": rand(2, 2, 5, 6, seed=31)})


def test_gelu_erf_head_opset20():
    """The shipped models' GELU form (Mul, Erf, Add) next to the Gelu op, avgpool, dropout."""
    inits = {
        "w": rand(4, 2, 3, 3, seed=1),
        "r2": np.array(1 / np.sqrt(2), np.float32),
        "one": np.array(1.0, np.float32),
        "half": np.array(0.5, np.float32),
        "fc": rand(16, 3, seed=2),
    }
    nodes = [
        node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
        node("Mul", ["c", "r2"], ["scaled"]),
        node("Erf", ["scaled"], ["e"]),
        node("Add", ["e", "one"], ["e1"]),
        node("Mul", ["e1", "half"], ["cdf"]),
        node("Mul", ["c", "cdf"], ["gelu_manual"]),
        node("Gelu", ["c"], ["gelu_op"]),
        node("Sub", ["gelu_manual", "gelu_op"], ["diff"]),
        node("AveragePool", ["gelu_op"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Dropout", ["pooled"], ["dropped"]),
        node("Flatten", ["dropped"], ["flat"]),
        node("MatMul", ["flat", "fc"], ["y"]),
    ]
    ours = check(
        make_model(nodes, {"x": (2, 2, 4, 4)}, ["y", "diff"], inits, opset=20),
        {"x": rand(2, 2, 4, 4, seed=32)},
    )
    assert np.abs(ours["diff"]).max() < 1e-5


@pytest.mark.parametrize("entry", [a for a in ACTIVATIONS.values() if a.onnx_op],
                         ids=lambda a: a.name)
def test_every_registered_activation_matches_onnxruntime(entry):
    """The graph runner takes its activation ops from engine/registry.py."""
    opset = max(20, entry.onnx_since)
    x = rand(2, 3, 5, 5, seed=41) * 3
    check_one(entry.onnx_op, {"x": x}, opset=opset, **dict(entry.onnx_attrs))


# ------------------------------------------------------------------ API details


def test_graph_structure():
    graph = load_graph(small_cnn())
    assert [(i.name, i.shape, i.dtype) for i in graph.inputs] == [("x", (2, 3, 10, 9), "float32")]
    assert [o.name for o in graph.outputs] == ["probs"]
    assert graph.opset == 17 and len(graph.nodes) == 10
    conv2 = graph.node("conv2")
    assert (conv2.op_type, conv2.inputs, conv2.outputs) == (
        "Conv",
        ("pool1", "w2", "b2"),
        ("conv2",),
    )
    assert conv2.attributes == {"pads": [1, 1, 1, 1], "group": 2}
    assert all(a.dtype == np.float32 for a in graph.initializers.values())
    assert {
        "Conv",
        "ConvTranspose",
        "Relu",
        "LeakyRelu",
        "Sigmoid",
        "Tanh",
        "Gelu",
        "Erf",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "BatchNormalization",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "Concat",
        "Flatten",
        "Reshape",
        "Transpose",
        "Gemm",
        "MatMul",
        "Softmax",
        "Dropout",
        "Identity",
        "Pad",
        "Clip",
        "Constant",
        "Swish",
    } == SUPPORTED_OPS


def test_initializers_listed_as_inputs_are_not_fed():
    """Older exporters also list every initializer among the graph inputs."""
    model = make_model(
        [node("Conv", ["x", "w"])], {"x": (1, 2, 4, 4)}, ["y"], {"w": rand(3, 2, 3, 3)}
    )
    model.graph.input.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, (3, 2, 3, 3)))
    graph = load_graph(model)
    assert [i.name for i in graph.inputs] == ["x"]
    check(model, {"x": rand(1, 2, 4, 4, seed=1)})


def test_node_names_are_unique_and_dims_may_be_dynamic():
    nodes = [node("Relu", ["x"], ["r"]), node("Sigmoid", ["r"], ["s"]), node("Tanh", ["s"])]
    nodes[1].name = nodes[2].name = "act"
    model = make_model(nodes, {"x": ("batch", 3, None)}, ["y"])
    graph = load_graph(model.SerializeToString())
    assert [n.name for n in graph.nodes] == ["op_0", "act", "act_2"]
    assert graph.inputs[0].shape == ("batch", 3, None)
    assert run(graph, rand(4, 3, 2))["y"].shape == (4, 3, 2)
    with pytest.raises(GraphError, match=r"shape \('\?', 3, '\?'\), got \(4, 2, 2\)"):
        run(graph, rand(4, 2, 2))


def test_node_params_and_conv_weights():
    graph = load_graph(small_cnn())
    assert node_params(graph, "conv1") == 4 * 3 * 3 * 3 + 4
    assert node_params(graph, "conv2") == 4 * 2 * 3 * 3 + 4
    assert node_params(graph, "bn1") == 8  # scale and B; running mean/var are statistics
    assert node_params(graph, "fc") == 5 * 4 + 5
    assert node_params(graph, graph.node("relu1")) == 0
    w, b = conv_weights(graph, "conv2")
    assert w.shape == (4, 2, 3, 3) and b.shape == (4,)
    np.testing.assert_array_equal(w, rand(4, 2, 3, 3, seed=7))
    with pytest.raises(GraphError, match="not a Conv"):
        conv_weights(graph, "fc")
    nobias = load_graph(
        make_model([node("Conv", ["x", "w"])], {"x": (1, 1, 3, 3)}, ["y"], {"w": rand(1, 1, 2, 2)})
    )
    assert conv_weights(nobias, "op_0")[1] is None
    pads = load_graph(
        make_model(
            [node("Pad", ["x", "p"])], {"x": (1, 2)}, ["y"], {"p": np.array([0, 1, 0, 1], np.int64)}
        )
    )
    assert node_params(pads, "op_0") == 0
    scaled = load_graph(
        make_model(
            [node("Mul", ["x", "half"], ["h"]), node("Add", ["h", "bias"])],
            {"x": (2, 3)},
            ["y"],
            {"half": np.array(0.5, np.float32), "bias": rand(3)},
        )
    )
    assert [node_params(scaled, n) for n in scaled.nodes] == [0, 3]


def test_graph_params_counts_shared_weights_once():
    """Two convolutions sharing one weight tensor (as a flip-TTA export does)."""
    nodes = [
        node("Conv", ["x", "w", "b"], ["a"]),
        node("Conv", ["a", "w", "b"], ["c"]),
        node("Mul", ["c", "k"]),
    ]
    inits = {"w": rand(2, 2, 3, 3), "b": rand(2), "k": rand(2, 1, 1)}
    graph = load_graph(make_model(nodes, {"x": (1, 2, 7, 7)}, ["y"], inits))
    assert [node_params(graph, n) for n in graph.nodes] == [38, 38, 2]
    assert graph_params(graph) == 38 + 2
    assert graph_params(load_graph(small_cnn())) == 112 + 76 + 8 + 25


def test_infer_shapes_matches_onnx():
    model = small_cnn()
    ours = infer_shapes(load_graph(model), (2, 3, 10, 9))
    theirs, _ = inferred_shapes(model)
    assert ours.pop("x") == (2, 3, 10, 9)
    assert ours == theirs
    with pytest.raises(GraphError):
        infer_shapes(load_graph(model), (2, 0, 10, 9))


def test_keep_false_returns_only_outputs():
    graph = load_graph(small_cnn())
    x = rand(2, 3, 10, 9, seed=33)
    lean = run(graph, x, keep=False)
    assert list(lean) == ["probs"]
    np.testing.assert_array_equal(lean["probs"], run(graph, x)["probs"])


def test_load_from_path(tmp_path):
    path = tmp_path / "net.onnx"
    onnx.save_model(small_cnn(), path)
    for source in (path, str(path)):
        assert len(load_graph(source).nodes) == 10
    with pytest.raises(GraphError, match="cannot read"):
        load_graph(tmp_path / "missing.onnx")


def test_import_engine_does_not_load_onnx():
    code = "import sys, engine, engine.graph; assert 'onnx' not in sys.modules, 'onnx imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


# ------------------------------------------------------------------ refusals


def test_unknown_op_names_op_and_node():
    nodes = [node("Relu", ["x"], ["r"]), node("LSTM", ["r", "w", "rw"], name="lstm_1")]
    inits = {"w": rand(1, 4, 3), "rw": rand(1, 4, 1)}
    with pytest.raises(UnsupportedOpError) as info:
        load_graph(make_model(nodes, {"x": (2, 1, 3)}, ["y"], inits).SerializeToString())
    assert str(info.value) == "The engine does not run the op 'LSTM' (node 'lstm_1')."
    assert (info.value.op_type, info.value.node_name) == ("LSTM", "lstm_1")
    assert isinstance(info.value, GraphError)


def test_unknown_op_without_name_and_other_domain():
    with pytest.raises(UnsupportedOpError, match=r"'Upsample' \(node 'op_1'\)"):
        load_graph(
            make_model(
                [node("Relu", ["x"], ["r"]), node("Upsample", ["r"])], {"x": (1, 1, 2, 2)}, ["y"]
            )
        )
    custom = helper.make_node("FusedConv", ["x"], ["y"], domain="com.microsoft", name="fc")
    with pytest.raises(UnsupportedOpError, match="com.microsoft.FusedConv"):
        load_graph(make_model([custom], {"x": (1, 1, 2, 2)}, ["y"]))


@pytest.fixture
def no_file_access():
    """Fail the test if anything opens a file while it is active (Python-level audit hook)."""
    opened = []
    active = [True]

    def hook(event, args):
        if active[0] and event == "open":
            opened.append(args[0])

    sys.addaudithook(hook)
    yield opened
    active[0] = False


def _external(tensor: TensorProto, location: str) -> None:
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location


def test_external_initializer_is_refused_without_opening_it(tmp_path, monkeypatch, no_file_access):
    weights = rand(4, 3, 3, 3)
    (tmp_path / "weights.bin").write_bytes(weights.tobytes())  # it exists, and must stay unread
    monkeypatch.chdir(tmp_path)
    model = make_model([node("Conv", ["x", "w"])], {"x": (1, 3, 5, 5)}, ["y"], {"w": weights})
    _external(model.graph.initializer[0], "weights.bin")
    no_file_access.clear()
    with pytest.raises(GraphError, match="external data is not allowed"):
        load_graph(model.SerializeToString())
    assert not [p for p in no_file_access if "weights.bin" in str(p)]
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    no_file_access.clear()
    with pytest.raises(GraphError, match="external data is not allowed"):
        load_graph(path)
    assert [os.fspath(p) for p in no_file_access if isinstance(p, str | os.PathLike)] == [str(path)]


def test_external_flag_alone_or_in_constant_is_refused():
    model = make_model(
        [node("Conv", ["x", "w"])], {"x": (1, 3, 5, 5)}, ["y"], {"w": rand(4, 3, 3, 3)}
    )
    model.graph.initializer[0].data_location = TensorProto.EXTERNAL
    with pytest.raises(GraphError, match="external data is not allowed"):
        load_graph(model)
    value = numpy_helper.from_array(rand(3), "c")
    _external(value, "/etc/passwd")
    nodes = [node("Constant", [], ["c"], value=value), node("Add", ["x", "c"])]
    with pytest.raises(GraphError, match="external data is not allowed"):
        load_graph(make_model(nodes, {"x": (3,)}, ["y"]))


def test_cycle_is_refused():
    nodes = [
        node("Add", ["x", "b"], ["a"], name="first"),
        node("Relu", ["a"], ["b"], name="second"),
    ]
    with pytest.raises(GraphError, match="'b'.*topological order, or the graph has a cycle"):
        load_graph(make_model(nodes, {"x": (2,)}, ["b"]))


def test_out_of_order_nodes_are_refused():
    nodes = [node("Sigmoid", ["r"], ["y"], name="late"), node("Relu", ["x"], ["r"], name="early")]
    with pytest.raises(GraphError, match="node 'late' uses tensor 'r' before node 'early'"):
        load_graph(make_model(nodes, {"x": (2,)}, ["y"]))


def test_undefined_and_duplicate_tensors_are_refused():
    with pytest.raises(GraphError, match="tensor 'ghost', which is never defined"):
        load_graph(make_model([node("Add", ["x", "ghost"])], {"x": (2,)}, ["y"]))
    twice = [node("Relu", ["x"], ["y"]), node("Sigmoid", ["x"], ["y"])]
    with pytest.raises(GraphError, match="'y' is produced twice"):
        load_graph(make_model(twice, {"x": (2,)}, ["y"]))
    with pytest.raises(GraphError, match="output 'z' is never produced"):
        load_graph(make_model([node("Relu", ["x"])], {"x": (2,)}, ["z"]))


@pytest.mark.parametrize(
    "data",
    [b"not an onnx model", b"", b"\x00" * 64, bytes(range(256)) * 4, b"\x08\x07\x12"],
    ids=["text", "empty", "zeros", "bytes", "tiny"],
)
def test_malformed_bytes_are_refused(data):
    with pytest.raises(GraphError):
        load_graph(data)


def test_truncated_model_is_refused():
    data = small_cnn().SerializeToString()
    with pytest.raises(GraphError):
        load_graph(data[: len(data) // 2])


def test_too_many_nodes_are_refused():
    nodes = [node("Identity", [f"t{i}"], [f"t{i + 1}"]) for i in range(MAX_NODES + 1)]
    model = make_model(nodes, {"t0": (1,)}, [f"t{MAX_NODES + 1}"])
    with pytest.raises(GraphError, match=f"{MAX_NODES + 1} nodes"):
        load_graph(model.SerializeToString())


def test_run_errors_name_the_node():
    model = make_model(
        [node("Reshape", ["x", "s"], name="squash")],
        {"x": (2, 3)},
        ["y"],
        {"s": np.array([4, -1], np.int64)},
    )
    with pytest.raises(GraphError, match=r"node 'squash' \(Reshape\): cannot infer the -1"):
        run(load_graph(model), rand(2, 3))
    huge = make_model(
        [node("Pad", ["x", "p"], name="grow")],
        {"x": (1, 1, 2, 2)},
        ["y"],
        {"p": np.array([0, 0, 10**5, 10**5, 0, 0, 10**5, 10**5], np.int64)},
    )
    with pytest.raises(GraphError, match="node 'grow'.*the limit is"):
        run(load_graph(huge), rand(1, 1, 2, 2))
    graph = load_graph(small_cnn())
    with pytest.raises(GraphError, match="must have shape"):
        run(graph, rand(2, 3, 10, 8))
    with pytest.raises(GraphError, match="missing input 'x'"):
        run(graph, {"image": rand(2, 3, 10, 9)})


def test_training_mode_is_refused():
    model = make_model(
        [node("Dropout", ["x", "r", "t"], name="drop")],
        {"x": (2, 3)},
        ["y"],
        {"r": np.array(0.5, np.float32), "t": np.array(True)},
    )
    with pytest.raises(GraphError, match="node 'drop'.*training mode"):
        run(load_graph(model), rand(2, 3))


# ------------------------------------------------------------------ shipped models

SHIPPED = sorted(MODELS_DIR.glob("*.onnx"))


@pytest.mark.parametrize(
    "path",
    SHIPPED or [pytest.param(None, marks=pytest.mark.skip(reason="models/ has no .onnx yet"))],
    ids=[p.stem for p in SHIPPED] or ["none"],
)
def test_shipped_model_matches_onnxruntime(path):
    graph = load_graph(path)
    assert len(graph.inputs) == 1
    shape = tuple(d if isinstance(d, int) and d > 0 else 2 for d in graph.inputs[0].shape)
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    ours = run(graph, x)
    session = ort.InferenceSession(path.read_bytes(), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {graph.inputs[0].name: x})
    for out, expected in zip(graph.outputs, theirs, strict=True):
        assert ours[out.name].shape == expected.shape
        np.testing.assert_allclose(ours[out.name], expected, rtol=TOL, atol=TOL, err_msg=out.name)


@pytest.mark.parametrize(
    "path",
    SHIPPED or [pytest.param(None, marks=pytest.mark.skip(reason="models/ has no .onnx yet"))],
    ids=[p.stem for p in SHIPPED] or ["none"],
)
def test_shipped_model_every_layer_matches(path):
    """Every intermediate tensor of a shipped model: shape as ONNX shape inference says
    (batch fixed to 2), values as onnxruntime computes them."""
    model = onnx.load_from_string(path.read_bytes())
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].ClearField("dim_param")
    dims[0].dim_value = 2
    shape = tuple(d.dim_value for d in dims)
    x = np.random.default_rng(1).random(shape, dtype=np.float32)
    ours = run(load_graph(model.SerializeToString()), x)
    expected_shapes, _ = inferred_shapes(model)
    theirs = ort_all(model, {model.graph.input[0].name: x})
    assert len(theirs) >= len(model.graph.node)  # every node's outputs are compared
    for name, value in theirs.items():
        assert ours[name].shape == expected_shapes[name], name
        np.testing.assert_allclose(ours[name], value, rtol=TOL, atol=TOL, err_msg=name)


def test_one_graph_run_from_many_threads():
    """The plan and the geometry ops remember are shared by threads (the app runs one
    loaded model for concurrent requests): every thread gets its own input's tensors."""
    from concurrent.futures import ThreadPoolExecutor

    data = small_cnn()
    graph = load_graph(data)
    inputs = [rand(2, 3, 10, 9, seed=60 + i) for i in range(8)]
    expected = [run(load_graph(data), x) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            got = list(pool.map(lambda x: run(graph, x), inputs))
            for ours, theirs in zip(got, expected, strict=True):
                assert list(ours) == list(theirs)
                for name in theirs:
                    np.testing.assert_allclose(ours[name], theirs[name], rtol=1e-6, atol=1e-6)
