"""Give freed memory back to the operating system (glibc's allocator).

By default glibc raises its mmap threshold each time a large block is freed, so after a
few heavy requests (an ``/inspect`` holds tens of MB of arrays) big arrays come from the
heap instead, and the heap keeps them after they are freed: measured, a server that
idled at 180 MB stayed at 480 MB after four concurrent inspects. Fixing the threshold
keeps every block over it in its own mapping, returned on ``free``; capping the arenas
stops each of the thread pool's threads from keeping a heap of its own.

A no-op where the C library is not glibc (musl, macOS).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("convlab")

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter numbers (malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024
ARENA_MAX = 2


def return_freed_memory() -> bool:
    """Set glibc's mmap threshold and arena cap for this process; True when it took."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, ARENA_MAX))
    if not ok:
        log.warning("mallopt refused the memory settings; freed memory may stay with the process")
    return ok
