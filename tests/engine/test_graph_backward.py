"""engine.graph.backward on whole graphs: paths that add up, which nodes are visited, what
``wrt`` and the seeds may name, and input_gradient.

Numeric checks here run the graph in float64 (tests/engine/graph64.py) and compare
``backward`` on those float64 tensors with centred differences (relative error < 1e-6;
the result is float32, whose rounding is about 6e-8).
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.graph import VJPS, Graph, GraphError, Node, ValueInfo, backward, input_gradient, run
from tests.engine.gradcheck import numeric_gradient, rel_error
from tests.engine.graph64 import run64
from tests.engine.graphkit import conv, graph, op


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def numeric_check(g: Graph, x, seeds: dict, wrt: list[str]):
    """``backward`` on the float64 run against centred differences of
    ``sum(seed * tensor)``, with respect to each of ``wrt`` (an input or an intermediate)."""
    x = np.asarray(x, np.float64)
    tensors = run64(g, x)
    seeds = {k: np.asarray(v, np.float64) for k, v in seeds.items()}
    grads = backward(g, tensors, seeds, wrt)
    for name in wrt:
        assert grads[name].dtype == np.float32 and grads[name].shape == tensors[name].shape
        value = tensors[name].copy()

        def loss(name=name, value=value):
            t = run64(g, value if name == "x" else x, {} if name == "x" else {name: value})
            return sum(float(np.sum(t[k] * s)) for k, s in seeds.items())

        numeric = numeric_gradient(loss, value)
        assert np.abs(numeric).max() > 1e-3, f"the check of '{name}' would be vacuous"
        error = rel_error(grads[name], numeric)
        assert error < 1e-6, f"'{name}': relative error {error:.3g}"
    return grads


def residual_graph() -> Graph:
    """conv -> relu -> conv, added to the block's input (a skip), then a classifier."""
    rng = np.random.default_rng(5)
    inits = {
        "w1": rng.standard_normal((3, 3, 3, 3)) * 0.5, "b1": rng.standard_normal(3),
        "w2": rng.standard_normal((3, 3, 3, 3)) * 0.5,
        "fc": rng.standard_normal((4, 3)), "fcb": rng.standard_normal(4),
    }
    nodes = [
        conv("c1", "x", "w1", "b1", pads=[1, 1, 1, 1]),
        op("r1", "Relu", "c1"),
        conv("c2", "r1", "w2", pads=[1, 1, 1, 1]),
        op("sum", "Add", "x", "c2"),
        op("act", "Tanh", "sum"),
        op("gap", "GlobalAveragePool", "act"),
        op("flat", "Flatten", "gap", axis=1),
        Node("logits", "Gemm", ("flat", "fc", "fcb"), ("logits",), {"transB": 1}),
        op("prob", "Softmax", "logits", axis=1),
    ]
    return graph(nodes, inits, shape=("N", 3, 6, 5))


def test_residual_add_sums_both_paths():
    g = residual_graph()
    seed = np.zeros((1, 4))
    seed[0, 2] = 1
    numeric_check(g, rand(1, 3, 6, 5), {"logits": seed}, ["x", "r1", "sum"])


def test_a_tensor_read_twice_and_by_two_nodes():
    """x * x reads x twice in one node; sigmoid(x) and tanh(x) read it in two."""
    nodes = [op("sq", "Mul", "x", "x"), op("s", "Sigmoid", "x"), op("t", "Tanh", "x"),
             op("a", "Add", "sq", "s"), op("y", "Mul", "a", "t")]
    g = graph(nodes, {}, shape=(2, 3))
    x = rand(2, 3)
    seed = rand(2, 3, seed=1)
    grads = numeric_check(g, x, {"y": seed}, ["x"])
    x64 = x.astype(np.float64)
    sig, th = 1 / (1 + np.exp(-x64)), np.tanh(x64)
    expected = seed * ((2 * x64 + sig * (1 - sig)) * th + (x64**2 + sig) * (1 - th**2))
    np.testing.assert_allclose(grads["x"], expected, rtol=1e-5, atol=1e-6)


