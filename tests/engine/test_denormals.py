"""The graph runner's denormal guarantee where it skips checks (engine/graph/denormals.py).

A ``Mul``, ``Add`` or ``Sub`` output is not checked when the smallest nonzero values of
its inputs prove it cannot hold a denormal. Every case here compares the run with a
run of the same plan that checks every output (as before the rules existed): the
tensors must be identical and hold no denormal.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import engine.graph.denormals as denormals
from engine.graph import Graph, Node, ValueInfo, run
from engine.graph.denormals import TINY, check

F32_TINY = np.float32(TINY)


def make_graph(nodes, inits, shape):
    return Graph([ValueInfo("x", tuple(shape), "float32")],
                 [ValueInfo(nodes[-1].outputs[0], None, "float32")],
                 nodes, {k: np.asarray(v, np.float32) for k, v in inits.items()}, 17)


def op(name, op_type, *inputs):
    return Node(name, op_type, inputs, (name,), {})


def assert_no_denormal(tensors):
    for name, value in tensors.items():
        if value.dtype == np.float32:
            mag = np.abs(value)
            assert not np.any((mag > 0) & (mag < F32_TINY)), name


def run_both(graph, x):
    """(this plan's run, the same plan run with every output checked)."""
    ours = run(graph, x)
    plan = graph._plan[1]
    assert plan.lows is not None, "the plan should track bounds (it has Add/Sub/Mul)"
    lows, plan.lows = plan.lows, None
    try:
        every = run(graph, x)
    finally:
        plan.lows = lows
    assert list(ours) == list(every)
    for name in every:
        np.testing.assert_array_equal(ours[name], every[name], err_msg=name)
    assert_no_denormal(ours)
    return ours


@pytest.mark.parametrize(
    ("values", "low"),
    [
        ([3.0, -0.5, 2.0], 0.5),
        ([0.0, -0.0, -0.25, 4.0], 0.25),
        ([0.0, 0.0], math.inf),
        ([0.0, 1e-30, -2e-30], float(np.float32(1e-30))),
        ([0.0, np.inf], math.inf),
        ([np.nan, 0.0, 2.0], 2.0),
        ([1e-39, 1.0], TINY),  # flushed: nonzero values left are normal
        ([0.0, -1e-40, 5.0], TINY),
    ],
)
def test_check_gives_the_smallest_nonzero_magnitude(values, low):
    arr = np.array(values, np.float32)
    out, got = check(arr)
    assert got == low
    assert_no_denormal({"out": out})
    if low != TINY:
        assert out is arr  # nothing to flush: the array itself


@pytest.mark.parametrize(("value", "low"), [(0.0, math.inf), (-2.0, 2.0), (1e-39, TINY)])
def test_check_of_a_0d_array(value, low):
    out, got = check(np.array(value, np.float32))
    assert got == low and out.shape == () and abs(out) in (0, abs(np.float32(value)))


def test_check_of_integers_and_empty_arrays():
    assert check(np.array([0, 3, -7], np.int64))[1] == 1.0
    assert check(np.array([True, False]))[1] == 1.0
    assert check(np.zeros((0, 3), np.float32))[1] == math.inf


@pytest.mark.parametrize(
    ("op_type", "x", "c"),
    [
        ("Mul", [1.5 * TINY, 1.0, -3.0], [0.5]),  # 0.75 * tiny: a denormal
        ("Mul", [1e-20, 2.0, 0.0], [1e-18]),  # 1e-38 < tiny
        ("Add", [1.5 * TINY, 2.0, 0.0], [-TINY]),  # 0.5 * tiny
        ("Sub", [3e-38, 1.0, 5.0], [2e-38]),  # 1e-38 < tiny
        ("Add", [2.0**-100, 1.0, 0.0], [-(2.0**-100 - 2.0**-123)]),  # exact 2**-123: normal
    ],
)
def test_small_normal_inputs_are_checked(op_type, x, c):
    graph = make_graph([op("y", op_type, "x", "c")], {"c": c}, (3,))
    out = run_both(graph, np.array(x, np.float32))
    if op_type != "Add" or x[0] != 2.0**-100:
        assert out["y"][0] == 0  # the denormal was flushed


def test_a_chain_is_checked_where_its_bound_stops_being_normal(monkeypatch):
    """1e-20 * 1e-10 = 1e-30 is proved normal without a check; times 1e-10 it is not."""
    graph = make_graph([op("a", "Mul", "x", "c"), op("b", "Mul", "a", "c"),
                        op("r", "Relu", "b"), op("s", "Add", "r", "c")],
                       {"c": [1e-10]}, (2,))
    x = np.array([1e-20, -1.0], np.float32)
    run(graph, x)  # compiles the plan
    checked = []
    real = denormals.check
    monkeypatch.setattr(denormals, "check", lambda arr: checked.append(arr.copy()) or real(arr))
    out = run(graph, x)
    monkeypatch.setattr(denormals, "check", real)
    c = np.float32(1e-10)
    np.testing.assert_array_equal(out["b"], [0, np.float32(-1.0) * c * c])  # 1e-40 flushed
    # Checked: b (its bound is 1e-40) and s (r's bound 1e-40 is below 2**-103); not a
    # (bound 1e-30) nor r (a ReLU selects values).
    assert len(checked) == 2
    np.testing.assert_array_equal(checked[0], [np.float32(1e-20) * c * c, -c * c])
    np.testing.assert_array_equal(checked[1], out["s"])
    run_both(graph, x)


def test_a_sum_can_be_far_smaller_than_its_terms():
    """1 - (1 - 2**-24) = 2**-24: the bound of a sum is the last place of its smallest
    term, not the term; times 1e-32 it is a denormal, flushed."""
    graph = make_graph([op("a", "Add", "x", "c"), op("m", "Mul", "a", "d")],
                       {"c": [-(1 - 2.0**-24)], "d": [1e-32]}, (2,))
    out = run_both(graph, np.array([1.0, 2.0], np.float32))
    assert out["a"][0] == 2.0**-24 and out["m"][0] == 0


def test_gelu_chain_of_large_values_skips_the_checks_and_matches():
    """GELU as exported (x * 0.5 * (1 + erf(x / sqrt 2))), on values where 1 + erf
    rounds to 0: outputs hold zeros, products of them are proved free of denormals."""
    nodes = [op("m", "Mul", "x", "r2"), op("e", "Erf", "m"), op("a", "Add", "e", "one"),
             op("h", "Mul", "a", "half"), op("g", "Mul", "x", "h")]
    inits = {"r2": [1 / math.sqrt(2)], "one": [1.0], "half": [0.5]}
    graph = make_graph(nodes, inits, (4, 50))
    x = np.random.default_rng(0).standard_normal((4, 50)).astype(np.float32) * 8
    out = run_both(graph, x)
    assert np.any(out["a"] == 0) and np.any(out["g"] == 0)


@pytest.mark.parametrize("seed", range(40))
def test_random_chains_at_every_scale(seed):
    """Chains of Mul, Add, Sub, Relu and Identity over inputs and constants whose
    magnitudes span float32 from denormal to 1e10, zeros and signs mixed."""
    rng = np.random.default_rng(seed)

    def values(n):
        v = 10.0 ** rng.uniform(-45, 10, n) * rng.choice([-1, 1], n)
        v[rng.random(n) < 0.2] = 0
        return v.astype(np.float32)

    names, nodes, inits = ["x"], [], {}
    for i in range(12):
        op_type = rng.choice(["Mul", "Add", "Sub", "Relu", "Identity"])
        a = names[rng.integers(len(names))]
        if op_type in ("Relu", "Identity"):
            nodes.append(op(f"n{i}", op_type, a))
        else:
            if rng.random() < 0.5:
                b = f"c{i}"
                inits[b] = values(int(rng.choice([1, 8])))
            else:
                b = names[rng.integers(len(names))]
            nodes.append(op(f"n{i}", op_type, a, b))
        names.append(f"n{i}")
    if not any(n.op_type in ("Mul", "Add", "Sub") for n in nodes):
        nodes.append(op("last", "Mul", names[-1], "x"))
    graph = make_graph(nodes, inits, (8,))
    for _ in range(3):
        run_both(graph, values(8))
