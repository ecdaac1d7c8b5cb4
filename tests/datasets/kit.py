"""Small synthetic datasets in every supported format, written into a folder.

Each training file holds N_VAL + 10 images, so the held-out split is the last 5,000
and the training split the first 10. Pixel values encode the image's index so that
tests can check order, not just shapes. Shared by tests/datasets and tests/training.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from datasets import CIFAR10_CLASSES, N_VAL

N_TRAIN = N_VAL + 10
PER_CLASS = N_TRAIN // 10  # 501 JPEGs per class in the zip


def idx_bytes(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(arr, np.uint8).tobytes()


def mnist_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images whose pixel (0, 0) is index % 256 and (0, 1) index // 256; labels index % 10."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    idx = np.arange(n)
    images[:, 0, 0], images[:, 0, 1] = idx % 256, idx // 256
    return images, (idx % 10).astype(np.uint8)


def write_mnist(folder: Path, gz: bool, prefix: str = "train", n: int = N_TRAIN) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = mnist_arrays(n)
    for kind, idx, arr in (("images", 3, images), ("labels", 1, labels)):
        raw = idx_bytes(arr)
        name = f"{prefix}-{kind}-idx{idx}-ubyte"
        if gz:
            (folder / (name + ".gz")).write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (folder / name).write_bytes(raw)


def cifar_batch(n: int, start: int) -> dict:
    """A python batch: planes R = index % 256, G = index // 256, B = label * 20."""
    idx = np.arange(start, start + n)
    labels = idx % 10
    data = np.zeros((n, 3, 32, 32), np.uint8)
    data[:, 0], data[:, 1] = (idx % 256)[:, None, None], (idx // 256)[:, None, None]
    data[:, 2] = (labels * 20)[:, None, None]
    return {b"batch_label": b"synthetic", b"labels": labels.tolist(),
            b"data": data.reshape(n, 3072), b"filenames": [b"x.png"] * n}


def cifar_python_files(n_train: int = N_TRAIN, n_test: int = 20) -> dict[str, bytes]:
    per = n_train // 5
    files = {f"data_batch_{i + 1}": pickle.dumps(cifar_batch(per, i * per), protocol=2)
             for i in range(5)}
    files["test_batch"] = pickle.dumps(cifar_batch(n_test, 0), protocol=2)
    files["batches.meta"] = pickle.dumps({b"label_names": [c.encode() for c in CIFAR10_CLASSES]})
    return files


def write_cifar_dir(root: Path) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, raw in cifar_python_files().items():
        (folder / name).write_bytes(raw)
    return folder


def write_cifar_tar(root: Path) -> Path:
    path = root / "cifar-10-python.tar.gz"
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for name, raw in cifar_python_files().items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return path


def class_colour(label: int) -> tuple[int, int, int]:
    return (label * 25, 255 - label * 25, 128)


def write_cifar_zip(root: Path, per_class: int = PER_CLASS) -> Path:
    """``train/<class>/<NNNN>.jpg`` flat images coloured by class (number in no pixel)."""
    from PIL import Image

    blobs = {}
    for label, cls in enumerate(CIFAR10_CLASSES):
        buf = io.BytesIO()
        Image.new("RGB", (32, 32), class_colour(label)).save(buf, "JPEG", quality=75)
        blobs[cls] = buf.getvalue()
    path = root / "cifar10-train-jpeg.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for cls in reversed(CIFAR10_CLASSES):  # archive order must not matter
            for i in range(per_class):
                zf.writestr(f"train/{cls}/{i:04d}.jpg", blobs[cls])
    return path
