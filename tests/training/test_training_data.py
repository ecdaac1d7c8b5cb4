"""training.data: splits, JPEG decoding and the cache on synthetic files in every format.

The file readers themselves are tested in tests/datasets."""

from __future__ import annotations

import os

import numpy as np
import pytest

from tests.datasets.kit import (
    N_TRAIN,
    PER_CLASS,
    class_colour,
    idx_bytes,
    write_cifar_dir,
    write_cifar_tar,
    write_cifar_zip,
    write_mnist,
)
from training import data
from training.data import N_VAL, DataError, load_split


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("subdir", ["mnist", ""], ids=["in-mnist-folder", "top-level"])
def test_mnist_formats_and_split(tmp_path, gz, subdir):
    write_mnist(tmp_path / subdir, gz=gz)
    train = load_split("mnist", "train", tmp_path)
    val = load_split("mnist", "val", tmp_path)
    assert train.images.shape == (N_TRAIN - N_VAL, 28, 28, 1) and train.images.dtype == np.uint8
    assert val.images.shape == (N_VAL, 28, 28, 1) and val.labels.dtype == np.int64
    # file order: val holds indices 10 .. N_TRAIN-1, training 0 .. 9
    index = lambda ds: ds.images[:, 0, 0, 0].astype(int) + 256 * ds.images[:, 0, 1, 0].astype(int)  # noqa: E731
    np.testing.assert_array_equal(index(train), np.arange(N_TRAIN - N_VAL))
    np.testing.assert_array_equal(index(val), np.arange(N_TRAIN - N_VAL, N_TRAIN))
    np.testing.assert_array_equal(val.labels, np.arange(N_TRAIN - N_VAL, N_TRAIN) % 10)
    assert train.name == "MNIST" and train.classes == tuple("0123456789")
    assert len(load_split("mnist", "train", tmp_path, limit=3)) == 3


def test_mnist_test_split_only_when_present(tmp_path):
    write_mnist(tmp_path / "mnist", gz=True)
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte"):
        load_split("mnist", "test", tmp_path)
    write_mnist(tmp_path / "mnist", gz=False, prefix="t10k", n=30)
    test = load_split("mnist", "test", tmp_path)
    assert test.images.shape == (30, 28, 28, 1) and test.split == "test"


def test_mnist_mismatched_counts_are_refused(tmp_path):
    write_mnist(tmp_path, gz=False, n=N_TRAIN)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(DataError, match="disagree"):
        load_split("mnist", "train", tmp_path)


@pytest.mark.parametrize("writer", [write_cifar_dir, write_cifar_tar], ids=["folder", "tar.gz"])
def test_cifar_python_batches(tmp_path, cache, writer):
    writer(tmp_path)
    train = load_split("cifar10", "train", tmp_path)
    val = load_split("cifar10", "val", tmp_path)
    test = load_split("cifar10", "test", tmp_path)
    assert train.name == "CIFAR-10" and train.format == "cifar-python"
    assert train.images.shape == (N_TRAIN - N_VAL, 32, 32, 3)
    assert val.images.shape == (N_VAL, 32, 32, 3) and test.images.shape == (20, 32, 32, 3)
    # planar rows become NHWC: R = index % 256, G = index // 256, B = 20 * label
    idx = val.images[:, 5, 7, 0].astype(int) + 256 * val.images[:, 5, 7, 1].astype(int)
    np.testing.assert_array_equal(idx, np.arange(N_TRAIN - N_VAL, N_TRAIN))
    np.testing.assert_array_equal(val.images[:, 0, 0, 2], 20 * val.labels)
    np.testing.assert_array_equal(val.labels, idx % 10)
    assert any(cache.iterdir()), "the decoded batches should be cached"


def test_cifar_batches_missing_file(tmp_path):
    folder = write_cifar_dir(tmp_path)
    os.remove(folder / "data_batch_3")
    with pytest.raises(DataError, match="data_batch_3"):
        load_split("cifar10", "train", tmp_path)


def test_cifar_jpeg_zip_order_split_and_cache(tmp_path, cache):
    write_cifar_zip(tmp_path)
    val = load_split("cifar10", "val", tmp_path)
    train = load_split("cifar10", "train", tmp_path)
    assert val.name == "CIFAR-10 (JPEG copy)" and val.format == "jpeg-zip"
    assert train.images.shape == (10, 32, 32, 3) and val.images.shape == (N_VAL, 32, 32, 3)
    # file order is number-major: 0000 of every class first, so every split is balanced
    np.testing.assert_array_equal(train.labels, np.arange(10))
    np.testing.assert_array_equal(np.bincount(val.labels), [PER_CLASS - 1] * 10)
    colours = np.array([class_colour(k) for k in val.labels])
    assert np.abs(val.images[:, 16, 16].astype(int) - colours).max() <= 6  # JPEG error
    # a full decode fills the cache; a second load reads it and gives the same arrays
    full = data.load_cifar10(tmp_path, "train")
    assert len(full) == N_TRAIN and len(list(cache.glob("*-train-*.npy"))) == 2
    again = data.load_cifar10(tmp_path, "train")
    np.testing.assert_array_equal(full.images, again.images)
    np.testing.assert_array_equal(load_split("cifar10", "val", tmp_path).images, val.images)
    with pytest.raises(DataError, match="test split needs the official"):
        load_split("cifar10", "test", tmp_path)


def test_data_dir_from_argument_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("CONVLAB_DATA_DIR", raising=False)
    with pytest.raises(DataError, match="--data-dir DIR or set CONVLAB_DATA_DIR"):
        data.resolve_data_dir(None)
    monkeypatch.setenv("CONVLAB_DATA_DIR", str(tmp_path))
    assert data.resolve_data_dir(None) == tmp_path
    with pytest.raises(DataError, match="does not exist"):
        data.resolve_data_dir(tmp_path / "nope")
    with pytest.raises(DataError, match="no MNIST files"):
        load_split("mnist", "val", tmp_path)
    with pytest.raises(DataError, match="no CIFAR-10 data"):
        load_split("cifar10", "val", tmp_path)
