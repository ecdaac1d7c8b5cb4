"""Dataset loaders for MNIST and CIFAR-10 (NumPy + Pillow only; no PyTorch).

The file formats are read by the shared :mod:`datasets` package (also used by the
app's sample images); this module adds the splits, JPEG decoding and the cache.

Every loader returns a :class:`Dataset` whose ``images`` are ``uint8`` arrays in
**NHWC** layout, shape ``(N, H, W, C)`` (MNIST: ``(N, 28, 28, 1)``; CIFAR-10:
``(N, 32, 32, 3)``), and whose ``labels`` are ``int64``, shape ``(N,)``.

Formats read
------------
MNIST
    IDX files, gzipped or raw, in ``<data-dir>/mnist/`` or ``<data-dir>/``:
    ``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]`` and, when
    present, ``t10k-images-idx3-ubyte[.gz]`` / ``t10k-labels-idx1-ubyte[.gz]``.
CIFAR-10
    In this order of preference: the official python batches as a folder
    ``cifar-10-batches-py/`` or as ``cifar-10-python.tar.gz`` (``data_batch_1..5``,
    ``test_batch``, ``batches.meta``), then the JPEG copy ``cifar10-train-jpeg.zip``
    holding ``train/<class>/<NNNN>.jpg`` (label = index of ``<class>`` in
    :data:`CIFAR10_CLASSES`).

Splits
------
``train`` is the training file minus its last :data:`N_VAL` images (in file order),
``val`` is those last :data:`N_VAL` images, ``test`` is the official test file and
exists only when it is present. "File order" for the JPEG zip is by image number,
then class (``0000`` of every class, then ``0001``, ...): ordering by path would put
all 5,000 trucks last and make the held-out split a single class. The zip's member
numbers follow the official order within each class, so the held-out images are
numbers 4500-4999 of every class (500 per class).

Decoding 50,000 JPEGs takes a few seconds, so decoded arrays are cached as ``.npy``
in ``$CONVLAB_CACHE_DIR`` or ``~/.cache/convlab/``, keyed by the source file's name,
size and modification time.
"""

from __future__ import annotations

import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from datasets import (
    CIFAR10_CLASSES,
    CIFAR_DIR,
    CIFAR_TAR,
    CIFAR_ZIP,
    MNIST_CLASSES,
    N_VAL,
    DataError,
    find_cifar10,
    find_mnist,
    list_zip,
    read_cifar_python,
    read_mnist,
    read_zip,
    split_slices,
    zip_members,
)

__all__ = [
    "CIFAR10_CLASSES", "CIFAR_DIR", "CIFAR_TAR", "CIFAR_ZIP", "DATASETS", "ENV_CACHE_DIR",
    "ENV_DATA_DIR", "MNIST_CLASSES", "N_VAL", "SPLITS", "DataError", "Dataset", "cache_dir",
    "find_cifar10", "load_cifar10", "load_mnist", "load_split", "resolve_data_dir",
    "split_description", "split_slices", "zip_members",
]  # fmt: skip

ENV_DATA_DIR = "CONVLAB_DATA_DIR"
ENV_CACHE_DIR = "CONVLAB_CACHE_DIR"
DATASETS = ("mnist", "cifar10")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Dataset:
    """Images ``uint8 (N, H, W, C)``, labels ``int64 (N,)`` and where they came from."""

    name: str  # "MNIST", "CIFAR-10" or "CIFAR-10 (JPEG copy)"
    format: str  # "idx", "cifar-python" or "jpeg-zip"
    split: str  # "train", "val", "test" or "full" (the whole training file)
    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.labels)


