"""The models the app serves: shipped ones loaded once at start-up, and users' own
uploads, kept in the shared store and cached here (app/services/store_models.py).

Names are looked up in these tables only; a name is never used to build a path.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from app.errors import ApiError
from app.services.model import Model, make_session, public_card
from app.services.store_models import UserModels

log = logging.getLogger("convlab")

class ModelStore:
    """Shipped models (loaded once, kept) and, through ``user``, users' uploads, which live
    in the shared store (app/services/store_models.py). ``user`` is set by the app's lifespan."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self.shipped: dict[str, Model] = {}
        self.user: UserModels | None = None

    def load_dir(self, models_dir: Path) -> None:
        """Load every ``<name>.onnx`` that has a ``<name>.json`` card beside it."""
        if not models_dir.is_dir():
            log.warning("models directory %s does not exist; no models served", models_dir)
            return
        for card_path in sorted(models_dir.glob("*.json")):
            onnx_path = card_path.with_suffix(".onnx")
            if not onnx_path.exists():
                continue
            card = json.loads(card_path.read_text())
            data = onnx_path.read_bytes()
            expected = card.get("onnx", {}).get("sha256")
            if expected and hashlib.sha256(data).hexdigest() != expected:
                log.error("%s does not match the sha256 in its card; not served", onnx_path.name)
                continue
            name = card.get("name", card_path.stem)
            self.shipped[name] = Model(name, card, data, make_session(data, self.threads))
        log.info("loaded models: %s", ", ".join(self.shipped) or "none")

    def get(self, name: str) -> Model:
        if name in self.shipped:
            return self.shipped[name]
        if self.user is None:
            raise self.missing(name)
        return self.user.get(name)

    def missing(self, name: str) -> ApiError:
        """The 404 for a name that is neither shipped nor a live upload's handle."""
        if self.user is not None:
            return self.user.missing(name)
        return ApiError(404, f"There is no model called {name[:80]!r}. GET /api/models lists them.")

    def cards(self) -> list[dict[str, Any]]:
        """The shipped models' cards: uploads are private, never listed."""
        return [public_card(m) for m in self.shipped.values()]

