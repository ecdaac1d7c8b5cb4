"""The convolutions after the course, as the calculator shows them: one layer of each kind
with its output size, parameters and multiply-adds, against the standard convolution.

Kinds: ``standard``, ``pointwise`` (1x1), ``bottleneck`` (1x1 to fewer channels, then the
``F x F`` convolution: Inception's saving), ``grouped``, ``depthwise``, ``separable``
(depthwise then 1x1), ``transposed`` and ``conv1d``. :func:`describe_kind` answers a
:class:`KindSummary` or raises ``ValueError`` with a reason a student can act on. The
numbers come from :mod:`engine.ops.shapes` and :mod:`engine.ops.counts`, the sentences from
:mod:`engine.explain.formulas`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.explain import formulas as fx
from engine.explain.formulas import Axis
from engine.ops import counts, shapes

__all__ = ["KINDS", "KindSummary", "Stage", "describe_kind"]

#: Kind -> title, in the order the pages list them.
KINDS: dict[str, str] = {
    "standard": "Standard convolution",
    "pointwise": "1x1 convolution (channel mixing)",
    "bottleneck": "1x1 bottleneck, then F x F (Inception)",
    "grouped": "Grouped convolution",
    "depthwise": "Depthwise convolution",
    "separable": "Depthwise-separable convolution",
    "transposed": "Transposed convolution",
    "conv1d": "1-D convolution",
}


@dataclass(frozen=True)
class Stage:
    """One convolution inside a kind (the depthwise and the 1x1 of a separable one)."""

    name: str
    output_shape: tuple[int, ...]  # (K, OH, OW) or (K, L)
    params: int
    params_formula: str
    macs: int
    macs_formula: str


@dataclass(frozen=True)
class KindSummary:
    """One layer of a kind: sizes, counts with their formulas, and the comparison.

    ``standard_*`` describe the standard convolution with the same input, kernel, stride,
    padding and output channels (for ``transposed``: the convolution it is the transpose
    of, which maps the output size back to the input size); ``savings`` says how the two
    compare ("" when the kind *is* the standard one).
    """

    kind: str
    title: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    size_formula: str
    params: int
    params_formula: str
    macs: int
    macs_formula: str
    explanation: str
    standard_params: int
    standard_macs: int
    standard_formula: str
    savings: str
    stages: list[Stage] = field(default_factory=list)

    @property
    def activations(self) -> int:
        return counts.activation_count(self.output_shape)


def _conv_axes(hw, kernel, stride, pad, dilation) -> tuple[tuple[int, ...], str]:
    """Output sizes of a convolution along each axis of ``hw`` and the worked formula."""
    names = ("rows", "columns") if len(hw) == 2 else ("length",)
    sizes, texts = [], []
    for name, n in zip(names, hw, strict=True):
        a = Axis(name, n, kernel, stride, pad, pad, dilation)
        if a.span > n + 2 * pad:
            raise ValueError(
                f"The filter ({kernel} cells{'' if dilation == 1 else f', dilation {dilation}'}) is larger "
                f"than the padded input ({n} + {2 * pad} padding = {n + 2 * pad}), so it fits nowhere: "
                f"{fx.unfit_formula(a)}. Use a smaller filter, more padding, or a larger input.")
        out = shapes.output_size(n, kernel, stride, pad, dilation)
        sizes.append(out.size)
        texts.append(fx.size_formula(a, out))
    if len(texts) == 2 and (hw[0] != hw[1]):
        return tuple(sizes), f"rows: {texts[0]}; columns: {texts[1]}"
    return tuple(sizes), texts[0]


def _shape(c: int, sizes: tuple[int, ...]) -> str:
    """Height x width x channels (or length x channels), as the course writes shapes."""
    return "x".join(str(v) for v in (*sizes, c))


def describe_kind(kind: str, hw: tuple[int, ...], c: int, k: int, kernel: int, *, stride: int = 1,
                  padding: int = 0, dilation: int = 1, groups: int = 1, output_padding: int = 0,
                  bottleneck: int = 1) -> KindSummary:
    """One layer of ``kind`` on an input of spatial size ``hw`` (``(H, W)``, or ``(L,)`` for
    ``conv1d``) with ``c`` channels, giving ``k`` channels; ``kernel`` is ignored (1) for
    ``pointwise``; ``groups`` is used by ``grouped`` (``depthwise`` uses ``c``);
    ``bottleneck`` is the 1x1's channels of ``bottleneck``."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    if (kind == "conv1d") != (len(hw) == 1):
        raise ValueError("a 1-D convolution takes one input length; the others take height and width")
    if min(c, k, kernel, stride, dilation, groups, bottleneck) < 1 or padding < 0:
        raise ValueError("sizes, stride, dilation and groups must be at least 1, padding at least 0")
    kernel = 1 if kind == "pointwise" else kernel
    groups = c if kind == "depthwise" else groups if kind == "grouped" else 1
    if c % groups or k % groups:
        raise ValueError(
            f"{c} input channels and {k} filters must both divide into {groups} groups"
            + (": a depthwise convolution needs the filters to be a multiple of the channels."
               if kind == "depthwise" else "."))
    title = KINDS[kind]
    if kind == "transposed":
        return _transposed(hw, c, k, kernel, stride, padding, dilation, output_padding, title)
    sizes, size_formula = _conv_axes(hw, kernel, stride, padding, dilation)
    area = 1
    for v in sizes:
        area *= v
    kh = 1 if len(hw) == 1 else kernel
    oh, ow = (1, sizes[0]) if len(sizes) == 1 else sizes
    std = counts.conv_params(kh, kernel, c, k)
    std_macs = counts.conv_macs(oh, ow, kh, kernel, c, k)
    one_d = len(hw) == 1
    std_formula = fx.conv_params_formula(kh, kernel, c, k, one_d=one_d)
    common: dict[str, Any] = {"kind": kind, "title": title, "input_shape": (c, *hw), "output_shape": (k, *sizes),
              "size_formula": size_formula, "standard_params": std.total, "standard_macs": std_macs,
              "standard_formula": std_formula}
    std_name = f"a standard {kernel}x{kernel} convolution with {k} filters of {kernel}x{kernel}x{c}"
    if kind == "separable":
        sep = counts.separable_counts(oh, ow, kernel, kernel, c, k)
        stages = [
            Stage("depthwise", (c, *sizes), sep.depthwise.total,
                  fx.conv_params_formula(kernel, kernel, c, c, c), sep.depthwise_macs,
                  fx.conv_macs_formula(oh, ow, kernel, kernel, c, c, c)),
            Stage("pointwise 1x1", (k, *sizes), sep.pointwise.total, fx.conv_params_formula(1, 1, c, k),
                  sep.pointwise_macs, fx.conv_macs_formula(oh, ow, 1, 1, c, k)),
        ]
        return KindSummary(
            **common, params=sep.params,
            params_formula=f"{sep.depthwise.total:,} + {sep.pointwise.total:,} = {sep.params:,}",
            macs=sep.macs, macs_formula=f"{sep.depthwise_macs:,} + {sep.pointwise_macs:,} = {sep.macs:,}",
            explanation=fx.kind_sentence(kind, c=c, k=k, kh=kernel, kw=kernel),
            savings=fx.savings_sentence("Depthwise-separable", sep.params, sep.macs, std.total, std_macs, std_name),
            stages=stages)
    if kind == "bottleneck":
        b_params = counts.conv_params(1, 1, c, bottleneck)
        b_macs = counts.conv_macs(*_hw2(hw), 1, 1, c, bottleneck)
        f_params = counts.conv_params(kernel, kernel, bottleneck, k)
        f_macs = counts.conv_macs(oh, ow, kernel, kernel, bottleneck, k)
        stages = [
            Stage("1x1 bottleneck", (bottleneck, *hw), b_params.total, fx.conv_params_formula(1, 1, c, bottleneck),
                  b_macs, fx.conv_macs_formula(*_hw2(hw), 1, 1, c, bottleneck)),
            Stage(f"{kernel}x{kernel}", (k, *sizes), f_params.total,
                  fx.conv_params_formula(kernel, kernel, bottleneck, k), f_macs,
                  fx.conv_macs_formula(oh, ow, kernel, kernel, bottleneck, k)),
        ]
        params, macs = b_params.total + f_params.total, b_macs + f_macs
        return KindSummary(
            **common, params=params, params_formula=f"{b_params.total:,} + {f_params.total:,} = {params:,}",
            macs=macs, macs_formula=f"{b_macs:,} + {f_macs:,} = {macs:,}",
            explanation=fx.kind_sentence("pointwise", c=c, k=bottleneck, kh=1, kw=1)
            + f" Here it takes {_shape(c, hw)} to {_shape(bottleneck, hw)} before the {kernel}x{kernel} "
              f"filters make {_shape(k, sizes)}.",
            savings=fx.savings_sentence(f"With a 1x1 bottleneck to {bottleneck} channels", params, macs,
                                        std.total, std_macs, f"the {kernel}x{kernel} convolution on all {c} channels"),
            stages=stages)
    p = counts.conv_params(kh, kernel, c, k, groups=groups)
    macs = counts.conv_macs(oh, ow, kh, kernel, c, k, groups)
    in_text, out_text = _shape(c, hw), _shape(k, sizes)
    savings = "" if groups == 1 else fx.savings_sentence(title, p.total, macs, std.total, std_macs, std_name)
    return KindSummary(
        **common, params=p.total, params_formula=fx.conv_params_formula(kh, kernel, c, k, groups, one_d=one_d),
        macs=macs, macs_formula=fx.conv_macs_formula(oh, ow, kh, kernel, c, k, groups, one_d=one_d),
        explanation=fx.kind_sentence(kind, c=c, k=k, kh=kh, kw=kernel, groups=groups, stride=stride,
                                     in_size=in_text, out_size=out_text),
        savings=savings)


