"""A real redis-server for the store's tests, on a free loopback port, with nothing saved."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.serverkit import free_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """``redis://127.0.0.1:<port>/0`` of a fresh redis-server, stopped afterwards; skips the
    test with the reason when Debian's redis-server is not installed (``make redis``)."""
    if not shutil.which(REDIS):
        pytest.skip("redis-server is not installed (make redis installs Debian's package)")
    import redis

    port = free_port()
    proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--protected-mode", "yes"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(url).ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
