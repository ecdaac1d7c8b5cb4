"""Batched data augmentation as tensor ops, on whatever device the batch lives on.

No DataLoader and no per-image Python: the whole dataset sits on the device and each
function transforms a batch ``(N, C, H, W)`` at once (the airbench approach).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_affine(x: torch.Tensor, degrees: float, scale: float, shift_px: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate by U(-degrees, degrees), zoom by U(1-scale, 1+scale), shift by U(+-shift_px).

    ``x`` is ``(N, C, H, W)`` with background 0 (apply before mean/std normalisation);
    bilinear sampling, zeros outside the image.
    """
    n, _, h, w = x.shape
    dev = x.device

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(n, device=dev, generator=generator) * (hi - lo) + lo

    angle = uniform(-degrees, degrees) * (math.pi / 180)
    inv_zoom = 1.0 / uniform(1 - scale, 1 + scale)
    tx = uniform(-shift_px, shift_px) * (2.0 / w)  # affine_grid works in [-1, 1] units
    ty = uniform(-shift_px, shift_px) * (2.0 / h)
    cos, sin = torch.cos(angle) * inv_zoom, torch.sin(angle) * inv_zoom
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    mask = torch.rand(len(x), device=x.device, generator=generator) < 0.5
    return torch.where(mask.view(-1, 1, 1, 1), x.flip(-1), x)


def random_translate(padded: torch.Tensor, size: int,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Random ``size`` x ``size`` crops of a batch padded by r on each side (shifts in -r..r).

    One masked copy per shift: (2r+1) copies per axis instead of N slices.
    """
    n, c = padded.shape[:2]
    r = (padded.shape[-1] - size) // 2
    shifts = torch.randint(0, 2 * r + 1, (n, 2), device=padded.device, generator=generator)
    rows = torch.empty((n, c, size, padded.shape[-1]), device=padded.device, dtype=padded.dtype)
    for s in range(2 * r + 1):
        mask = shifts[:, 0] == s
        rows[mask] = padded[mask, :, s:s + size, :]
    out = torch.empty((n, c, size, size), device=padded.device, dtype=padded.dtype)
    for s in range(2 * r + 1):
        mask = shifts[:, 1] == s
        out[mask] = rows[mask, :, :, s:s + size]
    return out


def random_cutout(x: torch.Tensor, size: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one ``size`` x ``size`` square per image, all channels, placed wholly inside it.

    Apply after mean/std normalisation, so the square holds the dataset's mean colour
    (DeVries & Taylor 2017; airbench96 uses it for long runs).
    """
    n, _, h, w = x.shape
    if not 0 < size <= min(h, w):
        raise ValueError(f"cutout size must be 1..{min(h, w)}, got {size}")
    top = torch.randint(0, h - size + 1, (n, 1, 1), device=x.device, generator=generator)
    left = torch.randint(0, w - size + 1, (n, 1, 1), device=x.device, generator=generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size) & (cols >= left) & (cols < left + size)
    return x.masked_fill(inside.unsqueeze(1), 0.0)
