"""Element-wise activations (ReLU, leaky ReLU, sigmoid, tanh, GELU, Swish) and ``erf``.

Each activation is a pair: ``*_forward(x) -> (out, cache)`` and
``*_backward(dout, cache) -> dx`` with ``dx = dout * f'(x)`` (element-wise; the
shapes of ``x``, ``out``, ``dout`` and ``dx`` are all equal and arbitrary).
float32 stays float32; integer input is promoted to float64.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from engine.ops.arrays import float_dtype

__all__ = [
    "GeluCache",
    "LeakyReluCache",
    "ReluCache",
    "SigmoidCache",
    "SwishCache",
    "TanhCache",
    "erf",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "swish_backward",
    "swish_forward",
    "tanh_backward",
    "tanh_forward",
]

_SQRT_PI = math.sqrt(math.pi)
_SQRT_2 = math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class ReluCache(NamedTuple):
    x: np.ndarray


class LeakyReluCache(NamedTuple):
    x: np.ndarray
    alpha: float


class SigmoidCache(NamedTuple):
    out: np.ndarray


class TanhCache(NamedTuple):
    out: np.ndarray


class SwishCache(NamedTuple):
    x: np.ndarray
    s: np.ndarray  # sigmoid(alpha * x)
    alpha: float


class GeluCache(NamedTuple):
    x: np.ndarray
    approximate: str


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(float_dtype(x), copy=False)


def _check_dout(dout, shape) -> np.ndarray:
    dout = np.asarray(dout)
    if dout.shape != shape:
        raise ValueError(f"dout must have the forward output's shape {shape}, got {dout.shape}")
    return dout


# Abramowitz & Stegun (1964) formula 7.1.26, for a >= 0:
#   erf(a) = 1 - (a1 t + a2 t^2 + a3 t^3 + a4 t^4 + a5 t^5) exp(-a^2),  t = 1 / (1 + p a),
# with |error| <= 1.5e-7: below float32's resolution of erf's values near 1.
_AS_P = 0.3275911
_AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function ``erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt``, vectorised.

    Returned in the input's floating dtype. Odd symmetry ``erf(-x) = -erf(x)`` reduces
    everything to ``a = |x|``.

    Float32 and float16 inputs (the models' GELU layers): Abramowitz & Stegun 7.1.26
    evaluated in float64, absolute error below 2e-7 against ``math.erf`` (about 10 array
    passes instead of the 80 of the float64 path). Float64 (and integer) inputs, absolute
    error below 1e-15:

    * ``a < 2``: the everywhere-positive series (no cancellation)
      ``erf(a) = 2/sqrt(pi) * a * exp(-a^2) * sum_k (2a^2)^k / (1*3*...*(2k+1))``,
      30 terms, summed by Horner's rule.
    * ``a >= 2``: the Laplace continued fraction
      ``erfc(a) = exp(-a^2)/sqrt(pi) * 1/(a + (1/2)/(a + (2/2)/(a + (3/2)/(a + ...))))``,
      50 levels evaluated bottom-up, and ``erf = 1 - erfc``.
    """
    x = np.asarray(x)
    dtype = float_dtype(x)
    a = np.abs(x.astype(np.float64))
    if dtype != np.float64:
        t = 1.0 / (1.0 + _AS_P * a)
        poly = _AS_A[4] * t
        for c in _AS_A[3::-1]:
            poly += c
            poly *= t
        np.multiply(a, a, out=a)
        np.negative(a, out=a)
        np.exp(a, out=a)
        poly *= a
        return np.copysign(1.0 - poly, x).astype(dtype, copy=False)
    result = np.empty_like(a)
    small = a < 2.0
    with np.errstate(over="ignore", invalid="ignore"):
        s = a[small]
        two_s2 = 2.0 * s * s
        acc = np.ones_like(s)
        for k in range(30, 0, -1):
            acc = 1.0 + acc * two_s2 / (2 * k + 1)
        result[small] = 2.0 / _SQRT_PI * s * np.exp(-s * s) * acc
        s = a[~small]
        frac = s.copy()
        for k in range(50, 0, -1):
            frac = s + (k / 2.0) / frac
        result[~small] = 1.0 - np.exp(-s * s) / (_SQRT_PI * frac)
    return (np.sign(x) * result).astype(dtype, copy=False)


def relu_forward(x: np.ndarray) -> tuple[np.ndarray, ReluCache]:
    """``y = max(0, x)``."""
    x = _float(x)
    return np.maximum(x, 0), ReluCache(x)


