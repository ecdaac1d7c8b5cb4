"""MNIST and CIFAR-10 file readers, NumPy and the standard library only.

One place for each file format, shared by the app's sample images
(``app/services/samples.py``) and the training code (``training/data.py``):

- :mod:`datasets.idx`: MNIST's IDX files, gzipped or raw (gzip found by content).
- :mod:`datasets.cifar`: CIFAR-10's official python batches (a folder or the
  ``.tar.gz``, read with an unpickler that admits NumPy arrays only) and the
  JPEG-copy zip's member list in file order. Decoding the JPEGs is left to the
  caller (Pillow), so this package stays NumPy only.
- :mod:`datasets.splits`: the held-out validation split (the last :data:`N_VAL`
  images of a training file, in file order).

Every malformed or missing file raises :class:`DataError` with the file's name and
what was wrong, never a bare ``KeyError`` or ``zlib.error``.
"""

from datasets.cifar import (
    CIFAR10_CLASSES,
    CIFAR_DIR,
    CIFAR_TAR,
    CIFAR_ZIP,
    find_cifar10,
    list_zip,
    read_cifar_python,
    read_zip,
    unpickle_batch,
    zip_members,
)
from datasets.errors import DataError
from datasets.idx import MNIST_CLASSES, find_mnist, parse_idx, read_idx_file, read_mnist
from datasets.splits import N_VAL, split_slices

__all__ = [
    "CIFAR10_CLASSES",
    "CIFAR_DIR",
    "CIFAR_TAR",
    "CIFAR_ZIP",
    "MNIST_CLASSES",
    "N_VAL",
    "DataError",
    "find_cifar10",
    "find_mnist",
    "list_zip",
    "parse_idx",
    "read_cifar_python",
    "read_idx_file",
    "read_mnist",
    "read_zip",
    "split_slices",
    "unpickle_batch",
    "zip_members",
]
