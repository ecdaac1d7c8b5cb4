"""Which input cells each output cell reads, and which outputs each input cell feeds.

A conv or pooling window is separable: output ``(i, j)`` reads the cells whose row is one of
``rows[i]`` and whose column is one of ``cols[j]``. So one list per output row and one per
output column describe every window, and their inverses every "feeds" relation; the pages
look cells up in them instead of re-deriving the geometry.

Along one axis, output ``i`` reads cells ``i*S + t*D - offset`` for ``t < F`` (``offset``:
the padding when the cells are counted in the unpadded input, 0 in the padded one).

For axes too long to list every window (the calculator takes 100,000 cells and filters as
wide), :func:`axis_reach` gives the same positions as one list of window starts and one of
tap offsets, both cut at the first ``cap`` cells, so its size never depends on the input's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = ["Reach", "Windows", "axis_feeds", "axis_reach", "axis_windows", "last_reached", "windows"]


def axis_windows(n_out: int, kernel: int, stride: int, dilation: int = 1, offset: int = 0,
                 size: int | None = None) -> list[list[int]]:
    """The cells each of ``n_out`` window positions reads along one axis.

    Cells outside ``[0, size)`` (padding, when ``offset`` is the padding) are left out;
    ``size=None`` keeps them all.
    """
    if min(n_out, kernel, stride, dilation) < 0 or min(kernel, stride, dilation) < 1:
        raise ValueError(f"need n_out >= 0 and kernel, stride, dilation >= 1; got "
                         f"{n_out}, {kernel}, {stride}, {dilation}")
    out = []
    for i in range(n_out):
        cells = [i * stride + t * dilation - offset for t in range(kernel)]
        out.append([q for q in cells if size is None or 0 <= q < size])
    return out


def axis_feeds(windows: Sequence[Sequence[int]], size: int) -> list[list[int]]:
    """The inverse of :func:`axis_windows`: for each of ``size`` cells, the positions reading it."""
    feeds: list[list[int]] = [[] for _ in range(size)]
    for i, cells in enumerate(windows):
        for q in cells:
            if 0 <= q < size and (not feeds[q] or feeds[q][-1] != i):
                feeds[q].append(i)
    return feeds


@dataclass(frozen=True)
class Windows:
    """Every window of a layer, as separable row and column lists (see the module doc)."""

    size: tuple[int, int]  # the grid the cells are counted in: (rows, columns)
    rows: list[list[int]]  # rows[i]: the rows output row i reads
    cols: list[list[int]]
    feeds_rows: list[list[int]]  # feeds_rows[r]: the output rows whose windows read row r
    feeds_cols: list[list[int]]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["size"] = list(self.size)
        return d


def windows(out_hw: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
            dilations: Sequence[int] = (1, 1), offsets: Sequence[int] = (0, 0),
            size: Sequence[int] | None = None, *, clip: bool = False) -> Windows:
    """The windows of an ``out_hw`` output over a ``size`` grid.

    For a convolution drawn over its padded input: ``offsets`` (0, 0) and ``size`` the padded
    input. For pooling drawn over the unpadded map: ``offsets`` the (top, left) padding,
    ``size`` the map and ``clip=True`` (padding cells are not drawn).
    """
    if size is None:
        raise ValueError("size (the grid's rows and columns) is needed")
    rows = axis_windows(out_hw[0], kernel[0], strides[0], dilations[0], offsets[0],
                        size[0] if clip else None)
    cols = axis_windows(out_hw[1], kernel[1], strides[1], dilations[1], offsets[1],
                        size[1] if clip else None)
    return Windows((int(size[0]), int(size[1])), rows, cols,
                   axis_feeds(rows, size[0]), axis_feeds(cols, size[1]))


def last_reached(n_out: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """The last padded cell any of ``n_out`` windows reads: ``(O-1)*S + D*(F-1)``."""
    return (n_out - 1) * stride + dilation * (kernel - 1)


@dataclass(frozen=True)
class Reach:
    """Where the windows sit along one axis, in padded cells, up to the first ``cap``.

    Window ``i`` reads cells ``starts[i] + t`` for ``t`` in ``taps``. Only windows that
    start before ``cap`` and taps less than ``cap`` from their window's start are listed
    (``capped`` says some were left out), so the lists hold at most ``cap`` numbers each.
    """

    padded: int  # cells along the axis, padding included
    span: int  # cells one dilated window covers, D*(F-1)+1
    starts: list[int]  # the first cell of each window, i*S
    taps: list[int]  # the cells a window reads, counted from its first: t*D for t < F
    last: int  # the last cell any window reads
    overlap: int  # at most this many windows' spans share one cell: ceil(span / S), or O if fewer
    capped: bool

    def as_dict(self) -> dict:
        return asdict(self)


def axis_reach(n_out: int, kernel: int, stride: int, dilation: int, padded: int, cap: int) -> Reach:
    """The windows of one axis as a :class:`Reach`: O(cap) time and memory, whatever the sizes."""
    if min(n_out, padded, cap) < 1 or min(kernel, stride, dilation) < 1:
        raise ValueError(f"need n_out, padded, cap, kernel, stride, dilation >= 1; got "
                         f"{n_out}, {padded}, {cap}, {kernel}, {stride}, {dilation}")
    span = dilation * (kernel - 1) + 1
    n_starts = min(n_out, -(-cap // stride))  # windows starting before cap
    n_taps = min(kernel, -(-cap // dilation))  # taps less than cap from the start
    return Reach(padded, span, [i * stride for i in range(n_starts)],
                 [t * dilation for t in range(n_taps)], last_reached(n_out, kernel, stride, dilation),
                 min(-(-span // stride), n_out), n_starts < n_out or n_taps < kernel)
