"""MNIST's IDX files: ``train``/``t10k`` images (N, 28, 28) and labels (N,), gzipped or raw.

An IDX file is the magic ``00 00 08 ndim`` (unsigned bytes, ``ndim`` dimensions),
then ``ndim`` big-endian uint32 sizes, then the bytes row-major. Files are looked for
in ``<root>/mnist/`` and then ``<root>/``, under the official names with or without
``.gz``; whether a file is gzipped is decided by its first two bytes, not its name.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from datasets.errors import DataError

MNIST_CLASSES = tuple(str(d) for d in range(10))
PARTS = {"train": "train", "test": "t10k"}


def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode an unsigned-byte IDX file into a read-only uint8 array of the header's shape."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DataError(f"{name}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataError(f"{name}: truncated header ({len(raw)} bytes, {ndim} dimensions need {offset})")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    if len(raw) - offset != int(np.prod(dims, dtype=np.int64)):
        raise DataError(f"{name}: header says shape {dims}, file holds {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def read_idx_file(path: Path) -> np.ndarray:
    """:func:`parse_idx` of a file, gunzipped first when it starts with the gzip magic."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise DataError(f"{path.name}: damaged gzip data ({exc})") from exc
    return parse_idx(raw, path.name)


def _find(root: Path, prefix: str, kind: str, ndim: int) -> Path | None:
    for folder in (root / "mnist", root):
        for stem in (f"{prefix}-{kind}-idx{ndim}-ubyte", f"{prefix}-{kind}.idx{ndim}-ubyte"):
            for name in (stem + ".gz", stem):
                if (folder / name).is_file():
                    return folder / name
    return None


def find_mnist(root: Path, part: str = "train") -> tuple[Path, Path] | None:
    """``(images, labels)`` paths of the ``train`` or ``test`` (t10k) files, or None."""
    prefix = PARTS[part]
    images, labels = _find(root, prefix, "images", 3), _find(root, prefix, "labels", 1)
    return None if images is None or labels is None else (images, labels)


def read_mnist(root: Path, part: str = "train") -> tuple[np.ndarray, np.ndarray, Path]:
    """Images ``uint8 (N, H, W)``, labels ``uint8 (N,)`` and the images' path.

    Raises
    ------
    DataError
        When the files are missing, are not IDX, or disagree with each other.
    """
    found = find_mnist(root, part)
    if found is None:
        prefix = PARTS[part]
        raise DataError(f"no MNIST files ({prefix}-images-idx3-ubyte[.gz] and "
                        f"{prefix}-labels-idx1-ubyte[.gz]) in {root}/mnist or {root}")
    img_path, lbl_path = found
    images, labels = read_idx_file(img_path), read_idx_file(lbl_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"MNIST {part}: images {images.shape} ({img_path.name}) and labels "
                        f"{labels.shape} ({lbl_path.name}) disagree")
    if labels.max(initial=0) > 9:
        raise DataError(f"MNIST {part}: label {labels.max()} out of range 0..9 in {lbl_path.name}")
    return images, labels, img_path