def relu_backward(dout: np.ndarray, cache: ReluCache) -> np.ndarray:
    """``dx = dout * [x > 0]`` (the subgradient at 0 is taken as 0)."""
    dout = _check_dout(dout, cache.x.shape)
    return np.where(cache.x > 0, dout, 0).astype(cache.x.dtype, copy=False)


def leaky_relu_forward(x: np.ndarray, alpha: float = 0.01) -> tuple[np.ndarray, LeakyReluCache]:
    """``y = x`` where ``x >= 0``, else ``alpha * x`` (ONNX ``LeakyRelu``)."""
    x = _float(x)
    return np.where(x >= 0, x, x * float(alpha)), LeakyReluCache(x, float(alpha))


def leaky_relu_backward(dout: np.ndarray, cache: LeakyReluCache) -> np.ndarray:
    """``dx = dout`` where ``x > 0``, else ``alpha * dout``."""
    dout = _check_dout(dout, cache.x.shape)
    x = cache.x
    return np.where(x > 0, dout, dout * cache.alpha).astype(x.dtype, copy=False)


def sigmoid_forward(x: np.ndarray) -> tuple[np.ndarray, SigmoidCache]:
    """``y = 1 / (1 + exp(-x))``, evaluated without overflow.

    With ``e = exp(-|x|)`` (never > 1): ``y = 1/(1+e)`` for ``x >= 0`` and
    ``y = e/(1+e)`` for ``x < 0``.
    """
    x = _float(x)
    e = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
    return out, SigmoidCache(out)


def sigmoid_backward(dout: np.ndarray, cache: SigmoidCache) -> np.ndarray:
    """``dx = dout * y * (1 - y)``."""
    y = cache.out
    dout = _check_dout(dout, y.shape)
    return (dout * y * (1 - y)).astype(y.dtype, copy=False)


def tanh_forward(x: np.ndarray) -> tuple[np.ndarray, TanhCache]:
    """``y = tanh(x)``."""
    out = np.tanh(_float(x))
    return out, TanhCache(out)


def tanh_backward(dout: np.ndarray, cache: TanhCache) -> np.ndarray:
    """``dx = dout * (1 - y^2)``."""
    y = cache.out
    dout = _check_dout(dout, y.shape)
    return (dout * (1 - y * y)).astype(y.dtype, copy=False)


def gelu_forward(x: np.ndarray, approximate: str = "none") -> tuple[np.ndarray, GeluCache]:
    """Gaussian error linear unit (ONNX ``Gelu``).

    * ``approximate="none"``: ``y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))``.
    * ``approximate="tanh"``: ``y = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"approximate must be 'none' or 'tanh', got {approximate!r}")
    x = _float(x)
    if approximate == "none":
        out = 0.5 * x * (1 + erf(x / _SQRT_2))
    else:
        out = 0.5 * x * (1 + np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3)))
    return out.astype(x.dtype, copy=False), GeluCache(x, approximate)


def gelu_backward(dout: np.ndarray, cache: GeluCache) -> np.ndarray:
    """Element-wise GELU derivative times ``dout``.

    * exact: ``y' = Phi(x) + x phi(x)`` with ``phi(x) = exp(-x^2/2) / sqrt(2 pi)``.
    * tanh: with ``u = sqrt(2/pi)(x + 0.044715 x^3)`` and ``t = tanh u``,
      ``y' = 0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2)``.
    """
    x = cache.x
    dout = _check_dout(dout, x.shape)
    if cache.approximate == "none":
        cdf = 0.5 * (1 + erf(x / _SQRT_2))
        grad = cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
    else:
        t = np.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3))
        du = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
        grad = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du
    return (dout * grad).astype(x.dtype, copy=False)


def swish_forward(x: np.ndarray, alpha: float = 1.0) -> tuple[np.ndarray, SwishCache]:
    """``y = x * sigmoid(alpha * x)`` (ONNX ``Swish``, opset 24; SiLU when ``alpha = 1``)."""
    x = _float(x)
    s, _ = sigmoid_forward(x * x.dtype.type(alpha))
    return (x * s).astype(x.dtype, copy=False), SwishCache(x, s, float(alpha))


def swish_backward(dout: np.ndarray, cache: SwishCache) -> np.ndarray:
    """``dx = dout * (s + alpha * x * s * (1 - s))`` with ``s = sigmoid(alpha * x)``."""
    x, s = cache.x, cache.s
    dout = _check_dout(dout, x.shape)
    return (dout * (s + cache.alpha * x * s * (1 - s))).astype(x.dtype, copy=False)