def test_concat_of_two_branches():
    rng = np.random.default_rng(3)
    nodes = [
        conv("a", "x", "wa", pads=[1, 1, 1, 1]),
        op("mp", "MaxPool", "x", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        op("cat", "Concat", "a", "mp", "x", axis=1),
        op("y", "Erf", "cat"),
    ]
    g = graph(nodes, {"wa": rng.standard_normal((2, 2, 3, 3))}, shape=(1, 2, 5, 4))
    numeric_check(g, rand(1, 2, 5, 4), {"y": rand(1, 6, 5, 4, seed=2)}, ["x", "a"])


def test_several_seeds_add_up():
    g = residual_graph()
    tensors = run(g, rand(1, 3, 6, 5))
    s1, s2 = rand(1, 4, seed=1), rand(1, 3, 6, 5, seed=2)
    both = backward(g, tensors, {"logits": s1, "sum": s2})["x"]
    apart = backward(g, tensors, {"logits": s1})["x"] + backward(g, tensors, {"sum": s2})["x"]
    np.testing.assert_allclose(both, apart, rtol=1e-5, atol=1e-6)


def test_a_seed_on_a_wanted_tensor_is_its_gradient():
    g = residual_graph()
    tensors = run(g, rand(1, 3, 6, 5))
    seed = rand(1, 3, 6, 5, seed=4)
    np.testing.assert_array_equal(backward(g, tensors, {"act": seed}, ["act"])["act"], seed)


def test_only_nodes_between_seed_and_wanted_are_visited(monkeypatch):
    g = residual_graph()
    tensors = run(g, rand(1, 3, 6, 5))
    calls: list[tuple[str, list]] = []
    for op_type, vjp in list(VJPS.items()):
        def spy(node, ins, outs, douts, opset, need=None, vjp=vjp):
            calls.append((node.name, need))
            return vjp(node, ins, outs, douts, opset, need)

        monkeypatch.setitem(VJPS, op_type, spy)
    seed = np.eye(4, dtype=np.float32)[None, 1]
    backward(g, tensors, {"logits": seed}, ["r1"])
    assert [name for name, _ in calls] == ["logits", "flat", "gap", "act", "sum", "c2"]
    # weights are never differentiated: the Gemm and Conv are asked for their input only
    assert dict(calls)["logits"] == [True, False, False]
    assert dict(calls)["c2"] == [True, False, False]  # x, w and an omitted bias
    calls.clear()
    backward(g, tensors, {"sum": np.ones((1, 3, 6, 5), np.float32)}, ["x"])
    assert [name for name, _ in calls] == ["sum", "c2", "r1", "c1"]  # nothing past the seed
    assert dict(calls)["sum"] == [True, True]


def test_a_tensor_no_seed_depends_on_gets_zeros():
    g = residual_graph()
    tensors = run(g, rand(1, 3, 6, 5))
    # "prob" comes after the seed; the seed on "c1" does not depend on "c2"
    grads = backward(g, tensors, {"c1": np.ones((1, 3, 6, 5), np.float32)}, ["prob", "c2", "x"])
    assert not grads["prob"].any() and grads["prob"].shape == (1, 4)
    assert not grads["c2"].any() and grads["c2"].shape == (1, 3, 6, 5)
    assert np.abs(grads["x"]).max() > 0


def test_gradients_through_a_graph_with_two_inputs():
    g = Graph([ValueInfo("a", (2, 3), "float32"), ValueInfo("b", (2, 3), "float32")],
              [ValueInfo("y", None, "float32")], [op("y", "Mul", "a", "b")], {}, 13)
    a, b = rand(2, 3), rand(2, 3, seed=1)
    grads = backward(g, run(g, {"a": a, "b": b}), {"y": np.ones((2, 3), np.float32)})
    np.testing.assert_array_equal(grads["a"], b)
    np.testing.assert_array_equal(grads["b"], a)


@pytest.mark.parametrize(("seeds", "wrt", "message"), [
    ({"nope": np.ones(4)}, None, "'nope' is not a tensor"),
    ({"logits": np.ones((1, 3))}, None, "shape"),
    ({"logits": np.ones((1, 4))}, ["missing"], "'missing' is not a tensor"),
    ({"logits": np.ones((1, 4))}, ["w1"], "is a weight"),
    ({"fc": np.ones((4, 3))}, None, "is a weight"),
    ({}, None, "at least one seed"),
    ({"logits": np.ones((1, 4))}, [3], "names"),
])
def test_bad_names_and_shapes_raise_value_error(seeds, wrt, message):
    g = residual_graph()
    tensors = run(g, rand(1, 3, 6, 5))
    with pytest.raises(ValueError, match=message):
        backward(g, tensors, seeds, wrt)


def test_input_gradient_seeds_the_input_of_the_final_softmax():
    g = residual_graph()
    x = rand(1, 3, 6, 5)
    grads, tensors = input_gradient(g, x, index=2, wrt=["x", "r1"])
    seed = np.zeros((1, 4), np.float32)
    seed[0, 2] = 1
    expected = backward(g, tensors, {"logits": seed}, ["x", "r1"])
    for name in ("x", "r1"):
        np.testing.assert_array_equal(grads[name], expected[name])
    assert set(tensors) == set(run(g, x))


def test_input_gradient_of_a_graph_without_softmax_seeds_its_output():
    g = graph([op("y", "Tanh", "x")], {}, shape=(1, 3))
    x = rand(1, 3)
    grads, _ = input_gradient(g, x, index=1)
    expected = np.zeros((1, 3), np.float32)
    expected[0, 1] = 1 - np.tanh(x[0, 1]) ** 2
    np.testing.assert_allclose(grads["x"], expected, rtol=1e-6)


def test_input_gradient_of_a_batch_is_each_image_on_its_own():
    g = residual_graph()
    x = rand(3, 3, 6, 5)
    grads, _ = input_gradient(g, x, index=1)
    for i in range(3):
        one, _ = input_gradient(g, x[i : i + 1], index=1)
        np.testing.assert_allclose(grads["x"][i : i + 1], one["x"], rtol=1e-5, atol=1e-7)


def test_input_gradient_of_an_intermediate_seed():
    g = residual_graph()
    grads, tensors = input_gradient(g, rand(1, 3, 6, 5), seed_tensor="c1", index=7)
    seed = np.zeros((1, 3, 6, 5), np.float32)
    seed.reshape(-1)[7] = 1
    np.testing.assert_array_equal(grads["x"], backward(g, tensors, {"c1": seed})["x"])


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"index": 4}, ValueError), ({"index": -1}, ValueError), ({"index": 1.5}, ValueError),
    ({"index": 0, "seed_tensor": "nope"}, ValueError),
    ({"index": 0, "wrt": ["nope"]}, ValueError),
])
def test_input_gradient_bad_arguments(kwargs, error):
    with pytest.raises(error):
        input_gradient(residual_graph(), rand(1, 3, 6, 5), **kwargs)


def test_a_failing_backward_names_the_node():
    g = residual_graph()
    tensors = dict(run(g, rand(1, 3, 6, 5)))
    tensors["r1"] = tensors["r1"][:, :, :4]  # not what c2 read: its backward cannot fit
    with pytest.raises(GraphError, match="c2"):
        backward(g, tensors, {"logits": np.ones((1, 4), np.float32)})


def test_tensors_of_a_run_that_kept_only_the_outputs_are_refused():
    g = residual_graph()
    x = rand(1, 3, 6, 5)
    tensors = {"x": x, **run(g, x, keep=False)}
    with pytest.raises(GraphError, match="keep=True"):
        backward(g, tensors, {"prob": np.ones((1, 4), np.float32)})
