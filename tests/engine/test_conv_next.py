"""Transposed, 1-D, grouped and depthwise convolution: the vectorised ops against the loop
references, float64 numeric gradients, and onnxruntime running each as a one-node graph
(and the graph runner's ConvTranspose, forward and VJP)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import engine
from engine.graph import VJPS, Node
from engine.graph.backward import backward
from engine.graph.ops import OPS
from engine.ops.conv import conv2d_backward, conv2d_forward
from engine.ops.conv1d import conv1d_backward, conv1d_forward
from engine.ops.conv_transpose import (
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    zero_insertion_view,
)
from engine.ops.reference import conv1d_reference, conv2d_reference, conv_transpose2d_reference
from tests.engine.gradcheck import numeric_gradient, rel_error

# (C, M, group, kernel, strides, pads, dilations, output_padding)
TRANSPOSE_CASES = [
    (1, 1, 1, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1), (0, 0)),
    (2, 3, 1, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), (1, 1)),
    (2, 2, 1, (4, 4), (2, 2), (1, 1, 1, 1), (1, 1), (0, 0)),  # DCGAN's upsampling
    (3, 4, 1, (2, 3), (3, 2), (0, 1, 2, 0), (1, 1), (2, 1)),  # odd, non-square, uneven pads
    (4, 6, 2, (3, 2), (2, 3), (1, 0, 0, 1), (1, 2), (0, 1)),  # grouped, dilated
    (3, 3, 3, (3, 3), (2, 1), (1, 1, 1, 1), (2, 1), (1, 0)),  # depthwise
]


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def transpose_arrays(c, m, group, kernel, seed=0):
    return rand(2, c, 4, 5, seed=seed), rand(c, m // group, *kernel, seed=seed + 1), rand(m, seed=seed + 2)


@pytest.mark.parametrize(("c", "m", "group", "kernel", "strides", "pads", "dilations", "opad"),
                         TRANSPOSE_CASES)
def test_conv_transpose_matches_reference_and_zero_insertion(c, m, group, kernel, strides, pads,
                                                             dilations, opad):
    x, w, b = transpose_arrays(c, m, group, kernel)
    attrs = {"strides": strides, "pads": pads, "dilations": dilations, "output_padding": opad,
             "group": group}
    out, _ = conv_transpose2d_forward(x, w, b, **attrs)
    ref = conv_transpose2d_reference(x, w, b, **attrs)
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-12)
    # The same op as a stride-1 convolution of the zero-inserted input with the turned kernel.
    z, wz = zero_insertion_view(x, w, **attrs)
    assert z.shape[2] == (x.shape[2] - 1) * strides[0] + 1 + 2 * dilations[0] * (kernel[0] - 1) \
        + opad[0] - pads[0] - pads[2]
    direct, _ = conv2d_forward(z, wz, b, dilations=dilations, group=group)
    np.testing.assert_allclose(direct, out, atol=1e-12)


@pytest.mark.parametrize(("c", "m", "group", "kernel", "strides", "pads", "dilations", "opad"),
                         TRANSPOSE_CASES)
def test_conv_transpose_is_the_gradient_of_a_conv(c, m, group, kernel, strides, pads, dilations, opad):
    """A convolution with the same weights maps the output size back to the input size; its
    backward pass sends an input-sized gradient to exactly this op's output."""
    x, w, _ = transpose_arrays(c, m, group, kernel)
    attrs = {"strides": strides, "pads": pads, "dilations": dilations}
    out, _ = conv_transpose2d_forward(x, w, output_padding=opad, group=group, **attrs)
    _, cache = conv2d_forward(np.zeros((x.shape[0], m, *out.shape[2:])), w, group=group, **attrs)
    conv_out_hw = conv2d_forward(np.zeros((1, m, *out.shape[2:])), w, group=group, **attrs)[0].shape[2:]
    assert conv_out_hw == x.shape[2:]
    dx, _, _ = conv2d_backward(x, cache)
    np.testing.assert_allclose(dx, out, atol=1e-12)


