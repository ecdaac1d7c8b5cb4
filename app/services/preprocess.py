"""Decoded images -> model inputs, with a picture of each step (the classify page shows them).

A model card's ``input`` spec says what the model expects: MNIST-style digit models get
their digit found, cropped, scaled and centred the way MNIST was made; other models a
centre crop and resize. Both end in x = (pixel * scale - mean) / std, per channel.
Images come decoded and checked from :func:`app.services.imaging.open_image`. Sizes in the
captions are the user's file's (``im.info["original_size"]``): a large JPEG is decoded at a
reduced size (DCT scaling), and the first caption says so; later crops are given in the
file's own pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image


@dataclass
class Prepared:
    """A model input and the pictures of each preprocessing step that led to it."""

    tensor: np.ndarray  # (1, C, H, W) float32, exactly what the model sees
    steps: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # (name, caption, HxW or HxWx3 uint8)
    notes: list[str] = field(default_factory=list)


X = "\u00d7"  # sizes as width x height, with the sign the pages use


def _original(im: Image.Image) -> tuple[str, float]:
    """The first step's caption (the file's size; whether it was decoded reduced) and the
    factor from decoded pixels to the file's pixels."""
    w, h = im.info.get("original_size", im.size)
    caption = f"your image, {w} {X} {h} px"
    if (w, h) != im.size:
        caption += (f" (decoded at reduced size, {im.size[0]} {X} {im.size[1]}, "
                    "which is all the model needs)")
    return caption, w / im.size[0]


def _in_file(n: int, factor: float) -> int:
    return max(1, round(n * factor))


def _thumb(im: Image.Image, side: int = 96) -> np.ndarray:
    t = im.copy()
    t.thumbnail((side, side), Image.Resampling.BILINEAR)
    return np.asarray(t)


def prepare_mnist(im: Image.Image, spec: dict) -> Prepared:
    """Make a drawing or photo of a digit look like an MNIST digit, the way MNIST was made.

    Greyscale; light background detected from the border and inverted (MNIST is white ink
    on black); crop to the ink's bounding box; scale the longer side to 20 px keeping the
    aspect ratio (anti-aliased); paste into a 28 x 28 field so that the centre of mass
    sits at the centre; then x = (pixel/255 - mean) / std from the model card.
    """
    caption, factor = _original(im)
    steps: list[tuple[str, str, np.ndarray]] = [("original", caption, _thumb(im))]
    notes: list[str] = []
    grey = np.asarray(im.convert("L"), dtype=np.float32)
    steps.append(("grayscale", "grayscale (L = 0.299 R + 0.587 G + 0.114 B)", _thumb(im.convert("L"))))
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    background = float(np.median(border))
    if background > 127:
        grey = 255.0 - grey
        background = 255.0 - background
        notes.append("Light background detected: inverted to white ink on black, like MNIST.")
        steps.append(("inverted", "inverted: MNIST digits are white on black", grey.astype(np.uint8)))
    ink = np.clip(grey - background, 0, None)
    peak = float(ink.max())
    size = int(spec.get("shape", [1, 1, 28, 28])[-1])
    box = max(1, round(size * 20 / 28))
    if peak < 16:
        notes.append("No ink found: the image is blank or has almost no contrast.")
        canvas = np.zeros((size, size), dtype=np.float32)
    else:
        ink = ink * (255.0 / peak)
        rows = np.flatnonzero((ink > 0.1 * 255).any(axis=1))
        cols = np.flatnonzero((ink > 0.1 * 255).any(axis=0))
        crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        steps.append(("cropped", f"cropped to the ink: {_in_file(crop.shape[1], factor)} {X} "
                      f"{_in_file(crop.shape[0], factor)} px of your image", crop.astype(np.uint8)))
        h, w = crop.shape
        scale = box / max(h, w)
        nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
        scaled = np.asarray(
            Image.fromarray(crop.astype(np.uint8), "L").resize((nw, nh), Image.Resampling.LANCZOS),
            dtype=np.float32,
        )
        steps.append(("scaled", f"longer side scaled to {box} px: {nw} {X} {nh}", scaled.astype(np.uint8)))
        canvas = np.zeros((size, size), dtype=np.float32)
        total = float(scaled.sum())
        if total > 0:
            yy, xx = np.mgrid[0:nh, 0:nw]
            cy, cx = float((yy * scaled).sum() / total), float((xx * scaled).sum() / total)
        else:
            cy, cx = (nh - 1) / 2, (nw - 1) / 2
        top = int(round((size - 1) / 2 - cy))
        left = int(round((size - 1) / 2 - cx))
        top = min(max(top, 0), size - nh)
        left = min(max(left, 0), size - nw)
        canvas[top : top + nh, left : left + nw] = scaled
        steps.append(("centred", f"centre of mass moved to the centre of {size} {X} {size}", canvas.astype(np.uint8)))
    x = normalise(canvas[None], spec)
    return Prepared(tensor=x[None], steps=steps, notes=notes)


