"""The MNIST / CIFAR-10 readers on synthetic files: every format, and malformed files."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
import zipfile

import numpy as np
import pytest

import datasets
from datasets import (
    CIFAR10_CLASSES,
    N_VAL,
    DataError,
    find_cifar10,
    find_mnist,
    list_zip,
    parse_idx,
    read_cifar_python,
    read_idx_file,
    read_mnist,
    read_zip,
    split_slices,
    unpickle_batch,
    zip_members,
)
from tests.datasets.kit import (
    N_TRAIN,
    PER_CLASS,
    cifar_batch,
    idx_bytes,
    mnist_arrays,
    write_cifar_dir,
    write_cifar_tar,
    write_cifar_zip,
    write_mnist,
)

# ------------------------------------------------------------------------------ IDX


@pytest.mark.parametrize("shape", [(7,), (2, 3, 5), (1, 1, 1, 4)])
def test_parse_idx_round_trip(shape):
    arr = np.arange(int(np.prod(shape)), dtype=np.uint8).reshape(shape)
    out = parse_idx(idx_bytes(arr))
    assert out.dtype == np.uint8 and out.shape == shape
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", "not an unsigned-byte IDX file"),
        (b"\x00\x00\x0d\x03" + bytes(16), r"not an unsigned-byte IDX file \(magic 00000d03\)"),
        (b"\x00\x00\x08\x00", "not an unsigned-byte IDX"),  # zero dimensions
        (b"\x00\x00\x08\x05" + bytes(20), "not an unsigned-byte IDX"),  # five dimensions
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated header"),
        (idx_bytes(np.zeros((2, 3, 5), np.uint8))[:-1], r"header says shape \(2, 3, 5\), file holds 29"),
        (idx_bytes(np.zeros((2, 3, 5), np.uint8)) + b"x", "header says shape"),
    ],
    ids=["empty", "wrong-type", "ndim-0", "ndim-5", "short-header", "short-body", "long-body"],
)
def test_parse_idx_refuses_malformed_bytes_with_the_file_name(raw, match):
    with pytest.raises(DataError, match=match) as info:
        parse_idx(raw, "labels.idx")
    assert str(info.value).startswith("labels.idx: ")


def test_gzip_is_detected_by_content_not_name(tmp_path):
    arr = np.full((4, 28, 28), 7, np.uint8)
    (tmp_path / "plain.gz").write_bytes(idx_bytes(arr))
    (tmp_path / "zipped").write_bytes(gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(read_idx_file(tmp_path / "plain.gz"), arr)
    np.testing.assert_array_equal(read_idx_file(tmp_path / "zipped"), arr)


def test_damaged_gzip_is_a_data_error(tmp_path):
    blob = gzip.compress(idx_bytes(np.zeros((40, 28, 28), np.uint8)))
    (tmp_path / "cut.gz").write_bytes(blob[: len(blob) // 2])
    (tmp_path / "garbled.gz").write_bytes(blob[:10] + bytes(len(blob) - 10))
    for name in ("cut.gz", "garbled.gz"):
        with pytest.raises(DataError, match=f"{name}: damaged gzip data"):
            read_idx_file(tmp_path / name)


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
@pytest.mark.parametrize("subdir", ["mnist", ""], ids=["in-mnist-folder", "top-level"])
def test_read_mnist_formats(tmp_path, gz, subdir):
    write_mnist(tmp_path / subdir, gz=gz, n=30)
    images, labels, path = read_mnist(tmp_path)
    want_images, want_labels = mnist_arrays(30)
    np.testing.assert_array_equal(images, want_images)
    np.testing.assert_array_equal(labels, want_labels)
    assert path.parent == tmp_path / subdir and path.name.endswith(".gz") == gz
    assert find_mnist(tmp_path, "test") is None


def test_read_mnist_test_part_and_alternative_names(tmp_path):
    images, labels = mnist_arrays(12)
    (tmp_path / "t10k-images.idx3-ubyte").write_bytes(idx_bytes(images))
    (tmp_path / "t10k-labels.idx1-ubyte").write_bytes(idx_bytes(labels))
    got, got_labels, _ = read_mnist(tmp_path, "test")
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(got_labels, labels)


def test_read_mnist_missing_files_say_which(tmp_path):
    with pytest.raises(DataError, match=r"no MNIST files \(train-images-idx3-ubyte\[\.gz\] and "
                                        r"train-labels-idx1-ubyte\[\.gz\]\)"):
        read_mnist(tmp_path)
    write_mnist(tmp_path, gz=False, n=5)
    os.remove(tmp_path / "train-labels-idx1-ubyte")
    with pytest.raises(DataError, match="no MNIST files"):
        read_mnist(tmp_path)


def test_read_mnist_refuses_files_that_disagree(tmp_path):
    write_mnist(tmp_path, gz=False, n=20)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(7, np.uint8)))
    with pytest.raises(DataError, match=r"images \(20, 28, 28\) .* and labels \(7,\) .* disagree"):
        read_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros((20, 1), np.uint8)))
    with pytest.raises(DataError, match="disagree"):
        read_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.full(20, 10, np.uint8)))
    with pytest.raises(DataError, match="label 10 out of range 0..9"):
        read_mnist(tmp_path)


# ------------------------------------------------------------------ python batches


def test_unpickle_batch_gives_nhwc_from_planar_rows():
    images, labels = unpickle_batch(pickle.dumps(cifar_batch(6, 100), protocol=2), "b")
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8 and labels.dtype == np.int64
    idx = np.arange(100, 106)
    np.testing.assert_array_equal(images[:, 3, 4, 0], idx % 256)
    np.testing.assert_array_equal(images[:, 3, 4, 1], idx // 256)
    np.testing.assert_array_equal(images[:, 3, 4, 2], 20 * (idx % 10))
    np.testing.assert_array_equal(labels, idx % 10)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_unpickle_batch_refuses_code(protocol):
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(DataError, match=r"refers to (posix|nt|os)\.system: refusing to unpickle"):
        unpickle_batch(pickle.dumps({b"data": Evil()}, protocol=protocol), "data_batch_1")


def _batch(**changes) -> bytes:
    batch = cifar_batch(4, 0)
    for key, value in changes.items():
        if value is None:
            del batch[key.encode()]
        else:
            batch[key.encode()] = value
    return pickle.dumps(batch, protocol=2)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (b"", r"not a CIFAR-10 python batch \(EOFError"),
        (b"this is not a pickle", "not a CIFAR-10 python batch"),
        (pickle.dumps(cifar_batch(4, 0), protocol=2)[:-40], "not a CIFAR-10 python batch"),
        (pickle.dumps([1, 2, 3]), "expected a dict with b'data' and b'labels', got list"),
        (_batch(data=None), "expected a dict with b'data'"),
        (_batch(labels=None), "the batch has no b'labels'"),
        (_batch(labels=[b"cat"] * 4), "data or labels are not numbers"),
        (_batch(data=np.zeros((4, 3071), np.uint8)), r"expected data \(N, 3072\) and N labels, got \(4, 3071\)"),
        (_batch(labels=[0, 1, 2]), r"got \(4, 3072\), \(3,\)"),
        (_batch(labels=[0, 1, 2, 10]), "labels outside 0..9"),
    ],
    ids=["empty", "text", "truncated", "list", "no-data", "no-labels", "text-labels",
         "short-rows", "label-count", "label-range"],
)
def test_unpickle_batch_refuses_malformed_batches(raw, match):
    with pytest.raises(DataError, match=match) as info:
        unpickle_batch(raw, "data_batch_2")
    assert str(info.value).startswith("data_batch_2: ")


@pytest.mark.parametrize("writer", [write_cifar_dir, write_cifar_tar], ids=["folder", "tar.gz"])
def test_read_cifar_python(tmp_path, writer):
    source = writer(tmp_path)
    images, labels = read_cifar_python(source, "train")
    assert images.shape == (N_TRAIN, 32, 32, 3)
    np.testing.assert_array_equal(images[:, 0, 0, 0].astype(int) + 256 * images[:, 0, 0, 1].astype(int),
                                  np.arange(N_TRAIN))  # the five batches in order
    np.testing.assert_array_equal(labels, np.arange(N_TRAIN) % 10)
    test_images, _ = read_cifar_python(source, "test")
    assert test_images.shape == (20, 32, 32, 3)


def test_read_cifar_python_missing_and_damaged_files(tmp_path):
    folder = write_cifar_dir(tmp_path / "a")
    os.remove(folder / "data_batch_3")
    with pytest.raises(DataError, match="missing data_batch_3"):
        read_cifar_python(folder)
    tar = write_cifar_tar(tmp_path)
    blob = tar.read_bytes()
    tar.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz: not a readable .tar.gz"):
        read_cifar_python(tar)
    tar.write_bytes(b"not a tar at all")
    with pytest.raises(DataError, match="not a readable .tar.gz"):
        read_cifar_python(tar)
    with tarfile.open(tar, "w:gz") as out:  # a readable tar without the batches
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        out.addfile(info, io.BytesIO(b""))
    with pytest.raises(DataError, match="missing data_batch_1, data_batch_2"):
        read_cifar_python(tar)


# ------------------------------------------------------------------------ JPEG zip


def test_zip_member_order_is_number_then_class():
    names = ["train/truck/0001.jpg", "train/cat/0001.jpg", "train/truck/0000.jpg",
             "train/airplane/0000.jpg", "test/cat/0000.jpg", "train/unknown/0000.jpg", "README"]
    assert zip_members(names, "train") == [
        ("train/airplane/0000.jpg", 0), ("train/truck/0000.jpg", 9),
        ("train/cat/0001.jpg", 3), ("train/truck/0001.jpg", 9)]
    assert zip_members(names, "test") == [("test/cat/0000.jpg", CIFAR10_CLASSES.index("cat"))]


def test_list_and_read_zip(tmp_path):
    path = write_cifar_zip(tmp_path, per_class=3)
    members = list_zip(path, "train")
    assert [label for _, label in members] == list(range(10)) * 3
    blobs = read_zip(path, [members[0][0], members[-1][0]])
    assert all(b[:2] == b"\xff\xd8" for b in blobs)  # JPEG start-of-image


def test_zip_errors_are_data_errors(tmp_path):
    path = write_cifar_zip(tmp_path, per_class=1)
    with pytest.raises(DataError, match="the CIFAR-10 test split needs the official"):
        list_zip(path, "test")
    with pytest.raises(DataError, match=r"cifar10-train-jpeg.zip: no member .*train/cat/9999.jpg"):
        read_zip(path, ["train/cat/9999.jpg"])
    with zipfile.ZipFile(tmp_path / "empty.zip", "w") as zf:
        zf.writestr("README", "nothing here")
    with pytest.raises(DataError, match=r"holds no train/<class>/<NNNN>.jpg images"):
        list_zip(tmp_path / "empty.zip", "train")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 but not really a zip")
    with pytest.raises(DataError, match="bad.zip: not a readable zip"):
        list_zip(tmp_path / "bad.zip", "train")
    with pytest.raises(DataError, match="bad.zip: damaged zip data"):
        read_zip(tmp_path / "bad.zip", ["train/cat/0000.jpg"])


def test_official_cifar_is_preferred_to_the_jpeg_copy(tmp_path):
    with pytest.raises(DataError, match="no CIFAR-10 data in .*: expected cifar-10-batches-py or "
                                        "cifar-10-python.tar.gz or cifar10-train-jpeg.zip"):
        find_cifar10(tmp_path)
    write_cifar_zip(tmp_path, per_class=1)
    assert find_cifar10(tmp_path) == ("jpeg-zip", tmp_path / "cifar10-train-jpeg.zip")
    write_cifar_tar(tmp_path)
    assert find_cifar10(tmp_path)[0] == "cifar-python"
    write_cifar_dir(tmp_path)
    assert find_cifar10(tmp_path) == ("cifar-python", tmp_path / "cifar-10-batches-py")
    assert find_cifar10(tmp_path, "jpeg-zip")[0] == "jpeg-zip"
    with pytest.raises(ValueError, match="unknown CIFAR-10 format 'png'"):
        find_cifar10(tmp_path, "png")


# --------------------------------------------------------------------------- splits


def test_split_slices():
    assert split_slices(60_000) == (slice(0, 55_000), slice(55_000, 60_000))
    assert split_slices(12, n_val=2) == (slice(0, 10), slice(10, 12))
    with pytest.raises(DataError, match="at least 5001 are needed"):
        split_slices(N_VAL)


def test_the_package_exports_what_it_documents():
    assert sorted(datasets.__all__) == sorted(n for n in datasets.__all__ if hasattr(datasets, n))
    assert PER_CLASS * 10 == N_TRAIN
