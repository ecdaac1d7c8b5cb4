"""Real ConvLab servers for tests: `convlab serve` in a subprocess on a loopback port.

The hostile suite asserts time *and* peak memory of the server process, which a
TestClient in the test's own process cannot isolate. Peak memory is the kernel's own
high-water mark (``VmHWM``), reset before each measured case through
``/proc/<pid>/clear_refs`` (writing ``5`` resets the peak to the current RSS), so a
number is the peak of that case alone.

Usage::

    with LiveServer(env={"CONVLAB_MODELS_DIR": str(d)}) as s:
        with s.measure() as m:
            r = httpx.post(s.url + "/api/...", ...)
        assert m.seconds < 2 and m.peak_mb - m.idle_mb < 300
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} for pid {pid}")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


@dataclass
class Measure:
    """Wall time and the server's peak RSS (MB) over one ``with`` block."""

    idle_mb: float = 0.0
    peak_mb: float = 0.0
    seconds: float = 0.0
    samples: list[float] = field(default_factory=list)

    @property
    def above_idle_mb(self) -> float:
        return self.peak_mb - self.idle_mb


def record(m: Measure) -> None:
    """Append ``m`` to $CONVLAB_MEASURE_LOG (tab-separated, one line per measured block).

    README's 'Measured limits' table is made from this file; unset, nothing is written.
    """
    path = os.environ.get("CONVLAB_MEASURE_LOG")
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"{test}\t{m.seconds:.2f}\t{m.idle_mb:.0f}\t{m.peak_mb:.0f}\n")


class LiveServer:
    """``convlab serve`` on 127.0.0.1:<free port>, started and stopped by ``with``."""

    def __init__(self, *, env: dict[str, str] | None = None, workers: int = 1,
                 args: list[str] | None = None, port: int | None = None,
                 startup_s: float = 60.0) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.args = args or []
        self.startup_s = startup_s
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LiveServer:
        import tempfile

        fd, name = tempfile.mkstemp(prefix="convlab-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        cmd = [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1",
               "--port", str(self.port), "--workers", str(self.workers),
               "--log-level", "warning", *self.args]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200 and (
                        self.workers == 1 or len(_children(self.proc.pid)) >= self.workers):
                    return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"server did not answer within {self.startup_s} s:\n{self.log()}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ memory
    def pids(self) -> list[int]:
        """The processes that serve requests: the server, or its workers."""
        assert self.proc is not None
        kids = _children(self.proc.pid)
        return kids if self.workers > 1 and kids else [self.proc.pid]

    def rss_mb(self) -> float:
        return sum(_status_kb(p, "VmRSS") for p in self.pids()) / 1024

    def peak_mb(self) -> float:
        return sum(_status_kb(p, "VmHWM") for p in self.pids()) / 1024

    def reset_peak(self) -> None:
        for p in self.pids():
            with open(f"/proc/{p}/clear_refs", "w") as f:
                f.write("5")

    @contextlib.contextmanager
    def measure(self) -> Iterator[Measure]:
        m = Measure(idle_mb=self.rss_mb())
        self.reset_peak()
        t0 = time.perf_counter()
        try:
            yield m
        finally:
            m.seconds = time.perf_counter() - t0
            m.peak_mb = self.peak_mb()
            record(m)
