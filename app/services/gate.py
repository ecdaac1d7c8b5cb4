"""A concurrency gate for the heavy routes: a bounded number run at once, the rest get 503.

Queueing without bound lets one class of thirty students stall the server for
everybody; instead a request waits briefly for a slot and is otherwise refused with
``503 Service Unavailable`` and ``Retry-After``, which browsers and scripts handle.

The wait happens on the event loop, not in a worker thread. A thread that blocks
waiting for a slot holds one of the thread pool's 40 tokens; with more waiting
requests than tokens, the requests that hold a slot cannot get a thread to run their
(plain ``def``) endpoint, every waiter times out, and throughput collapses (measured:
100 clients, 20 requests/s and 90 % 503s with a blocking gate).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from app.errors import ApiError


class HeavyGate:
    def __init__(self, slots: int, wait_s: float) -> None:
        if slots < 1:
            raise ValueError(f"the gate needs at least one slot, got {slots}")
        self._sem = anyio.Semaphore(slots)
        self.slots = slots
        self.wait_s = wait_s

    @property
    def free(self) -> int:
        return self._sem.value

    async def acquire(self) -> None:
        """Take a slot, waiting at most ``wait_s`` (first come, first served); else 503."""
        with anyio.move_on_after(self.wait_s):
            await self._sem.acquire()
            return
        raise ApiError(
            503,
            "The server is busy with other requests; try again in a moment.",
            headers={"Retry-After": "1"},
        )

    def release(self) -> None:
        self._sem.release()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()
