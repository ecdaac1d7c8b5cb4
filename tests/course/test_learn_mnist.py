"""Accuracy: lenet5, Adam 1e-3, batch 64, one epoch of MNIST on the engine: >= 97.5% held
out, the mean of seeds 0-2.

Slow (three epochs, about 30 s on one core here). It needs the
MNIST training files (``CONVLAB_DATA_DIR``, or ``../shared/data`` beside the project) and
holds out their last 5,000 images, never the official test split.
"""

from __future__ import annotations

import os
import subprocess
import sys
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


def one_epoch(root: Path, seed: int) -> float:
    """lenet5, Adam 1e-3, batch 64, one epoch; held-out accuracy (run in this process)."""
    from datasets import read_mnist

    images, labels, _ = read_mnist(root, "train")
    data = LearnData("mnist", images[:-N_VAL], labels[:-N_VAL].astype("int64"),
                     images[-N_VAL:], labels[-N_VAL:].astype("int64"))
    cfg = Config.make(recipe="lenet5", optimizer="adam", learning_rate=1e-3, batch_size=64,
                      seed=seed, eval_every=100_000)
    state = new_run(cfg, len(data.train_y))
    start = time.perf_counter()
    while state.step < state.steps_per_epoch:
        steps(state, data, state.steps_per_epoch - state.step, time_budget_s=5.0)
    assert state.step == 859  # 55,000 // 64
    accuracy = evaluate(state, data)
    print(f"lenet5 seed {seed}, one epoch ({time.perf_counter() - start:.0f} s): "
          f"held-out accuracy {accuracy:.4f}")
    return accuracy


@pytest.mark.slow
def test_lenet5_one_epoch_of_mnist_reaches_97_5_percent_held_out():
    """The mean over seeds 0-2, as PyTorch's 97.8-97.9% is quoted (issue 16). One seed
    alone moves with the machine: the BLAS kernels a CPU gets (AVX2 or AVX-512) change the
    last bits of every matrix product and, over 859 steps, the accuracy by a few tenths
    (seed 0: 97.64% on an AMD EPYC, 97.46% on an Intel Xeon; seeds 0-2 on the Xeon 97.46,
    97.68 and 97.98%, mean 97.71%)."""
    root = _mnist_dir()
    if root is None:
        pytest.skip("no MNIST training files (set CONVLAB_DATA_DIR)")
    # As `convlab serve` trains: NumPy's BLAS on one thread (app/cli.py).
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    code = ("import sys; from pathlib import Path; from tests.course.test_learn_mnist import "
            f"one_epoch; print(*(one_epoch(Path({str(root)!r}), s) for s in (0, 1, 2)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    print(out.stdout)
    accuracies = [float(v) for v in out.stdout.split()[-3:]]
    assert sum(accuracies) / 3 >= 0.975, accuracies
    assert min(accuracies) >= 0.97, accuracies
