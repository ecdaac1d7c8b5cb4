"""One conv or pooling layer as the calculator's JSON, and its HTTP refusal.

The maths and the sentences are :func:`engine.explain.layer.explain_layer`'s (it raises
``ValueError``); a router calls it and, on ``ValueError``, raises :func:`refusal`: a 422
whose ``detail`` is the engine's sentence and, when the filter fits nowhere, ``formula``
the output-size sum with the layer's numbers.
"""

from __future__ import annotations

from app.errors import ApiError
from engine.explain.layer import Layer

UNREAD_LISTED = 1000  # enough for any grid the calculator draws (300 cells a row)
#: Window positions are listed for the first this many padded cells of each axis (the
#: calculator draws at most 300 a row), so the answer's size never grows with the input.
REACH_CAP = 300


def refusal(exc: ValueError) -> ApiError:
    """The 422 for a layer the engine refused, with its output-size formula when it has one."""
    formula = getattr(exc, "formula", None)
    return ApiError(422, str(exc), extra={"formula": formula} if formula else None)


def layer_json(layer: Layer, *, reach: bool = False) -> dict:
    """``layer`` as JSON; ``reach``: add ``axes``, where the windows sit along the rows and
    the columns (:class:`engine.explain.windows.Reach`, the first :data:`REACH_CAP` cells)."""
    h_out, w_out = layer.output_size
    rows, cols = layer.unread
    result: dict = {
        "output_size": [h_out, w_out],
        "output_shape": [layer.filters, h_out, w_out],
        "fits": layer.fits,
        "formula": layer.formula,
        "activations": layer.activations,
        "memory_bytes": layer.memory_bytes,
        "explanation": layer.explanation,
        "pads": list(layer.pads),
        # Padded indices no filter tap reads, per axis (input cell j is index j + pad);
        # the first UNREAD_LISTED of each, and how many there are in all.
        "unread": {"rows": rows[:UNREAD_LISTED], "columns": cols[:UNREAD_LISTED]},
        "unread_count": {"rows": len(rows), "columns": len(cols)},
        "reads_all_input": layer.reads_all_input,
    }
    if reach:
        r, c = layer.reach(REACH_CAP)
        result["axes"] = {"cap": REACH_CAP, "rows": r.as_dict(), "columns": c.as_dict()}
    if layer.params is not None:
        p = layer.params
        result["params"] = {"weights": p.weights, "biases": p.biases, "total": p.total,
                            "formula": p.formula}
    return result


def pair(v: int | list[int]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (v[0], v[1])
