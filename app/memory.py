"""Give freed memory back to the operating system (glibc's allocator), without slowing
training down.

By default glibc raises its mmap threshold each time a large block is freed, so after a
few heavy requests (an ``/inspect`` holds tens of MB of arrays) big arrays come from the
heap instead, and the heap keeps them after they are freed: measured, a server that
idled at 180 MB stayed at 480 MB after four concurrent inspects.

The first fix (issue 14) pinned the mmap threshold at 256 KB, so every larger block got
a mapping of its own, returned on ``free``. But a training step allocates and frees
many large temporaries, and a fresh mapping costs page faults each time: measured on
lenet5 at batch 64 (one thread), 21 ms a step with glibc's defaults, 39-51 ms with the
256 KB threshold, 25-33 ms with a 32 MB threshold alone (glibc then trims the top of the
heap after each free).

So now (measured 15-18 ms a step, as the defaults):

- ``M_MMAP_THRESHOLD`` 32 MB (glibc's largest): only huge blocks get mappings;
- ``M_TRIM_THRESHOLD`` 64 MB: a free does not give the top of the heap back at once;
- ``M_ARENA_MAX`` 2: the thread pool's threads do not each keep a heap;
- :func:`trim_freed_memory` (``malloc_trim(0)``, which also releases free pages in the
  middle of the heap) once the last heavy request in flight has finished
  (:func:`app.deps.heavy_slot`), so an idle server is back near its idle size.

A no-op where the C library is not glibc (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import lru_cache

log = logging.getLogger("convlab")

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 64 * 1024 * 1024
ARENA_MAX = 2


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt  # noqa: B018 (glibc only)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


def return_freed_memory() -> bool:
    """Set glibc's thresholds and arena cap for this process; True when they took."""
    libc = _libc()
    if libc is None:
        return False
    ok = all(bool(libc.mallopt(param, value)) for param, value in (
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (M_ARENA_MAX, ARENA_MAX)))
    if not ok:
        log.warning("mallopt refused the memory settings; freed memory may stay with the process")
    return ok


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (malloc.h, glibc 2.33+)."""

    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


#: ``malloc_trim`` walks the whole heap (measured 0.5 ms, a fifth of a small predict):
#: it runs only when at least this much freed memory sits in the heap (``mallinfo2``,
#: about 1 microsecond to ask).
TRIM_WHEN_FREE = 8 * 1024 * 1024


def _free_in_heap(libc: ctypes.CDLL) -> int | None:
    try:
        mallinfo2 = libc.mallinfo2
    except AttributeError:  # glibc before 2.33
        return None
    mallinfo2.restype = _MallInfo2
    return int(mallinfo2().fordblks)


def trim_freed_memory() -> bool:
    """Give the heap's free pages back to the system (``malloc_trim(0)``) when at least
    :data:`TRIM_WHEN_FREE` bytes of it are free; True if any went."""
    libc = _libc()
    if libc is None:
        return False
    free = _free_in_heap(libc)
    if free is not None and free < TRIM_WHEN_FREE:
        return False
    return bool(libc.malloc_trim(0))
