"""The sentences a student reads about a window sliding along an axis: written here once.

- :func:`size_formula`: the output-size sum, ``(N - F + 2P)/S + 1 = 2.33, rounded down to 2``
  (:func:`unfit_formula`: the same sum for a filter that fits nowhere);
- :func:`unread_cells`: which input cells no window reads (after the last window, or
  stepped over by the stride), from :func:`engine.ops.shapes.unread`;
- :func:`unread_note` says that cell by cell (the calculator, which draws the grid);
  :func:`unread_summary` in counts (the architecture tables, where a layer is one row).

For the convolutions after the course (1x1, grouped, depthwise, transposed, 1-D):
:func:`transpose_size_formula`, :func:`conv_params_formula`, :func:`conv_macs_formula`,
:func:`transpose_macs_formula`, :func:`savings_sentence` and :func:`kind_sentence`; and the
rule :func:`same_padding_rule` ("(F-1)/2 keeps the size").

The calculator (:mod:`engine.explain.layer`) and the tables (``course.architectures``) both write
with these functions; the numbers come from :mod:`engine.ops.shapes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.explain.windows import last_reached
from engine.ops import counts, shapes

__all__ = [
    "Axis", "Unread", "conv_macs_formula", "conv_params_formula", "kind_sentence", "savings_sentence",
    "same_padding_rule", "size_formula", "transpose_macs_formula", "transpose_size_formula", "transpose_views",
    "unfit_formula", "unread_cells", "unread_note", "unread_summary",
]


@dataclass(frozen=True)
class Axis:
    """One axis of a window op: ``n`` input cells, kernel ``k``, stride ``s``, padding
    ``p0`` before and ``p1`` after, dilation ``d``; ``name`` is "rows" or "columns"."""

    name: str
    n: int
    k: int
    s: int
    p0: int
    p1: int
    d: int = 1

    @property
    def span(self) -> int:
        """Input cells one dilated window covers: ``D*(F-1)+1``."""
        return self.d * (self.k - 1) + 1


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def _sum(a: Axis) -> str:
    """``(N - F + 2P)/S + 1`` with the axis's numbers."""
    k_text = str(a.k) if a.d == 1 else f"({a.d}*({a.k}-1)+1)"
    p_text = f"2*{a.p0}" if a.p0 == a.p1 else f"{a.p0} + {a.p1}"
    return f"({a.n} - {k_text} + {p_text})/{a.s} + 1"


def size_formula(a: Axis, out: shapes.OutputSize, *, ceil: bool = False) -> str:
    """``(N - F + 2P)/S + 1 = exact``, and how it was rounded when it is not whole."""
    text = f"{_sum(a)} = {_fmt(out.exact)}"
    if not out.fits:
        text += f", rounded {'up' if ceil else 'down'} to {out.size}"
    return text


def unfit_formula(a: Axis) -> str:
    """The same sum for a filter larger than its padded input: it comes to less than 1
    (``(6 - 7 + 2*0)/1 + 1 = 0``), so no window fits."""
    return f"{_sum(a)} = {_fmt((a.n + a.p0 + a.p1 - a.span) / a.s + 1)}"


@dataclass(frozen=True)
class Unread:
    """The cells of one axis no window reads, by reason (input cells are unpadded indices)."""

    last: int  # the last padded index a window reaches
    after: list[int]  # padded indices after the last window (the size was rounded down)
    lost: list[int]  # the input cells among ``after``
    skipped: list[int]  # input cells before the last window that the stride steps over


def unread_cells(a: Axis, size: int, unread: Sequence[int] | None = None) -> Unread:
    """Why cells of ``a`` never reach an output of ``size`` positions; ``unread`` is
    :func:`engine.ops.shapes.unread` of the axis when the caller already has it."""
    if unread is None:
        unread = shapes.unread(a.n, a.k, a.s, (a.p0, a.p1), a.d)
    last = last_reached(size, a.k, a.s, a.d)
    after = [q for q in unread if q > last]
    return Unread(last, after, [q - a.p0 for q in after if 0 <= q - a.p0 < a.n],
                  [q - a.p0 for q in unread if q <= last and 0 <= q - a.p0 < a.n])


def _listed(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:8]) + (" ..." if len(values) > 8 else "")


