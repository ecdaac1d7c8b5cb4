"""Accuracy: lenet5, Adam 1e-3, batch 64, one epoch of MNIST on the engine >= 97.5% held out.

Slow (about a minute or two on one core); run with ``pytest -m slow``. It needs the
MNIST training files (``CONVLAB_DATA_DIR``, or ``../shared/data`` beside the project) and
holds out their last 5,000 images, never the official test split.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from course.learn import Config, LearnData, evaluate, new_run, steps

ROOT = Path(__file__).resolve().parents[2]
N_VAL = 5000


def _mnist_dir() -> Path | None:
    for candidate in (os.environ.get("CONVLAB_DATA_DIR"), ROOT.parent / "shared" / "data",
                      Path("/work/shared/data")):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    return None


@pytest.mark.slow
def test_lenet5_one_epoch_of_mnist_reaches_97_5_percent_held_out():
    from datasets import read_mnist

    root = _mnist_dir()
    if root is None:
        pytest.skip("no MNIST training files (set CONVLAB_DATA_DIR)")
    images, labels, _ = read_mnist(root, "train")
    data = LearnData("mnist", images[:-N_VAL], labels[:-N_VAL].astype("int64"),
                     images[-N_VAL:], labels[-N_VAL:].astype("int64"))
    cfg = Config.make(recipe="lenet5", optimizer="adam", learning_rate=1e-3, batch_size=64,
                      seed=0, eval_every=100_000)
    state = new_run(cfg, len(data.train_y))
    start = time.perf_counter()
    while state.step < state.steps_per_epoch:
        steps(state, data, state.steps_per_epoch - state.step, time_budget_s=5.0)
    accuracy = evaluate(state, data)
    print(f"lenet5 one epoch ({state.step} steps, {time.perf_counter() - start:.0f} s): "
          f"held-out accuracy {accuracy:.4f}")
    assert state.step == 859  # 55,000 // 64
    assert accuracy >= 0.975
