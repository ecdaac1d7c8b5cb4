"""``convlab data download`` (datasets/download.py) against a local HTTP server that serves
small files of the real formats (this machine has no internet): checked, resumable, with
clear errors. The tests use their own table of files; the real one is datasets.download.FILES.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from datasets import read_cifar_python, read_mnist
from datasets.download import FILES, DownloadError, RemoteFile, download, download_all, main
from tests.datasets.kit import cifar_batch, idx_bytes, mnist_arrays


def small_files() -> dict[str, bytes]:
    images, labels = mnist_arrays(60)
    out = {"train-images-idx3-ubyte.gz": gzip.compress(idx_bytes(images)),
           "train-labels-idx1-ubyte.gz": gzip.compress(idx_bytes(labels))}
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, raw in [*((f"data_batch_{i + 1}", pickle.dumps(cifar_batch(10, i * 10),
                                                                  protocol=2))
                            for i in range(5)),
                          ("test_batch", pickle.dumps(cifar_batch(10, 0), protocol=2))]:
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    out["cifar-10-python.tar.gz"] = buf.getvalue()
    return out


class Handler(SimpleHTTPRequestHandler):
    """Serves the folder with ``Range`` support; ``cut`` names files whose first answer
    stops half way (a dropped connection); ``no_range`` ignores Range (answers 200)."""

    log: list[tuple[str, str | None]]
    cut: set[str]
    no_range: bool

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        path = Path(self.directory) / name
        self.log.append((name, self.headers.get("Range")))
        if not path.is_file():
            self.send_error(404)
            return
        data = path.read_bytes()
        start = 0
        rng = self.headers.get("Range")
        if rng and not self.no_range:
            start = int(rng.removeprefix("bytes=").rstrip("-"))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in self.cut:
            self.cut.discard(name)
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    contents = small_files()
    for name, raw in contents.items():
        (served / name).write_bytes(raw)
    handler = type("H", (Handler,), {"log": [], "cut": set(), "no_range": False})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(served)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/"
    table = tuple(
        RemoteFile("cifar10" if name.startswith("cifar") else "mnist",
                   name if name.startswith("cifar") else f"mnist/{name}",
                   (url + name,), len(raw), hashlib.sha256(raw).hexdigest())
        for name, raw in contents.items())
    yield table, handler, contents
    httpd.shutdown()
    httpd.server_close()


def test_downloads_every_file_into_the_readers_layout(server, tmp_path, capsys):
    table, handler, _ = server
    root = tmp_path / "data"
    assert main(["download", "--dir", str(root)], files=table) == 0
    images, labels, _ = read_mnist(root)
    assert images.shape == (60, 28, 28) and labels[:3].tolist() == [0, 1, 2]
    x, y = read_cifar_python(root / "cifar-10-python.tar.gz")
    assert x.shape == (50, 32, 32, 3)
    err = capsys.readouterr().err
    assert "100%" in err and "train-images-idx3-ubyte.gz [" in err  # the progress bar
    handler.log.clear()
    assert main(["download", "--dir", str(root), "--only", "mnist"], files=table) == 0
    assert handler.log == []  # already there and checked: nothing fetched again
    assert not list(root.rglob("*.part"))


def test_an_interrupted_download_resumes_with_range(server, tmp_path):
    table, handler, contents = server
    spec = next(s for s in table if s.name.endswith("train-images-idx3-ubyte.gz"))
    handler.cut.add("train-images-idx3-ubyte.gz")
    with pytest.raises(DownloadError, match="resume") as err:
        download(spec, tmp_path)
    part = tmp_path / (spec.name + ".part")
    assert part.exists() and 0 < part.stat().st_size < spec.size, str(err.value)
    have = part.stat().st_size
    path = download(spec, tmp_path)
    assert handler.log[-1] == ("train-images-idx3-ubyte.gz", f"bytes={have}-")
    assert path.read_bytes() == contents["train-images-idx3-ubyte.gz"] and not part.exists()


def test_a_server_that_ignores_range_restarts_the_file(server, tmp_path):
    table, handler, contents = server
    spec = next(s for s in table if s.name.endswith("labels-idx1-ubyte.gz"))
    part = tmp_path / (spec.name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage!")
    handler.no_range = True
    assert download(spec, tmp_path).read_bytes() == contents["train-labels-idx1-ubyte.gz"]


def test_a_wrong_sha256_removes_the_file_and_says_so(server, tmp_path):
    table, _, _ = server
    spec = table[0]
    bad = RemoteFile(spec.dataset, spec.name, spec.urls, spec.size, "0" * 64)
    with pytest.raises(DownloadError, match="sha256 .* is not the expected 0000"):
        download(bad, tmp_path)
    assert not list(tmp_path.rglob("*.part")) and not (tmp_path / spec.name).exists()


def test_unreachable_and_missing_files_are_clear_errors(server, tmp_path, capsys):
    table, _, _ = server
    spec = table[0]
    gone = RemoteFile(spec.dataset, spec.name, (spec.urls[0] + "-missing",), spec.size,
                      spec.sha256)
    with pytest.raises(DownloadError, match="404"):
        download(gone, tmp_path)
    closed = RemoteFile(spec.dataset, spec.name, ("http://127.0.0.1:9/x.gz",), spec.size,
                        spec.sha256)
    assert main(["download", "--dir", str(tmp_path)], files=(closed,)) == 1
    assert "Is this machine online?" in capsys.readouterr().err


def test_the_real_table_names_official_sources_and_sha256s():
    assert {f.dataset for f in FILES} == {"mnist", "cifar10"}
    for f in FILES:
        assert len(f.sha256) == 64 and int(f.sha256, 16) >= 0 and f.size > 0
        assert all(u.startswith(("https://", "http://")) for u in f.urls)
    names = {f.name for f in FILES}
    assert "mnist/train-images-idx3-ubyte.gz" in names and "cifar-10-python.tar.gz" in names
    assert any("cs.toronto.edu/~kriz" in u for f in FILES for u in f.urls)


def test_download_all_picks_data_sets(server, tmp_path):
    table, _, _ = server
    paths = download_all(tmp_path, ("cifar10",), table)
    assert [p.name for p in paths] == ["cifar-10-python.tar.gz"]
