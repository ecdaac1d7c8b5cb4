"""The small data sets shipped with ConvLab (``datasets/subset/``), so that training
works on a fresh clone with no data folder; :mod:`datasets.make_subset` made them.

- ``mnist.npz``: 10,000 training and 2,000 held-out images, uint8 (N, 28, 28).
- ``cifar10.npz``: 5,000 training and 1,000 held-out images as their original JPEG
  bytes (one shared header + each image's rest); :func:`read_cifar10_subset` gives the
  bytes, the caller decodes them (Pillow), as for the JPEG zip.

NumPy only; files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from datasets.errors import DataError

__all__ = ["SIZES", "SUBSET_DIR", "CifarJpegs", "Subset", "read_cifar10_subset",
           "read_mnist_subset"]

SUBSET_DIR = Path(__file__).resolve().parent / "subset"
#: (training, held-out) images in each shipped subset.
SIZES = {"mnist": (10_000, 2_000), "cifar10": (5_000, 1_000)}


class Subset(NamedTuple):
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


class CifarJpegs(NamedTuple):
    train: list[bytes]
    train_y: np.ndarray
    val: list[bytes]
    val_y: np.ndarray


def _load(name: str, folder: Path | None) -> dict[str, np.ndarray]:
    path = (folder or SUBSET_DIR) / f"{name}.npz"
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(f"{path}: cannot read the shipped {name} subset ({exc}); "
                        "python -m datasets.make_subset makes it again") from exc


def _checked(name: str, arrays: dict[str, np.ndarray], n_train: int, n_val: int) -> None:
    if len(arrays["train_y"]) != n_train or len(arrays["val_y"]) != n_val:
        raise DataError(f"{name} subset: expected {n_train} + {n_val} labels, got "
                        f"{len(arrays['train_y'])} + {len(arrays['val_y'])}")
    for part in ("train_y", "val_y"):
        if arrays[part].size and arrays[part].max() > 9:
            raise DataError(f"{name} subset: a label in {part} is out of range 0..9")


def read_mnist_subset(folder: Path | None = None) -> Subset:
    """The shipped MNIST subset: images uint8 (N, 28, 28), labels int64 (N,)."""
    a = _load("mnist", folder)
    _checked("mnist", a, *SIZES["mnist"])
    if a["train_x"].shape[1:] != (28, 28) or a["val_x"].shape[1:] != (28, 28):
        raise DataError("mnist subset: images must be 28x28")
    return Subset(a["train_x"], a["train_y"].astype(np.int64), a["val_x"],
                  a["val_y"].astype(np.int64))


def read_cifar10_subset(folder: Path | None = None) -> CifarJpegs:
    """The shipped CIFAR-10 subset as whole JPEG files (bytes) and int64 labels."""
    a = _load("cifar10", folder)
    n_train, n_val = SIZES["cifar10"]
    _checked("cifar10", a, n_train, n_val)
    header, payload, offsets = a["jpeg_header"].tobytes(), a["payload"].tobytes(), a["offsets"]
    if len(offsets) != n_train + n_val + 1 or offsets[-1] != len(payload) or offsets[0] != 0:
        raise DataError("cifar10 subset: offsets do not match the payload")
    jpegs = [header + payload[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
    return CifarJpegs(jpegs[:n_train], a["train_y"].astype(np.int64), jpegs[n_train:],
                      a["val_y"].astype(np.int64))
