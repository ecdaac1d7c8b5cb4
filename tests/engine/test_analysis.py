"""engine.graph.analysis: structure (chains, skips) and receptive fields, in loops."""

from __future__ import annotations

import numpy as np
import pytest

from engine.graph import run
from engine.graph.analysis import Shapes, Structure, receptive_field
from tests.engine.graphkit import conv, graph, op

RNG = np.random.default_rng(0)


def test_a_chain_deeper_than_the_recursion_limit_is_walked_in_a_loop():
    nodes = [op("relu0", "Relu", "x")] + [op(f"relu{i}", "Relu", f"relu{i - 1}") for i in range(1, 5000)]
    g = graph(nodes, {})
    values = run(g, np.ones((1, 1, 12, 10), np.float32))
    f = receptive_field(Structure(g), Shapes(g, values), "relu4999", 3, 5)
    assert not f.whole and (f.rows, f.cols, f.size) == ((3, 3), (5, 5), (1, 1))


@pytest.mark.parametrize("row,col", [(0, 0), (2, 1), (3, 1)])
def test_the_field_of_conv_pool_conv_is_where_nan_poisoning_reaches(row, col):
    g = graph([conv("c1", "x", "w1", pads=[1, 1, 1, 1]),
               op("p", "MaxPool", "c1", kernel_shape=[2, 2], strides=[2, 2]),
               conv("c2", "p", "w2", strides=[1, 2], dilations=[1, 2])],
              {"w1": RNG.normal(size=(2, 1, 3, 3)), "w2": RNG.normal(size=(1, 2, 3, 2))})
    x = np.ones((1, 1, 12, 10), np.float32)
    values = run(g, x)
    f = receptive_field(Structure(g), Shapes(g, values), "c2", row, col)
    reached = np.zeros((12, 10), bool)
    for i in range(12):
        for j in range(10):
            poisoned = x.copy()
            poisoned[0, 0, i, j] = np.nan
            reached[i, j] = np.isnan(run(g, poisoned)["c2"][0, 0, row, col])
    rows, cols = np.nonzero(reached)
    assert f.rows == (rows.min(), rows.max()) and f.cols == (cols.min(), cols.max())


def test_a_skip_connection_is_an_add_of_a_tensor_and_something_computed_from_it():
    g = graph([conv("c", "x", "w", pads=[1, 1, 1, 1]), op("r", "Relu", "c"),
               op("skip", "Add", "c", "r"), op("a", "Relu", "skip"), op("b", "Sigmoid", "skip"),
               op("two", "Add", "a", "b")], {"w": RNG.normal(size=(1, 1, 3, 3))})
    st = Structure(g)
    assert st.skip_connection(g.node("skip")) == ("c", "r")
    assert st.skip_connection(g.node("two")) is None  # two branches, neither made from the other
    assert st.source("x") == "input" and st.source("w") == "weights" and st.from_input("two")


def test_an_element_wise_chain_ends_at_its_last_step():
    g = graph([op("m", "Mul", "x", "half"), op("a", "Add", "m", "one"), op("r", "Relu", "a")],
              {"half": 0.5, "one": 1.0})
    st = Structure(g)
    assert st.is_chain_step(g.node("m")) and st.is_chain_step(g.node("a"))
    assert st.chain_end(g.node("m")).name == "r" and not st.is_chain_step(g.node("r"))
