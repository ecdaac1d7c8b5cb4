"""``make bench``: engine vs onnxruntime, and the HTTP API, each runtime in its own process.

Writes benchmarks/results.json and benchmarks/results.md, and puts the table into
README.md between the ``<!-- bench:start -->`` and ``<!-- bench:end -->`` markers.
Targets (from the project's issues) are checked and reported, not asserted: a
benchmark is not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from benchmarks.common import ROOT, machine, run_worker
from benchmarks.ops_worker import CASES

OUT = ROOT / "benchmarks"


def ratio_target(case: str) -> float:
    """Engine/onnxruntime ratio targets: 1.5x for 3x3 convs with 16+ channels, 2.5x for
    small batch-1 layers, 3x for whole models layer by layer."""
    if case.startswith("model:"):
        return 3.0
    if "@3x3" in case and case.split("x")[1] != "3" and int(case.split("-")[1].split("x")[1]) >= 16:
        return 1.5
    return 2.5


def bench_ops(threads: int) -> list[dict]:
    rows = []
    models = sorted(p.stem for p in (ROOT / "models").glob("*.onnx"))
    cases = [("op", c) for c in CASES] + [("model", m) for m in models]
    for kind, case in cases:
        eng = run_worker("benchmarks.ops_worker", ["engine", kind, case, str(threads)], threads)
        ort = run_worker("benchmarks.ops_worker", ["ort", kind, case, str(threads)], threads)
        name = case if kind == "op" else f"model:{case}"
        r = eng["median_ms"] / ort["median_ms"]
        target = ratio_target(name)
        rows.append({"case": name, "threads": threads, "engine_ms": eng["median_ms"],
                     "ort_ms": ort["median_ms"], "ratio": r, "target": target, "met": r <= target})
        print(f"  {name:32s} engine {eng['median_ms']:8.3f} ms  ort {ort['median_ms']:8.3f} ms  "
              f"ratio {r:5.2f} (target {target})", file=sys.stderr)
    return rows


def markdown(results: dict) -> str:
    m = results["machine"]
    lines = [
        f"Measured {results['date']} on {m['cpu']} ({m['cores']} cores), Python {m['python']}, "
        f"NumPy {m['numpy']}, onnxruntime {m['onnxruntime']}, OPENBLAS_CORETYPE={m['OPENBLAS_CORETYPE']}; "
        "each runtime in its own process, 1 thread. Reproduce with `make bench`.",
        "",
        "| case (engine vs onnxruntime, 1 thread) | engine ms | onnxruntime ms | ratio | target | met |",
        "|---|---:|---:|---:|---:|:-:|",
    ]
    for r in results["ops"]:
        lines.append(f"| {r['case']} | {r['engine_ms']:.3f} | {r['ort_ms']:.3f} | {r['ratio']:.2f}x | "
                     f"{r['target']}x | {'yes' if r['met'] else 'no'} |")
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
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--no-readme", action="store_true")
    args = p.parse_args(argv)
    results: dict = {"date": time.strftime("%Y-%m-%d"), "machine": machine()}
    print("engine vs onnxruntime:", file=sys.stderr)
    results["ops"] = bench_ops(1)
    if not args.skip_http:
        print("HTTP ...", file=sys.stderr)
        results["http"] = run_worker("benchmarks.http_worker", [], threads=1, timeout=900)
    (OUT / "results.json").write_text(json.dumps(results, indent=2))
    table = markdown(results)
    (OUT / "results.md").write_text(table)
    if not args.no_readme:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
