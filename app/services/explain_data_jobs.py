"""Per-model precomputations (held-out predictions, top patches), once per process, bounded.

A precomputation over a model's held-out images takes seconds (the engine runs
every image through every layer), too long to hold a request and a heavy-work slot.
So the first request starts it on one background thread, and it and any request
for the same key answer :class:`Computing` (the router's ``202 Accepted`` with the
progress and ``Retry-After``) until the result is there; after that the result is a
lookup. One thread: at most one precomputation runs at a time in a process, so it takes
at most one core however many students ask, and at most :data:`MAX_QUEUED` wait.

Results are kept in a least-recently-used table bounded in bytes (:data:`MAX_BYTES`);
each result says its own size (``nbytes``). A failed precomputation answers its error
once (the next request starts it again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from app.errors import ApiError

log = logging.getLogger("convlab")

MAX_BYTES = 96 * 1024 * 1024  # all finished results of a process, together
MAX_QUEUED = 8  # precomputations started but not finished (running or waiting)


@dataclass
class Progress:
    """What a running precomputation has done: ``done`` of ``total`` images."""

    what: str
    total: int
    done: int = 0
    started: float = 0.0


class Computing(Exception):
    """The result is being computed; ask again (the router answers 202)."""

    def __init__(self, p: Progress):
        super().__init__(p.what)
        self.what, self.done, self.total = p.what, p.done, p.total
        self.elapsed = time.monotonic() - p.started if p.started else 0.0

    def json(self) -> dict[str, Any]:
        return {"status": "computing", "what": self.what, "done": self.done, "total": self.total,
                "elapsed_s": round(self.elapsed, 1),
                "detail": f"{self.what}: {self.done:,} of {self.total:,} images done. This happens "
                          "once per server process; ask again in a moment."}


class Jobs:
    """Background precomputations keyed by ``key`` and their results (see the module doc)."""

    def __init__(self, max_bytes: int = MAX_BYTES, max_queued: int = MAX_QUEUED):
        self.max_bytes, self.max_queued = max_bytes, max_queued
        self._lock = threading.Lock()
        self._done: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._running: dict[Hashable, Progress] = {}
        self._failed: dict[Hashable, ApiError] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="convlab-precompute")
        self._finished = threading.Condition(self._lock)

    @property
    def held_bytes(self) -> int:
        with self._lock:
            return sum(n for _, n in self._done.values())

    def peek(self, key: Hashable) -> Any | None:
        """The finished result for ``key``, or None (starts nothing)."""
        with self._lock:
            hit = self._done.get(key)
            if hit is not None:
                self._done.move_to_end(key)
            return None if hit is None else hit[0]

    def get(self, key: Hashable, compute: Callable[[Progress], Any], *, what: str, total: int) -> Any:
        """The result for ``key``; else start ``compute(progress)`` (once) and raise :class:`Computing`."""
        with self._lock:
            hit = self._done.get(key)
            if hit is not None:
                self._done.move_to_end(key)
                return hit[0]
            failed = self._failed.pop(key, None)
            if failed is not None:
                raise failed
            p = self._running.get(key)
            if p is None:
                if len(self._running) >= self.max_queued:
                    raise ApiError(503, "The server is already preparing the held-out data of several "
                                        "models; try again in a minute.", headers={"Retry-After": "10"})
                p = self._running[key] = Progress(what, total)
                self._pool.submit(self._work, key, compute, p)
        raise Computing(p)

    def wait(self, key: Hashable, compute: Callable[[Progress], Any], *, what: str, total: int,
             timeout: float = 600.0) -> Any:
        """:meth:`get`, blocking until the result is there (benchmarks and tests)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.get(key, compute, what=what, total=total)
            except Computing:
                with self._finished:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError(f"{what} took more than {timeout:.0f} s") from None
                    if key in self._running:
                        self._finished.wait(min(left, 1.0))

    def _work(self, key: Hashable, compute: Callable[[Progress], Any], p: Progress) -> None:
        p.started = time.monotonic()
        error: ApiError | None = None
        try:
            value = compute(p)
        except ApiError as exc:
            error = exc
        except ValueError as exc:
            error = ApiError(422, f"{p.what} failed: {exc}")
        except Exception as exc:  # never a 500 to the student; the log has the trace
            log.exception("precomputation %s failed", key)
            error = ApiError(422, f"{p.what} failed: {type(exc).__name__}: {str(exc)[:200]}")
        with self._finished:
            self._running.pop(key, None)
            if error is not None:
                self._failed[key] = error
            else:
                self._done[key] = (value, int(getattr(value, "nbytes", 0)))
                self._evict()
            self._finished.notify_all()

    def _evict(self) -> None:
        total = sum(n for _, n in self._done.values())
        while total > self.max_bytes and len(self._done) > 1:
            _, (_, n) = self._done.popitem(last=False)
            total -= n


#: The process's precomputations (shared by every app in the process, like learn_data's cache).
JOBS = Jobs()
