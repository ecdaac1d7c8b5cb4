"""Sample images: generated ones (no files needed) and, when a data directory is
configured, real MNIST / CIFAR-10 images from the validation split held out from
training (the last 5,000 images of each training set).

Generated samples are drawn with Pillow at 4x and downsampled, so they look like
small real images rather than pixel art. Every sample is a uint8 array, HxW (grey)
or HxWx3 (RGB).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from datasets import (
    CIFAR10_CLASSES,
    CIFAR_ZIP,
    DataError,
    find_mnist,
    list_zip,
    read_mnist,
    read_zip,
    split_slices,
)

BASE = 112
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    name: str
    title: str
    kind: str  # generated | mnist | cifar10 | course
    channels: str  # L | RGB
    label: str | None = None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _digit(d: int) -> Image.Image:
    im = Image.new("L", (BASE, BASE), 0)
    draw = ImageDraw.Draw(im)
    font = _font(96)
    box = draw.textbbox((0, 0), str(d), font=font, stroke_width=4)
    x = (BASE - (box[2] - box[0])) / 2 - box[0]
    y = (BASE - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), str(d), fill=255, font=font, stroke_width=4, stroke_fill=255)
    return im.filter(ImageFilter.GaussianBlur(1.5))


def _shapes() -> Image.Image:
    im = Image.new("RGB", (BASE, BASE), (245, 245, 240))
    d = ImageDraw.Draw(im)
    d.ellipse((8, 10, 52, 54), fill=(220, 50, 47))
    d.rectangle((62, 14, 102, 54), fill=(38, 139, 210))
    d.polygon([(20, 104), (56, 62), (92, 104)], fill=(133, 153, 0))
    return im


def _gradient() -> Image.Image:
    x = np.linspace(0, 1, BASE)
    r = np.tile(x, (BASE, 1))
    g = r.T
    b = 1 - (r + g) / 2
    return Image.fromarray((np.stack([r, g, b], -1) * 255).astype(np.uint8), "RGB")


def _checkerboard() -> Image.Image:
    cells = (np.indices((8, 8)).sum(axis=0) % 2).astype(np.uint8) * 255
    return Image.fromarray(cells, "L").resize((BASE, BASE), Image.Resampling.NEAREST)


def _scene() -> Image.Image:
    """A small photo-like scene: sky, sun, hills, a house and a tree."""
    sky = np.linspace([90, 150, 230], [200, 225, 250], BASE // 2 + 10)
    im = Image.new("RGB", (BASE, BASE))
    px = np.zeros((BASE, BASE, 3), dtype=np.uint8)
    px[: len(sky)] = sky[:, None, :].astype(np.uint8)
    px[len(sky) :] = (70, 140, 60)
    im = Image.fromarray(px, "RGB")
    d = ImageDraw.Draw(im)
    d.ellipse((78, 8, 100, 30), fill=(255, 214, 80))
    d.ellipse((-30, 52, 70, 100), fill=(80, 155, 70))
    d.rectangle((44, 58, 80, 88), fill=(190, 120, 80))
    d.polygon([(40, 60), (62, 40), (84, 60)], fill=(150, 40, 40))
    d.rectangle((56, 72, 66, 88), fill=(90, 60, 40))
    d.rectangle((92, 62, 98, 90), fill=(100, 70, 40))
    d.ellipse((82, 44, 108, 70), fill=(40, 110, 50))
    rng = np.random.default_rng(7)
    arr = np.asarray(im.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.int16)
    arr = np.clip(arr + rng.normal(0, 4, arr.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


#: The course's first picture of convolution: a 6x6 binary image.
COURSE_6X6 = np.array(
    [
        [1, 0, 0, 0, 0, 1],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 1, 0, 0],
        [1, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 0, 1, 0],
    ],
    dtype=np.uint8,
)

GENERATED: dict[str, tuple[str, str, Callable[[], Image.Image]]] = {
    **{f"digit-{d}": (f"Digit {d} (font)", "L", partial(_digit, d)) for d in range(10)},
    "shapes": ("Shapes", "RGB", _shapes),
    "gradient": ("Colour gradient", "RGB", _gradient),
    "checkerboard": ("Checkerboard", "L", _checkerboard),
    "scene": ("Small scene (house and tree)", "RGB", _scene),
}


def generated(name: str, size: int) -> np.ndarray:
    """A generated sample as uint8 at ``size`` x ``size``."""
    if name == "course-6x6":
        return COURSE_6X6 * 255
    _, _, make = GENERATED[name]
    im = make()
    if size != BASE:
        im = im.resize((size, size), Image.Resampling.LANCZOS if size < BASE else Image.Resampling.BICUBIC)
    return np.asarray(im)


# ----- real dataset samples (validation split only) -----

PER_CLASS = 2


@lru_cache(maxsize=2)
def _mnist_val(data_dir: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The MNIST validation split (the training file's last 5,000), or None without files."""
    if find_mnist(Path(data_dir), "train") is None:
        return None
    try:
        images, labels, _ = read_mnist(Path(data_dir), "train")
        _, val = split_slices(len(labels))
    except DataError as exc:
        log.warning("MNIST samples left out: %s", exc)
        return None
    return images[val].copy(), labels[val].copy()


