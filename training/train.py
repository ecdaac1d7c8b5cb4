"""Training driver: device and seeding, data to tensors, the epoch log, checkpoints.

One code path for CPU and CUDA: the whole split is moved to the device once as a
float tensor and every batch, augmentation included, is a tensor op there.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from training.data import Dataset, load_split
from training.specs import get_spec

CHECKPOINT_FORMAT = "convlab-checkpoint-1"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup_device(device: str, threads: int = 2) -> torch.device:
    """``cpu`` (``threads`` intra-op threads) or ``cuda`` (cuDNN autotuning, TF32 allowed)."""
    if device == "cuda":
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda: PyTorch sees no CUDA device")
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        return torch.device("cuda")
    if device != "cpu":
        raise ValueError(f"--device must be cpu or cuda, not {device!r}")
    torch.set_num_threads(max(1, threads))
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed PyTorch (CPU and every GPU) and NumPy. CPU runs repeat exactly; cuDNN's
    autotuned kernels make GPU runs repeat only to within rounding."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_string(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}), host CPU {_cpu_name()}"
    return f"{_cpu_name()}, {torch.get_num_threads()} threads ({os.cpu_count()} logical CPUs)"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "torch": str(torch.__version__),
           "numpy": np.__version__}
    if torch.version.cuda:
        out["cuda"] = str(torch.version.cuda)
    return out


def to_tensors(ds: Dataset, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 NHWC -> float32 NCHW in [0, 1] on ``device`` (channels_last), int64 labels."""
    x = torch.tensor(ds.images, device=device)  # a copy: loader arrays may be read-only
    x = x.permute(0, 3, 1, 2).float().div_(255.0).contiguous(memory_format=torch.channels_last)
    return x, torch.from_numpy(ds.labels).to(device)


