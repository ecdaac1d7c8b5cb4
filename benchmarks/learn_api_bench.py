"""One epoch of ``lenet5`` through the HTTP API against the engine's own time for the same
steps, in one run (issue 16: the API's overhead stays under half, a ratio under 2x).

The server is a real ``convlab serve`` process (one thread for BLAS, the embedded store
in a temporary folder) training on the data it is configured with: the full MNIST
training set (55,000 images, 859 steps of 64) with ``CONVLAB_DATA_DIR``, the shipped
subset (10,000, 156 steps) without. The client asks ``POST .../steps`` for what is left
of the epoch until the run reaches it (each call stops after about a second), without
views, as a notebook would. Then this process runs the same steps on the engine
(``course.learn.steps``, one thread) and the two end states must be the same bytes
(the exported ONNX files are compared). Rounds alternate API and engine; the medians
are compared. A benchmark, not a test: exits 1 when the ratio is over the target.

    python -m benchmarks.learn_api_bench [--rounds 1] [--json out.json]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402

from benchmarks.common import HOST, free_port, machine, start_server, stop_server  # noqa: E402

TARGET = 2.0
OPTIONS = {"recipe": "lenet5", "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 64,
           "seed": 0}


def api_epoch(url: str) -> tuple[float, int, bytes, dict]:
    with httpx.Client(base_url=url, timeout=120) as c:
        made = c.post("/api/learn/runs", json=OPTIONS)
        made.raise_for_status()
        run, epoch = made.json()["run"], made.json()["steps_per_epoch"]
        step, calls, t0 = 0, 0, time.perf_counter()
        while step < epoch:
            r = c.post(f"/api/learn/runs/{run}/steps", json={"steps": min(1000, epoch - step)})
            r.raise_for_status()
            step, calls = r.json()["step"], calls + 1
        seconds = time.perf_counter() - t0
        onnx = c.get(f"/api/learn/runs/{run}/model.onnx").content
        summary = c.get(f"/api/learn/runs/{run}").json()
        c.delete(f"/api/learn/runs/{run}")
    return seconds, calls, onnx, summary


def engine_epoch(data, total: int) -> tuple[float, bytes]:
    from course.learn import Config, new_run, steps
    from course.learn.export import to_onnx

    state = new_run(Config.make(**OPTIONS), len(data.train_y))
    t0 = time.perf_counter()
    steps(state, data, total, time_budget_s=1e9)
    return time.perf_counter() - t0, to_onnx(state)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from app.services.learn_data import load

    data_dir = os.environ.get("CONVLAB_DATA_DIR", "").strip()
    data = load("mnist", Path(data_dir) if data_dir else None)
    port = free_port()
    with tempfile.TemporaryDirectory() as rt:
        proc = start_server(port, {"CONVLAB_RUNTIME_DIR": rt, "OPENBLAS_NUM_THREADS": "1",
                                   "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
        try:
            url = f"http://{HOST}:{port}"
            api_s, engine_s, same = [], [], True
            for _ in range(args.rounds):
                seconds, calls, onnx, summary = api_epoch(url)
                api_s.append(seconds)
                e_seconds, e_onnx = engine_epoch(data, summary["step"])
                engine_s.append(e_seconds)
                same = same and onnx == e_onnx
        finally:
            stop_server(proc)
    api, engine = statistics.median(api_s), statistics.median(engine_s)
    ratio = api / engine
    result = {"machine": machine(), "training_images": summary["n_train"],
              "data": summary["data"], "steps": summary["step"], "calls": calls,
              "api_s": api_s, "engine_s": engine_s, "ratio": ratio, "target": TARGET,
              "same_model": same,
              "validation_accuracy": summary["curves"]["val_acc"][-1:]}
    print(f"lenet5, one epoch of {summary['n_train']} images ({summary['data']}), "
          f"{summary['step']} steps of 64:")
    print(f"  through the HTTP API: {api:.1f} s in {calls} calls "
          f"({summary['step'] * 64 / api:.0f} images/s)")
    print(f"  the engine alone:     {engine:.1f} s ({summary['step'] * 64 / engine:.0f} images/s)")
    print(f"  ratio {ratio:.2f}x (target < {TARGET}x); same model both ways: {same}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0 if ratio < TARGET and same else 1


if __name__ == "__main__":
    sys.exit(main())
