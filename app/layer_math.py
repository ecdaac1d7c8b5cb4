"""Output size, parameters and memory of one conv/pool layer, with the worked formula.

The numbers come from ``engine.ops.shapes``; this module only writes them out as the
sentences and formulas a student reads.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from app.errors import ApiError
from engine.ops import shapes

UNREAD_LISTED = 1000  # enough for any grid the calculator draws (300 cells a row)
#: A dilated filter spans at most this many cells, D*(F-1)+1 (the largest input the
#: calculator takes). With padding "same" the padded axis is N + span - 1, so this
#: bounds it, and the work of ``shapes.unread`` along it, to 200,000 cells: a few
#: milliseconds instead of seconds and gigabytes.
MAX_SPAN = 100_000


@dataclass(frozen=True)
class Axis:
    name: str  # "rows" / "columns"
    n: int
    k: int
    s: int
    p0: int
    p1: int
    d: int


def _k_text(a: Axis) -> str:
    return str(a.k) if a.d == 1 else f"({a.d}*({a.k}-1)+1)"


def _p_text(a: Axis) -> str:
    return f"2*{a.p0}" if a.p0 == a.p1 else f"{a.p0} + {a.p1}"


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def axis_formula(a: Axis, size: int) -> str:
    span = a.d * (a.k - 1) + 1
    exact = (a.n + a.p0 + a.p1 - span) / a.s + 1
    text = f"({a.n} - {_k_text(a)} + {_p_text(a)})/{a.s} + 1 = {_fmt(exact)}"
    if not float(exact).is_integer():
        text += f", rounded down to {size}"
    return text


def _listed(values: list[int]) -> str:
    return ", ".join(str(v) for v in values[:8]) + (" ..." if len(values) > 8 else "")


def _unread_note(a: Axis, size: int, unread: list[int], both: bool = False) -> str:
    """Why some cells along this axis never reach the output: after the last window
    (the size was rounded down), or stepped over by the stride. "" when every input
    cell is read. ``both``: the columns are the same, so say it once for both."""
    span = a.d * (a.k - 1) + 1
    last = (size - 1) * a.s + span - 1  # last padded index the window reaches
    name, singular = ("rows and columns", "row and column") if both else (a.name, a.name[:-1])
    notes = []
    after = [q for q in unread if q > last]
    if after:
        in_input = [q - a.p0 for q in after if 0 <= q - a.p0 < a.n]
        n_pad = len(after) - len(in_input)
        parts = []
        if in_input:
            parts.append(f"input {name if len(in_input) > 1 else singular} {_listed(in_input)}")
        if n_pad:
            parts.append(f"{n_pad} padding {name if n_pad > 1 else singular}")
        notes.append(
            f"With stride {a.s} the window does not land evenly on the {name}: "
            f"(N - F + 2P) = {a.n + a.p0 + a.p1 - span} is not a multiple of {a.s}, so the last "
            f"window stops at padded index {last} and {' and '.join(parts)} "
            f"{'is' if len(after) == 1 and not both else 'are'} never covered."
        )
    skipped = [q - a.p0 for q in unread if q <= last and 0 <= q - a.p0 < a.n]
    if skipped:
        window = f"{a.k} cell{'s' if a.k > 1 else ''}" + (f", {a.d} apart," if a.d > 1 else "")
        notes.append(
            f"The window reads {window} and moves {a.s} at a time, so it steps over input "
            f"{name if len(skipped) > 1 else singular} {_listed(skipped)} "
            f"({len(skipped)} of {a.n}): no filter weight ever touches "
            f"{'them' if len(skipped) > 1 or both else 'it'}."
        )
    return " ".join(notes)


def describe(
    hw: tuple[int, int],
    kernel: tuple[int, int],
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int],
    in_channels: int,
    filters: int,
    *,
    with_params: bool = True,
) -> dict:
    """Everything the calculator shows for one layer; 422 with a readable reason if impossible."""
    top, left, bottom, right = pads
    axes = [
        Axis("rows", hw[0], kernel[0], strides[0], top, bottom, dilations[0]),
        Axis("columns", hw[1], kernel[1], strides[1], left, right, dilations[1]),
    ]
    sizes, fits, formulas, notes = [], [], [], []
    unread: list[list[int]] = []
    for a in axes:
        if a.s < 1:
            raise ApiError(422, f"Stride must be at least 1 (got {a.s}): the window has to move.")
        span = a.d * (a.k - 1) + 1
        if span > MAX_SPAN:
            raise ApiError(
                422,
                f"The filter spans {span:,} {a.name} ({a.k} taps, {a.d} apart: D*(F-1)+1); "
                f"at most {MAX_SPAN:,} are accepted. Use a smaller filter or dilation.",
            )
        padded = a.n + a.p0 + a.p1
        if span > padded:
            what = f"{a.k}" if a.d == 1 else f"{a.k} with dilation {a.d}, spanning {span}"
            raise ApiError(
                422,
                f"The filter ({what} {a.name}) is larger than the padded input "
                f"({a.n} + {a.p0 + a.p1} padding = {padded} {a.name}), so it fits nowhere. "
                "Use a smaller filter, more padding, or a larger input.",
            )
        try:
            out = shapes.output_size(a.n, a.k, a.s, (a.p0, a.p1), a.d)
        except ValueError as exc:
            raise ApiError(422, str(exc)) from exc
        sizes.append(int(out.size))
        fits.append(bool(out.fits))
        formulas.append(axis_formula(a, int(out.size)))
    same_axes = axes[0].n == axes[1].n and formulas[0] == formulas[1]
    same_reads = astuple(axes[0])[1:] == astuple(axes[1])[1:]
    for a in axes[:1] if same_reads else axes:
        unread.append(shapes.unread(a.n, a.k, a.s, (a.p0, a.p1), a.d))
    if same_reads:
        unread.append(unread[0])
    for a, size, axis in zip(axes[:1] if same_reads else axes, sizes, unread, strict=False):
        note = _unread_note(a, size, axis, both=same_reads)
        if note:
            notes.append(note)
    formula = formulas[0] if same_axes else f"rows: {formulas[0]}; columns: {formulas[1]}"
    h_out, w_out = sizes
    activations = h_out * w_out * filters
    explanation = (
        f"A {kernel[0]}x{kernel[1]} window sliding over a {hw[0]}x{hw[1]} input"
        f" (padded to {hw[0] + top + bottom}x{hw[1] + left + right}) with stride "
        f"{strides[0] if strides[0] == strides[1] else strides}"
        f" stops at {h_out}x{w_out} positions; {filters} filter"
        f"{'s give' if filters != 1 else ' gives'} a {h_out}x{w_out}x{filters} output volume."
    )
    if notes:
        explanation += " " + " ".join(notes)
    result = {
        "output_size": [h_out, w_out],
        "output_shape": [filters, h_out, w_out],
        "fits": all(fits),
        "formula": formula,
        "activations": activations,
        "memory_bytes": shapes.float32_bytes(activations),
        "explanation": explanation,
        "pads": [top, left, bottom, right],
        # Padded indices no filter tap reads, per axis (input cell j is index j + pad);
        # the first UNREAD_LISTED of each, and how many there are in all.
        "unread": {"rows": unread[0][:UNREAD_LISTED], "columns": unread[1][:UNREAD_LISTED]},
        "unread_count": {"rows": len(unread[0]), "columns": len(unread[1])},
        "reads_all_input": not any(
            0 <= q - a.p0 < a.n for a, axis in zip(axes, unread, strict=True) for q in axis),
    }
    if with_params:
        p = shapes.conv_params(kernel[0], kernel[1], in_channels, filters)
        weights, biases, total = _params_tuple(p)
        result["params"] = {
            "weights": weights,
            "biases": biases,
            "total": total,
            "formula": (
                f"({kernel[0]}*{kernel[1]}*{in_channels} + 1)*{filters} = {total}"
                f" ({weights} weight{'s' * (weights != 1)} + {biases} bias{'es' * (biases != 1)})"
            ),
        }
    return result


def _params_tuple(p) -> tuple[int, int, int]:
    if isinstance(p, dict):
        return int(p["weights"]), int(p["biases"]), int(p["total"])
    return int(p.weights), int(p.biases), int(p.total)


def resolve_pads(
    padding: int | list[int] | str, kernel: tuple[int, int], dilations: tuple[int, int]
) -> tuple[int, int, int, int]:
    """``padding`` as (top, left, bottom, right); ``"same"`` = (F-1)/2 each side
    (the extra cell goes at the bottom/right when F is even)."""
    if padding == "same":
        th = dilations[0] * (kernel[0] - 1)
        tw = dilations[1] * (kernel[1] - 1)
        return (th // 2, tw // 2, th - th // 2, tw - tw // 2)
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    if isinstance(padding, list) and len(padding) == 4:
        return (padding[0], padding[1], padding[2], padding[3])
    raise ApiError(422, 'padding must be a number, [top, left, bottom, right], or "same".')


def pair(v: int | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])
