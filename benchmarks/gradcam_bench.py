"""Grad-CAM + saliency server time per shipped model (issue 17: ``cifar10-net`` under
150 ms, ``mnist-cnn`` under 30 ms), with onnxruntime's forward pass on the same input,
measured in the same run, as the reference beside it.

What is timed is what ``POST /api/models/{name}/gradcam`` does after decoding the upload:
the engine's forward run keeping every tensor, the backward pass to the input and the
chosen layer, the map, and the JSON-ready answer (``app.services.explain.gradcam_json``),
without and with the sanity check (the classify page asks for it in the same call: a
second forward and backward pass, on the model with random class-score weights); the
targets hold for both. One thread for BLAS, as ``convlab serve`` runs. A benchmark, not a
test: exits 1 when a target is missed.

    python -m benchmarks.gradcam_bench [--json out.json]
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
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from app.services import explain  # noqa: E402
from app.services.modelstore import ModelStore  # noqa: E402
from benchmarks.common import machine  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TARGETS_MS = {"cifar10-net": 150.0, "mnist-cnn": 30.0, "lenet5": 30.0, "mnist-mlp": 30.0}


def median_ms(fn, runs: int = 25, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    store = ModelStore(threads=1)
    store.load_dir(ROOT / "models")
    rng = np.random.default_rng(0)
    rows, ok = [], True
    for name, target in TARGETS_MS.items():
        model = store.get(name)
        shape = [1 if isinstance(d, str) else int(d) for d in model.input_spec["shape"]]
        x = rng.standard_normal(shape).astype(np.float32)
        ms = median_ms(lambda m=model, x=x: explain.gradcam_json(m, x, target=None, layer=None, check=False))
        checked = median_ms(lambda m=model, x=x: explain.gradcam_json(m, x, target=None, layer=None, check=True))
        ort_ms = median_ms(lambda m=model, x=x: m.session.run(None, {m.input_name: x}), runs=200)
        met = max(ms, checked) <= target
        ok &= met
        rows.append({"model": name, "gradcam_ms": round(ms, 3), "with_check_ms": round(checked, 3),
                     "target_ms": target, "met": met, "onnxruntime_forward_ms": round(ort_ms, 4),
                     "ratio_to_onnxruntime_forward": round(ms / ort_ms, 1)})
        print(f"{name:12s} Grad-CAM + saliency {ms:8.2f} ms, with the sanity check {checked:8.2f} ms "
              f"(target {target:.0f} ms, {'met' if met else 'MISSED'}); onnxruntime forward "
              f"{ort_ms:.3f} ms, ratio {ms / ort_ms:.1f}x", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"machine": machine(), "rows": rows}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
