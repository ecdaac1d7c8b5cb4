"""Settings read once from the environment (``CONVLAB_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.services.store import Limits

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"
MODELS_DIR = ROOT / "models"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    try:
        return int(value) if value else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {value!r}") from exc


def _env_float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError as exc:
        raise SystemExit(f"{name} must be a number, got {value!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Runtime configuration, read once per app; ``create_app(Settings(...))`` in tests.

    Only what something reads is here. The per-route request limits are constants beside
    the code that enforces them, because FastAPI fixes a route's ``max_body_size`` when
    the route is declared: an image upload in :mod:`app.services.uploads`, a model upload
    in :mod:`app.services.usermodels`, an image's pixel count in
    :mod:`app.services.imaging`, tensors in :mod:`app.encode`. The default JSON body limit
    (``json_body_limit``) is the app's own, so it is a setting.
    """

    data_dir: Path | None = field(default_factory=lambda: _env_path("CONVLAB_DATA_DIR"))
    models_dir: Path = field(
        default_factory=lambda: _env_path("CONVLAB_MODELS_DIR") or MODELS_DIR
    )
    ort_threads: int = field(default_factory=lambda: _env_int("CONVLAB_ORT_THREADS", 1))
    # Concurrent heavy requests (predict, inspect, conv, train steps) before 503.
    heavy_concurrency: int = field(
        default_factory=lambda: _env_int("CONVLAB_HEAVY_CONCURRENCY", 4)
    )
    heavy_queue_timeout_s: float = 2.0
    # Every JSON body, bytes (routes that take files set their own limit).
    json_body_limit: int = 2 * 1024 * 1024
    # The shared store of uploaded models (app/services/store.py): Redis at this URL, or else a
    # SQLite file in runtime_dir (default <tmp>/convlab-<uid>, made 0700).
    store_url: str = field(default_factory=lambda: os.environ.get("CONVLAB_STORE_URL", "").strip())
    runtime_dir: Path | None = field(default_factory=lambda: _env_path("CONVLAB_RUNTIME_DIR"))
    # An uploaded model unused this long is deleted.
    model_idle_hours: float = field(
        default_factory=lambda: _env_float("CONVLAB_MODEL_IDLE_HOURS", 24.0))
    # Caps, in MB the models hold once loaded: the whole store, one browser (client id
    # cookie), one network address (a class behind one NAT shares it).
    store_mb: int = field(default_factory=lambda: _env_int("CONVLAB_STORE_MB", 2048))
    client_store_mb: int = field(default_factory=lambda: _env_int("CONVLAB_CLIENT_STORE_MB", 200))
    client_models: int = field(default_factory=lambda: _env_int("CONVLAB_CLIENT_MODELS", 8))
    address_store_mb: int = field(
        default_factory=lambda: _env_int("CONVLAB_ADDRESS_STORE_MB", 1024))

    def store_limits(self) -> Limits:
        mb = 1024 * 1024
        return Limits(idle_s=self.model_idle_hours * 3600, total_bytes=self.store_mb * mb,
                      owner_bytes=self.client_store_mb * mb, owner_items=self.client_models,
                      address_bytes=self.address_store_mb * mb)