def unread_note(a: Axis, u: Unread, both: bool = False) -> str:
    """The unread cells of ``a`` named one by one ("" when every input cell is read).
    ``both``: the columns are the same, so it is said once for rows and columns."""
    name, singular = ("rows and columns", "row and column") if both else (a.name, a.name[:-1])
    notes = []
    if u.after:
        n_pad = len(u.after) - len(u.lost)
        parts = []
        if u.lost:
            parts.append(f"input {name if len(u.lost) > 1 else singular} {_listed(u.lost)}")
        if n_pad:
            parts.append(f"{n_pad} padding {name if n_pad > 1 else singular}")
        notes.append(
            f"With stride {a.s} the window does not land evenly on the {name}: "
            f"(N - F + 2P) = {a.n + a.p0 + a.p1 - a.span} is not a multiple of {a.s}, so the last "
            f"window stops at padded index {u.last} and {' and '.join(parts)} "
            f"{'is' if len(u.after) == 1 and not both else 'are'} never covered."
        )
    if u.skipped:
        window = f"{a.k} cell{'s' if a.k > 1 else ''}" + (f", {a.d} apart," if a.d > 1 else "")
        notes.append(
            f"The window reads {window} and moves {a.s} at a time, so it steps over input "
            f"{name if len(u.skipped) > 1 else singular} {_listed(u.skipped)} "
            f"({len(u.skipped)} of {a.n}): no filter weight ever touches "
            f"{'them' if len(u.skipped) > 1 or both else 'it'}."
        )
    return " ".join(notes)


def _uncovered(s: int, found: list[tuple[int, int, str]]) -> str:
    """What a window that does not land evenly leaves out: (input cells lost, all left, axis)."""
    if len(found) == 2 and found[0][:2] == found[1][:2]:
        found = [(*found[0][:2], "row and column" if found[0][1] == 1 else "rows and columns")]
    parts = []
    for lost, left, what in found:
        many = (lost if lost else left) > 1
        noun = what if not many or what.endswith("columns") else f"{what}s"
        if lost:
            count = f"{lost} " if many else ""
            parts.append(f"the last {count}input {noun} {'are' if many or ' and ' in what else 'is'} never covered")
        else:
            parts.append(f"only {left} padding {noun} {'are' if many else 'is'} left over, so no input is lost")
    return f"Stride {s} does not land evenly, so the size is rounded down: {'; '.join(parts)}."


def _stepped_over(k: int, s: int, found: list[tuple[int, int, str]]) -> str:
    """Input cells a stride larger than the window steps over: (count, n, axis)."""
    if len(found) == 2 and found[0][:2] == found[1][:2]:
        found = [(*found[0][:2], "rows and columns")]
    said = " and ".join(f"{count} of the {n} input {what}" for count, n, what in found)
    return f"The {k}x{k} window moves {s} at a time and steps over {said}: no weight ever reads them."


def unread_summary(axes: Sequence[tuple[Axis, Unread]]) -> str:
    """The unread cells of a square window's two axes in counts ("" when all are read):
    what rounding down leaves after the last window, and what the stride steps over."""
    lost = [(len(u.lost), len(u.after), a.name[:-1]) for a, u in axes if u.after]
    skipped = [(len(u.skipped), a.n, a.name) for a, u in axes if u.skipped]
    a0 = axes[0][0]
    return " ".join(t for t in (_uncovered(a0.s, lost) if lost else "",
                                _stepped_over(a0.k, a0.s, skipped) if skipped else "") if t)


# --- The next chapter: 1x1, grouped, depthwise, transposed and 1-D convolutions ---------------


def same_padding_rule(kernels: Sequence[int] = (3, 5, 7)) -> tuple[str, list[tuple[int, int]]]:
    """The rule "padding (F-1)/2 keeps the size at stride 1", with ``(F, P)`` for ``kernels``
    from :func:`engine.ops.shapes.same_padding` (odd ``F`` only: an even one cannot be split
    evenly)."""
    pairs = []
    for k in kernels:
        begin, end = shapes.same_padding(k)
        if begin != end:
            raise ValueError(f"F = {k} is even: (F - 1)/2 = {(k - 1) / 2} is not a whole number of cells")
        pairs.append((k, begin))
    listed = ", ".join(f"F = {k} \u2192 P = {p}" for k, p in pairs)
    return (
        "At stride 1, zero padding P = (F \u2212 1)/2 on each side keeps the size: "
        "(N \u2212 F + 2P)/1 + 1 = N \u2212 F + (F \u2212 1) + 1 = N. " + listed + ".",
        pairs,
    )