@pytest.mark.parametrize(("c", "m", "group", "kernel", "strides", "pads", "dilations", "opad"),
                         TRANSPOSE_CASES)
def test_conv_transpose_backward_numeric(c, m, group, kernel, strides, pads, dilations, opad):
    x, w, b = transpose_arrays(c, m, group, kernel, seed=3)
    x = x[:1, :, :3, :4].copy()
    attrs = {"strides": strides, "pads": pads, "dilations": dilations, "output_padding": opad,
             "group": group}
    out, cache = conv_transpose2d_forward(x, w, b, **attrs)
    dout = rand(*out.shape, seed=9)
    grads = conv_transpose2d_backward(dout, cache)
    for array, grad in zip((x, w, b), grads, strict=True):
        numeric = numeric_gradient(lambda: float(np.sum(conv_transpose2d_forward(x, w, b, **attrs)[0] * dout)),
                                   array)
        assert grad.shape == array.shape
        assert rel_error(grad, numeric) < 1e-6


def test_conv_transpose_without_bias_and_float32():
    x, w = rand(1, 2, 3, 3).astype(np.float32), rand(2, 2, 3, 3).astype(np.float32)
    out, cache = conv_transpose2d_forward(x, w, strides=(2, 2))
    assert out.dtype == np.float32 and out.shape == (1, 2, 7, 7)
    assert conv_transpose2d_backward(np.ones_like(out), cache)[2] is None


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"pads": (3, 3, 3, 3)}, "crops all"),
    ({"output_padding": (2, 0), "strides": (2, 2)}, "smaller than the stride"),
    ({"group": 3}, "divide"),
])
def test_conv_transpose_refuses(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_transpose2d_forward(rand(1, 2, 2, 2), rand(2, 1, 3, 3), **kwargs)


CONV1D_CASES = [
    (1, 1, 1, 3, 1, (0, 0), 1),
    (3, 4, 1, 3, 2, (1, 1), 1),
    (4, 6, 2, 2, 1, (0, 2), 2),
    (3, 3, 3, 5, 3, (2, 1), 1),  # depthwise
]


@pytest.mark.parametrize(("c", "f", "group", "k", "s", "pads", "d"), CONV1D_CASES)
def test_conv1d_matches_reference_and_gradients(c, f, group, k, s, pads, d):
    x, w, b = rand(2, c, 9), rand(f, c // group, k, seed=1), rand(f, seed=2)
    attrs = {"strides": (s,), "pads": pads, "dilations": (d,), "group": group}
    out, cache = conv1d_forward(x, w, b, **attrs)
    np.testing.assert_allclose(out, conv1d_reference(x, w, b, **attrs), atol=1e-12)
    dout = rand(*out.shape, seed=5)
    grads = conv1d_backward(dout, cache)
    for array, grad in zip((x, w, b), grads, strict=True):
        numeric = numeric_gradient(lambda: float(np.sum(conv1d_forward(x, w, b, **attrs)[0] * dout)), array)
        assert grad.shape == array.shape
        assert rel_error(grad, numeric) < 1e-6


def test_conv1d_refuses_2d_attributes():
    with pytest.raises(ValueError, match="1 value"):
        conv1d_forward(rand(1, 1, 5), rand(1, 1, 3), strides=(1, 1))
    with pytest.raises(ValueError, match=r"\(N, C, L\)"):
        conv1d_forward(rand(1, 1, 5, 5), rand(1, 1, 3))
    with pytest.raises(ValueError, match=r"x \(1, 2, 5\) has 2 channels but w \(1, 1, 3\)"):
        conv1d_forward(rand(1, 2, 5), rand(1, 1, 3))  # the 1-D shapes, not the 2-D view's
    with pytest.raises(ValueError, match=r"strides of a 1-D convolution .*integers >= 1.*1\.5"):
        conv1d_forward(rand(1, 1, 5), rand(1, 1, 3), strides=(1.5,))


@pytest.mark.parametrize(("c", "f", "group"), [(4, 4, 4), (6, 6, 6), (4, 8, 4), (6, 4, 2)])
def test_grouped_and_depthwise_conv_match_reference(c, f, group):
    x, w, b = rand(1, c, 6, 5), rand(f, c // group, 3, 3, seed=1), rand(f, seed=2)
    out, _ = conv2d_forward(x, w, b, pads=(1, 1, 1, 1), group=group)
    np.testing.assert_allclose(out, conv2d_reference(x, w, b, pads=(1, 1, 1, 1), group=group), atol=1e-12)
    # A grouped conv is `group` separate convs on slices of the channels, concatenated.
    cg, fg = c // group, f // group
    parts = [conv2d_forward(x[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg], b[g * fg:(g + 1) * fg],
                            pads=(1, 1, 1, 1))[0] for g in range(group)]
    np.testing.assert_allclose(out, np.concatenate(parts, axis=1), atol=1e-12)


# ------------------------------------------------------------------ onnxruntime


def run_node(op_type, inputs, **attrs):
    node = helper.make_node(op_type, list(inputs), ["y"], **attrs)
    graph = helper.make_graph(
        [node], f"single_{op_type}",
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, v.shape) for k, v in inputs.items()],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {k: v.astype(np.float32) for k, v in inputs.items()})[0]


@pytest.mark.parametrize(("c", "m", "group", "kernel", "strides", "pads", "dilations", "opad"),
                         TRANSPOSE_CASES)
def test_conv_transpose_matches_onnxruntime(c, m, group, kernel, strides, pads, dilations, opad):
    x, w, b = (a.astype(np.float32) for a in transpose_arrays(c, m, group, kernel))
    attrs = {"strides": list(strides), "pads": list(pads), "dilations": list(dilations),
             "output_padding": list(opad), "group": group}
    theirs = run_node("ConvTranspose", {"x": x, "w": w, "b": b}, **attrs)
    ours, _ = conv_transpose2d_forward(x, w, b, **{**attrs, "group": group})
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    graph_out = OPS["ConvTranspose"]([x, w, b], attrs, 17)[0]  # the graph runner's op
    np.testing.assert_allclose(graph_out, theirs, rtol=1e-5, atol=1e-5)


def test_graph_conv_transpose_output_shape_matches_onnxruntime():
    x, w = rand(1, 2, 3, 3).astype(np.float32), rand(2, 3, 3, 3, seed=1).astype(np.float32)
    attrs = {"strides": [2, 2], "output_shape": [6, 7]}
    theirs = run_node("ConvTranspose", {"x": x, "w": w}, **attrs)
    ours = OPS["ConvTranspose"]([x, w], attrs, 17)[0]
    assert ours.shape == theirs.shape == (1, 3, 6, 7)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("c", "f", "group", "kernel", "strides", "pads"), [
    (4, 8, 2, (3, 3), (1, 1), (1, 1, 1, 1)),  # grouped
    (6, 6, 3, (2, 3), (2, 1), (0, 1, 1, 0)),
    (4, 4, 4, (3, 3), (1, 1), (1, 1, 1, 1)),  # depthwise
    (3, 6, 3, (5, 5), (2, 2), (2, 2, 2, 2)),  # depthwise, multiplier 2
])
def test_grouped_and_depthwise_conv_match_onnxruntime(c, f, group, kernel, strides, pads):
    x, w, b = (rand(2, c, 7, 6), rand(f, c // group, *kernel, seed=1), rand(f, seed=2))
    x, w, b = (a.astype(np.float32) for a in (x, w, b))
    theirs = run_node("Conv", {"x": x, "w": w, "b": b}, strides=list(strides), pads=list(pads), group=group)
    ours, _ = conv2d_forward(x, w, b, strides=strides, pads=pads, group=group)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("c", "f", "group", "k", "s", "pads", "d"), CONV1D_CASES)
def test_conv1d_matches_onnxruntime(c, f, group, k, s, pads, d):
    x, w, b = (a.astype(np.float32) for a in (rand(2, c, 11), rand(f, c // group, k, seed=1), rand(f, seed=2)))
    theirs = run_node("Conv", {"x": x, "w": w, "b": b}, strides=[s], pads=list(pads), dilations=[d], group=group)
    ours, _ = conv1d_forward(x, w, b, strides=(s,), pads=pads, dilations=(d,), group=group)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------ graph VJP


@pytest.mark.parametrize(("c", "m", "group", "kernel", "strides", "pads", "dilations", "opad"),
                         TRANSPOSE_CASES[1:5])
def test_graph_conv_transpose_vjp_numeric(c, m, group, kernel, strides, pads, dilations, opad):
    x, w, b = transpose_arrays(c, m, group, kernel, seed=4)
    x = x[:1, :, :3, :3].copy()
    attrs = {"strides": list(strides), "pads": list(pads), "dilations": list(dilations),
             "output_padding": list(opad), "group": group}
    node = Node("n", "ConvTranspose", ("x", "w", "b"), ("y",), attrs)
    kw = {"strides": strides, "pads": pads, "dilations": dilations, "output_padding": opad, "group": group}

    def forward():
        return conv_transpose2d_forward(x, w, b, **kw)[0]

    out = forward()
    dout = rand(*out.shape, seed=11)
    grads = VJPS["ConvTranspose"](node, [x, w, b], [out], [dout], 17)
    only_dx = VJPS["ConvTranspose"](node, [x, w, b], [out], [dout], 17, need=[True, False, True])
    assert only_dx[1] is None
    np.testing.assert_allclose(only_dx[0], grads[0], atol=1e-12)
    for array, grad in zip((x, w, b), grads, strict=True):
        numeric = numeric_gradient(lambda: float(np.sum(forward() * dout)), array)
        assert rel_error(grad, numeric) < 1e-6


def test_a_model_with_conv_transpose_runs_and_backpropagates():
    """Conv -> Relu -> ConvTranspose (an encoder-decoder in miniature): the graph runner's
    output against onnxruntime, and its input gradient against float64 centred differences
    of the engine ops it is made of."""
    rng = np.random.default_rng(0)
    w1, w2, b2 = (rng.standard_normal(s).astype(np.float32) for s in ((4, 1, 3, 3), (4, 2, 4, 4), (2,)))
    nodes = [helper.make_node("Conv", ["x", "w1"], ["h"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("ConvTranspose", ["r", "w2", "b2"], ["y"], strides=[2, 2], pads=[1, 1, 1, 1])]
    graph = helper.make_graph(
        nodes, "upsample", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (w2, "w2"), (b2, "b2"))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    x = rng.standard_normal((1, 1, 8, 8)).astype(np.float32)
    theirs = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    g = engine.load_graph(model)
    values = engine.run(g, x)
    assert values["y"].shape == (1, 2, 8, 8)
    np.testing.assert_allclose(values["y"], theirs, rtol=1e-5, atol=1e-5)
    seed = rng.standard_normal(values["y"].shape)
    dx = backward(g, values, {"y": seed})["x"]

    def loss64(x64):
        h, _ = conv2d_forward(x64, w1.astype(np.float64), strides=(2, 2), pads=(1, 1, 1, 1))
        y, _ = conv_transpose2d_forward(np.maximum(h, 0), w2.astype(np.float64), b2.astype(np.float64),
                                        strides=(2, 2), pads=(1, 1, 1, 1))
        return float(np.sum(y * seed))

    x64 = x.astype(np.float64)
    numeric = numeric_gradient(lambda: loss64(x64), x64)
    assert rel_error(dx, numeric) < 1e-4  # the graph runs in float32
