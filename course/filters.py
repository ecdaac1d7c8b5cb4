"""Classic image filters (convolution kernels) and the course's first convolution example.

Every preset is a function of the kernel size ``F`` that returns an ``(F, F)`` float32
array, so the playground can offer the same filter at 3x3, 5x5 or 7x7. A preset that
has no sensible definition at some size (an edge detector needs a centre column, the
Laplacian is the 3x3 stencil) is simply not offered there: :func:`available` lists
what exists for a size and :func:`kernel` raises ``ValueError`` otherwise.

Conventions (those of a CNN, not of image-processing textbooks): the layer computes a
*cross-correlation*, ``out[i, j] = sum_{p, q} x[i + p, j + q] * w[p, q]``, so a kernel
is used as written, never flipped. With that convention "Sobel x" is positive where
brightness increases from left to right.

For an input with ``C`` channels a filter needs one ``(F, F)`` slice per channel;
:func:`filter_bank` repeats the kernel on every channel and divides it by ``C``, so
that the three slices together act on the mean brightness and an RGB output has the
same range as a greyscale one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import comb

import numpy as np

__all__ = [
    "PRESETS",
    "Preset",
    "available",
    "binomial",
    "filter_bank",
    "kernel",
]

MAX_SIZE = 7


def binomial(n: int) -> np.ndarray:
    """Row ``n - 1`` of Pascal's triangle, ``[C(n-1, 0), ..., C(n-1, n-1)]`` (float64)."""
    if n < 1:
        raise ValueError(f"binomial row needs n >= 1, got {n}")
    return np.array([comb(n - 1, k) for k in range(n)], dtype=np.float64)


def _centre(f: int) -> int:
    return (f - 1) // 2


def _identity(f: int) -> np.ndarray:
    w = np.zeros((f, f))
    w[_centre(f), _centre(f)] = 1.0
    return w


def _box(f: int) -> np.ndarray:
    return np.full((f, f), 1.0 / (f * f))


def _gaussian(f: int) -> np.ndarray:
    g = np.outer(binomial(f), binomial(f))
    return g / g.sum()


def _sharpen(f: int) -> np.ndarray:
    if f == 3:  # the classic stencil: identity + (4 * centre - the four neighbours)
        return np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64)
    return 2.0 * _identity(f) - _gaussian(f)  # unsharp masking: x + (x - blur(x))


def _derivative(f: int) -> np.ndarray:
    """Smoothed central difference of length ``f``: binomial(f - 2) convolved with [-1, 0, 1]."""
    return np.convolve(binomial(f - 2), [-1.0, 0.0, 1.0])


def _sobel_x(f: int) -> np.ndarray:
    return np.outer(binomial(f), _derivative(f))


def _sobel_y(f: int) -> np.ndarray:
    return _sobel_x(f).T.copy()


def _prewitt_x(f: int) -> np.ndarray:
    ramp = np.arange(f, dtype=np.float64) - _centre(f)
    return np.outer(np.ones(f), ramp)


def _prewitt_y(f: int) -> np.ndarray:
    return _prewitt_x(f).T.copy()


def _laplacian(f: int) -> np.ndarray:
    return np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float64)


def _emboss(f: int) -> np.ndarray:
    c = _centre(f)
    idx = np.arange(f) - c
    w = (idx[:, None] + idx[None, :]).astype(np.float64)
    w[c, c] = 1.0
    return w


def _outline(f: int) -> np.ndarray:
    w = -np.ones((f, f))
    w[_centre(f), _centre(f)] = f * f - 1.0
    return w


def _diagonal(f: int) -> np.ndarray:
    return 2.0 * np.eye(f) - 1.0


def _vertical(f: int) -> np.ndarray:
    w = -np.ones((f, f))
    w[:, _centre(f)] = 1.0
    return w


def _any(f: int) -> bool:
    return 1 <= f <= MAX_SIZE


def _odd(f: int) -> bool:
    return _any(f) and f % 2 == 1


def _odd3(f: int) -> bool:
    return _odd(f) and f >= 3