def transpose_size_formula(a: Axis, output_padding: int, out: shapes.TransposeSize) -> str:
    """``(N - 1)*S - 2P + F (+ output_padding) = O`` with the axis's numbers."""
    p_text = f"2*{a.p0}" if a.p0 == a.p1 else f"({a.p0} + {a.p1})"
    k_text = str(a.k) if a.d == 1 else f"{a.d}*({a.k} - 1) + 1"
    op_text = f" + {output_padding}" if output_padding else ""
    return f"({a.n} - 1)*{a.s} - {p_text} + {k_text}{op_text} = {out.size}"


def conv_params_formula(kh: int, kw: int, c: int, k: int, groups: int = 1, bias: bool = True,
                        *, one_d: bool = False) -> str:
    """``(KH*KW*C/groups + 1)*K = total (weights + biases)`` with the layer's numbers
    (``one_d``: a 1-D filter of ``kw`` taps, ``(K*C + 1)*F``)."""
    p = counts.conv_params(kh, kw, c, k, bias, groups)
    depth = str(c) if groups == 1 else f"({c}/{groups})"
    inner = (f"{kw}*{depth}" if one_d else f"{kh}*{kw}*{depth}") + (" + 1" if bias else "")
    head = f"({inner})*{k}" if bias else f"{inner}*{k}"
    tail = f" ({p.weights:,} weights + {p.biases:,} biases)" if bias else ""
    return f"{head} = {p.total:,}{tail}"


def conv_macs_formula(oh: int, ow: int, kh: int, kw: int, c: int, k: int, groups: int = 1,
                      *, one_d: bool = False) -> str:
    """``OH*OW*K*(KH*KW*C/groups) = MACs``: one dot product per output value (``one_d``:
    ``L_out*F*(K*C)``, with ``oh`` = 1)."""
    depth = str(c) if groups == 1 else f"{c}/{groups}"
    macs = counts.conv_macs(oh, ow, kh, kw, c, k, groups)
    if one_d:
        return f"{ow}*{k}*({kw}*{depth}) = {macs:,}"
    return f"{oh}*{ow}*{k}*({kh}*{kw}*{depth}) = {macs:,}"


def transpose_macs_formula(h: int, w: int, kh: int, kw: int, c: int, m: int, groups: int = 1) -> str:
    """``H*W*C*(M/groups)*KH*KW = MACs``: every input value times every tap of its kernel copies."""
    per = str(m) if groups == 1 else f"({m}/{groups})"
    return f"{h}*{w}*{c}*{per}*{kh}*{kw} = {counts.conv_transpose_macs(h, w, kh, kw, c, m, groups):,}"


def _times(a: int, b: int) -> str:
    """"8.4 times fewer" / "1.3 times more" / "as many" for a against b."""
    if a == b:
        return "as many"
    ratio = b / a if a < b else a / b
    return f"{ratio:.1f} times {'fewer' if a < b else 'more'}"


def savings_sentence(what: str, params: int, macs: int, std_params: int, std_macs: int,
                     standard: str) -> str:
    """``what`` against the standard convolution ``standard``: counts and ratios."""
    return (
        f"{what}: {params:,} parameters and {macs:,} multiply-adds, against {std_params:,} and "
        f"{std_macs:,} for {standard}: {_times(params, std_params)} parameters and "
        f"{_times(macs, std_macs)} multiply-adds."
    )


