"""Make the small data sets shipped in ``datasets/subset/`` from the full training sets.

Run from the project root, with the training data in ``../shared/data`` (or ``--data``)::

    python -m datasets.make_subset [--data ../shared/data] [--out datasets/subset]

Only the **training** files are read (never the official test splits):

- MNIST (``mnist/train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``): the
  first 10,000 images of the file for training and its last 2,000 as held-out
  images (inside the held-out split of :mod:`datasets.splits`, the file's last 5,000).
  Written as ``mnist.npz`` (``np.savez_compressed``), pixels unchanged.
- CIFAR-10 (``cifar10-train-jpeg.zip``, in :func:`datasets.cifar.list_zip` order, which
  balances the classes): the first 5,000 images for training and the last 1,000 as
  held-out. The JPEG bytes are kept exactly; all of them share one 623-byte header
  (tables and frame, up to and including the start of scan), so ``cifar10.npz`` holds
  that header once and each image's entropy-coded rest (``jpeg_header + payload[i]``
  is the original file byte for byte). Decoding is the reader's job (Pillow).

Both files record the source file's sha256 and each image's index in its source.
The output is deterministic: run it twice, get the same arrays.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from datasets.cifar import CIFAR_ZIP, list_zip, read_zip
from datasets.errors import DataError
from datasets.idx import find_mnist, read_mnist
from datasets.subset import SIZES, SUBSET_DIR

__all__ = ["jpeg_header", "make_cifar10", "make_mnist", "main"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_mnist(data: Path, out: Path) -> Path:
    n_train, n_val = SIZES["mnist"]
    images, labels, img_path = read_mnist(data, "train")
    found = find_mnist(data, "train")
    assert found is not None  # read_mnist found them
    train = np.arange(n_train)
    val = np.arange(len(images) - n_val, len(images))
    target = out / "mnist.npz"
    np.savez_compressed(
        target, train_x=images[train], train_y=labels[train].astype(np.uint8),
        val_x=images[val], val_y=labels[val].astype(np.uint8),
        train_index=train.astype(np.int32), val_index=val.astype(np.int32),
        source=np.array([f"{found[0].name} {_sha256(found[0])}",
                         f"{found[1].name} {_sha256(found[1])}"]))
    return target


def jpeg_header(data: bytes) -> bytes:
    """A baseline JPEG's bytes up to and including its start-of-scan segment."""
    sos = data.find(b"\xff\xda")
    if sos < 0:
        raise DataError("not a JPEG with a start of scan")
    return data[:sos + 2 + int.from_bytes(data[sos + 2:sos + 4], "big")]


def make_cifar10(data: Path, out: Path) -> Path:
    n_train, n_val = SIZES["cifar10"]
    zpath = data / CIFAR_ZIP
    members = list_zip(zpath, "train")
    picked = list(range(n_train)) + list(range(len(members) - n_val, len(members)))
    raw = read_zip(zpath, [members[i][0] for i in picked])
    header = jpeg_header(raw[0])
    if any(jpeg_header(r) != header for r in raw):
        raise DataError(f"{zpath.name}: the images do not share one JPEG header")
    payloads = [r[len(header):] for r in raw]
    offsets = np.cumsum([0] + [len(p) for p in payloads]).astype(np.int64)
    labels = np.array([members[i][1] for i in picked], np.uint8)
    target = out / "cifar10.npz"
    np.savez_compressed(
        target, jpeg_header=np.frombuffer(header, np.uint8),
        payload=np.frombuffer(b"".join(payloads), np.uint8), offsets=offsets,
        train_y=labels[:n_train], val_y=labels[n_train:],
        train_index=np.array(picked[:n_train], np.int32),
        val_index=np.array(picked[n_train:], np.int32),
        source=np.array([f"{zpath.name} {_sha256(zpath)}"]))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datasets.make_subset",
                                     description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=SUBSET_DIR)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        for made in (make_mnist(args.data, args.out), make_cifar10(args.data, args.out)):
            print(f"{made} ({made.stat().st_size / 1e6:.2f} MB)")
    except DataError as exc:
        print(f"make_subset: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
