"""Two-class toy data sets on the plane, as in the TensorFlow Playground.

Four generators (``circle``, ``xor``, ``gaussians``, ``spiral``) place points with
both coordinates in ``[-6, 6]`` and label them 0 or 1; ``noise`` in ``[0, 0.5]``
blurs the boundary exactly as the Playground does. Everything is deterministic
given the seed. :func:`feature_columns` turns the two coordinates into the input
features the network sees (``x1``, ``x2``, ``x1^2``, ``x2^2``, ``x1*x2``,
``sin(x1)``, ``sin(x2)``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "DATASETS",
    "EXTENT",
    "FEATURES",
    "Split",
    "feature_columns",
    "make_dataset",
    "split_dataset",
]

DATASETS = ("circle", "xor", "gaussians", "spiral")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
#: Points and the drawn input plane span ``[-EXTENT, EXTENT]`` on both axes.
EXTENT = 6.0


class Split(NamedTuple):
    """Points ``(N, 2)`` and labels ``(N,)`` (int 0/1) for training and testing."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _circle(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    # Half the points inside radius 2.5 (label 1), half in the ring 3.5..5 (label 0);
    # the label is read from the position after a uniform nudge of up to 5 * noise.
    radius = 5.0
    parts = []
    for lo, hi in ((0.0, 0.5 * radius), (0.7 * radius, radius)):
        m = n // 2 if lo == 0.0 else n - n // 2
        r = rng.uniform(lo, hi, m)
        angle = rng.uniform(0, 2 * np.pi, m)
        pts = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
        nudged = pts + rng.uniform(-radius, radius, (m, 2)) * noise
        label = (np.hypot(nudged[:, 0], nudged[:, 1]) < 0.5 * radius).astype(np.int64)
        parts.append((pts, label))
    return np.concatenate([p for p, _ in parts]), np.concatenate([lab for _, lab in parts])


def _xor(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    # Uniform in [-5, 5]^2, pushed 0.3 away from the axes; label 1 where x1 * x2 >= 0.
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)
    nudged = pts + rng.uniform(-5, 5, (n, 2)) * noise
    label = (nudged[:, 0] * nudged[:, 1] >= 0).astype(np.int64)
    return pts, label


def _gaussians(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    # Two blobs at (2, 2) (label 1) and (-2, -2) (label 0); variance 0.5 at noise 0 up to 4 at 0.5.
    variance = 0.5 + 7.0 * noise
    m = n // 2
    label = np.concatenate([np.ones(m, np.int64), np.zeros(n - m, np.int64)])
    centre = np.where(label[:, None] == 1, 2.0, -2.0)
    return centre + rng.normal(0.0, np.sqrt(variance), (n, 2)), label


def _spiral(rng: np.random.Generator, n: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    # Two interleaved arms of 1.75 turns out to radius 5; each point nudged by up to noise.
    m = n // 2
    parts = []
    for delta, label, count in ((0.0, 1, m), (np.pi, 0, n - m)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + delta
        pts = np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
        pts += rng.uniform(-1, 1, (count, 2)) * noise
        parts.append((pts, np.full(count, label, np.int64)))
    return np.concatenate([p for p, _ in parts]), np.concatenate([lab for _, lab in parts])


_GENERATORS = {"circle": _circle, "xor": _xor, "gaussians": _gaussians, "spiral": _spiral}


def make_dataset(
    name: str, *, n: int = 500, noise: float = 0.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` labelled points of data set ``name``, shuffled, clipped to ``[-6, 6]``.

    Returns
    -------
    points : ndarray, shape (n, 2), float64
    labels : ndarray, shape (n,), int64 in {0, 1}
    """
    if name not in _GENERATORS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    if not 2 <= n <= 10_000:
        raise ValueError(f"n must be in [2, 10000], got {n}")
    if not 0.0 <= noise <= 0.5:
        raise ValueError(f"noise must be in [0, 0.5], got {noise}")
    rng = np.random.default_rng(seed)
    points, labels = _GENERATORS[name](rng, n, float(noise))
    order = rng.permutation(n)
    return np.clip(points[order], -EXTENT, EXTENT), labels[order]


def split_dataset(
    name: str, *, n: int = 500, noise: float = 0.0, train_ratio: float = 0.5, seed: int = 0
) -> Split:
    """:func:`make_dataset`, the first ``round(train_ratio * n)`` points for training."""
    if not 0.0 < train_ratio < 1.0:
        raise ValueError(f"train_ratio must be in (0, 1), got {train_ratio}")
    points, labels = make_dataset(name, n=n, noise=noise, seed=seed)
    k = min(max(int(round(train_ratio * n)), 1), n - 1)
    return Split(points[:k], labels[:k], points[k:], labels[k:])


def feature_columns(points: np.ndarray, features: tuple[str, ...] | list[str]) -> np.ndarray:
    """The network's inputs: one column per feature name, shape ``(N, len(features))``."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {points.shape}")
    if not features:
        raise ValueError("choose at least one input feature")
    x1, x2 = points[:, 0], points[:, 1]
    table = {
        "x1": lambda: x1,
        "x2": lambda: x2,
        "x1^2": lambda: x1 * x1,
        "x2^2": lambda: x2 * x2,
        "x1*x2": lambda: x1 * x2,
        "sin(x1)": lambda: np.sin(x1),
        "sin(x2)": lambda: np.sin(x2),
    }
    unknown = [f for f in features if f not in table]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; choose from {', '.join(FEATURES)}")
    return np.stack([table[f]() for f in features], axis=1)