def kind_sentence(kind: str, *, c: int, k: int, kh: int, kw: int, groups: int = 1, stride: int = 1,
                  in_size: str = "", out_size: str = "") -> str:
    """What a kind of convolution does, in words, with the layer's own numbers."""
    if kind == "pointwise":
        return (
            f"A 1x1 convolution reads one cell at a time but all {c} channels there: each of its {k} "
            f"filters is a weighted mix of the {c} channel values at that pixel, so it changes the "
            f"depth from {c} to {k} and leaves the height and width alone"
            + (". With fewer filters than channels it is a bottleneck, as in Inception's modules: "
               "the expensive larger filters after it see fewer channels." if k < c else ".")
        )
    if kind == "grouped":
        return (
            f"The {c} input channels are split into {groups} groups of {c // groups}; each group has its "
            f"own {k // groups} filters, each {kh}x{kw}x{c // groups}, that never see the other groups' "
            f"channels. Parameters and multiply-adds are divided by {groups} (AlexNet split its layers "
            "this way over two GPUs; ResNeXt uses it on purpose)."
        )
    if kind == "depthwise":
        return (
            f"Depthwise: one {kh}x{kw} filter per channel ({groups} groups of 1), each sliding over its own "
            f"channel only. Nothing mixes the {c} channels, so the depth stays {c}"
            + ("." if k == c else f" (times {k // c} filters per channel: {k}).")
        )
    if kind == "separable":
        return (
            f"Depthwise-separable: a {kh}x{kw} depthwise convolution filters each of the {c} channels on "
            f"its own, then a 1x1 convolution mixes them into {k}. Filtering in space and mixing "
            "channels are done one after the other instead of together (MobileNet, Xception)."
        )
    if kind == "transposed":
        return (
            f"Transposed convolution: each input cell places a copy of the {kh}x{kw} kernel, scaled by its "
            f"value, onto the output, {stride} cell{'s' if stride != 1 else ''} from its neighbour's copy; "
            f"overlapping copies add up and the padding crops the border. It takes {in_size} up to "
            f"{out_size}, the inverse of the sizes of a stride-{stride} convolution with the same filter "
            "(used to upsample in segmentation networks and GAN generators)."
        )
    if kind == "conv1d":
        return (
            f"1-D convolution: a {kw}-tap filter slides along one axis of a sequence with {c} channel"
            f"{'s' if c != 1 else ''} (word vectors, audio samples, a time series); the output-size "
            f"formula is the same, for one axis: {in_size} \u2192 {out_size}."
        )
    if kind == "standard":
        return (
            f"A standard convolution: each of the {k} filters is {kh}x{kw}x{c}, spanning the full input "
            "depth, so every output value mixes space and channels at once."
        )
    raise ValueError(f"unknown kind of convolution {kind!r}")


def transpose_views(in_hw: Sequence[int], out_hw: Sequence[int], kernel: int, stride: int, padding: int,
                    output_padding: int, gap: float) -> dict[str, str]:
    """The three readings of one transposed convolution, with its numbers: ``scatter``,
    ``zero_insertion`` and ``gradient`` (``gap``: the engine's largest difference between
    this op and the convolution's backward pass)."""
    (h, w), (oh, ow) = in_hw, out_hw
    zeros = stride - 1
    edge = kernel - 1 - padding
    return {
        "scatter": (
            f"Scatter: each of the {h}x{w} input cells adds a copy of the {kernel}x{kernel} kernel, times "
            f"its value, onto the output, {stride} cell{'s' if stride != 1 else ''} along from its "
            f"neighbour's copy; where copies overlap they add up, and padding {padding} crops "
            f"{padding} cell{'s' if padding != 1 else ''} off each side. An output value is the sum of "
            "the products of the copies that land on it."
        ),
        "zero_insertion": (
            f"Zero insertion: put {zeros} zero{'s' if zeros != 1 else ''} between neighbouring input "
            f"cells and {edge} zero{'s' if edge != 1 else ''} around them"
            + (f" (plus {output_padding} at the bottom and right)" if output_padding else "")
            + f", then slide the kernel turned by 180 degrees with stride 1: an ordinary convolution "
              f"gives the same {oh}x{ow} map. It is simple to draw but wasteful: most products are with "
              "inserted zeros."
        ),
        "gradient": (
            f"Gradient of a convolution: a {kernel}x{kernel} convolution with stride {stride} and padding "
            f"{padding} takes a {oh}x{ow} map to {h}x{w}. In backpropagation its gradient flows the other "
            f"way, {h}x{w} back to {oh}x{ow}, by exactly this scatter: the engine's convolution backward, "
            f"given this input as the gradient, makes this map (largest difference {gap:.1g}). That is why "
            "it is called transposed: as a matrix, it is the convolution's matrix transposed."
        ),
    }