def split_description(split: str, n_full: int | None = None) -> str:
    """Human-readable description of a split, for model cards and reports."""
    if split == "val":
        return (f"validation: the last {N_VAL:,} images of the training file in file order "
                "(held out from training)")
    if split == "train":
        n = f" ({n_full - N_VAL:,} images)" if n_full else ""
        return f"training: the training file minus its last {N_VAL:,} images{n}"
    return "test: the official test file"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The data directory from ``--data-dir`` or ``$CONVLAB_DATA_DIR``; raises DataError."""
    value = data_dir if data_dir not in (None, "") else os.environ.get(ENV_DATA_DIR)
    if not value:
        raise DataError(f"no data directory: pass --data-dir DIR or set {ENV_DATA_DIR} "
                        "(for example ../shared/data, holding mnist/ and cifar10-train-jpeg.zip)")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError(f"data directory {str(path)!r} does not exist or is not a directory")
    return path


def cache_dir() -> Path:
    return Path(os.environ.get(ENV_CACHE_DIR) or Path.home() / ".cache" / "convlab")


# ----------------------------------------------------------------------------- MNIST

def load_mnist(root: Path, part: str = "train") -> Dataset:
    """The MNIST ``train`` (60k) or ``t10k`` (``part="test"``) files as a Dataset."""
    if part == "test" and find_mnist(root, "test") is None:
        raise DataError(f"no MNIST test files (t10k-images-idx3-ubyte[.gz], "
                        f"t10k-labels-idx1-ubyte[.gz]) in {root}/mnist or {root}: "
                        "the test split is only available where they are; use --split val")
    images, labels, path = read_mnist(root, part)
    return Dataset("MNIST", "idx", "full" if part == "train" else "test", images[..., None],
                   labels.astype(np.int64), MNIST_CLASSES, str(path))


# -------------------------------------------------------------------------- CIFAR-10

def _decode_jpegs(blobs: list[bytes]) -> np.ndarray:
    from PIL import Image

    def decode(blob: bytes) -> np.ndarray:
        try:
            with Image.open(io.BytesIO(blob), formats=["JPEG", "PNG"]) as im:
                arr = np.asarray(im.convert("RGB"))
        except OSError as exc:  # Pillow's UnidentifiedImageError and truncated-file errors
            raise DataError(f"CIFAR-10 zip member is not a readable image ({exc})") from exc
        if arr.shape != (32, 32, 3):
            raise DataError(f"CIFAR-10 JPEG of size {arr.shape}, expected (32, 32, 3)")
        return arr

    if not blobs:
        return np.zeros((0, 32, 32, 3), np.uint8)
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while decoding
        return np.stack(list(pool.map(decode, blobs, chunksize=256)))


def _read_cifar_zip(path: Path, part: str, select: slice | None) -> tuple[np.ndarray, np.ndarray]:
    try:
        members = list_zip(path, part)
    except DataError as exc:
        raise DataError(f"{exc}; use --split val" if part == "test" else str(exc)) from exc
    if select is not None:
        members = members[select]
    blobs = read_zip(path, [name for name, _ in members])
    return _decode_jpegs(blobs), np.array([label for _, label in members], dtype=np.int64)


def _cached(source: Path, part: str, read) -> tuple[np.ndarray, np.ndarray]:
    """``read()`` through the .npy cache keyed by the source's name, size and mtime."""
    st = source.stat()
    key = f"{source.name}-{st.st_size}-{st.st_mtime_ns}-{part}"
    paths = [cache_dir() / f"{key}-{what}.npy" for what in ("images", "labels")]
    if all(p.is_file() for p in paths):
        try:
            return np.load(paths[0]), np.load(paths[1])
        except (OSError, ValueError):
            pass  # a damaged cache entry: decode again
    images, labels = read()
    try:
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        for p, arr in zip(paths, (images, labels), strict=True):
            tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, arr)
            os.replace(tmp, p)  # atomic: a concurrent reader sees all or nothing
    except OSError:
        pass  # an unwritable cache only costs time
    return images, labels


def load_cifar10(root: Path, part: str = "train", fmt: str = "auto",
                 select: slice | None = None) -> Dataset:
    """CIFAR-10 ``train`` (50k) or ``test`` (10k); ``select`` decodes only those (zip, no cache)."""
    kind, path = find_cifar10(root, fmt)
    if kind == "cifar-python":
        images, labels = _cached(path, part, lambda: read_cifar_python(path, part))
        name = "CIFAR-10"
    else:
        key = cache_dir() / f"{path.name}-{path.stat().st_size}-{path.stat().st_mtime_ns}-{part}-images.npy"
        small = select is not None and (select.stop or 0) - (select.start or 0) < 10_000
        if not small or key.is_file():
            images, labels = _cached(path, part, lambda: _read_cifar_zip(path, part, None))
        else:  # decoding a few thousand JPEGs is quicker than filling the cache
            images, labels = _read_cifar_zip(path, part, select)
            select = None
        name = "CIFAR-10 (JPEG copy)"
    if select is not None:
        images, labels = images[select], labels[select]
    split = "full" if part == "train" else "test"
    return Dataset(name, kind, split, images, labels, CIFAR10_CLASSES, str(path))


# ---------------------------------------------------------------------------- splits

def _count_train(dataset: str, root: Path, fmt: str) -> int:
    if dataset == "mnist":
        return len(load_mnist(root, "train"))
    kind, path = find_cifar10(root, fmt)
    if kind == "jpeg-zip":
        return len(list_zip(path, "train"))
    return len(load_cifar10(root, "train", fmt))  # cached after the first call


def load_split(dataset: str, split: str, data_dir: str | os.PathLike | None = None,
               fmt: str = "auto", limit: int | None = None) -> Dataset:
    """One split (train|val|test) of ``dataset`` (mnist|cifar10); ``limit`` keeps the first N."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    root = resolve_data_dir(data_dir)
    if split == "test":
        ds = load_mnist(root, "test") if dataset == "mnist" else load_cifar10(root, "test", fmt)
        sel = slice(0, limit)
    else:
        train_sl, val_sl = split_slices(_count_train(dataset, root, fmt))
        sel = train_sl if split == "train" else val_sl
        if limit is not None:
            sel = slice(sel.start, min(sel.stop, sel.start + limit))
        if dataset == "mnist":
            ds = load_mnist(root, "train")
        else:
            ds = load_cifar10(root, "train", fmt, select=sel)  # already the selection
            sel = slice(None)
    return replace(ds, split=split, images=ds.images[sel], labels=ds.labels[sel])
