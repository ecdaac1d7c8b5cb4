"""Tunable recipe hyperparameters, without PyTorch: the table, the ranges, and ``--set``.

``convlab train cifar10-net --set cutout=8 --set whiten_eps=5e-3`` changes entries of
``AIRBENCH`` for one run; the card records the overrides and every value used.
"""

from __future__ import annotations

# airbench94's values, except three chosen by the H200 sweep (training/sweeps/): airbench96's
# residual blocks, a 3-pixel translation and an 8x8 Cutout (airbench94: 0, 2 and 0).
AIRBENCH = {"lr": 11.5, "momentum": 0.85, "weight_decay": 0.0153, "bias_scaler": 64.0,
            "label_smoothing": 0.2, "ema_start_epoch": 3, "ema_decay_base": 0.95,
            "ema_decay_pow": 3.0, "ema_every": 5, "whiten_bias_epochs": 3, "translate": 3,
            "whiten_eps": 5e-4, "whiten_images": 5000, "cutout": 8, "residual": 1}

# The hyperparameters ``convlab train <model> --set KEY=VALUE`` may change, per model,
# and the closed range each one accepts.
TUNABLE = {"cifar10-net": AIRBENCH}
RANGES = {"lr": (0.0, 100.0), "momentum": (0.0, 0.99), "weight_decay": (0.0, 1.0),
          "bias_scaler": (0.0, 1000.0), "label_smoothing": (0.0, 0.9), "ema_start_epoch": (0, 1000),
          "ema_decay_base": (0.0, 1.0), "ema_decay_pow": (0.0, 10.0), "ema_every": (1, 1000),
          "whiten_bias_epochs": (0, 1000), "translate": (0, 8), "whiten_eps": (1e-8, 10.0),
          "whiten_images": (1, 50_000), "cutout": (0, 32), "residual": (0, 1)}


def _table(name: str) -> dict:
    table = TUNABLE.get(name)
    if table is None:
        raise ValueError(f"--set: {name}'s recipe has no tunable hyperparameters "
                         f"(models with some: {', '.join(sorted(TUNABLE))})")
    return table


def _kind_name(default) -> str:
    return "an integer" if type(default) is int else "a number"


def check_overrides(name: str, values: dict) -> dict:
    """Check typed overrides ``{"lr": 10.0}`` against ``TUNABLE`` and ``RANGES``; returns them.

    Raises ValueError naming the keys that exist, the expected type or the range.
    """
    if not values:
        return {}
    table = _table(name)
    for key, value in values.items():
        if key not in table:
            raise ValueError(f"--set {key!r}: expected KEY=VALUE with KEY one of "
                             f"{', '.join(sorted(table))}")
        if type(value) is not type(table[key]):
            raise ValueError(f"--set {key}: {value!r} is not {_kind_name(table[key])}")
        lo, hi = RANGES[key]
        if not lo <= value <= hi:  # also rejects nan
            raise ValueError(f"--set {key}: {value!r} is outside {lo}..{hi}")
    return values


def parse_overrides(name: str, pairs: list[str] | None) -> dict:
    """``["lr=10", "cutout=8"]`` -> ``{"lr": 10.0, "cutout": 8}``, then ``check_overrides``.

    Each value takes the type of the recipe's default (int or float).
    """
    if not pairs:
        return {}
    table = _table(name)
    out = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or key not in table:
            raise ValueError(f"--set {pair!r}: expected KEY=VALUE with KEY one of "
                             f"{', '.join(sorted(table))}")
        try:
            out[key] = type(table[key])(raw.strip())
        except ValueError:
            raise ValueError(f"--set {key}: {raw!r} is not {_kind_name(table[key])}") from None
    return check_overrides(name, out)
