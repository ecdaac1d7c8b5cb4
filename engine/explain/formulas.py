"""The sentences a student reads about a window sliding along an axis: written here once.

- :func:`size_formula`: the output-size sum, ``(N - F + 2P)/S + 1 = 2.33, rounded down to 2``
  (:func:`unfit_formula`: the same sum for a filter that fits nowhere);
- :func:`unread_cells`: which input cells no window reads (after the last window, or
  stepped over by the stride), from :func:`engine.ops.shapes.unread`;
- :func:`unread_note` says that cell by cell (the calculator, which draws the grid);
  :func:`unread_summary` in counts (the architecture tables, where a layer is one row).

The calculator (:mod:`engine.explain.layer`) and the tables (``course.architectures``) both write
with these functions; the numbers come from :mod:`engine.ops.shapes`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.explain.windows import last_reached
from engine.ops import shapes

__all__ = ["Axis", "Unread", "size_formula", "unfit_formula", "unread_cells", "unread_note", "unread_summary"]


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
