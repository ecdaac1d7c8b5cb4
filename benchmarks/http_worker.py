"""HTTP benchmarks against a server in its own process, on loopback only.

``python -m benchmarks.http_worker`` starts ``uvicorn app.main:create_app`` on a free
port, measures predict latency (client and server side), inspect latency and response
size per model, and throughput at 1, 8 and 32 concurrent clients, then prints one JSON
object. Every loop is bounded in count and time.
"""

from __future__ import annotations

import http.client
import io
import json
import statistics
import threading
import time
import uuid

import numpy as np
from PIL import Image

from benchmarks.common import free_port, proc_status, start_server, stop_server


def multipart(data: bytes, filename: str, ctype: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
        f"Content-Type: {ctype}\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def images() -> dict[str, tuple[bytes, str, str]]:
    rng = np.random.default_rng(0)
    out = {}
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255
    buf = io.BytesIO()
    Image.fromarray(digit).save(buf, "PNG")
    out["png-28x28"] = (buf.getvalue(), "d.png", "image/png")
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "PNG")
    out["png-32x32"] = (buf.getvalue(), "c.png", "image/png")
    # A 1 MP photo-like JPEG: smooth gradients + noise, 1152 x 864.
    yy, xx = np.mgrid[0:864, 0:1152]
    photo = np.stack([xx / 1152 * 255, yy / 864 * 255, (xx + yy) / 2016 * 255], -1)
    photo = np.clip(photo + rng.normal(0, 12, photo.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "JPEG", quality=90)
    out["jpeg-1mp"] = (buf.getvalue(), "photo.jpg", "image/jpeg")
    return out


class Client:
    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: bytes, ctype: str) -> tuple[int, bytes]:
        self.conn.request("POST", path, body=body, headers={"Content-Type": ctype})
        r = self.conn.getresponse()
        return r.status, r.read()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def latency(port: int, path: str, body: bytes, ctype: str, n: int = 60, budget_s: float = 8) -> dict:
    c = Client(port)
    for _ in range(3):
        c.post(path, body, ctype)
    client_ms, server_ms, size = [], [], 0
    start = time.perf_counter()
    while len(client_ms) < n and time.perf_counter() - start < budget_s:
        t0 = time.perf_counter()
        status, raw = c.post(path, body, ctype)
        client_ms.append((time.perf_counter() - t0) * 1e3)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}: {raw[:200]!r}")
        size = len(raw)
        payload = json.loads(raw)
        t = payload.get("timing_ms", {})
        if "total" in t:
            server_ms.append(t["total"])
    out = {"n": len(client_ms), "client_p50_ms": statistics.median(client_ms),
           "client_p95_ms": pct(client_ms, 0.95), "bytes": size}
    if server_ms:
        out["server_p50_ms"] = statistics.median(server_ms)
        out["server_p95_ms"] = pct(server_ms, 0.95)
    return out


def throughput(port: int, path: str, body: bytes, ctype: str, clients: int, seconds: float = 5) -> dict:
    counts: list[int] = [0] * clients
    statuses: dict[int, int] = {}
    lat: list[float] = []
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def worker(i: int) -> None:
        c = Client(port)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            try:
                status, _ = c.post(path, body, ctype)
            except OSError:
                status = -1
                c = Client(port)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                lat.append((time.perf_counter() - t0) * 1e3)
            counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"clients": clients, "requests": sum(counts), "rps": sum(counts) / elapsed,
            "p50_ms": statistics.median(lat), "p95_ms": pct(lat, 0.95),
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def train_updates(port: int, steps: int = 10, n: int = 60, budget_s: float = 8) -> dict:
    """The /train page's update loop: POST /api/train/step with the default network (tanh,
    4-2, circle, lr 0.03, batch 10) and ``steps`` steps per update, feeding back the
    returned weights, as the page does. Visual updates per second = 1000 / p50 ms."""
    c = Client(port)
    data = {"dataset": "circle", "noise": 0, "train_ratio": 50, "seed": 1, "features": ["x1", "x2"]}
    hyper = {"learning_rate": 0.03, "batch_size": 10, "regularization": "none", "reg_rate": 0}
    body = {"data": data, "network": {"hidden": [4, 2], "activation": "tanh"}, "hyper": hyper, "steps": 0}
    _, raw = c.post("/api/train/step", json.dumps(body).encode(), "application/json")
    r = json.loads(raw)
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < n and time.perf_counter() - start < budget_s:
        net = r["network"]
        body = {"data": data, "hyper": hyper, "steps": steps, "state": r["state"],
                "network": {"hidden": net["sizes"][1:-1], "activation": net["activation"],
                            "weights": net["weights"], "biases": net["biases"]}}
        t0 = time.perf_counter()
        status, raw = c.post("/api/train/step", json.dumps(body).encode(), "application/json")
        times.append((time.perf_counter() - t0) * 1e3)
        if status != 200:
            raise RuntimeError(f"/api/train/step answered {status}: {raw[:200]!r}")
        r = json.loads(raw)
    p50 = statistics.median(times)
    return {"steps_per_update": steps, "n": len(times), "client_p50_ms": p50,
            "client_p95_ms": pct(times, 0.95), "updates_per_s": 1000 / p50}


def main() -> None:
    port = free_port()
    proc = start_server(port, {})
    try:
        models = json.loads(_get(port, "/api/models"))["models"]
        imgs = images()
        result: dict = {"predict": {}, "inspect": {}, "throughput": []}
        for m in models:
            name = m["name"]
            kinds = ["png-28x28", "jpeg-1mp"] if m["input"]["channels"] == "L" else ["png-32x32", "jpeg-1mp"]
            for kind in kinds:
                data, fname, ctype = imgs[kind]
                body, ct = multipart(data, fname, ctype)
                result["predict"][f"{name}/{kind}"] = latency(
                    port, f"/api/models/{name}/predict?explain=false", body, ct)
            data, fname, ctype = imgs[kinds[0]]
            body, ct = multipart(data, fname, ctype)
            result["inspect"][name] = latency(port, f"/api/models/{name}/inspect", body, ct, n=25)
        if models:
            name = next((m["name"] for m in models if m["name"] == "lenet5"), models[0]["name"])
            kind = "png-28x28" if models[0]["input"]["channels"] == "L" else "png-32x32"
            data, fname, ctype = imgs[kind]
            body, ct = multipart(data, fname, ctype)
            for clients in (1, 8, 32):
                r = throughput(port, f"/api/models/{name}/predict?explain=false", body, ct, clients)
                r["model"] = name
                result["throughput"].append(r)
        result["train"] = [train_updates(port, steps) for steps in (1, 10)]
        result["server_peak_rss_mb"] = proc_status(proc.pid, "VmHWM")
    finally:
        stop_server(proc)
    print(json.dumps(result))


def _get(port: int, path: str) -> bytes:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path)
    return c.getresponse().read()


if __name__ == "__main__":
    main()
