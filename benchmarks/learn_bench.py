"""Training-step speed: the engine (course.learn) against PyTorch CPU, one thread, side by side.

One step = forward, softmax cross-entropy, backward and a plain SGD update, on a fixed
random batch, for ``convnetjs`` and ``lenet5`` at batch 64 and 16. PyTorch runs the very
network :func:`course.learn.codegen.code` writes for the recipe (same layers, same
parameter count). Engine and PyTorch steps alternate in rounds within this one process,
so both see the same machine load; each reports its median step time, and the ratio
engine / PyTorch is checked against the targets of issue 16 (2.5x at batch 64, 3x at
batch 16). A benchmark, not a test: it prints a table and exits 1 when a target is missed.

    python -m benchmarks.learn_bench [--rounds 15] [--json out.json]

``OPENBLAS_CORETYPE`` is left as the environment sets it and reported.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from course.learn import optim  # noqa: E402
from course.learn.codegen import code  # noqa: E402
from course.learn.network import Net, init_params  # noqa: E402
from course.learn.recipes import Config, param_count  # noqa: E402
from engine.ops.dense import cross_entropy_backward, cross_entropy_forward  # noqa: E402

CASES = [("convnetjs", 64), ("lenet5", 64), ("convnetjs", 16), ("lenet5", 16)]
TARGETS = {64: 2.5, 16: 3.0}
LR = 0.01


def engine_step(recipe: str, batch: int):
    cfg = Config.make(recipe=recipe, dataset="mnist", optimizer="sgd", learning_rate=LR,
                      batch_size=batch)
    net, (params, buffers) = Net(cfg), init_params(cfg)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step() -> None:
        logits, caches = net.forward(params, buffers, x, train=True)
        _, ce = cross_entropy_forward(logits, y)
        grads = net.backward(caches, cross_entropy_backward(ce))
        optim.update(params, grads, {}, optimizer="sgd", lr=LR, l2=0.0, t=1)

    return step, param_count(cfg)


def torch_step(recipe: str, batch: int):
    import torch

    cfg = Config.make(recipe=recipe, dataset="mnist", optimizer="sgd", learning_rate=LR,
                      batch_size=batch)
    namespace: dict = {}
    exec(code(cfg, "pytorch").split("# --- end model ---")[0], namespace)
    model = namespace["build_model"]()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=gen)
    y = torch.randint(0, 10, (batch,), generator=gen)

    def step() -> None:
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step, sum(p.numel() for p in model.parameters())


def timed(step, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="alternating rounds per case")
    parser.add_argument("--runs", type=int, default=5, help="steps per round and framework")
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, numpy {np.__version__}, one thread, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    rows, ok = [], True
    for recipe, batch in CASES:
        eng, n_eng = engine_step(recipe, batch)
        ref, n_ref = torch_step(recipe, batch)
        if n_eng != n_ref:
            raise SystemExit(f"{recipe}: engine has {n_eng} parameters, PyTorch {n_ref}")
        timed(eng, 3), timed(ref, 3)  # warm up
        e_ms, t_ms = [], []
        for _ in range(args.rounds):
            e_ms += timed(eng, args.runs)
            t_ms += timed(ref, args.runs)
        e, t = statistics.median(e_ms), statistics.median(t_ms)
        ratio, target = e / t, TARGETS[batch]
        ok &= ratio <= target
        rows.append({"recipe": recipe, "batch": batch, "params": n_eng, "engine_ms": e,
                     "torch_ms": t, "ratio": ratio, "target": target, "met": ratio <= target,
                     "engine_images_per_s": batch / e * 1e3,
                     "torch_images_per_s": batch / t * 1e3})
        print(f"{recipe:10s} batch {batch:3d}  engine {e:7.2f} ms ({batch / e * 1e3:6.0f} img/s)"
              f"  torch {t:6.2f} ms ({batch / t * 1e3:6.0f} img/s)  ratio {ratio:4.2f}"
              f"  target {target}  {'met' if ratio <= target else 'MISSED'}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
