"""``convlab data download``: MNIST and CIFAR-10 from their official sources, checked.

Files land where :mod:`datasets.idx` and :mod:`datasets.cifar` look for them, so
``CONVLAB_DATA_DIR=D`` then trains on the full sets: ``D/mnist/*-idx?-ubyte.gz`` and
``D/cifar-10-python.tar.gz``. Each file

- downloads into ``<name>.part`` and is resumed from there with an HTTP ``Range``
  request when a run was interrupted (a server that ignores ``Range`` restarts it);
- shows a progress bar on stderr;
- must have the size and sha256 of :data:`FILES` (the one table of known files)
  before it is renamed into place; a mismatch removes the ``.part`` and says so.

Standard library only. The sha256 values are those published in TensorFlow Datasets'
checksum lists (``mnist``, ``cifar10``); they could not be checked on the machine this
was written on (it has no internet), so this table is the single place to correct them.
The MNIST files are fetched from the PyTorch project's mirror first (yann.lecun.com
often refuses downloads), then from the original site; both serve the same bytes.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

__all__ = ["FILES", "DownloadError", "RemoteFile", "download", "download_all", "main"]

CHUNK = 1 << 16
TIMEOUT_S = 30


@dataclass(frozen=True)
class RemoteFile:
    dataset: str
    name: str  # the path under the data folder
    urls: tuple[str, ...]  # tried in order
    size: int
    sha256: str


_MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                  "http://yann.lecun.com/exdb/mnist/")


def _mnist(name: str, size: int, sha256: str) -> RemoteFile:
    return RemoteFile("mnist", f"mnist/{name}", tuple(m + name for m in _MNIST_MIRRORS), size,
                      sha256)


#: Every file ``convlab data download`` fetches: the one place for URLs, sizes and hashes.
FILES: tuple[RemoteFile, ...] = (
    _mnist("train-images-idx3-ubyte.gz", 9_912_422,
           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    _mnist("train-labels-idx1-ubyte.gz", 28_881,
           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    _mnist("t10k-images-idx3-ubyte.gz", 1_648_877,
           "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    _mnist("t10k-labels-idx1-ubyte.gz", 4_542,
           "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    RemoteFile("cifar10", "cifar-10-python.tar.gz",
               ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",), 170_498_071,
               "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"),
)


class DownloadError(RuntimeError):
    """A file could not be fetched or did not match its size or sha256 (the message says)."""


Progress = Callable[[str, int, int], None]


def progress_bar(stream: TextIO | None = None, width: int = 30) -> Progress:
    """A progress callback drawing ``name [#####     ]  45%  4.5/9.9 MB`` on ``stream``
    (default: stderr, as it is when the bar draws)."""
    last = [0.0]

    def show(name: str, done: int, total: int) -> None:
        out = stream or sys.stderr
        now = time.monotonic()
        if done < total and now - last[0] < 0.1:
            return
        last[0] = now
        frac = done / total if total else 1.0
        bar = "#" * int(frac * width)
        out.write(f"\r{name} [{bar:<{width}}] {frac:4.0%} {done / 1e6:.1f}/"
                  f"{total / 1e6:.1f} MB")
        if done >= total:
            out.write("\n")
        out.flush()
    return show


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, part: Path, spec: RemoteFile, progress: Progress | None) -> None:
    """Append ``url``'s bytes to ``part`` from where it stops (``Range``)."""
    have = part.stat().st_size if part.exists() else 0
    if have > spec.size:
        part.unlink()
        have = 0
    if have == spec.size:
        return
    request = urllib.request.Request(url, headers={"User-Agent": "convlab-data-download"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 (fixed URLs)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing after what we have: check it as it is
            return
        raise DownloadError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    with response:
        resumed = have and response.status == 206
        mode = "ab" if resumed else "wb"
        done = have if resumed else 0
        with open(part, mode) as out:
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                done += len(block)
                if done > spec.size:
                    raise DownloadError(f"{url}: more than the expected {spec.size} bytes")
                if progress:
                    progress(spec.name, done, spec.size)


def download(spec: RemoteFile, root: Path, progress: Progress | None = None) -> Path:
    """Fetch one file into ``root`` (resuming its ``.part``) and check it; its path."""
    target = root / spec.name
    if target.is_file() and target.stat().st_size == spec.size and _sha256(target) == spec.sha256:
        if progress:
            progress(spec.name, spec.size, spec.size)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    errors = []
    for url in spec.urls:
        try:
            _fetch(url, part, spec, progress)
            break
        except (urllib.error.URLError, OSError, DownloadError) as exc:
            reason = getattr(exc, "reason", exc)
            errors.append(f"{url}: {reason}")
    else:
        raise DownloadError(f"could not download {spec.name} ({'; '.join(errors)}). Is this "
                            f"machine online? What arrived is kept in {part} and the next "
                            "run resumes from it.")
    size = part.stat().st_size
    if size != spec.size:
        raise DownloadError(f"{spec.name}: got {size} of {spec.size} bytes (the connection "
                            f"ended early); run the command again to resume from {part}")
    digest = _sha256(part)
    if digest != spec.sha256:
        part.unlink()
        raise DownloadError(f"{spec.name}: sha256 {digest} is not the expected {spec.sha256}; "
                            "the file was removed. Run again; if it persists, the source "
                            "changed or a proxy altered it.")
    os.replace(part, target)
    return target


def download_all(root: Path, datasets: tuple[str, ...] = ("mnist", "cifar10"),
                 files: tuple[RemoteFile, ...] = FILES,
                 progress: Progress | None = None) -> list[Path]:
    return [download(spec, root, progress) for spec in files if spec.dataset in datasets]


def main(argv: list[str], files: tuple[RemoteFile, ...] = FILES) -> int:
    """``convlab data download [--dir D] [--only mnist|cifar10]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="convlab data", description=(
        "Download MNIST and CIFAR-10 from their official sources (sha256-checked, "
        "resumable). Then set CONVLAB_DATA_DIR to the folder to train on the full sets."))
    sub = parser.add_subparsers(dest="action", required=True)
    get = sub.add_parser("download", help="fetch MNIST and CIFAR-10 into --dir")
    get.add_argument("--dir", type=Path,
                     default=Path(os.environ.get("CONVLAB_DATA_DIR", "") or "data"),
                     help="the data folder (default: $CONVLAB_DATA_DIR, else ./data)")
    get.add_argument("--only", choices=["mnist", "cifar10"], action="append",
                     help="one data set only (may be given twice)")
    args = parser.parse_args(argv)
    chosen = tuple(args.only or ("mnist", "cifar10"))
    try:
        paths = download_all(args.dir, chosen, files, progress_bar())
    except DownloadError as exc:
        print(f"convlab data download: {exc}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    print(f"Done. Train on the full sets with CONVLAB_DATA_DIR={args.dir}", file=sys.stderr)
    return 0
