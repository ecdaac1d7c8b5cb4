"""Train several ``cifar10-net`` recipe variants side by side; report validation accuracy.

    python -m training.sweep --data-dir DIR --device cuda --workers 4 --out OUT \\
        --deadline 400 "e28 s0" "e28 s1" "e28 s0 lr=8" "e40 s0 widths=128/384/384 lr=10"

A job is a string of tokens: ``eN`` (epochs), ``sN`` (seed), ``KEY=VALUE`` (a recipe
hyperparameter, as ``convlab train --set``), ``widths=A/B/C`` (the three block
widths; airbench94's are 64/256/256) and ``arch=res3`` or ``arch=airbench94`` (the same
as ``residual=1`` or ``residual=0``: airbench96's blocks, three convolutions each with a
residual connection around the last two, or airbench94's two-convolution blocks).
A job changes the recipe's current defaults (``training/hyperparams.py``). Each job runs in its own process; up to
``--workers`` at once, in the order given (so put the long ones first). No job starts
after ``--deadline`` seconds, and a running job gets a ``--time-limit`` that ends it by
then: its row is marked incomplete.

Results, in ``OUT``: ``results.jsonl`` (one line per job), ``summary.md`` (a table) and
``sweep.log`` (every job's output). Nothing is exported: this is for choosing a
recipe, which ``convlab train cifar10-net --set ...`` then trains and ships.
Accuracy is measured in PyTorch on the held-out validation split, without and with
the flip test-time augmentation that the exported model carries.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

NAME = "cifar10-net"
ROOT = Path(__file__).resolve().parents[1]  # jobs run ``python -m training.sweep`` from here
ARCHS = ("airbench94", "res3")  # the value of the ``residual`` hyperparameter, 0 or 1


def parse_job(text: str) -> dict:
    """``"e28 s1 lr=8 widths=128/384/384"`` -> epochs, seed, overrides, widths (typed, checked)."""
    from training.hyperparams import AIRBENCH, parse_overrides

    job = {"job": text, "epochs": None, "seed": 0, "widths": None, "overrides": {}}
    pairs = []
    for tok in text.split():
        if tok[0] in "es" and tok[1:].isdigit():
            job["epochs" if tok[0] == "e" else "seed"] = int(tok[1:])
        elif tok.startswith("widths="):
            parts = tok.partition("=")[2].split("/")
            if len(parts) != 3 or not all(p.isdigit() and 1 <= int(p) <= 1024 for p in parts):
                raise ValueError(f"{tok!r}: expected widths=A/B/C, each 1..1024")
            job["widths"] = [int(p) for p in parts]
        elif tok.startswith("arch="):
            arch = tok.partition("=")[2]
            if arch not in ARCHS:
                raise ValueError(f"{tok!r}: arch is one of {', '.join(ARCHS)}")
            pairs.append(f"residual={ARCHS.index(arch)}")
        elif "=" in tok:
            pairs.append(tok)
        else:
            raise ValueError(f"{text!r}: cannot read {tok!r} (eN, sN, KEY=VALUE or widths=A/B/C)")
    if job["epochs"] is not None and not 1 <= job["epochs"] <= 1000:
        raise ValueError(f"{text!r}: epochs must be 1..1000")
    job["overrides"] = parse_overrides(NAME, pairs)
    job["arch"] = ARCHS[{**AIRBENCH, **job["overrides"]}["residual"]]
    return job


def run_one(job: dict, data_dir: str | None, device: str, threads: int, limit: int | None,
            time_limit: float | None) -> dict:
    """Train one job in this process; returns its result row."""
    import torch

    from training import models
    from training.data import load_split
    from training.recipes import _normalizer
    from training.specs import get_spec
    from training.train import to_tensors, train

    if job["widths"]:
        widths = tuple(job["widths"])
        models.BUILDERS[NAME] = lambda residual=False: models.cifar10_net(widths, residual)
    model, meta = train(NAME, data_dir, job["epochs"], job["seed"], device, limit, threads,
                        None, f"sweep {job['job']}", time_limit, job["overrides"])
    dev = torch.device(device)
    x, y = to_tensors(load_split(get_spec(NAME).dataset, "val", data_dir), dev)
    x = _normalizer(NAME, dev)(x)
    model = model.to(dev).eval()
    plain = flip = 0
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            xb = x[i:i + 1000]
            a = model(xb)
            plain += int((a.argmax(1) == y[i:i + 1000]).sum())
            flip += int(((a + model(xb.flip(-1))).argmax(1) == y[i:i + 1000]).sum())
    return {"job": job["job"], "epochs": meta["epochs"], "epochs_planned": meta["epochs_planned"],
            "complete": not meta["stopped_early"], "seed": job["seed"], "widths": job["widths"],
            "arch": job["arch"],
            "overrides": job["overrides"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "val_accuracy": plain / len(y), "val_accuracy_flip_tta": flip / len(y),
            "train_seconds": meta["wall_time_s"], "hardware": meta["hardware"]}


def _summary(rows: list[dict]) -> str:
    lines = ["| job | epochs | parameters | val acc | val acc, flip TTA | train s | complete |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['job']} | | | | | | failed: {r['error']} |")
            continue
        lines.append(f"| {r['job']} | {r['epochs']}/{r['epochs_planned']} | {r['parameters']:,} "
                     f"| {100 * r['val_accuracy']:.2f}% | {100 * r['val_accuracy_flip_tta']:.2f}% "
                     f"| {r['train_seconds']:.0f} | {'yes' if r['complete'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def sweep(jobs: list[str], out: Path, data_dir: str | None, device: str, workers: int,
          threads: int, limit: int | None, deadline: float) -> list[dict]:
    """Run ``jobs`` (strings, checked first) in subprocesses; returns the result rows in job order."""
    from training.data import load_split

    for text in jobs:
        parse_job(text)  # every job is checked before any runs
    start = time.monotonic()
    load_split("cifar10", "train", data_dir)  # decode the JPEGs once, into the shared cache
    out.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "training.sweep", "--device", device, "--threads", str(threads)]
    if data_dir:
        base += ["--data-dir", data_dir]
    if limit:
        base += ["--limit", str(limit)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    pending = list(enumerate(jobs))
    running: dict[int, tuple[subprocess.Popen, Path]] = {}
    rows: dict[int, dict] = {}
    while pending or running:
        left = deadline - (time.monotonic() - start)
        while pending and len(running) < workers and left > 30:
            i, text = pending.pop(0)
            logfile = out / f"job{i:02d}.log"
            cmd = base + ["--time-limit", f"{left - 20:.0f}", "--run-one", text]
            with open(logfile, "w") as fh:
                running[i] = (subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env,
                                                cwd=ROOT),
                              logfile)
            print(f"[{time.monotonic() - start:6.0f}s] started  {i:2d}: {text}", flush=True)
        if not running and pending and left <= 30:
            for i, text in pending:
                rows[i] = {"job": text, "error": "not started: deadline"}
            pending = []
        for i, (proc, logfile) in list(running.items()):
            if proc.poll() is None and time.monotonic() - start > deadline + 60:
                proc.kill()  # a job that ignores its --time-limit
            if proc.poll() is None:
                continue
            del running[i]
            result = [ln for ln in logfile.read_text().splitlines() if ln.startswith("RESULT ")]
            rows[i] = (json.loads(result[-1][7:]) if result and proc.returncode == 0 else
                       {"job": jobs[i], "error": f"exit code {proc.returncode}"})
            r = rows[i]
            msg = r.get("error") or (f"{100 * r['val_accuracy_flip_tta']:.2f}% (flip TTA), "
                                     f"{r['epochs']}/{r['epochs_planned']} epochs, "
                                     f"{r['train_seconds']:.0f}s")
            print(f"[{time.monotonic() - start:6.0f}s] finished {i:2d}: {jobs[i]}: {msg}", flush=True)
        time.sleep(0.5)
    ordered = [rows[i] for i in range(len(jobs))]
    with open(out / "results.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in ordered)
    (out / "summary.md").write_text(_summary(ordered))
    with open(out / "sweep.log", "w") as fh:  # one file: fewer to bring back from a lent machine
        for i, text in enumerate(jobs):
            logfile = out / f"job{i:02d}.log"
            if logfile.is_file():
                fh.write(f"===== job {i}: {text}\n{logfile.read_text()}\n")
                logfile.unlink()
    return ordered


def main(argv: list[str] | None = None) -> int:
    from training.data import DataError

    p = argparse.ArgumentParser(prog="python -m training.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("jobs", nargs="*", help='e.g. "e28 s0 lr=8"')
    p.add_argument("--data-dir", help="default: $CONVLAB_DATA_DIR")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--threads", type=int, default=2, help="CPU threads per job")
    p.add_argument("--limit", type=int, help="train on the first N images (dry runs)")
    p.add_argument("--deadline", type=float, default=3600.0, help="seconds for the whole sweep")
    p.add_argument("--out", default="sweep-out")
    p.add_argument("--time-limit", type=float, help=argparse.SUPPRESS)
    p.add_argument("--run-one", metavar="JOB", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        if args.run_one:
            row = run_one(parse_job(args.run_one), args.data_dir, args.device, args.threads,
                          args.limit, args.time_limit)
            print("RESULT " + json.dumps(row), flush=True)
            return 0
        if not args.jobs or not 1 <= args.workers <= 16:
            p.error("give at least one job, and --workers 1..16")
        rows = sweep(args.jobs, Path(args.out), args.data_dir, args.device, args.workers,
                     args.threads, args.limit, args.deadline)
    except (ValueError, OSError, DataError) as exc:  # bad jobs, missing data
        print(f"sweep: error: {exc}", file=sys.stderr)
        return 2
    print(_summary(rows))
    return 0 if all("error" not in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
