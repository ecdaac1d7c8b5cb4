"""The one place arrays become JSON and JSON becomes arrays.

Tensors travel as ``{"shape": [...], "data": [flat, row-major], "min", "max"}`` (the
range, so a page draws with one colour scale without scanning the data). Incoming data
is checked here: finite numbers only (NaN and Infinity are refused), the shape must
match the number of values, and every size is bounded. The engine's explanations
(dataclasses from :mod:`engine.explain`) become JSON here too, numbers rounded to
seven significant digits.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.explain.kinds import ValueTrace

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]

#: Largest tensor the interactive routes accept (3 x 128 x 128 values).
MAX_ELEMENTS = 3 * 128 * 128


class Tensor(BaseModel):
    """A dense tensor: its shape and its values, flattened row-major (a ``min`` and ``max``
    sent back with it, as :func:`tensor_json` gives them, are ignored)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    shape: list[Annotated[int, Field(ge=1, le=4096)]] = Field(min_length=1, max_length=4)
    data: list[FiniteFloat] = Field(max_length=MAX_ELEMENTS)
    min: FiniteFloat | None = Field(None, exclude=True)
    max: FiniteFloat | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _shape_matches_data(self) -> Tensor:
        expected = math.prod(self.shape)
        if expected != len(self.data):
            raise ValueError(
                f"shape {self.shape} needs {expected} values but data has {len(self.data)}"
            )
        return self

    def to_array(self) -> np.ndarray:
        return np.asarray(self.data, dtype=np.float32).reshape(self.shape)


def num(v: float, digits: int = 7) -> float | None:
    """A number for JSON: ``digits`` significant digits; None where the model overflowed."""
    v = float(v)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _range(arr: np.ndarray) -> tuple[float, float]:
    finite = arr[np.isfinite(arr)]
    return (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)


def tensor_json(array: np.ndarray, decimals: int | None = 6) -> dict:
    """An array as ``{"shape", "data", "min", "max"}``; values rounded to ``decimals``."""
    arr = np.asarray(array, dtype=np.float64)
    if decimals is not None:
        arr = np.round(arr, decimals)
    lo, hi = _range(arr)
    return {"shape": list(arr.shape), "data": arr.ravel().tolist(), "min": lo, "max": hi}


F16_MAX = 65504.0  # the largest finite float16


def f16_json(array: np.ndarray) -> dict:
    """An array as float16 bytes in base64 (little-endian), with its range.

    Feature maps travel this way: ~1000x faster to encode than JSON float lists and
    half the bytes of float32. Decode in the browser with a ``Uint16Array`` view.
    """
    arr = np.asarray(array, dtype=np.float32)
    lo, hi = _range(arr)
    # float16 stops at 65504: larger values would arrive as infinity, so they are clipped
    # (min and max above stay exact) and counted.
    clipped = int(np.count_nonzero(np.abs(arr) > F16_MAX))
    raw = np.ascontiguousarray(np.clip(arr, -F16_MAX, F16_MAX), dtype="<f2").tobytes()
    out = {
        "shape": list(arr.shape),
        "min": lo,
        "max": hi,
        "encoding": "f16-base64",
        "data": base64.b64encode(raw).decode("ascii"),
    }
    if clipped:
        out["clipped"] = clipped
    return out


def decode_f16(payload: dict) -> np.ndarray:
    """Inverse of :func:`f16_json` (used by tests and benchmarks)."""
    raw = base64.b64decode(payload["data"])
    return np.frombuffer(raw, dtype="<f2").astype(np.float32).reshape(payload["shape"])


# ------------------------------------------------------------------ explanations


def plain(value: Any) -> Any:
    """An explanation as JSON: dataclasses become objects (a field whose default is
    None is left out while it is None), arrays nested lists, floats :func:`num`."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {}
        for f in dataclasses.fields(value):
            v = getattr(value, f.name)
            if v is None and f.default is None:
                continue
            out[f.name] = plain(v)
        return out
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return plain(value.tolist())
        return value.tolist()
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float | np.floating):
        return num(float(value))
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"cannot encode {type(value).__name__}")


def _detail_json(detail: Any) -> dict:
    """A per-kind trace, with its nested ``source`` flattened to {layer, op_type, ...}."""
    out = plain(dataclasses.replace(detail, source=None) if hasattr(detail, "source") else detail)
    source = getattr(detail, "source", None)
    if source is not None:
        out["source"] = {"layer": source.layer, "op_type": source.op_type, **_detail_json(source.detail)}
    return out


def trace_json(t: ValueTrace) -> dict:
    """The answer of ``/trace``: where the value is, the value, and the arithmetic."""
    channel, row, col = t.position
    out = {"layer": t.layer, "op_type": t.op_type,
           "position": {"channel": channel, "row": row, "col": col},
           "output_shape": t.output_shape, "value": num(t.value), **_detail_json(t.detail)}
    if t.field is not None:
        out["field"] = plain(t.field)
    return out
