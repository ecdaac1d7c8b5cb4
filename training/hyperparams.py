"""Tunable recipe hyperparameters, without PyTorch: the table, the ranges, and ``--set``.

``convlab train cifar10-net --set cutout=8 --set whiten_eps=5e-3`` changes entries of
``AIRBENCH`` for one run; the card records the overrides and every value used.
"""

from __future__ import annotations

AIRBENCH = {"lr": 11.5, "momentum": 0.85, "weight_decay": 0.0153, "bias_scaler": 64.0,
            "label_smoothing": 0.2, "ema_start_epoch": 3, "ema_decay_base": 0.95,
            "ema_decay_pow": 3.0, "ema_every": 5, "whiten_bias_epochs": 3, "translate": 2,
            "whiten_eps": 5e-4, "whiten_images": 5000, "cutout": 0}

# The hyperparameters ``convlab train <model> --set KEY=VALUE`` may change, per model,
# and the closed range each one accepts.
TUNABLE = {"cifar10-net": AIRBENCH}
RANGES = {"lr": (0.0, 100.0), "momentum": (0.0, 0.99), "weight_decay": (0.0, 1.0),
          "bias_scaler": (0.0, 1000.0), "label_smoothing": (0.0, 0.9), "ema_start_epoch": (0, 1000),
          "ema_decay_base": (0.0, 1.0), "ema_decay_pow": (0.0, 10.0), "ema_every": (1, 1000),
          "whiten_bias_epochs": (0, 1000), "translate": (0, 8), "whiten_eps": (1e-8, 10.0),
          "whiten_images": (1, 50_000), "cutout": (0, 32)}


def parse_overrides(name: str, pairs: list[str] | None) -> dict:
    """``["lr=10", "cutout=8"]`` -> ``{"lr": 10.0, "cutout": 8}``, checked against ``TUNABLE``.

    Each value takes the type of the recipe's default (int or float) and must lie in
    ``RANGES``. Raises ValueError naming the keys that exist or the range.
    """
    if not pairs:
        return {}
    table = TUNABLE.get(name)
    if table is None:
        raise ValueError(f"--set: {name}'s recipe has no tunable hyperparameters "
                         f"(models with some: {', '.join(sorted(TUNABLE))})")
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or key not in table:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE with KEY one of "
                             f"{', '.join(sorted(table))}")
        kind = type(table[key])
        try:
            value = kind(raw) if kind is float else int(raw.strip())
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise ValueError(f"--set {key}: {raw!r} is not {what}") from None
        lo, hi = RANGES[key]
        if not lo <= value <= hi:  # also rejects nan
            raise ValueError(f"--set {key}: {raw!r} is outside {lo}..{hi}")
        out[key] = value
    return out
