"""CIFAR-10: the official python batches and the JPEG copy's zip.

Python batches
    ``data_batch_1..5`` (training) and ``test_batch``, as a folder
    ``cifar-10-batches-py/`` or inside ``cifar-10-python.tar.gz``. Each is a pickled
    dict with ``b"data"`` ``uint8 (N, 3072)`` (planar rows: 1024 R, 1024 G, 1024 B)
    and ``b"labels"``. They are unpickled by :class:`_NumpyOnlyUnpickler`, which
    admits the few NumPy reconstructors a batch needs and refuses every other callable.
JPEG zip
    ``cifar10-train-jpeg.zip`` holding ``train/<class>/<NNNN>.jpg`` (label = index of
    ``<class>`` in :data:`CIFAR10_CLASSES`). :func:`zip_members` lists it in file
    order, by image number then class, so the held-out last images are balanced.
    The caller decodes the JPEG bytes (Pillow); this module stays NumPy only.
"""

from __future__ import annotations

import io
import pickle
import re
import tarfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from datasets.errors import DataError

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip
CIFAR_ZIP = "cifar10-train-jpeg.zip"
CIFAR_DIR = "cifar-10-batches-py"
CIFAR_TAR = "cifar-10-python.tar.gz"
FORMATS = {"auto": ("cifar-python", "jpeg-zip"), "python": ("cifar-python",),
           "cifar-python": ("cifar-python",), "jpeg-zip": ("jpeg-zip",)}


# ------------------------------------------------------------------ python batches

class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickle the CIFAR batches without letting the file name arbitrary callables."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("_codecs", "encode"),  # how protocol-2 pickles made by Python 3 store bytes
                ("numpy", "ndarray"), ("numpy", "dtype"),
                ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer")}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self._ALLOWED:
            raise DataError(f"CIFAR batch file refers to {module}.{name}: refusing to unpickle it")
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core"):]
        return super().find_class(module, name)


def unpickle_batch(raw: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """One python batch as images ``uint8 (N, 32, 32, 3)`` (NHWC) and labels ``int64 (N,)``.

    Raises
    ------
    DataError
        When the bytes are not a pickle, name any callable but NumPy's array
        reconstructors, or do not hold ``data (N, 3072)`` and ``N`` labels in 0..9.
    """
    try:
        batch = _NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except DataError:
        raise
    except Exception as exc:  # a damaged pickle raises any of a dozen types
        raise DataError(f"{name}: not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from exc
    if not isinstance(batch, dict) or b"data" not in batch:
        raise DataError(f"{name}: not a CIFAR-10 python batch (expected a dict with b'data' "
                        f"and b'labels', got {type(batch).__name__})")
    labels_obj = batch.get(b"labels", batch.get(b"fine_labels"))
    if labels_obj is None:
        raise DataError(f"{name}: the batch has no b'labels'")
    try:
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        labels = np.asarray(labels_obj, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name}: data or labels are not numbers ({exc})") from exc
    if data.ndim != 2 or data.shape[1] != 3072 or labels.ndim != 1 or len(data) != len(labels):
        raise DataError(f"{name}: expected data (N, 3072) and N labels, got {data.shape}, {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{name}: labels outside 0..9")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels  # rows are planar R, G, B


def _batch_bytes(source: Path, names: list[str]) -> list[bytes]:
    if source.is_dir():
        missing = [n for n in names if not (source / n).is_file()]
        if missing:
            raise DataError(f"{source}: missing {', '.join(missing)}")
        return [(source / n).read_bytes() for n in names]
    try:
        with tarfile.open(source, "r:gz") as tar:
            members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            missing = [n for n in names if n not in members]
            if missing:
                raise DataError(f"{source}: missing {', '.join(missing)}")
            out = []
            for n in names:
                fh = tar.extractfile(members[n])
                if fh is None:
                    raise DataError(f"{source}: {n} is not a regular file")
                out.append(fh.read())
            return out
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{source.name}: not a readable .tar.gz ({exc})") from exc


def read_cifar_python(source: Path, part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The ``train`` (data_batch_1..5) or ``test`` batches of a folder or ``.tar.gz``, joined."""
    names = [f"data_batch_{i}" for i in range(1, 6)] if part == "train" else ["test_batch"]
    parts = [unpickle_batch(raw, n) for raw, n in zip(_batch_bytes(source, names), names, strict=True)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


# ----------------------------------------------------------------------- JPEG zip

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


def list_zip(path: Path, part: str = "train") -> list[tuple[str, int]]:
    """:func:`zip_members` of the zip at ``path``: ``(member, label)`` of ``part`` in file order.

    Raises
    ------
    DataError
        When the file is not a readable zip or holds no images of ``part``.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            members = zip_members(zf.namelist(), part)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DataError(f"{path.name}: not a readable zip ({exc})") from exc
    if not members:
        if part == "test":
            raise DataError(f"{path} holds no test/ images: the CIFAR-10 test split "
                            f"needs the official {CIFAR_DIR}/ or {CIFAR_TAR}")
        raise DataError(f"{path} holds no {part}/<class>/<NNNN>.jpg images")
    return members


def read_zip(path: Path, names: Sequence[str]) -> list[bytes]:
    """The bytes of the members ``names`` of the zip at ``path`` (for the caller to decode).

    Raises
    ------
    DataError
        When the zip is unreadable, a member is missing or its data is damaged.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return [zf.read(name) for name in names]
    except KeyError as exc:
        raise DataError(f"{path.name}: no member {exc}") from exc
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path.name}: damaged zip data ({exc})") from exc


def find_cifar10(root: Path, fmt: str = "auto") -> tuple[str, Path]:
    """``(format, path)`` of the CIFAR-10 source in ``root``; ``fmt`` is auto|python|jpeg-zip.

    ``auto`` prefers the official python batches (folder, then ``.tar.gz``) to the JPEG copy.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown CIFAR-10 format {fmt!r}; expected one of {tuple(FORMATS)}")
    candidates = {"cifar-python": [root / CIFAR_DIR, root / CIFAR_TAR], "jpeg-zip": [root / CIFAR_ZIP]}
    for kind in FORMATS[fmt]:
        for path in candidates[kind]:
            if path.is_dir() if path.suffix == "" else path.is_file():
                return kind, path
    wanted = " or ".join(p.name for k in FORMATS[fmt] for p in candidates[k])
    raise DataError(f"no CIFAR-10 data in {root}: expected {wanted}")
