"""engine.explain.values: the arithmetic behind one value, as dataclasses (ValueError)."""

from __future__ import annotations

import numpy as np
import pytest

from engine.explain.kinds import ConvValue, DenseValue, PoolValue, TraceError
from engine.explain.values import trace_value
from engine.graph import Node, run
from tests.engine.graphkit import conv, graph, op

RNG = np.random.default_rng(1)


@pytest.fixture(scope="module")
def net():
    g = graph([conv("c", "x", "w", "b", pads=[1, 0, 1, 2], strides=[2, 1]),
               op("p", "AveragePool", "c", kernel_shape=[2, 2], pads=[1, 1, 0, 0], count_include_pad=1),
               op("f", "Flatten", "p"),
               Node("fc", "Gemm", ("f", "W", "B"), ("fc",), {"transB": 1})],
              {"w": RNG.normal(size=(3, 1, 3, 3)), "b": RNG.normal(size=3),
               "W": RNG.normal(size=(4, 3 * 6 * 10)), "B": RNG.normal(size=4)})
    x = RNG.normal(size=(1, 1, 12, 10)).astype(np.float32)
    return g, run(g, x)


@pytest.mark.parametrize("pos", [(0, 0, 0), (2, 3, 9), (1, 5, 4)])
def test_a_conv_value_is_its_dot_product_plus_bias(net, pos):
    g, values = net
    t = trace_value(g, values, "c", *pos)
    assert isinstance(t.detail, ConvValue) and t.detail.pads == (1, 0, 1, 2)
    assert t.detail.result == pytest.approx(t.value, abs=1e-5)
    assert t.value == pytest.approx(float(values["c"][0, pos[0], pos[1], pos[2]]))
    assert t.field is not None and t.field.size == (3, 3)


def test_an_average_counts_the_padding_it_was_told_to(net):
    g, values = net
    t = trace_value(g, values, "p", 1, 0, 0)
    assert isinstance(t.detail, PoolValue) and t.detail.count == 4
    assert t.detail.result == pytest.approx(t.value, abs=1e-5)
    assert t.detail.window.padding.tolist() == [[True, True], [True, False]]


def test_a_dense_value_names_the_feature_map_cells_it_reads(net):
    g, values = net
    t = trace_value(g, values, "fc", 2)
    d = t.detail
    assert isinstance(d, DenseValue) and d.inputs_total == 3 * 6 * 10 and len(d.top) == 10
    assert d.result == pytest.approx(t.value, abs=1e-4)
    top = d.top[0]
    assert top.source is not None and top.source.layer == "p"
    assert top.x == pytest.approx(float(values["p"][0, top.source.channel, top.source.row, top.source.col]))


@pytest.mark.parametrize("layer,pos,needle", [
    ("nope", (0, 0, 0), "no layer called"),
    ("c", (3, 0, 0), "3 maps of 6 x 10"),
    ("f", (0, 0, 0), "is a Flatten"),
    ("fc", (0, 1, 0), "row and col must be 0"),
])
def test_what_cannot_be_traced_is_a_value_error_that_says_why(net, layer, pos, needle):
    g, values = net
    with pytest.raises(TraceError, match=needle) as err:
        trace_value(g, values, layer, *pos)
    assert isinstance(err.value, ValueError)