@torch.no_grad()
def evaluate_logits(model: nn.Module, x: torch.Tensor, y: torch.Tensor, prep=None,
                    batch: int = 1000, bf16: bool = False) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` (eval mode) on ``prep(x)``."""
    model.eval()
    loss, correct = 0.0, 0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch] if prep is None else prep(x[i:i + batch])
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=bf16):
            out = model(xb).float()
        loss += float(nn.functional.cross_entropy(out, y[i:i + batch], reduction="sum"))
        correct += int((out.argmax(1) == y[i:i + batch]).sum())
    return loss / max(1, len(x)), correct / max(1, len(x))


@dataclass
class EpochLog:
    """Collects per-epoch figures, prints one summary line per epoch to stderr."""

    name: str
    epochs: int
    deadline: float | None = None  # time.perf_counter() value; see out_of_time()
    entries: list[dict] = field(default_factory=list)
    stopped_early: bool = False

    def add(self, epoch: int, seconds: float, train_loss: float, train_acc: float,
            val_loss: float, val_acc: float, lr: float) -> None:
        entry = {"epoch": epoch, "seconds": round(seconds, 2), "train_loss": round(train_loss, 5),
                 "train_accuracy": round(train_acc, 5), "val_loss": round(val_loss, 5),
                 "val_accuracy": round(val_acc, 5), "lr": float(f"{lr:.6g}")}
        self.entries.append(entry)
        log(f"{self.name} epoch {epoch:>2}/{self.epochs}  {seconds:6.1f}s  "
            f"train loss {train_loss:.4f} acc {100 * train_acc:6.2f}%  "
            f"val loss {val_loss:.4f} acc {100 * val_acc:6.2f}%  lr {lr:.3g}")

    def out_of_time(self) -> bool:
        """True when another epoch as long as the last would pass the deadline (then stop)."""
        if self.deadline is None or not self.entries or len(self.entries) >= self.epochs:
            return False
        if time.perf_counter() + self.entries[-1]["seconds"] > self.deadline:
            self.stopped_early = True
            log(f"{self.name}: stopping after epoch {len(self.entries)} of {self.epochs}: "
                "the next epoch would pass --time-limit")
            return True
        return False


# --------------------------------------------------------------------- checkpoints

def save_checkpoint(path: str | os.PathLike, name: str, model: nn.Module, meta: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = path.with_name(path.name + ".tmp")
    meta = json.loads(json.dumps(meta))  # plain types only: loadable with weights_only=True
    torch.save({"format": CHECKPOINT_FORMAT, "model": name, "state_dict": state, "meta": meta}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike) -> tuple[str, dict, dict]:
    """``(model name, state_dict, metadata)``; loads tensors and plain data only."""
    ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a ConvLab checkpoint (format {CHECKPOINT_FORMAT})")
    return ckpt["model"], ckpt["state_dict"], ckpt["meta"]


# -------------------------------------------------------------------------- driver

def train(name: str, data_dir: str | None, epochs: int | None = None, seed: int = 0,
          device: str = "cpu", limit: int | None = None, threads: int = 2,
          checkpoint: str | os.PathLike | None = None, command: str = "",
          time_limit: float | None = None,
          overrides: dict | None = None) -> tuple[nn.Module, dict]:
    """Train ``name``; returns the trained model (on CPU) and its metadata.

    Saves the checkpoint to ``checkpoint`` when given, as soon as training ends.
    ``time_limit`` (seconds, from the start of training) ends training early, after
    the epoch that would otherwise overrun it; the metadata records the epochs done.
    ``overrides`` changes recipe hyperparameters (``hyperparams.check_overrides``).
    """
    from training import recipes

    spec = get_spec(name)
    epochs = spec.epochs if epochs is None else epochs
    dev = setup_device(device, threads)
    seed_everything(seed)
    t0 = time.perf_counter()
    train_ds = load_split(spec.dataset, "train", data_dir, limit=limit)
    val_ds = load_split(spec.dataset, "val", data_dir, fmt=train_ds.format)
    x_tr, y_tr = to_tensors(train_ds, dev)
    x_va, y_va = to_tensors(val_ds, dev)
    data_s = time.perf_counter() - t0
    log(f"{name}: {len(train_ds):,} training / {len(val_ds):,} validation images of "
        f"{train_ds.name} loaded in {data_s:.1f}s; training {epochs} epochs on "
        f"{hardware_string(dev)}, seed {seed}")

    t1 = time.perf_counter()
    epoch_log = EpochLog(name, epochs, None if time_limit is None else t1 + time_limit)
    model, extra = recipes.fit(name, x_tr, y_tr, x_va, y_va, epochs, dev, epoch_log, overrides)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    wall = time.perf_counter() - t1
    model = model.cpu().to(memory_format=torch.contiguous_format)
    meta = {
        "model": name, "epochs": len(epoch_log.entries), "epochs_planned": epochs,
        "stopped_early": epoch_log.stopped_early, "seed": seed, "batch_size": spec.batch_size,
        "device": dev.type, "hardware": hardware_string(dev), "versions": versions(),
        "wall_time_s": round(wall, 1), "data_time_s": round(data_s, 1),
        "command": command or f"convlab train {name} --epochs {epochs} --seed {seed} --device {dev.type}",
        "limit": limit, "recipe": spec.recipe, "overrides": dict(overrides or {}),
        "log": epoch_log.entries,
        "dataset": {"name": train_ds.name, "format": train_ds.format,
                    "source": Path(train_ds.source).name,
                    "train_size": len(train_ds), "val_size": len(val_ds)},
        "input": {"mean": list(spec.mean), "std": list(spec.std)},
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    log(f"{name}: trained in {wall:.1f}s; final validation accuracy (PyTorch) "
        f"{100 * epoch_log.entries[-1]['val_accuracy']:.2f}%")
    if checkpoint is not None:
        path = save_checkpoint(checkpoint, name, model, meta)
        log(f"{name}: checkpoint written to {path}")
    return model, meta
