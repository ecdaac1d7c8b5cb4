"""Output size, parameters and memory of one conv/pool layer, with the worked formula,
as the calculator's JSON.

The numbers come from :mod:`engine.ops.shapes` and the sentences from
:mod:`engine.explain.formulas`; this module puts them together, and turns what cannot be
computed into a 422 with a reason a student can act on.
"""

from __future__ import annotations

from dataclasses import astuple

from app.errors import ApiError
from engine.explain.formulas import Axis, size_formula, unread_cells, unread_note
from engine.ops import shapes

UNREAD_LISTED = 1000  # enough for any grid the calculator draws (300 cells a row)
#: A dilated filter spans at most this many cells, D*(F-1)+1 (the largest input the
#: calculator takes). With padding "same" the padded axis is N + span - 1, so this
#: bounds it, and the work of ``shapes.unread`` along it, to 200,000 cells: a few
#: milliseconds instead of seconds and gigabytes.
MAX_SPAN = 100_000


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
    sizes, fits, texts, notes = [], [], [], []
    for a in axes:
        if a.s < 1:
            raise ApiError(422, f"Stride must be at least 1 (got {a.s}): the window has to move.")
        if a.span > MAX_SPAN:
            raise ApiError(
                422,
                f"The filter spans {a.span:,} {a.name} ({a.k} taps, {a.d} apart: D*(F-1)+1); "
                f"at most {MAX_SPAN:,} are accepted. Use a smaller filter or dilation.",
            )
        padded = a.n + a.p0 + a.p1
        if a.span > padded:
            what = f"{a.k}" if a.d == 1 else f"{a.k} with dilation {a.d}, spanning {a.span}"
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
        texts.append(size_formula(a, out))
    same_axes = axes[0].n == axes[1].n and texts[0] == texts[1]
    same_reads = astuple(axes[0])[1:] == astuple(axes[1])[1:]
    unread = [shapes.unread(a.n, a.k, a.s, (a.p0, a.p1), a.d) for a in (axes[:1] if same_reads else axes)]
    if same_reads:
        unread.append(unread[0])
    for a, size, cells in zip(axes[:1] if same_reads else axes, sizes, unread, strict=False):
        note = unread_note(a, unread_cells(a, size, cells), both=same_reads)
        if note:
            notes.append(note)
    formula = texts[0] if same_axes else f"rows: {texts[0]}; columns: {texts[1]}"
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
        (top, bottom), (left, right) = (shapes.same_padding(k, d) for k, d in zip(kernel, dilations, strict=True))
        return (top, left, bottom, right)
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    if isinstance(padding, list) and len(padding) == 4:
        return (padding[0], padding[1], padding[2], padding[3])
    raise ApiError(422, 'padding must be a number, [top, left, bottom, right], or "same".')


def pair(v: int | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])
