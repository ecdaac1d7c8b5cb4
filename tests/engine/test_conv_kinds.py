"""Sizes and counts of the convolutions after the course, the calculator's summaries of each
kind, and the playground's step-by-step traces, checked against independent counts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from engine.explain import formulas
from engine.explain.convkinds import KINDS, describe_kind
from engine.explain.convsteps import OPS, example
from engine.ops import counts, shapes
from engine.ops.conv_transpose import conv_transpose2d_forward


@pytest.mark.parametrize(("n", "k", "s", "p", "d", "op"), [
    (4, 3, 2, 1, 1, 1), (4, 4, 2, 1, 1, 0), (7, 3, 1, 0, 1, 0), (5, 2, 3, 0, 2, 2), (1, 5, 2, 2, 1, 0),
])
def test_transpose_size_is_the_formula_and_inverts_a_conv(n, k, s, p, d, op):
    out = shapes.conv_transpose_output_size(n, k, s, p, d, op)
    assert out.size == (n - 1) * s - 2 * p + d * (k - 1) + 1 + op
    # ... and equals the array the op makes
    y, _ = conv_transpose2d_forward(np.ones((1, 1, n, n)), np.ones((1, 1, k, k)), strides=(s, s),
                                    pads=(p,) * 4, dilations=(d, d), output_padding=(op, op))
    assert y.shape[2:] == (out.size, out.size)
    # A convolution with the same F, S, P, D takes the output size back to n.
    assert shapes.output_size(out.size, k, s, p, d).size == n


def test_transpose_size_refusals():
    with pytest.raises(ValueError, match="crops all"):
        shapes.conv_transpose_output_size(1, 1, 1, 1)
    with pytest.raises(ValueError, match="smaller than the stride"):
        shapes.conv_transpose_output_size(4, 3, 2, 0, 1, 2)
    with pytest.raises(ValueError, match=">= 1"):
        shapes.conv_transpose_output_size(0, 3)


def brute_macs(oh, ow, kh, kw, c, k, groups):
    """One count per product the loop reference does (taps on padding included)."""
    return sum(1 for _ in itertools.product(range(oh), range(ow), range(k), range(kh), range(kw),
                                            range(c // groups)))


@pytest.mark.parametrize(("oh", "ow", "kh", "kw", "c", "k", "g"), [(3, 4, 3, 3, 2, 4, 1), (2, 2, 5, 1, 6, 3, 3)])
def test_conv_macs_counts_every_product(oh, ow, kh, kw, c, k, g):
    assert counts.conv_macs(oh, ow, kh, kw, c, k, g) == brute_macs(oh, ow, kh, kw, c, k, g)


def test_transpose_macs_counts_every_scattered_product():
    h, w, c, m, k = 3, 2, 2, 4, 3
    scattered = sum(1 for _ in itertools.product(range(h), range(w), range(c), range(m), range(k), range(k)))
    assert counts.conv_transpose_macs(h, w, k, k, c, m) == scattered


@pytest.mark.parametrize(("hw", "c", "k", "f"), [(112, 64, 128, 3), (14, 512, 512, 3), (28, 32, 64, 5)])
def test_separable_saving_is_one_over_k_plus_one_over_f2(hw, c, k, f):
    sep = counts.separable_counts(hw, hw, f, f, c, k, bias=False)
    assert sep.macs / sep.standard_macs == pytest.approx(1 / k + 1 / (f * f))
    assert sep.params == c * f * f + c * k
    assert sep.standard.total == f * f * c * k


def test_same_padding_rule_names_the_course_values():
    text, pairs = formulas.same_padding_rule()
    assert pairs == [(3, 1), (5, 2), (7, 3)]
    for f, p in pairs:
        assert f"F = {f} \u2192 P = {p}" in text
        assert shapes.output_size(32, f, 1, p).size == 32  # it does keep the size
    with pytest.raises(ValueError, match="even"):
        formulas.same_padding_rule((4,))


def test_bottleneck_is_inceptions_saving():
    """28x28x192 -> 5x5 conv to 32 maps, directly or after a 1x1 to 16 channels."""
    r = describe_kind("bottleneck", (28, 28), 192, 32, 5, padding=2, bottleneck=16)
    direct = 28 * 28 * 32 * 5 * 5 * 192
    via = 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16
    assert (r.standard_macs, r.macs) == (direct, via)
    assert r.output_shape == (32, 28, 28)
    assert f"{via:,}" in r.macs_formula and "9.7 times fewer" in r.savings


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_kind_has_counts_and_sentences(kind):
    hw = (10,) if kind == "conv1d" else (8, 8)
    r = describe_kind(kind, hw, 4, 8, 3, stride=2 if kind == "transposed" else 1, padding=1, groups=2,
                      output_padding=1 if kind == "transposed" else 0, bottleneck=2)
    assert r.title == KINDS[kind] and r.explanation
    assert f"{r.params:,}" in r.params_formula and f"{r.macs:,}" in r.macs_formula
    assert r.activations == int(np.prod(r.output_shape))
    if kind in ("grouped", "depthwise", "separable", "bottleneck"):
        assert r.params < r.standard_params and r.macs < r.standard_macs and "fewer" in r.savings
    if kind == "transposed":
        assert r.output_shape == (8, 16, 16)  # (8-1)*2 - 2 + 3 + 1


def test_kind_refusals():
    with pytest.raises(ValueError, match="divide into 3 groups"):
        describe_kind("grouped", (8, 8), 4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="fits nowhere"):
        describe_kind("standard", (3, 3), 1, 1, 5)
    with pytest.raises(ValueError, match="one input length"):
        describe_kind("conv1d", (3, 3), 1, 1, 1)
    with pytest.raises(ValueError, match="multiple of the channels"):
        describe_kind("depthwise", (8, 8), 4, 6, 3)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("seed", [0, 7])
def test_traces_add_up_to_the_engine_value(op, seed):
    e = example(op, size=5, in_channels=2, filters=4, kernel=3, stride=2, padding=1,
                output_padding=1 if op == "transposed" else 0, groups=2, seed=seed, position=(1, 0, 1))
    t = e.trace
    assert t.sum == pytest.approx(sum(term.product for term in t.terms))
    assert t.value == pytest.approx(t.sum + t.bias)
    assert t.value == pytest.approx(t.engine)
    out = e.out if e.out.ndim == 3 else e.out[:, None, :]
    assert out[t.position] == pytest.approx(t.value)
    assert all(term.product == term.x * term.w for term in t.terms)
    if op == "transposed":
        assert t.zero_view["sum"] == pytest.approx(t.sum)
        assert t.gradient_gap == pytest.approx(0, abs=1e-9)
    if op == "separable":
        assert [s.engine for s in t.stage_values] == pytest.approx([term.x for term in t.terms])
    if op in ("grouped", "depthwise"):
        assert len(t.channels) == 1  # 2 channels in 2 groups (depthwise: 2 groups too): one each


def test_trace_refuses_a_position_outside():
    with pytest.raises(ValueError, match="outside the output"):
        example("standard", size=4, in_channels=1, filters=1, kernel=3, position=(0, 2, 0))
