"""A concurrency gate for the heavy routes: a bounded number run at once, the rest get 503.

Queueing without bound lets one class of thirty students stall the server for
everybody; instead a request waits briefly for a slot and is otherwise refused with
``503 Service Unavailable`` and ``Retry-After``, which browsers and scripts handle.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from app.errors import ApiError


class HeavyGate:
    def __init__(self, slots: int, wait_s: float) -> None:
        if slots < 1:
            raise ValueError(f"the gate needs at least one slot, got {slots}")
        self._sem = threading.BoundedSemaphore(slots)
        self.slots = slots
        self.wait_s = wait_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._sem.acquire(timeout=self.wait_s):
            raise ApiError(
                503,
                "The server is busy with other requests; try again in a moment.",
                headers={"Retry-After": "1"},
            )
        try:
            yield
        finally:
            self._sem.release()
