"""Fooling a model: the fast gradient sign method (Goodfellow et al., ICLR 2015).

Each pixel moves by ``epsilon`` (in units of the full pixel range, 0..1) in the
direction that raises the model's loss for the class it chose:

    x' = clip(x + epsilon * sign(d loss / d x))

Because the model sees normalised values ``x = (p - mean) / std``, a step of
``epsilon`` in pixel units is ``epsilon / std`` in model units, and the clip keeps every
pixel inside what an image can hold. A short ladder of epsilons finds the smallest
that changes the answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["LADDER", "fgsm_images", "first_flip"]

#: Step sizes tried, in pixel units: 1/255 (one grey level) up to 32/255.
LADDER = tuple(k / 255 for k in (1, 2, 4, 8, 16, 32))


def fgsm_images(x: np.ndarray, grad: np.ndarray, std: Sequence[float], lo: Sequence[float],
                hi: Sequence[float], ladder: Sequence[float] = LADDER) -> np.ndarray:
    """The perturbed inputs, one per epsilon: ``(len(ladder), C, H, W)`` float32.

    ``x`` and ``grad`` (d loss / d x) are ``(1, C, H, W)``; ``std``, ``lo`` and ``hi``
    give per channel the normalisation's std and the model-unit values of pixel 0 and
    pixel 255.
    """
    x = np.asarray(x, np.float64)
    g = np.asarray(grad, np.float64)
    if x.ndim != 4 or x.shape[0] != 1 or g.shape != x.shape:
        raise ValueError(f"the input and its gradient must both be (1, C, H, W); got {x.shape}, {g.shape}")
    c = x.shape[1]
    per = [np.asarray(v, np.float64).reshape(-1) for v in (std, lo, hi)]
    if any(v.size not in (1, c) for v in per) or not ladder:
        raise ValueError(f"std, lo and hi need 1 or {c} values each, and the ladder a step")
    s, low, high = (np.broadcast_to(v, (c,)).reshape(1, c, 1, 1) for v in per)
    eps = np.asarray(ladder, np.float64).reshape(-1, 1, 1, 1)
    out = np.clip(x + eps * np.sign(g) / s, np.minimum(low, high), np.maximum(low, high))
    return out.astype(np.float32)


def first_flip(probs: np.ndarray, label: int) -> int | None:
    """The first row of ``probs`` (one per epsilon) whose top class is not ``label``."""
    for i, row in enumerate(np.asarray(probs)):
        if int(np.argmax(row)) != label:
            return i
    return None
