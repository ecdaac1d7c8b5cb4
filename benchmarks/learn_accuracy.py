"""Accuracy: lenet5, Adam 1e-3, batch 64, one epoch of MNIST, on the engine and on PyTorch.

Issue 16 asks the engine for >= 97.5% held out and says PyTorch's same recipe gives
97.8-97.9% over three seeds. This trains, for each seed, the engine's ``lenet5``
(:mod:`course.learn`, exactly as ``convlab serve`` trains it) and PyTorch's copy of the
same network (the model code :func:`course.learn.codegen.code` writes, so the same
layers, names, PyTorch's default init, which for ``Conv2d``/``Linear`` is the engine's
``U(+-1/sqrt(fan_in))``), on the first 55,000 MNIST training images, and scores both
on the last 5,000 (never the official test split). Both sides see the same float32
inputs (:func:`course.learn.train.normalise`), one fresh shuffle per epoch (the engine
from ``default_rng([seed, 2, 0])``, PyTorch from ``torch.randperm`` seeded with the
seed), 859 full batches (the last partial batch of 56 dropped on both), mean softmax
cross-entropy, Adam (0.9, 0.999, eps 1e-8), no dropout, no augmentation, max pooling.

``--match init,order`` makes the PyTorch side start from the engine's initial
parameters and/or walk the engine's batch order: with both, the two sides differ only
in float rounding, which isolates any algorithmic difference from seed luck.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
        python -m benchmarks.learn_accuracy [--seeds 0 1 2] [--jobs 2] [--match init,order]

Each (side, seed) runs in its own subprocess with BLAS and torch on one thread; ``--jobs``
runs that many at once. Prints a table and the means; ``--json`` writes them.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
N_VAL = 5000
RECIPE = {"recipe": "lenet5", "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64}


def _data_root() -> Path:
    for candidate in (os.environ.get("CONVLAB_DATA_DIR"), ROOT.parent / "shared" / "data",
                      Path("/work/shared/data")):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    raise SystemExit("no MNIST training files (set CONVLAB_DATA_DIR)")


def _data():
    from course.learn import LearnData
    from datasets import read_mnist

    images, labels, _ = read_mnist(_data_root(), "train")
    labels = labels.astype(np.int64)
    return LearnData("mnist", images[:-N_VAL], labels[:-N_VAL], images[-N_VAL:],
                     labels[-N_VAL:])


def _config(seed: int):
    from course.learn import Config

    return Config.make(**RECIPE, seed=seed, eval_every=100_000)


def run_engine(seed: int) -> dict:
    from course.learn import evaluate, new_run, steps

    data = _data()
    state = new_run(_config(seed), len(data.train_y))
    start = time.perf_counter()
    while state.step < state.steps_per_epoch:
        steps(state, data, state.steps_per_epoch - state.step, time_budget_s=60.0)
    return {"side": "engine", "seed": seed, "steps": state.step,
            "accuracy": evaluate(state, data), "seconds": time.perf_counter() - start}


def run_torch(seed: int, match: frozenset[str] = frozenset()) -> dict:
    import torch
    from torch import nn

    from course.learn.codegen import code
    from course.learn.network import init_params
    from course.learn.train import _epoch_order, normalise

    torch.set_num_threads(1)
    cfg, data = _config(seed), _data()
    namespace: dict = {}
    exec(code(cfg, "pytorch").split("# --- end model ---")[0], namespace)
    model = namespace["build_model"]()  # torch.manual_seed(seed), then PyTorch's init
    if "init" in match:
        params, _ = init_params(cfg)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.from_numpy(params[name]))
    x = torch.from_numpy(normalise(data.train_x, "mnist"))
    y = torch.from_numpy(data.train_y)
    n, batch = len(y), cfg.batch_size
    per_epoch = n // batch  # drop the last partial batch, as the engine does
    if "order" in match:
        order = torch.from_numpy(_epoch_order(seed, 0, n).astype(np.int64))
    else:
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate, betas=(0.9, 0.999),
                                 eps=1e-8)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    model.train()
    for k in range(per_epoch):
        idx = order[k * batch:(k + 1) * batch]
        optimizer.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        optimizer.step()
    model.eval()
    vx = torch.from_numpy(normalise(data.val_x, "mnist"))
    vy = torch.from_numpy(data.val_y)
    with torch.no_grad():
        correct = sum(int((model(vx[i:i + 500]).argmax(1) == vy[i:i + 500]).sum())
                      for i in range(0, len(vy), 500))
    return {"side": "torch", "seed": seed, "steps": per_epoch, "match": sorted(match),
            "accuracy": correct / len(vy), "seconds": time.perf_counter() - start}


def _worker(side: str, seed: int, match: str) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.learn_accuracy", "--worker", side,
           "--seeds", str(seed), "--match", match]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                         env={**os.environ, "OMP_NUM_THREADS": "1",
                              "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    if out.returncode != 0:
        raise RuntimeError(f"{side} seed {seed} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"  {side:6s} seed {seed}: {100 * result['accuracy']:.2f}% "
          f"({result['seconds']:.0f} s)", flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=1, help="subprocesses at once")
    ap.add_argument("--sides", default="engine,torch")
    ap.add_argument("--match", default="", help="PyTorch side takes the engine's: init,order")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", choices=["engine", "torch"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    match = frozenset(m for m in args.match.split(",") if m)
    if match - {"init", "order"}:
        ap.error(f"--match takes init and/or order, got {args.match!r}")
    if args.worker:
        (seed,) = args.seeds
        r = run_engine(seed) if args.worker == "engine" else run_torch(seed, match)
        print(json.dumps(r))
        return 0
    sides = [s for s in args.sides.split(",") if s]
    print(f"lenet5, Adam 1e-3, batch 64, one epoch on 55,000 MNIST training images, "
          f"held out the last 5,000; PyTorch match: {','.join(sorted(match)) or 'none'}",
          flush=True)
    jobs = [(side, seed) for seed in args.seeds for side in sides]
    with ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(lambda j: _worker(j[0], j[1], args.match), jobs))
    acc = {(r["side"], r["seed"]): 100 * r["accuracy"] for r in results}
    print()
    print("| seed | " + " | ".join(sides) + " |")
    print("|---:|" + "---:|" * len(sides))
    for seed in args.seeds:
        print(f"| {seed} | " + " | ".join(f"{acc[s, seed]:.2f}%" for s in sides) + " |")
    means = {s: float(np.mean([acc[s, seed] for seed in args.seeds])) for s in sides}
    print("| mean | " + " | ".join(f"{means[s]:.2f}%" for s in sides) + " |")
    if len(sides) == 2:
        print(f"\n{sides[0]} - {sides[1]}: {means[sides[0]] - means[sides[1]]:+.2f} points")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "means": means}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
