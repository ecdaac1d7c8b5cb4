"""A training run's whole state, and its exact round trip through bytes.

:class:`RunState` holds everything a step needs and nothing a process must remember:
the config, parameters, batch-norm buffers, optimiser moments, the step count, the
curves so far and the sums of the curve point being built. Randomness is counter-based:
the batch order of epoch ``e`` comes from ``default_rng([seed, 2, e])`` and a step's
dropout masks and augmentation from ``default_rng([seed, 1, step])``, so the generator
state *is* ``(seed, step)`` and needs no serialising of its own. Hence any process can
continue a run from its bytes and get the same numbers, bit for bit.

:meth:`RunState.to_bytes` writes a zip of ``.npy`` arrays (``np.lib.format``, no pickle)
plus ``meta.json``, with fixed timestamps, so equal states give equal bytes;
:meth:`RunState.from_bytes` reads it with ``allow_pickle=False``.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from course.learn.network import init_params
from course.learn.recipes import Config

__all__ = ["CURVES", "FORMAT", "RunState", "new_run", "reset"]

FORMAT = "convlab-learn-run/2"  # 2: held-out loss curve (val_loss)
#: Curve arrays: step of each point, mean training loss and accuracy over the
#: ``log_every`` steps before it; step and accuracy of each validation point.
CURVES = ("log_step", "log_loss", "log_acc", "val_step", "val_acc", "val_loss")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


@dataclass
class RunState:
    config: Config
    n_train: int  # training-set size the run was made for (defines its epochs)
    params: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]
    moments: dict[str, np.ndarray]  # "m.<param>", "v.<param>" (Adam), "v.<param>" (momentum)
    step: int = 0
    curves: dict[str, np.ndarray] = field(default_factory=dict)
    pending: dict[str, float] = field(default_factory=dict)  # sums of the point being built

    @property
    def steps_per_epoch(self) -> int:
        return max(1, self.n_train // self.config.batch_size)

    @property
    def epoch(self) -> float:
        return self.step / self.steps_per_epoch

    def to_bytes(self) -> bytes:
        """The state as a zip of ``.npy`` files and ``meta.json`` (deterministic bytes)."""
        meta = {"format": FORMAT, "config": self.config.to_dict(), "n_train": self.n_train,
                "step": self.step, "pending": self.pending}
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(zipfile.ZipInfo("meta.json", _ZIP_TIME),
                        json.dumps(meta, sort_keys=True))
            for group, arrays in self._groups().items():
                for name, array in arrays.items():
                    out = io.BytesIO()
                    np.lib.format.write_array(out, np.ascontiguousarray(array),
                                              allow_pickle=False)
                    zf.writestr(zipfile.ZipInfo(f"{group}/{name}.npy", _ZIP_TIME),
                                out.getvalue())
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> RunState:
        """Inverse of :meth:`to_bytes`; ``ValueError`` for anything else."""
        try:
            zf = zipfile.ZipFile(io.BytesIO(data))
            meta = json.loads(zf.read("meta.json"))
        except (zipfile.BadZipFile, KeyError, ValueError) as exc:
            raise ValueError(f"not a learn run: {exc}") from None
        if meta.get("format") != FORMAT:
            raise ValueError(f"not a learn run of format {FORMAT}: {meta.get('format')!r}")
        groups: dict[str, dict[str, np.ndarray]] = {
            "params": {}, "buffers": {}, "moments": {}, "curves": {}}
        for info in zf.infolist():
            if info.filename == "meta.json":
                continue
            group, _, name = info.filename.partition("/")
            if group not in groups or not name.endswith(".npy"):
                raise ValueError(f"unexpected member {info.filename!r} in a learn run")
            with zf.open(info) as f:
                groups[group][name[:-4]] = np.lib.format.read_array(f, allow_pickle=False)
        if set(groups["curves"]) != set(CURVES):
            raise ValueError(f"a learn run's curves are {sorted(CURVES)}, "
                             f"got {sorted(groups['curves'])}")
        return cls(Config.from_dict(meta["config"]), int(meta["n_train"]), groups["params"],
                   groups["buffers"], groups["moments"], int(meta["step"]), groups["curves"],
                   {k: float(v) for k, v in meta["pending"].items()})

    def _groups(self) -> dict[str, dict[str, np.ndarray]]:
        return {"params": self.params, "buffers": self.buffers, "moments": self.moments,
                "curves": self.curves}

    def equals(self, other: RunState) -> bool:
        """Exactly the same run: config, counters and every array bit for bit."""
        if (self.config, self.n_train, self.step, self.pending) != (
                other.config, other.n_train, other.step, other.pending):
            return False
        mine, theirs = self._groups(), other._groups()
        for group, arrays in mine.items():
            if list(arrays) != list(theirs[group]):
                return False
            for name, a in arrays.items():
                b = theirs[group][name]
                if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
                    return False
        return True


def _empty_curves() -> dict[str, np.ndarray]:
    return {
        "log_step": np.zeros(0, np.int64), "log_loss": np.zeros(0), "log_acc": np.zeros(0),
        "val_step": np.zeros(0, np.int64), "val_acc": np.zeros(0), "val_loss": np.zeros(0),
    }


def new_run(config: Config | dict[str, Any], n_train: int) -> RunState:
    """A run at step 0: parameters from ``config.seed``, zero moments, empty curves."""
    if isinstance(config, dict):
        config = Config.make(**config)
    if n_train < config.batch_size:
        raise ValueError(f"{n_train} training images is fewer than one batch of "
                         f"{config.batch_size}")
    params, buffers = init_params(config)
    moments = {}
    if config.optimizer in ("momentum", "adam"):
        moments.update({"v." + k: np.zeros_like(p) for k, p in params.items()})
    if config.optimizer == "adam":
        moments.update({"m." + k: np.zeros_like(p) for k, p in params.items()})
    pending = {"loss": 0.0, "correct": 0.0, "seen": 0.0, "steps": 0.0}
    return RunState(config, int(n_train), params, buffers, moments, 0, _empty_curves(), pending)


def reset(state: RunState) -> RunState:
    """The run's start again: the same config and seed, so the same bits as step 0."""
    return new_run(state.config, state.n_train)