def _hw2(hw: tuple[int, ...]) -> tuple[int, int]:
    return (1, hw[0]) if len(hw) == 1 else (hw[0], hw[1])


def _transposed(hw, c, k, kernel, stride, padding, dilation, output_padding, title) -> KindSummary:
    sizes, texts = [], []
    for name, n in zip(("rows", "columns"), hw, strict=True):
        out = shapes.conv_transpose_output_size(n, kernel, stride, padding, dilation, output_padding)
        sizes.append(out.size)
        texts.append(fx.transpose_size_formula(Axis(name, n, kernel, stride, padding, padding, dilation),
                                               output_padding, out))
    formula = texts[0] if hw[0] == hw[1] else f"rows: {texts[0]}; columns: {texts[1]}"
    p = counts.conv_params(kernel, kernel, c, k)
    macs = counts.conv_transpose_macs(hw[0], hw[1], kernel, kernel, c, k)
    # The convolution it is the transpose of: k channels of the output size back to c of hw.
    back = counts.conv_macs(hw[0], hw[1], kernel, kernel, k, c)
    in_text, out_text = _shape(c, hw), _shape(k, tuple(sizes))
    return KindSummary(
        kind="transposed", title=title, input_shape=(c, *hw), output_shape=(k, *sizes),
        size_formula=formula, params=p.total, params_formula=fx.conv_params_formula(kernel, kernel, c, k),
        macs=macs, macs_formula=fx.transpose_macs_formula(hw[0], hw[1], kernel, kernel, c, k),
        explanation=fx.kind_sentence("transposed", c=c, k=k, kh=kernel, kw=kernel, stride=stride,
                                     in_size=in_text, out_size=out_text),
        standard_params=counts.conv_params(kernel, kernel, k, c).total, standard_macs=back,
        standard_formula=fx.conv_params_formula(kernel, kernel, k, c),
        savings=(f"It is the transpose of a {kernel}x{kernel} convolution with stride {stride} and padding "
                 f"{padding} that takes {out_text} back to {in_text}: the same {kernel}*{kernel}*{c}*{k} = "
                 f"{kernel * kernel * c * k:,} weights and {back:,} multiply-adds, with the arrows reversed."))
