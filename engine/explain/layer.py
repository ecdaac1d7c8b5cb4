"""One convolution or pooling layer explained: output size with the worked formula, the input
cells it never reads, its parameters, and where its windows sit along each axis.

:func:`explain_layer` answers a :class:`Layer`, or raises :class:`LayerError` (a
``ValueError``) with a reason a student can act on and, when the filter fits nowhere, the
output-size sum with this layer's numbers. The numbers come from :mod:`engine.ops.shapes`,
the sentences from :mod:`engine.explain.formulas`, the window positions from
:mod:`engine.explain.windows`.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from engine.explain.formulas import Axis, size_formula, unfit_formula, unread_cells, unread_note
from engine.explain.windows import Reach, axis_reach
from engine.ops import counts, shapes

__all__ = ["MAX_SPAN", "Layer", "LayerError", "Params", "explain_layer", "resolve_pads"]

#: A dilated filter spans at most this many cells, D*(F-1)+1 (the largest input the
#: calculator takes). With padding "same" the padded axis is N + span - 1, so this
#: bounds it, and the work of ``shapes.unread`` along it, to 200,000 cells: a few
#: milliseconds instead of seconds and gigabytes.
MAX_SPAN = 100_000


class LayerError(ValueError):
    """A layer that cannot be computed; ``formula`` is the output-size sum with the layer's
    numbers when the filter is larger than its padded input (else None)."""

    def __init__(self, message: str, formula: str | None = None):
        super().__init__(message)
        self.formula = formula


@dataclass(frozen=True)
class Params:
    weights: int
    biases: int
    total: int
    formula: str  # "(5*5*3 + 1)*10 = 760 (750 weights + 10 biases)"


@dataclass(frozen=True)
class Layer:
    """What the calculator shows for one layer (``axes``: rows, then columns)."""

    axes: tuple[Axis, Axis]
    output_size: tuple[int, int]
    fits: bool  # (N - F + 2P) is a multiple of S on both axes
    formula: str
    explanation: str
    unread: tuple[list[int], list[int]]  # padded indices no tap reads, rows and columns
    reads_all_input: bool
    filters: int
    params: Params | None

    @property
    def activations(self) -> int:
        """Values in the output volume, H_out * W_out * K."""
        return self.output_size[0] * self.output_size[1] * self.filters

    @property
    def memory_bytes(self) -> int:
        return counts.float32_bytes(self.activations)

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """(top, left, bottom, right)."""
        rows, cols = self.axes
        return (rows.p0, cols.p0, rows.p1, cols.p1)

    def reach(self, cap: int) -> tuple[Reach, Reach]:
        """Where the windows sit along the rows and the columns, the first ``cap`` cells of each."""
        return tuple(axis_reach(size, a.k, a.s, a.d, a.n + a.p0 + a.p1, cap)  # type: ignore[return-value]
                     for a, size in zip(self.axes, self.output_size, strict=True))


def resolve_pads(padding: int | list[int] | str, kernel: tuple[int, int],
                 dilations: tuple[int, int]) -> tuple[int, int, int, int]:
    """``padding`` as (top, left, bottom, right); ``"same"`` = D*(F-1)/2 each side
    (the extra cell goes at the bottom/right when it is odd)."""
    if padding == "same":
        (top, bottom), (left, right) = (shapes.same_padding(k, d) for k, d in zip(kernel, dilations, strict=True))
        return (top, left, bottom, right)
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    if isinstance(padding, list) and len(padding) == 4:
        return (padding[0], padding[1], padding[2], padding[3])
    raise ValueError('padding must be a number, [top, left, bottom, right], or "same".')


#: What slides over the input, as the sentences name it: a convolution's filter, a pooling window.
WINDOW_NAMES = {"conv": "filter", "pool": "pooling window"}


def _check(a: Axis, axes: list[Axis], window: str) -> None:
    if a.s < 1:
        raise LayerError(f"Stride must be at least 1 (got {a.s}): the window has to move.")
    short = window.split()[-1]  # "a smaller filter", "a smaller window"
    if a.span > MAX_SPAN:
        raise LayerError(
            f"The {window} spans {a.span:,} {a.name} ({a.k} taps, {a.d} apart: D*(F-1)+1); "
            f"at most {MAX_SPAN:,} are accepted. Use a smaller {short} or dilation.")
    padded = a.n + a.p0 + a.p1
    if a.span > padded:
        what = f"{a.k}" if a.d == 1 else f"{a.k} with dilation {a.d}, spanning {a.span}"
        same = astuple(axes[0])[1:] == astuple(axes[1])[1:]
        raise LayerError(
            f"The {window} ({what} {a.name}) is larger than the padded input "
            f"({a.n} + {a.p0 + a.p1} padding = {padded} {a.name}), so it fits nowhere. "
            f"Use a smaller {short}, more padding, or a larger input.",
            formula=unfit_formula(a) if same else f"{a.name}: {unfit_formula(a)}")


def explain_layer(hw: tuple[int, int], kernel: tuple[int, int], strides: tuple[int, int],
                  pads: tuple[int, int, int, int], dilations: tuple[int, int], in_channels: int,
                  filters: int, *, with_params: bool = True, kind: str | None = None) -> Layer:
    """Output size, formula, unread cells and parameters of one layer; :class:`LayerError`
    when it cannot be computed (a stride under 1, a filter spanning more than
    :data:`MAX_SPAN` cells or more than the padded input).

    ``kind``: ``"conv"`` (a convolution: ``filters`` filters) or ``"pool"`` (a pooling layer:
    ``filters`` is the number of maps, each pooled on its own), which names what slides in the
    sentences, "filter" or "pooling window". By default a layer without parameters
    (``with_params=False``) is a pooling layer, the only such layer the app explains.
    """
    kind = kind or ("conv" if with_params else "pool")
    if kind not in WINDOW_NAMES:
        raise ValueError(f'kind must be "conv" or "pool", not {kind!r}.')
    top, left, bottom, right = pads
    axes = [Axis("rows", hw[0], kernel[0], strides[0], top, bottom, dilations[0]),
            Axis("columns", hw[1], kernel[1], strides[1], left, right, dilations[1])]
    sizes, fits, texts, notes = [], [], [], []
    for a in axes:
        _check(a, axes, WINDOW_NAMES[kind])
        out = shapes.output_size(a.n, a.k, a.s, (a.p0, a.p1), a.d)
        sizes.append(int(out.size))
        fits.append(bool(out.fits))
        texts.append(size_formula(a, out))
    same_axes = axes[0].n == axes[1].n and texts[0] == texts[1]
    same_reads = astuple(axes[0])[1:] == astuple(axes[1])[1:]
    told = axes[:1] if same_reads else axes
    unread = [shapes.unread(a.n, a.k, a.s, (a.p0, a.p1), a.d) for a in told]
    if same_reads:
        unread.append(unread[0])
    for a, size, cells in zip(told, sizes, unread, strict=False):
        note = unread_note(a, unread_cells(a, size, cells), both=same_reads)
        if note:
            notes.append(note)
    h_out, w_out = sizes
    explanation = (
        f"{_article(kernel[0]).capitalize()} {kernel[0]}x{kernel[1]} window sliding over "
        f"{_article(hw[0])} {hw[0]}x{hw[1]} input"
        f"{f' (padded to {hw[0] + top + bottom}x{hw[1] + left + right})' if any(pads) else ''} with stride "
        f"{strides[0] if strides[0] == strides[1] else strides}"
        f" stops at {h_out}x{w_out} positions; "
        + (f"{filters} filter{'s give' if filters != 1 else ' gives'} a" if kind == "conv" else
           f"{'each of the ' + str(filters) + ' maps is' if filters != 1 else 'the map is'} pooled on its own: a")
        + f" {h_out}x{w_out}x{filters} output volume."
    )
    if notes:
        explanation += " " + " ".join(notes)
    return Layer(
        axes=(axes[0], axes[1]),
        output_size=(h_out, w_out),
        fits=all(fits),
        formula=texts[0] if same_axes else f"rows: {texts[0]}; columns: {texts[1]}",
        explanation=explanation,
        unread=(unread[0], unread[1]),
        reads_all_input=not any(0 <= q - a.p0 < a.n for a, axis in zip(axes, unread, strict=True) for q in axis),
        filters=filters,
        params=_params(kernel, in_channels, filters) if with_params else None,
    )


def _params(kernel: tuple[int, int], in_channels: int, filters: int) -> Params:
    p = counts.conv_params(kernel[0], kernel[1], in_channels, filters)
    weights, biases, total = int(p.weights), int(p.biases), int(p.total)
    return Params(weights, biases, total, (
        f"({kernel[0]}*{kernel[1]}*{in_channels} + 1)*{filters} = {total:,}"
        f" ({weights:,} weight{'s' * (weights != 1)} + {biases:,} bias{'es' * (biases != 1)})"))


def _article(n: int) -> str:
    """"a" or "an" before the number ``n`` read aloud: an 8, an 11, an 18, an 80..., a 3."""
    s = str(n)
    eleven = len(s) % 3 == 2 and s[:2] in ("11", "18")  # eleven, eighteen (thousand...)
    return "an" if s.startswith("8") or eleven else "a"
