"""Every graph op's VJP (engine.graph.backward.VJPS) against float64 numeric gradients.

For a random upstream gradient ``g`` the scalar ``L = sum(op(ins) * g)`` has
``dL/d ins[i] = vjp(...)[i]``; each entry of each differentiable input is nudged by
+-1e-6 and the centred difference is compared with the VJP (relative error < 1e-6).

The graph ops that cast to float32 (Conv, pooling, Gemm, Softmax, activations...) are
checked through a float64 *mirror*: the same engine op (``engine.ops``) with the node's
attributes resolved as the graph op resolves them; each mirror is first checked against
the graph op itself on float32 inputs, so the oracle is the op the runner runs. The
other ops (broadcasting arithmetic, MatMul, layout ops) keep float64 and are run as is.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.graph import VJPS, Node
from engine.graph.ops import OPS
from engine.registry import ACTIVATIONS
from tests.engine.gradcheck import numeric_gradient, rel_error
from tests.engine.graph64 import MIRRORS, conv64, forward64


def check(op_type, ins, attrs=None, opset=13, diff=(0,), seed=0):
    """Numeric check of ``VJPS[op_type]`` for the float inputs ``diff``; returns the grads."""
    attrs = attrs or {}
    node = Node("n", op_type, tuple(f"in{i}" if a is not None else "" for i, a in
                                    enumerate(ins)), ("y",), attrs)
    if op_type in MIRRORS:  # the mirror is the graph op, in float64
        ins32 = [a.astype(np.float32) if a is not None and a.dtype.kind == "f" else a
                 for a in ins]
        np.testing.assert_allclose(MIRRORS[op_type](ins, attrs, opset),
                                   OPS[op_type](ins32, attrs, opset)[0], rtol=1e-4, atol=1e-5)
    out = forward64(op_type, ins, attrs, opset)
    dout = np.random.default_rng(seed + 100).standard_normal(out.shape)
    grads = VJPS[op_type](node, ins, [out], [dout], opset)
    assert len(grads) == len(ins)
    for i in diff:
        numeric = numeric_gradient(
            lambda: float(np.sum(forward64(op_type, ins, attrs, opset) * dout)), ins[i])
        assert grads[i] is not None and grads[i].shape == ins[i].shape, (i, op_type)
        error = rel_error(grads[i], numeric)
        assert error < 1e-6, f"{op_type} input {i}: relative error {error:.3g}"
    return grads


def rand(*shape, seed=0, low=None):
    x = np.random.default_rng(seed).standard_normal(shape)
    return x if low is None else np.asarray(np.abs(x) + low)


def test_every_op_has_a_backward():
    assert set(OPS) <= set(VJPS)


# ------------------------------------------------------------------ windows

CONV_CASES = [
    ((1, 2, 6, 5), (3, 2, 3, 3), {"pads": [1, 1, 1, 1]}),
    ((2, 3, 7, 6), (4, 3, 3, 2), {"strides": [2, 1], "pads": [1, 0, 2, 1], "dilations": [2, 1]}),
    ((1, 4, 6, 7), (6, 2, 2, 3), {"group": 2, "strides": [2, 3], "pads": [0, 1, 1, 0]}),
    ((2, 3, 5, 5), (3, 1, 3, 3), {"group": 3, "dilations": [1, 2], "pads": [2, 2, 2, 2]}),
    ((1, 2, 7, 6), (3, 2, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ((1, 2, 6, 7), (2, 2, 2, 3), {"auto_pad": "SAME_LOWER"}),
    ((1, 2, 6, 5), (2, 2, 3, 2), {"auto_pad": "VALID", "strides": [3, 2]}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CONV_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv(x_shape, w_shape, attrs, bias):
    ins = [rand(*x_shape), rand(*w_shape, seed=1)] + ([rand(w_shape[0], seed=2)] if bias else [])
    check("Conv", ins, attrs, diff=range(len(ins)))


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CONV_CASES)
def test_conv_input_only(x_shape, w_shape, attrs):
    """Asked for dx only (stored weights), the conv VJP gives the same dx and no dW, dB."""
    ins = [rand(*x_shape), rand(*w_shape, seed=1), rand(w_shape[0], seed=2)]
    node = Node("n", "Conv", ("x", "w", "b"), ("y",), attrs)
    out = conv64(ins, attrs, 13)
    dout = rand(*out.shape, seed=3)
    full = VJPS["Conv"](node, ins, [out], [dout], 13)
    dx, dw, db = VJPS["Conv"](node, ins, [out], [dout], 13, [True, False, False])
    assert dw is None and db is None
    np.testing.assert_allclose(dx, full[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [2, 2], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
    {"kernel_shape": [2, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [2, 2], "dilations": [2, 2], "pads": [1, 0, 0, 1]},
    {"kernel_shape": [3, 2], "strides": [2, 1], "auto_pad": "SAME_UPPER"},
    {"kernel_shape": [3, 3], "strides": [3, 3]},
])
def test_max_pool(attrs):
    check("MaxPool", [rand(2, 3, 7, 8)], attrs)


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [2, 2], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 0},
    {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 0, 1, 1], "count_include_pad": 1},
    {"kernel_shape": [2, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"},
])
def test_average_pool(attrs):
    check("AveragePool", [rand(2, 3, 7, 8)], attrs)


def test_global_average_pool():
    check("GlobalAveragePool", [rand(2, 3, 4, 5)])


# ------------------------------------------------------------------ arithmetic


@pytest.mark.parametrize("op_type", sorted(
    a.onnx_op for a in ACTIVATIONS.values() if a.onnx_op))
def test_activation(op_type):
    check(op_type, [rand(3, 4, 5)])


@pytest.mark.parametrize(("op_type", "attrs"), [
    ("LeakyRelu", {"alpha": 0.2}), ("Gelu", {"approximate": "tanh"}), ("Swish", {"alpha": 1.7}),
])
def test_activation_attributes(op_type, attrs):
    check(op_type, [rand(3, 4, 5)], attrs)


def test_erf():
    check("Erf", [rand(4, 5) * 1.5])


@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize(("a", "b"), [
    ((2, 3, 4), (2, 3, 4)),
    ((2, 3, 4, 5), (3, 1, 1)),
    ((4, 1), (3, 1, 5)),
    ((1, 3, 1), ()),
    ((), (2, 3)),
])
def test_binary(op_type, a, b):
    low = 0.5 if op_type == "Div" else None  # keep the divisor away from 0
    check(op_type, [rand(*a), rand(*b, seed=1, low=low)], diff=(0, 1))


@pytest.mark.parametrize(("opset", "bounds", "attrs"), [
    (13, (-0.5, 0.7), {}),
    (13, (None, 0.3), {}),
    (13, (-0.2,), {}),
    (6, (), {"min": -0.4, "max": 0.5}),
])
def test_clip(opset, bounds, attrs):
    x = rand(3, 5, 4)
    ins = [x] + [None if b is None else np.array(b) for b in bounds]
    (dx, *rest) = check("Clip", ins, attrs, opset=opset)
    low = bounds[0] if bounds and bounds[0] is not None else attrs.get("min", -np.inf)
    high = bounds[1] if len(bounds) > 1 and bounds[1] is not None else attrs.get("max", np.inf)
    clipped = (x < low) | (x > high)
    assert clipped.any() and np.all(dx[clipped] == 0) and all(r is None for r in rest)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (4, 3)])
def test_batch_norm(shape):
    c = shape[1]
    ins = [rand(*shape), rand(c, seed=1), rand(c, seed=2), rand(c, seed=3),
           rand(c, seed=4, low=0.3)]
    check("BatchNormalization", ins, {"epsilon": 1e-3}, diff=range(5))


@pytest.mark.parametrize("attrs", [
    {}, {"transA": 1}, {"transB": 1}, {"transA": 1, "transB": 1, "alpha": 0.7, "beta": 1.8},
])
@pytest.mark.parametrize("c_shape", [None, (5,), (3, 5), (1, 5), (3, 1), ()])
def test_gemm(attrs, c_shape):
    a = rand(*((4, 3) if attrs.get("transA") else (3, 4)))
    b = rand(*((5, 4) if attrs.get("transB") else (4, 5)), seed=1)
    ins = [a, b] + ([] if c_shape is None else [rand(*c_shape, seed=2)])
    check("Gemm", ins, attrs, diff=range(len(ins)))


@pytest.mark.parametrize(("a", "b"), [
    ((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)),
    ((2, 1, 3, 4), (5, 4, 2)), ((4,), (2, 4, 3)),
])
def test_matmul(a, b):
    check("MatMul", [rand(*a), rand(*b, seed=1)], diff=(0, 1))


@pytest.mark.parametrize(("opset", "attrs", "shape"), [
    (13, {}, (2, 5)),
    (13, {"axis": 1}, (2, 3, 4)),
    (13, {"axis": 0}, (3, 4)),
    (11, {}, (2, 3, 4)),  # flattened to (2, 12)
    (11, {"axis": 2}, (2, 3, 4)),
    (11, {"axis": 0}, (2, 3)),
])
def test_softmax(opset, attrs, shape):
    check("Softmax", [rand(*shape)], attrs, opset=opset)


# ------------------------------------------------------------------ layout


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_concat(axis):
    ins = [rand(2, 3, 4), rand(2, 3, 4, seed=1), rand(2, 3, 4, seed=2)]
    ins[1] = ins[1][:, :, :2] if axis == -1 else ins[1][:1] if axis == 0 else ins[1][:, :1]
    check("Concat", ins, {"axis": axis}, diff=(0, 1, 2))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_flatten(axis):
    check("Flatten", [rand(2, 3, 4)], {"axis": axis})


def test_reshape():
    grads = check("Reshape", [rand(2, 3, 4), np.array([0, -1, 2])])
    assert grads[1] is None


@pytest.mark.parametrize("perm", [None, [0, 2, 3, 1], [3, 1, 0, 2]])
def test_transpose(perm):
    check("Transpose", [rand(2, 3, 4, 5)], {} if perm is None else {"perm": perm})


@pytest.mark.parametrize("op_type", ["Identity", "Dropout"])
def test_pass_through(op_type):
    check(op_type, [rand(3, 4)])


@pytest.mark.parametrize(("opset", "mode", "pads", "extra"), [
    (13, "constant", [0, 1, 2, 0, 2, 1], [np.array(0.5)]),
    (13, "constant", [0, -1, 1, 1, 0, -2], []),
    (13, "reflect", [0, 2, 1, 1, 1, 2], []),
    (13, "edge", [1, 3, 0, 0, 2, 1], []),
    (18, "reflect", [2, 1, 1, 2], [None, np.array([1, 2])]),
    (2, "edge", [0, 1, 1, 0, 2, 2], None),
])
def test_pad(opset, mode, pads, extra):
    x = rand(2, 4, 5)
    if extra is None:  # before opset 11 the pads are an attribute
        grads = check("Pad", [x], {"mode": mode, "pads": pads}, opset=opset)
    else:
        grads = check("Pad", [x, np.array(pads), *extra], {"mode": mode}, opset=opset)
        assert all(g is None for g in grads[1:])


def test_constant():
    assert VJPS["Constant"](Node("c", "Constant", (), ("y",), {"value_float": 1.0}), [],
                            [np.float32(1)], [np.float32(1)], 13) == ()


def test_vjps_keep_float32():
    """float32 in, float32 out: the backward runs at the forward's precision."""
    x = rand(1, 2, 6, 6).astype(np.float32)
    w = rand(3, 2, 3, 3, seed=1).astype(np.float32)
    node = Node("n", "Conv", ("x", "w"), ("y",), {"pads": [1, 1, 1, 1]})
    g = np.ones((1, 3, 6, 6), np.float32)
    assert VJPS["Conv"](node, [x, w], [g], [g], 13, [True, False])[0].dtype == np.float32
    for op_type in ("Relu", "Erf", "MaxPool"):
        attrs = {"kernel_shape": [2, 2]} if op_type == "MaxPool" else {}
        node = Node("n", op_type, ("x",), ("y",), attrs)
        y = OPS[op_type]([x], attrs, 13)[0]
        dx = VJPS[op_type](node, [x], [y], [np.ones_like(y)], 13)[0]
        assert dx.dtype == np.float32, op_type


@pytest.mark.parametrize(("dout", "w", "x_shape", "group", "message"), [
    ((1, 3, 5, 4), (3, 2, 3, 3), (1, 2, 6, 6), 1, "output shape"),
    ((1, 3, 4, 4), (3, 2, 3, 3), (1, 3, 6, 6), 1, "group"),
    ((1, 4, 4, 4), (4, 1, 3, 3), (1, 2, 6, 6), 3, "group"),
    ((1, 3, 4, 4), (3, 2, 3), (1, 2, 6, 6), 1, r"expects x \(N, C, H, W\)"),
])
def test_conv_input_grad_rejects_mismatched_shapes(dout, w, x_shape, group, message):
    from engine.ops.conv_input import conv2d_input_grad

    with pytest.raises(ValueError, match=message):
        conv2d_input_grad(np.ones(dout), np.ones(w), x_shape, group=group)
