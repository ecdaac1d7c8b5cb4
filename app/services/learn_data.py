"""The images training runs learn from, as :class:`course.learn.LearnData` (uint8 NCHW).

- No data folder (the default): the subsets shipped in ``datasets/subset/`` (MNIST
  10,000 + 2,000 held-out, CIFAR-10 5,000 + 1,000; datasets/README.md says how they
  were made).
- ``CONVLAB_DATA_DIR`` set: the full training files found there, with the held-out
  split of :mod:`datasets.splits` (the last 5,000 images of the file). The official test
  splits are never read. When a data set's files are not in the folder, its subset is
  used and :func:`describe` says so.

Each process loads a data set once, in a background thread, and keeps it read-only.
Decoding the full CIFAR-10 (50,000 JPEGs) takes seconds: a request passes ``wait_s`` and
gets :class:`StillLoading` (the app answers 503 with ``Retry-After``) instead of hanging
while the first load runs.
"""

from __future__ import annotations

import io
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import lru_cache, partial
from pathlib import Path

import numpy as np
from PIL import Image

from course.learn import LearnData
from course.learn.recipes import DATASETS
from datasets import (
    DataError,
    find_cifar10,
    find_mnist,
    list_zip,
    read_cifar_python,
    read_mnist,
    read_zip,
    split_slices,
)
from datasets.subset import SIZES, read_cifar10_subset, read_mnist_subset

log = logging.getLogger("convlab")

LICENCES = {
    "mnist": "MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0",
    "cifar10": 'CIFAR-10: Alex Krizhevsky, "Learning Multiple Layers of Features from Tiny '
               'Images", 2009 (JPEG copy of the training images)',
}
_lock = threading.Lock()
# One loader thread: two data sets never decode at once, and a load runs to the end even
# when the request that started it has given up waiting.
_loader = ThreadPoolExecutor(1, thread_name_prefix="convlab-data")
_loads: dict[tuple[str, Path | None], Future] = {}
MAX_KEPT = 4


class StillLoading(Exception):
    """The data set is being loaded by this process; ask again in a few seconds."""

    def __init__(self, dataset: str) -> None:
        super().__init__(f"{DATASETS[dataset].title} is still being loaded")
        self.dataset = dataset


def decode_jpegs(blobs: list[bytes]) -> np.ndarray:
    """JPEG files -> uint8 ``(N, 3, H, W)`` (Pillow; threads, as Pillow releases the GIL)."""
    def one(blob: bytes) -> np.ndarray:
        with Image.open(io.BytesIO(blob), formats=["JPEG"]) as im:
            return np.asarray(im.convert("RGB"))
    with ThreadPoolExecutor(4) as pool:
        images = list(pool.map(one, blobs, chunksize=256))
    return np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))


def source(dataset: str, data_dir: Path | None) -> str:
    """'full' when ``data_dir`` holds the data set's training files, else 'subset'."""
    if data_dir is None or not data_dir.is_dir():
        return "subset"
    if dataset == "mnist":
        return "full" if find_mnist(data_dir, "train") is not None else "subset"
    try:
        find_cifar10(data_dir)
    except DataError:
        return "subset"
    return "full"


def _frozen(data: LearnData) -> LearnData:
    for a in data[1:]:
        a.setflags(write=False)
    return data


def _load(dataset: str, data_dir: Path | None) -> LearnData:
    if source(dataset, data_dir) == "subset":
        if dataset == "mnist":
            s = read_mnist_subset()
            return _frozen(LearnData("mnist", s.train_x[:, None], s.train_y,
                                     s.val_x[:, None], s.val_y))
        c = read_cifar10_subset()
        return _frozen(LearnData("cifar10", decode_jpegs(c.train), c.train_y,
                                 decode_jpegs(c.val), c.val_y))
    assert data_dir is not None
    if dataset == "mnist":
        images, labels, _ = read_mnist(data_dir, "train")
        x, y = images[:, None], labels.astype(np.int64)
    else:
        kind, path = find_cifar10(data_dir)
        if kind == "cifar-python":
            nhwc, y = read_cifar_python(path, "train")
            x = np.ascontiguousarray(nhwc.transpose(0, 3, 1, 2))
        else:
            members = list_zip(path, "train")
            x = decode_jpegs(read_zip(path, [m for m, _ in members]))
            y = np.array([label for _, label in members], np.int64)
    train, val = split_slices(len(y))
    return _frozen(LearnData(dataset, x[train], y[train], x[val], y[val]))


def _log_failure(dataset: str, data_dir: Path | None, future: Future) -> None:
    """A load that failed is said in the log (a request only sees 503s while it is retried)."""
    exc = future.exception()
    if exc is not None:
        log.error("loading %s from %s failed: %s", dataset, data_dir or "the shipped subset", exc)


def load(dataset: str, data_dir: Path | None, wait_s: float | None = None) -> LearnData:
    """The data set's training and held-out images, loaded once per process.

    The first call starts the load in this module's loader thread. With ``wait_s`` None
    the call waits for it (precomputations); otherwise it raises :class:`StillLoading`
    when the load has not finished within ``wait_s`` seconds. A load that failed is tried
    again by the next call.
    """
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; known: {', '.join(DATASETS)}")
    key = (dataset, data_dir)
    with _lock:
        future = _loads.get(key)
        if future is None or (future.done() and future.exception() is not None):
            future = _loads[key] = _loader.submit(_load, dataset, data_dir)
            future.add_done_callback(partial(_log_failure, dataset, data_dir))
            while len(_loads) > MAX_KEPT:  # a process serves one data folder; tests use several
                del _loads[next(iter(_loads))]
    try:
        return future.result(timeout=wait_s)
    except FutureTimeout:
        raise StillLoading(dataset) from None


def describe(dataset: str, data_dir: Path | None) -> dict:
    """Sizes and source of a data set without loading it (for ``GET /api/learn/recipes``)."""
    kind = source(dataset, data_dir)
    if kind == "subset":
        n_train, n_val = SIZES[dataset]
    else:
        assert data_dir is not None
        n = _count_full(dataset, data_dir)
        train, val = split_slices(n)
        n_train, n_val = train.stop - train.start, val.stop - val.start
    return {"train": n_train, "val": n_val, "source": kind, "licence": LICENCES[dataset]}


@lru_cache(maxsize=4)
def _count_full(dataset: str, data_dir: Path) -> int:
    """Images in the full training file, without decoding the CIFAR JPEGs."""
    if dataset == "cifar10":
        kind, path = find_cifar10(data_dir)
        if kind == "jpeg-zip":
            return len(list_zip(path, "train"))
    return len(load(dataset, data_dir).train_y) + len(load(dataset, data_dir).val_y)
