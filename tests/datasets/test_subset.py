"""The subsets shipped in datasets/subset/ (what /learn trains on with no data folder):
sizes, labels, class balance, small files, only training-set images, and, when the
training data folder is there, every image equal to its source."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.services.learn_data import load
from datasets import CIFAR_ZIP, list_zip, read_mnist
from datasets.subset import SIZES, SUBSET_DIR, read_cifar10_subset, read_mnist_subset

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SHARED = next((p for p in (DATA, Path("/work/shared/data")) if (p / "mnist").is_dir()), None)


def test_the_files_are_small():
    sizes = {p.name: p.stat().st_size for p in SUBSET_DIR.glob("*.npz")}
    assert set(sizes) == {"mnist.npz", "cifar10.npz"}
    assert sum(sizes.values()) < 6e6, sizes


def test_mnist_subset():
    s = read_mnist_subset()
    assert s.train_x.shape == (10_000, 28, 28) and s.val_x.shape == (2_000, 28, 28)
    assert s.train_x.dtype == np.uint8
    assert np.bincount(s.train_y, minlength=10).min() > 800  # every digit, roughly balanced
    with np.load(SUBSET_DIR / "mnist.npz") as f:
        # training images from the start of the file, held-out from its last 5,000
        assert f["train_index"].max() < 55_000 <= f["val_index"].min()


def test_cifar_subset_is_balanced_exact_jpegs():
    c = read_cifar10_subset()
    assert (len(c.train), len(c.val)) == SIZES["cifar10"]
    assert np.bincount(c.train_y).tolist() == [500] * 10
    assert np.bincount(c.val_y).tolist() == [100] * 10
    with Image.open(io.BytesIO(c.val[0])) as im:
        assert im.format == "JPEG" and im.size == (32, 32)


def test_loading_yields_learn_data():
    for name, shape in (("mnist", (1, 28, 28)), ("cifar10", (3, 32, 32))):
        d = load(name, None)
        assert d.dataset == name and d.train_x.shape[1:] == shape
        assert (len(d.train_y), len(d.val_y)) == SIZES[name]
        assert not d.train_x.flags.writeable


@pytest.mark.skipif(SHARED is None, reason="the training data folder is not here")
def test_every_image_is_its_source():
    assert SHARED is not None
    images, labels, img_path = read_mnist(SHARED)
    with np.load(SUBSET_DIR / "mnist.npz") as f:
        assert (f["train_x"] == images[f["train_index"]]).all()
        assert (f["val_x"] == images[f["val_index"]]).all()
        assert (f["val_y"] == labels[f["val_index"]]).all()
        assert hashlib.sha256(img_path.read_bytes()).hexdigest() in str(f["source"][0])
    members = list_zip(SHARED / CIFAR_ZIP)
    c = read_cifar10_subset()
    with np.load(SUBSET_DIR / "cifar10.npz") as f, zipfile.ZipFile(SHARED / CIFAR_ZIP) as zf:
        for k in (0, 4999):
            assert c.train[k] == zf.read(members[int(f["train_index"][k])][0])
        assert c.val[-1] == zf.read(members[int(f["val_index"][-1])][0])
        assert int(f["val_index"][0]) == 49_000