def _mnist_picks(data_dir: str) -> list[tuple[int, int]]:
    loaded = _mnist_val(data_dir)
    if loaded is None:
        return []
    _, labels = loaded
    picks = []
    for d in range(10):
        idx = np.flatnonzero(labels == d)[:PER_CLASS]
        picks += [(int(i), d) for i in idx]
    return picks


@lru_cache(maxsize=2)
def _cifar_val_members(data_dir: str) -> list[tuple[str, int]]:
    path = Path(data_dir) / CIFAR_ZIP
    if not path.exists():
        return []
    try:  # the training code's order and validation split (datasets.cifar.zip_members)
        members = list_zip(path, "train")
        _, val_sl = split_slices(len(members))
    except DataError as exc:
        log.warning("CIFAR-10 samples left out: %s", exc)
        return []
    val = members[val_sl]
    picks: list[tuple[str, int]] = []
    for c in range(10):
        picks += [m for m in val if m[1] == c][:PER_CLASS]
    return picks


def _cifar_image(data_dir: str, member: str) -> np.ndarray:
    (data,) = read_zip(Path(data_dir) / CIFAR_ZIP, [member])
    return np.asarray(Image.open(io.BytesIO(data), formats=["JPEG"]).convert("RGB"))


def catalogue(data_dir: Path | None) -> list[Sample]:
    items = [Sample("course-6x6", "Course 6x6 binary image", "course", "L")]
    items += [Sample(k, title, "generated", ch) for k, (title, ch, _) in GENERATED.items()]
    if data_dir is not None and data_dir.is_dir():
        d = str(data_dir)
        for i, (idx, label) in enumerate(_mnist_picks(d)):
            items.append(Sample(f"mnist-{i}", f"MNIST validation #{idx}: {label}", "mnist", "L", str(label)))
        for i, (_member, label) in enumerate(_cifar_val_members(d)):
            cls = CIFAR10_CLASSES[label]
            items.append(Sample(f"cifar10-{i}", f"CIFAR-10 validation: {cls}", "cifar10", "RGB", cls))
    return items


def load(name: str, data_dir: Path | None, size: int) -> tuple[Sample, np.ndarray] | None:
    """(sample, uint8 image) or None when there is no sample of that name."""
    found = {s.name: s for s in catalogue(data_dir)}.get(name)
    if found is None:
        return None
    if found.kind in ("generated", "course"):
        return found, generated(name, size)
    i = int(name.rsplit("-", 1)[1])
    if found.kind == "mnist":
        loaded = _mnist_val(str(data_dir))
        assert loaded is not None
        images, _ = loaded
        return found, images[_mnist_picks(str(data_dir))[i][0]]
    member, _ = _cifar_val_members(str(data_dir))[i]
    return found, _cifar_image(str(data_dir), member)
