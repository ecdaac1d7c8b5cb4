"""Dataset loaders for MNIST and CIFAR-10 (NumPy + Pillow only; no PyTorch).

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

import gzip
import io
import os
import pickle
import re
import tarfile
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

ENV_DATA_DIR = "CONVLAB_DATA_DIR"
ENV_CACHE_DIR = "CONVLAB_CACHE_DIR"
N_VAL = 5000
MNIST_CLASSES = tuple(str(d) for d in range(10))
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
CIFAR_ZIP = "cifar10-train-jpeg.zip"
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TAR = "cifar-10-python.tar.gz"
DATASETS = ("mnist", "cifar10")
SPLITS = ("train", "val", "test")


class DataError(RuntimeError):
    """A data directory or file is missing or malformed (the message says what to do)."""


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

def parse_idx(raw: bytes, name: str = "IDX data") -> np.ndarray:
    """Decode an IDX file (unsigned-byte data only): magic ``00 00 08 ndim``, dims big-endian."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or not 1 <= raw[3] <= 4:
        raise DataError(f"{name}: not an unsigned-byte IDX file (magic {raw[:4].hex()})")
    ndim = raw[3]
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    if len(raw) - offset != int(np.prod(dims)):
        raise DataError(f"{name}: header says shape {dims}, file holds {len(raw) - offset} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def _find_idx(root: Path, prefix: str, kind: str, idx: int) -> Path | None:
    for folder in (root / "mnist", root):
        for stem in (f"{prefix}-{kind}-idx{idx}-ubyte", f"{prefix}-{kind}.idx{idx}-ubyte"):
            for name in (stem + ".gz", stem):
                if (folder / name).is_file():
                    return folder / name
    return None


def _read_maybe_gzip(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def load_mnist(root: Path, part: str = "train") -> Dataset:
    """The MNIST ``train`` (60k) or ``t10k`` (``part="test"``) files as a Dataset."""
    prefix = {"train": "train", "test": "t10k"}[part]
    img_path = _find_idx(root, prefix, "images", 3)
    lbl_path = _find_idx(root, prefix, "labels", 1)
    if img_path is None or lbl_path is None:
        if part == "test":
            raise DataError(f"no MNIST test files (t10k-images-idx3-ubyte[.gz], "
                            f"t10k-labels-idx1-ubyte[.gz]) in {root}/mnist or {root}: "
                            "the test split is only available where they are; use --split val")
        raise DataError(f"no MNIST files ({prefix}-images-idx3-ubyte[.gz] and "
                        f"{prefix}-labels-idx1-ubyte[.gz]) in {root}/mnist or {root}")
    images = parse_idx(_read_maybe_gzip(img_path), img_path.name)
    labels = parse_idx(_read_maybe_gzip(lbl_path), lbl_path.name)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"MNIST {part}: images {images.shape} and labels {labels.shape} disagree")
    if labels.max(initial=0) > 9:
        raise DataError(f"MNIST {part}: label {labels.max()} out of range 0..9")
    return Dataset("MNIST", "idx", "full" if part == "train" else "test", images[..., None],
                   labels.astype(np.int64), MNIST_CLASSES, str(img_path))


# -------------------------------------------------------------------------- CIFAR-10

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle the CIFAR batches without letting the file name arbitrary callables."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("_codecs", "encode"),  # how protocol-2 pickles made by Python 3 store bytes
                ("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise DataError(f"CIFAR batch file refers to {module}.{name}: refusing to unpickle it")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def _unpickle(raw: bytes) -> dict:
    return _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()


def _batch_arrays(batch: dict, name: str) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch.get(b"labels", batch.get(b"fine_labels")), dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(data) != len(labels):
        raise DataError(f"{name}: expected data (N, 3072) and N labels, got {data.shape}, {labels.shape}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels  # rows are planar R, G, B


def _read_cifar_python(source: Path, part: str) -> tuple[np.ndarray, np.ndarray]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if part == "train" else ["test_batch"]
    if source.is_dir():
        missing = [n for n in names if not (source / n).is_file()]
        if missing:
            raise DataError(f"{source}: missing {', '.join(missing)}")
        raws = [(source / n).read_bytes() for n in names]
    else:
        with tarfile.open(source, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in names if n not in members]
            if missing:
                raise DataError(f"{source}: missing {', '.join(missing)}")
            raws = [tar.extractfile(members[n]).read() for n in names]
    parts = [_batch_arrays(_unpickle(raw), n) for raw, n in zip(raws, names, strict=True)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


_MEMBER = re.compile(r"^(?:.*/)?(train|test)/([a-z]+)/([^/]+)\.(?:jpe?g|png)$", re.IGNORECASE)


def zip_members(names: Sequence[str], part: str) -> list[tuple[str, int]]:
    """``(member, label)`` of one part of the JPEG zip, in file order (number, then class)."""
    found = []
    for name in names:
        m = _MEMBER.match(name)
        if m and m.group(1).lower() == part and m.group(2).lower() in CIFAR10_CLASSES:
            stem, label = m.group(3), CIFAR10_CLASSES.index(m.group(2).lower())
            number = (0, int(stem), "") if stem.isdigit() else (1, 0, stem)
            found.append((number, label, name))
    found.sort()
    return [(name, label) for _, label, name in found]


def _decode_jpegs(blobs: list[bytes]) -> np.ndarray:
    from PIL import Image

    def decode(blob: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(blob)) as im:
            arr = np.asarray(im.convert("RGB"))
        if arr.shape != (32, 32, 3):
            raise DataError(f"CIFAR-10 JPEG of size {arr.shape}, expected (32, 32, 3)")
        return arr

    if not blobs:
        return np.zeros((0, 32, 32, 3), np.uint8)
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:  # Pillow releases the GIL while decoding
        return np.stack(list(pool.map(decode, blobs, chunksize=256)))


def _read_cifar_zip(path: Path, part: str, select: slice | None) -> tuple[np.ndarray, np.ndarray]:
    with zipfile.ZipFile(path) as zf:
        members = zip_members(zf.namelist(), part)
        if not members:
            if part == "test":
                raise DataError(f"{path} holds no test/ images: the CIFAR-10 test split needs the "
                                f"official {CIFAR_DIR}/ or {CIFAR_TAR}; use --split val")
            raise DataError(f"{path} holds no train/<class>/<NNNN>.jpg images")
        if select is not None:
            members = members[select]
        blobs = [zf.read(name) for name, _ in members]
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


def find_cifar10(root: Path, fmt: str = "auto") -> tuple[str, Path]:
    """``(format, path)`` of the CIFAR-10 source in ``root``; ``fmt`` is auto|python|jpeg-zip."""
    candidates = {"cifar-python": [root / CIFAR_DIR, root / CIFAR_TAR], "jpeg-zip": [root / CIFAR_ZIP]}
    order = {"auto": ["cifar-python", "jpeg-zip"], "python": ["cifar-python"],
             "cifar-python": ["cifar-python"], "jpeg-zip": ["jpeg-zip"]}[fmt]
    for kind in order:
        for path in candidates[kind]:
            if path.is_dir() if path.suffix == "" else path.is_file():
                return kind, path
    wanted = " or ".join(str(p.name) for k in order for p in candidates[k])
    raise DataError(f"no CIFAR-10 data in {root}: expected {wanted}")


def load_cifar10(root: Path, part: str = "train", fmt: str = "auto",
                 select: slice | None = None) -> Dataset:
    """CIFAR-10 ``train`` (50k) or ``test`` (10k); ``select`` decodes only those (zip, no cache)."""
    kind, path = find_cifar10(root, fmt)
    if kind == "cifar-python":
        images, labels = _cached(path, part, lambda: _read_cifar_python(path, part))
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
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{path}: labels outside 0..9")
    split = "full" if part == "train" else "test"
    return Dataset(name, kind, split, images, labels, CIFAR10_CLASSES, str(path))


# ---------------------------------------------------------------------------- splits

def split_slices(n: int, n_val: int = N_VAL) -> tuple[slice, slice]:
    """``(train, val)`` slices of a training file of ``n`` images: the last ``n_val`` are val."""
    if n <= n_val:
        raise DataError(f"the training file has {n} images; at least {n_val + 1} are needed "
                        f"to hold out the last {n_val} for validation")
    return slice(0, n - n_val), slice(n - n_val, n)


def _count_train(dataset: str, root: Path, fmt: str) -> int:
    if dataset == "mnist":
        return len(load_mnist(root, "train"))
    kind, path = find_cifar10(root, fmt)
    if kind == "jpeg-zip":
        with zipfile.ZipFile(path) as zf:
            return len(zip_members(zf.namelist(), "train"))
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
