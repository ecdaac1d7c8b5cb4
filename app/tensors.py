"""Moved to :mod:`app.encode`; kept while other modules switch their imports."""

from app.encode import F16_MAX, MAX_ELEMENTS, FiniteFloat, Tensor, decode_f16, f16_json, tensor_json

__all__ = ["F16_MAX", "MAX_ELEMENTS", "FiniteFloat", "Tensor", "decode_f16", "f16_json", "tensor_json"]
