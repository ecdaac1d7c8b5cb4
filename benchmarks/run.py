"""``make bench``: engine vs onnxruntime, and the HTTP API, each runtime in its own process.

Every number is a ratio against onnxruntime measured in the same run (a benchmark is
not a test: no absolute time is asserted). Each case is timed in ``--rounds`` rounds,
engine and onnxruntime alternating, and each runtime keeps its best median, so that a
burst of load from another process on a shared machine hits both sides alike.

Whole models (``models/*.onnx``, run layer by layer keeping every tensor, as the pages
do) must be within 3x of onnxruntime: the command prints a table and exits with status
1 when one is not. Single ops are reported against their targets, not enforced. Where
``OPENBLAS_CORETYPE`` is set (it slows NumPy's matmul), models are also timed without
it, for reference (column "no coretype").

Writes benchmarks/results.json and benchmarks/results.md, and (unless ``--no-readme``)
puts the table into README.md between the ``<!-- bench:start -->`` and
``<!-- bench:end -->`` markers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from benchmarks.common import ROOT, machine, run_worker
from benchmarks.ops_worker import CASES

OUT = ROOT / "benchmarks"
MODEL_TARGET = 3.0
_CORETYPE = "OPENBLAS_CORETYPE"


def ratio_target(case: str) -> float:
    """Engine/onnxruntime ratio targets: 1.5x for 3x3 convs with 16+ channels, 2.5x for
    small batch-1 layers, 3x for whole models layer by layer."""
    if case.startswith("model:"):
        return MODEL_TARGET
    if "@3x3" in case and case.split("x")[1] != "3" and int(case.split("-")[1].split("x")[1]) >= 16:
        return 1.5
    return 2.5


def _best(runtime: str, kind: str, case: str, threads: int, drop: tuple[str, ...] = ()) -> float:
    args = [runtime, kind, case, str(threads)]
    return run_worker("benchmarks.ops_worker", args, threads, drop=drop)["median_ms"]


def bench_case(kind: str, case: str, threads: int, rounds: int) -> dict:
    """One case: best median of each runtime over ``rounds`` alternating rounds."""
    eng, ort, bare = [], [], []
    no_coretype = kind == "model" and bool(os.environ.get(_CORETYPE))
    for _ in range(rounds):
        eng.append(_best("engine", kind, case, threads))
        ort.append(_best("ort", kind, case, threads))
        if no_coretype:
            bare.append(_best("engine", kind, case, threads, drop=(_CORETYPE,)))
    name = case if kind == "op" else f"model:{case}"
    row = {"case": name, "threads": threads, "engine_ms": min(eng), "ort_ms": min(ort)}
    row["ratio"] = row["engine_ms"] / row["ort_ms"]
    row["target"] = ratio_target(name)
    row["met"] = row["ratio"] <= row["target"]
    if bare:
        row["engine_no_coretype_ms"] = min(bare)
        row["ratio_no_coretype"] = min(bare) / row["ort_ms"]
    return row


def bench_ops(threads: int, rounds: int, models_only: bool = False) -> list[dict]:
    models = sorted(p.stem for p in (ROOT / "models").glob("*.onnx"))
    cases = [] if models_only else [("op", c) for c in CASES]
    rows = []
    for kind, case in cases + [("model", m) for m in models]:
        row = bench_case(kind, case, threads, rounds)
        rows.append(row)
        extra = (f"  (no coretype {row['ratio_no_coretype']:5.2f})"
                 if "ratio_no_coretype" in row else "")
        print(f"  {row['case']:32s} engine {row['engine_ms']:8.3f} ms  ort {row['ort_ms']:8.3f} ms  "
              f"ratio {row['ratio']:5.2f} (target {row['target']}){extra}", file=sys.stderr)
    return rows


def _ratio_cell(r: dict) -> str:
    return f"{r['ratio_no_coretype']:.2f}x" if "ratio_no_coretype" in r else "-"


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Measured {results['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, "
        f"NumPy {m['numpy']}, onnxruntime {m['onnxruntime']}, OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}; "
        f"each runtime in its own process, 1 thread, best median of {results.get('rounds', 1)} "
        "alternating rounds. Models run layer by layer keeping every tensor. "
        "Reproduce with `make bench`.",
        "",
        "| case (engine vs onnxruntime, 1 thread) | engine ms | onnxruntime ms | ratio | target | met "
        "| ratio, no coretype |",
        "|---|---:|---:|---:|---:|:-:|---:|",
    ]
    for r in results["ops"]:
        lines.append(f"| {r['case']} | {r['engine_ms']:.3f} | {r['ort_ms']:.3f} | {r['ratio']:.2f}x | "
                     f"{r['target']}x | {'yes' if r['met'] else 'no'} | {_ratio_cell(r)} |")
    http = results.get("http")
    if http:
        lines += ["", "| HTTP (loopback, server in its own process) | client p50 ms | client p95 ms | "
                  "server p50 ms | server p95 ms | response |", "|---|---:|---:|---:|---:|---:|"]
        for key, v in {**{f"predict {k}": v for k, v in http["predict"].items()},
                       **{f"inspect {k}": v for k, v in http["inspect"].items()}}.items():
            lines.append(
                f"| {key} | {v['client_p50_ms']:.1f} | {v['client_p95_ms']:.1f} | "
                f"{v.get('server_p50_ms', float('nan')):.1f} | {v.get('server_p95_ms', float('nan')):.1f} | "
                f"{v['bytes'] / 1024:.0f} KB |")
        lines += ["", "| throughput (predict, keep-alive) | clients | requests/s | p50 ms | p95 ms | statuses |",
                  "|---|---:|---:|---:|---:|---|"]
        for t in http["throughput"]:
            lines.append(f"| {t['model']} | {t['clients']} | {t['rps']:.0f} | {t['p50_ms']:.1f} | "
                         f"{t['p95_ms']:.1f} | {t['statuses']} |")
        lines += ["", "| /train updates (POST /api/train/step, default network) | steps per update | "
                  "p50 ms | p95 ms | updates/s (target >= 20) |", "|---|---:|---:|---:|---:|"]
        for t in http.get("train", []):
            lines.append(f"| circle, tanh 4-2, lr 0.03, batch 10 | {t['steps_per_update']} | "
                         f"{t['client_p50_ms']:.1f} | {t['client_p95_ms']:.1f} | {t['updates_per_s']:.0f} |")
        lines += ["", f"Server peak RSS: {http['server_peak_rss_mb']:.0f} MB."]
    return "\n".join(lines) + "\n"


def update_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{table}{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--skip-http", action="store_true", help="only engine vs onnxruntime")
    p.add_argument("--models-only", action="store_true", help="whole models only, no single ops")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds per case (default 3)")
    p.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    p.add_argument("--no-write", action="store_true", help="write no results files either")
    args = p.parse_args(argv)
    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": machine(), "rounds": args.rounds}
    print("engine vs onnxruntime:", file=sys.stderr)
    results["ops"] = bench_ops(1, max(1, args.rounds), args.models_only)
    if not args.skip_http:
        print("HTTP ...", file=sys.stderr)
        results["http"] = run_worker("benchmarks.http_worker", [], threads=1, timeout=900)
    table = markdown(results)
    if not args.no_write:
        (OUT / "results.json").write_text(json.dumps(results, indent=2))
        (OUT / "results.md").write_text(table)
        if not args.no_readme:
            update_readme(table)
    print(table)
    over = [r for r in results["ops"] if r["case"].startswith("model:") and not r["met"]]
    for r in over:
        print(f"FAIL {r['case']}: {r['ratio']:.2f}x onnxruntime (target {r['target']}x)",
              file=sys.stderr)
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
