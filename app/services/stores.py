"""Which store backs uploads and training runs: Redis when ``CONVLAB_STORE_URL`` names one, else SQLite.

Kept apart from ``store.py`` (the interface and the embedded backend) so that neither
backend imports the other.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.services.store import Limits, SQLiteStore, Store, runtime_dir
from app.services.store_redis import RedisStore

log = logging.getLogger("convlab")


def open_store(url: str, folder: Path | None, limits: Limits,
               spaces: dict[str, Limits] | None = None) -> Store:
    """Redis when ``url`` is a redis:// URL, else the embedded SQLite store in ``folder``;
    ``spaces`` gives namespaces limits of their own (see app/services/store.py)."""
    if url:
        return RedisStore.from_url(url, limits, spaces)
    path = runtime_dir(folder) / "store.sqlite3"
    log.info("store: %s", path)
    return SQLiteStore(path, limits, spaces=spaces)
