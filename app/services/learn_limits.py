"""What training runs may use (read once from ``CONVLAB_RUN*`` variables); kept apart from
app/services/learn.py so the views can read the limits without importing the service."""

from __future__ import annotations

import os
from dataclasses import dataclass

from app.services.store import Limits

__all__ = ["MB", "MIN_COUNTED", "LearnLimits"]

MB = 1024 * 1024
MIN_COUNTED = 4 * MB  # what a run counts at least against the caps


def _env_number(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    try:
        return float(value) if value else default
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {value!r}") from None


@dataclass(frozen=True)
class LearnLimits:
    """What training runs may use; ``from_env`` reads ``CONVLAB_RUN_*`` overrides."""

    idle_s: float = 3600.0  # CONVLAB_RUN_IDLE_MINUTES
    runs_per_client: int = 4  # CONVLAB_RUNS_PER_CLIENT
    client_bytes: int = 64 * MB
    address_bytes: int = 256 * MB  # CONVLAB_RUNS_ADDRESS_MB (>= 64 runs per address)
    total_bytes: int = 2048 * MB  # CONVLAB_RUNS_STORE_MB
    run_bytes: int = 16 * MB  # one run's state (keras-mlp with Adam is ~5 MB)
    max_steps: int = 100_000  # steps in one run (bounds its curves)
    time_budget_s: float = 1.0  # work per step call
    steps_in_flight_per_client: int = 2  # step calls of one browser's runs at once, per process

    @classmethod
    def from_env(cls) -> LearnLimits:
        d = cls()
        return cls(
            idle_s=_env_number("CONVLAB_RUN_IDLE_MINUTES", d.idle_s / 60) * 60,
            runs_per_client=int(_env_number("CONVLAB_RUNS_PER_CLIENT", d.runs_per_client)),
            address_bytes=int(_env_number("CONVLAB_RUNS_ADDRESS_MB", d.address_bytes / MB) * MB),
            total_bytes=int(_env_number("CONVLAB_RUNS_STORE_MB", d.total_bytes / MB) * MB),
        )

    def store_limits(self) -> Limits:
        return Limits(idle_s=self.idle_s, total_bytes=self.total_bytes,
                      owner_bytes=self.client_bytes, owner_items=self.runs_per_client,
                      address_bytes=self.address_bytes)
