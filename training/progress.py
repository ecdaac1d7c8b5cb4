"""A plain progress bar on stderr (``\\r`` redraws on a terminal; silent in logs)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """``bar.update(i, loss=...)`` redraws ``label [#####.....] i/total  2.1s  loss 0.41``.

    When the stream is not a terminal (a log file, CI) nothing is drawn; the per-epoch
    summary lines printed by the caller carry the information instead.
    """

    def __init__(self, total: int, label: str = "", width: int = 30, stream: TextIO | None = None):
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.start = time.perf_counter()
        self._last = 0.0

    def update(self, done: int, **stats: float) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        filled = int(self.width * done / self.total)
        extra = "  ".join(f"{k} {v:.4g}" for k, v in stats.items())
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{self.total}  {now - self.start:5.1f}s  {extra}\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