def _only3(f: int) -> bool:
    return f == 3


@dataclass(frozen=True)
class Preset:
    """A named kernel family: ``make(F)`` builds it for every ``F`` where ``sizes(F)``."""

    name: str
    title: str
    description: str
    make: Callable[[int], np.ndarray]
    sizes: Callable[[int], bool]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in [
        Preset("identity", "Identity", "A single 1 in the centre: the output copies the input.",
               _identity, _odd),
        Preset("box_blur", "Box blur", "Every weight is 1/F²: each output is the mean of the patch.",
               _box, _any),
        Preset("gaussian_blur", "Gaussian blur",
               "Binomial weights that fall off from the centre: a softer blur that sums to 1.",
               _gaussian, _any),
        Preset("sharpen", "Sharpen",
               "The centre minus its blurred neighbours: makes edges crisper.", _sharpen, _odd3),
        Preset("sobel_x", "Sobel x",
               "Right column minus left column, centre row counted twice: responds to vertical "
               "edges (positive where it gets brighter to the right).", _sobel_x, _odd3),
        Preset("sobel_y", "Sobel y",
               "Bottom row minus top row: responds to horizontal edges (positive where it gets "
               "brighter downwards).", _sobel_y, _odd3),
        Preset("prewitt_x", "Prewitt x",
               "Like Sobel x but every row counts the same: a plain left-to-right difference.",
               _prewitt_x, _odd3),
        Preset("prewitt_y", "Prewitt y",
               "Like Sobel y with equal weights: a plain top-to-bottom difference.",
               _prewitt_y, _odd3),
        Preset("laplacian", "Laplacian",
               "Four neighbours minus 4x the centre: zero on flat areas and ramps, large at "
               "edges and spots.", _laplacian, _only3),
        Preset("emboss", "Emboss",
               "Negative towards the top left, positive towards the bottom right: a relief "
               "lit from one side.", _emboss, _odd3),
        Preset("outline", "Outline",
               "The centre times (F²-1) minus every neighbour: zero on flat areas, bright on "
               "outlines.", _outline, _odd3),
        Preset("diagonal", "Diagonal detector (course)",
               "+1 on the main diagonal, -1 elsewhere: scores F (3 for 3x3) where the patch holds "
               "exactly a \\ diagonal line.", _diagonal, _odd3),
        Preset("vertical", "Vertical-line detector (course)",
               "+1 down the middle column, -1 elsewhere: scores F (3 for 3x3) where the patch "
               "holds exactly a vertical line.", _vertical, _odd3),
    ]
}


def available(size: int) -> list[Preset]:
    """The presets defined at kernel size ``size`` (in :data:`PRESETS` order)."""
    return [p for p in PRESETS.values() if p.sizes(size)]


def kernel(name: str, size: int = 3) -> np.ndarray:
    """Preset ``name`` as an ``(size, size)`` float32 kernel.

    Raises
    ------
    ValueError
        If the preset does not exist or is not defined at ``size``.
    """
    preset = PRESETS.get(name)
    if preset is None:
        raise ValueError(f"unknown filter {name!r}; known filters: {', '.join(PRESETS)}")
    if not preset.sizes(size):
        sizes = [f for f in range(1, MAX_SIZE + 1) if preset.sizes(f)]
        raise ValueError(
            f"the {preset.title} filter is defined for sizes {sizes}, not {size}x{size}"
        )
    return np.asarray(preset.make(size), dtype=np.float32)


def filter_bank(name: str, size: int = 3, channels: int = 1) -> np.ndarray:
    """Preset ``name`` as one filter of shape ``(channels, size, size)``.

    Each channel gets the kernel divided by ``channels``: ``sum_c (w / C) * x_c =
    w * mean_c(x_c)``, so an RGB filter responds to brightness like a greyscale one.
    """
    if channels < 1:
        raise ValueError(f"a filter needs at least one channel, got {channels}")
    k = kernel(name, size)
    return np.repeat(k[None] / np.float32(channels), channels, axis=0)

