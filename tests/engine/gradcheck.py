"""Numeric gradients for the gradient-check tests (float64 centred differences)."""

from __future__ import annotations

import numpy as np

EPS = 1e-6


def numeric_gradient(loss, array):
    """Centred differences of the scalar ``loss()`` w.r.t. every entry of ``array``
    (perturbed in place and restored)."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + EPS
        plus = loss()
        array[index] = saved - EPS
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * EPS)
    return grad


def rel_error(a, b) -> float:
    """``|a - b| / (|a| + |b|)``, the relative error used by every gradient check."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))
