"""A bounded load test on loopback: a class of students classifying images at once.

``python -m benchmarks.load`` (``make load``) starts ``python -m app.cli serve`` (the
production settings) in its own process on a free 127.0.0.1 port, then runs 32
concurrent clients that upload images to ``/api/models/<name>/predict`` (one upload
in 20 is not an image, as in a real class) until 2,000 requests are done or 60 s have
passed, whichever comes first, while another thread polls ``/api/health``.

It uses a shipped model when models/ has one (a ``.onnx`` with its ``.json`` card),
otherwise a tiny CNN written to a temporary directory (``CONVLAB_MODELS_DIR``).

Reported: status counts, latency p50 / p95 / p99, throughput, the server's peak RSS
(VmHWM from /proc/<pid>/status) and the health check's p95. Checked: no 5xx other
than the gate's deliberate 503s, no connection errors, predict p95 < 1.5 s, peak RSS
< 600 MB, health p95 < 100 ms. Prints a table, writes benchmarks/load-results.json,
and exits 1 when a check fails. Standard library only (http.client and threads).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from benchmarks.common import HOST, ROOT, free_port, machine, proc_status, start_server, stop_server

RESULTS = ROOT / "benchmarks" / "load-results.json"
JPEG_MAGIC = b"\xff\xd8"
LIMITS = {"p95_s": 1.5, "peak_rss_mb": 600.0, "health_p95_ms": 100.0}


def pick_model(models_dir: Path, workdir: Path) -> tuple[Path, str, dict, bool]:
    """(models dir, model name, its card, shipped?): a shipped model if any, else a tiny one."""
    for card_path in sorted(models_dir.glob("*.json")):
        if card_path.with_suffix(".onnx").exists():
            card = json.loads(card_path.read_text())
            return models_dir, card.get("name", card_path.stem), card, True
    from tests.app.modelkit import tiny_cnn, write_model

    card = write_model(workdir, "load-tiny", tiny_cnn(1, 28))
    return workdir, "load-tiny", card, False


def images(card: dict) -> list[bytes]:
    """What a class uploads: canvas drawings and photos, PNG and JPEG, a few sizes."""
    rng = np.random.default_rng(0)
    colour = card.get("input", {}).get("channels") == "RGB"
    out = []
    for i, (side, fmt) in enumerate([(280, "PNG"), (200, "PNG"), (640, "JPEG"), (96, "PNG"), (1024, "JPEG")]):
        if colour:
            arr = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
            im = Image.fromarray(arr).resize((side, side), Image.Resampling.BILINEAR)
        else:
            im = Image.new("L", (side, side), 255)
            d = ImageDraw.Draw(im)
            d.line([(side * 0.3, side * 0.2), (side * 0.7, side * 0.2), (side * (0.35 + i / 20), side * 0.85)],
                   fill=0, width=max(3, side // 14))
        buf = io.BytesIO()
        im.save(buf, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
        out.append(buf.getvalue())
    return out


def multipart(data: bytes, name: str = "upload.png") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class Load:
    """Shared state of one run: the request budget, the deadline, and what came back."""

    def __init__(self, port: int, model: str, bodies: list[tuple[bytes, str]], total: int, seconds: float):
        self.port, self.model, self.bodies = port, model, bodies
        self.total, self.deadline = total, time.monotonic() + seconds
        self.lock = threading.Lock()
        self.issued = 0
        self.results: list[tuple[int, float]] = []  # (status or 0 for a connection error, seconds)
        self.errors: Counter[str] = Counter()
        self.done = threading.Event()

    def take(self) -> int | None:
        with self.lock:
            if self.issued >= self.total or time.monotonic() > self.deadline:
                return None
            self.issued += 1
            return self.issued

    def client(self) -> None:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        path = f"/api/models/{self.model}/predict"
        while (n := self.take()) is not None:
            body, ctype = self.bodies[n % len(self.bodies)]
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers={"content-type": ctype})
                r = conn.getresponse()
                r.read()
                status = r.status
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                self.errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
            with self.lock:
                self.results.append((status, time.perf_counter() - t0))
        conn.close()


def poll_health(port: int, stop: threading.Event, out: list[tuple[int, float]]) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    while not stop.wait(0.05):
        t0 = time.perf_counter()
        try:
            conn.request("GET", "/api/health")
            r = conn.getresponse()
            r.read()
            out.append((r.status, time.perf_counter() - t0))
        except (OSError, http.client.HTTPException):
            out.append((0, time.perf_counter() - t0))
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
    conn.close()


def run(clients: int, total: int, seconds: float, models_dir: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="convlab-load-") as tmp:
        mdir, name, card, shipped = pick_model(models_dir, Path(tmp))
        good = [multipart(b, f"img{i}.{ext}") for i, b in enumerate(images(card))
                for ext in ["jpg" if b.startswith(JPEG_MAGIC) else "png"]]
        bad = multipart(np.random.default_rng(1).bytes(2048), "notes.png")
        bodies = [bad if i % 20 == 19 else good[i % len(good)] for i in range(20 * len(good))]
        port = free_port()
        proc = start_server(port, {"CONVLAB_MODELS_DIR": str(mdir)})
        try:
            rss_idle = proc_status(proc.pid, "VmRSS")
            load = Load(port, name, bodies, total, seconds)
            health: list[tuple[int, float]] = []
            stop = threading.Event()
            poller = threading.Thread(target=poll_health, args=(port, stop, health), daemon=True)
            poller.start()
            workers = [threading.Thread(target=load.client, daemon=True) for _ in range(clients)]
            t0 = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join(seconds + 60)
            wall = time.perf_counter() - t0
            stop.set()
            poller.join(15)
            alive = proc.poll() is None
            peak = proc_status(proc.pid, "VmHWM") if alive else float("nan")
            rss_end = proc_status(proc.pid, "VmRSS") if alive else float("nan")
        finally:
            stop_server(proc)
    statuses = Counter(str(s) for s, _ in load.results)
    lat = [t for _, t in load.results]
    ok = [t for s, t in load.results if s == 200]
    health_ms = [t * 1e3 for _, t in health]
    server_errors = sum(n for s, n in statuses.items() if s.startswith("5") and s != "503")
    result = {
        "model": name,
        "model_source": f"from {mdir}" if shipped else "tiny test model (no model in the models dir)",
        "clients": clients,
        "requests": len(load.results),
        "request_budget": total,
        "time_budget_s": seconds,
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(load.results) / wall, 1) if wall else None,
        "status_counts": dict(sorted(statuses.items())),
        "connection_errors": dict(load.errors),
        "latency_ms": {f"p{q}": round(percentile(lat, q) * 1e3, 1) for q in (50, 95, 99)}
        | {"max": round(max(lat) * 1e3, 1) if lat else None},
        "latency_200_ms": {f"p{q}": round(percentile(ok, q) * 1e3, 1) for q in (50, 95, 99)},
        "health": {
            "polls": len(health),
            "failed": sum(1 for s, _ in health if s != 200),
            "p50_ms": round(percentile(health_ms, 50), 2),
            "p95_ms": round(percentile(health_ms, 95), 2),
            "max_ms": round(max(health_ms), 2) if health_ms else None,
        },
        "server_rss_mb": {"idle": round(rss_idle, 1), "end": round(rss_end, 1), "peak": round(peak, 1)},
        "server_alive_at_end": alive,
    }
    p95 = percentile(lat, 95)
    result["checks"] = {
        "no 5xx other than 503": server_errors == 0,
        "no connection errors": not load.errors and statuses.get("0", 0) == 0,
        "server still running": alive,
        f"p95 < {LIMITS['p95_s']} s": p95 < LIMITS["p95_s"],
        f"peak RSS < {LIMITS['peak_rss_mb']:.0f} MB": peak < LIMITS["peak_rss_mb"],
        f"health p95 < {LIMITS['health_p95_ms']:.0f} ms": percentile(health_ms, 95) < LIMITS["health_p95_ms"]
        and result["health"]["failed"] == 0,
    }
    return result


def table(r: dict) -> str:
    lat, h, rss = r["latency_ms"], r["health"], r["server_rss_mb"]
    rows = [
        ("model", f"{r['model']} ({r['model_source']})"),
        ("clients / requests", f"{r['clients']} / {r['requests']} (budget {r['request_budget']} or "
                               f"{r['time_budget_s']:.0f} s) in {r['wall_s']} s"),
        ("throughput", f"{r['throughput_rps']} requests/s"),
        ("statuses", ", ".join(f"{k}: {v}" for k, v in r["status_counts"].items())),
        ("connection errors", ", ".join(f"{k}: {v}" for k, v in r["connection_errors"].items()) or "none"),
        ("predict latency", f"p50 {lat['p50']} ms, p95 {lat['p95']} ms, p99 {lat['p99']} ms, max {lat['max']} ms"),
        ("/api/health", f"{h['polls']} polls, {h['failed']} failed, p50 {h['p50_ms']} ms, "
                        f"p95 {h['p95_ms']} ms, max {h['max_ms']} ms"),
        ("server RSS", f"idle {rss['idle']} MB, end {rss['end']} MB, peak {rss['peak']} MB"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines += [""] + [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in r["checks"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=32, choices=range(1, 257), metavar="N")
    ap.add_argument("--requests", type=int, default=2000, help="stop after this many (default 2000)")
    ap.add_argument("--seconds", type=float, default=60.0, help="or after this long (default 60)")
    ap.add_argument("--models-dir", type=Path, default=ROOT / "models")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    if not 1 <= args.requests <= 100_000 or not 1 <= args.seconds <= 600:
        ap.error("--requests must be 1..100000 and --seconds 1..600")
    result = run(args.clients, args.requests, args.seconds, args.models_dir)
    result["machine"] = machine()
    result["when"] = time.strftime("%Y-%m-%d %H:%M:%S")
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\nwrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