def prepare_rgb(im: Image.Image, spec: dict) -> Prepared:
    """Colour models: centre-crop to the model's aspect ratio, resize (anti-aliased), normalise."""
    _, c, h, w = spec["shape"]
    caption, factor = _original(im)
    steps: list[tuple[str, str, np.ndarray]] = [("original", caption, _thumb(im))]
    notes: list[str] = []
    if c == 3 and im.mode != "RGB":
        im = im.convert("RGB")
        notes.append("Greyscale image copied into all three colour channels.")
    elif c == 1 and im.mode != "L":
        im = im.convert("L")
        steps.append(("grayscale", "grayscale", _thumb(im)))
    iw, ih = im.size
    target = w / h
    if abs(iw / ih - target) > 1e-6:
        if iw / ih > target:
            nw = max(1, round(ih * target))  # a 256 x 1 model crops a column, not nothing
            box = ((iw - nw) // 2, 0, (iw - nw) // 2 + nw, ih)
        else:
            nh = max(1, round(iw / target))
            box = (0, (ih - nh) // 2, iw, (ih - nh) // 2 + nh)
        im = im.crop(box)
        cw, ch = _in_file(im.size[0], factor), _in_file(im.size[1], factor)
        steps.append(("cropped", f"centre-cropped to the middle {cw} {X} {ch} px of your image",
                      _thumb(im)))
    if im.size != (w, h):
        im = im.resize((w, h), Image.Resampling.LANCZOS if max(im.size) < 4 * w else Image.Resampling.BOX)
        steps.append(("scaled", f"resized to {w} {X} {h}", np.asarray(im)))
    arr = np.asarray(im, dtype=np.float32)
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    x = normalise(arr, spec)
    return Prepared(tensor=x[None], steps=steps, notes=notes)


@dataclass(frozen=True)
class Normalisation:
    """x = (pixel * scale - mean) / std, per channel, as a model card's ``input`` says.

    The one place that reads ``scale`` (default 1/255), ``mean`` (default 0) and ``std``
    (default 1) from a card; ``mean`` and ``std`` are float32 ``(C,)`` (a card may give one
    value for every channel). Pixels run 0..255.
    """

    scale: float
    mean: np.ndarray
    std: np.ndarray

    def model_units(self, pixels: np.ndarray) -> np.ndarray:
        """Pixels ``(..., C, H, W)`` -> the model's input values, float32."""
        mean, std = self.mean.reshape(-1, 1, 1), self.std.reshape(-1, 1, 1)
        return ((np.asarray(pixels).astype(np.float32) * self.scale - mean) / std).astype(np.float32)

    def pixels(self, x: np.ndarray) -> np.ndarray:
        """The inverse, ``pixel = (x * std + mean) / scale``, rounded and clipped to uint8."""
        mean, std = self.mean.reshape(-1, 1, 1), self.std.reshape(-1, 1, 1)
        return np.clip(np.rint((np.asarray(x) * std + mean) / self.scale), 0, 255).astype(np.uint8)

    def limits(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel, the model-unit values of pixel 0 and pixel 255: ``(lo, hi)``, the
        bounds of every input an image can give (exactly what :meth:`model_units` makes)."""
        ends = np.array([0.0, 255.0])[:, None, None, None] * np.ones((1, self.mean.size, 1, 1))
        x = self.model_units(ends)[:, :, 0, 0]
        return x[0], x[1]


def normalisation(spec: dict, channels: int) -> Normalisation:
    """The card ``spec``'s normalisation for a ``channels``-channel input."""
    per_channel = []
    for key, default in (("mean", 0.0), ("std", 1.0)):
        values = np.asarray(spec.get(key, [default]), dtype=np.float32).reshape(-1)
        if values.size not in (1, channels):
            raise ValueError(f"the card's {key} has {values.size} values for {channels} channels")
        per_channel.append(np.broadcast_to(values, (channels,)).copy())
    return Normalisation(float(spec.get("scale", 1 / 255)), per_channel[0], per_channel[1])


def normalise(chw: np.ndarray, spec: dict) -> np.ndarray:
    """x = (pixel * scale - mean) / std, per channel, as the model card says: ``chw`` is
    ``(C, H, W)`` or a batch ``(N, C, H, W)``; float32."""
    return normalisation(spec, chw.shape[-3]).model_units(chw)


def prepare(im: Image.Image, spec: dict) -> Prepared:
    """Model input for a card's ``input`` spec: MNIST-style for 1-channel black-background
    digit models, crop-and-resize otherwise."""
    if spec.get("channels") == "L" and spec.get("background") == "black":
        return prepare_mnist(im, spec)
    return prepare_rgb(im, spec)


def image_tensor(im: Image.Image, channels: str, size: int) -> np.ndarray:
    """(C, H, W) in [0, 1] with the longer side resized to ``size`` (for the playground)."""
    im = im.convert("L" if channels == "L" else "RGB")
    w, h = im.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if (nw, nh) != (w, h):
        im = im.resize((nw, nh), Image.Resampling.LANCZOS if scale > 0.25 else Image.Resampling.BOX)
    arr = np.asarray(im, dtype=np.float32) / 255.0
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
