"""Uploaded models and model runs have a bounded cost (issue 14, section 1).

Each case runs against a real ``convlab serve`` (tests/serverkit.py) and asserts the
status, the sentence, the wall time and the server's peak memory, alone and four at
once (the heavy gate's four slots full). The models are built in
tests/app/costly_models.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest
from PIL import Image

from app.services.usermodels import MAX_VALUES
from tests.app import costly_models as C
from tests.app.hostile_kit import encode
from tests.serverkit import LiveServer

MAX_S = 2.0  # no request holds a worker longer
MAX_ABOVE_IDLE_MB = 300  # one request alone
MAX_TOTAL_MB = 600  # the whole server, four requests at once
BLACK = encode(Image.new("L", (28, 28)))
BLACK_256 = encode(Image.new("L", (256, 256)))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {"CONVLAB_RUNTIME_DIR": str(tmp_path_factory.mktemp("runtime")),
           "CONVLAB_CLIENT_MODELS": "32"}
    with LiveServer(env=env) as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def upload(client: httpx.Client, data: bytes) -> httpx.Response:
    return client.post("/api/models", files={"file": ("m.onnx", data, "application/octet-stream")})


def uploaded(client: httpx.Client, data: bytes) -> str:
    r = upload(client, data)
    assert r.status_code == 201, r.text[:500]
    return r.json()["name"]


def send(client, name: str, route: str = "inspect", image: bytes = BLACK) -> httpx.Response:
    return client.post(f"/api/models/{name}/{route}", files={"file": ("x.png", image, "image/png")})


def refused(r: httpx.Response, status: int, needle: str) -> None:
    assert r.status_code == status, r.text[:500]
    detail = r.json()["detail"]
    assert needle in detail and "Error" not in detail and ".py" not in detail, detail


def alone_and_four(server: LiveServer, request, check) -> None:
    """``request()`` alone (time, memory above idle), then four at once (peak in all)."""
    with server.measure() as m:
        check(request())
    print(f"alone: {m.seconds:.2f} s, {m.above_idle_mb:.0f} MB above idle {m.idle_mb:.0f} MB")
    assert m.seconds < MAX_S, m
    assert m.above_idle_mb < MAX_ABOVE_IDLE_MB, m
    with server.measure() as m, ThreadPoolExecutor(4) as pool:
        for r in list(pool.map(lambda _: request(), range(4))):
            check(r)
    print(f"4 at once: {m.seconds:.2f} s, peak {m.peak_mb:.0f} MB")
    assert m.peak_mb < MAX_TOTAL_MB, m
    assert m.seconds < 4 * MAX_S, m
    assert server.alive()


def test_first_inspect_of_a_shipped_model_is_warm(server, client):
    """Run first in this module: the server has just started."""
    times = []
    image = encode(Image.new("RGB", (32, 32), (200, 40, 40)))
    for _ in range(4):
        t0 = time.perf_counter()
        r = client.post("/api/models/cifar10-net/inspect", files={"file": ("x.png", image, "image/png")})
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.text[:300]
    later = float(np.median(times[1:]))
    print(f"first inspect {times[0] * 1e3:.0f} ms, then {later * 1e3:.0f} ms")
    assert times[0] - later < 0.35, times  # was ~680 ms against ~40 ms


@pytest.mark.parametrize("build,needle", [
    (C.huge_attribute, "attribute holds more than 65,536 values"),  # was 1.5 GB
    (C.unused_int64_initializer, "weights would take more than 67.1 MB"),  # was 2 GB, accepted
    (C.computed_pads, "138 million values per image"),  # was accepted, then 1.6 GB per /inspect
], ids=["packed-ints-attribute", "unused-int64-initializer", "computed-pad-widths"])
def test_costly_uploads_are_refused_before_decoding(server, client, build, needle):
    data = build()
    alone_and_four(server, lambda: upload(client, data), lambda r: refused(r, 422, needle))


def test_unused_weights_refused_and_held_bytes_counted():
    from app.errors import ApiError
    from app.services.usermodels import build_user_model
    from tests.app.modelkit import tiny_cnn

    def build(data):
        return build_user_model(data, name="u", filename="m.onnx", labels=None, mean=None,
                                std=None, preprocess=None)

    model = build(tiny_cnn())
    weights = 4 * (4 * 9 + 4 + 10 * 4 * 13 * 13 + 10)
    assert len(model.onnx_bytes) + 2 * weights <= model.held_bytes < len(model.onnx_bytes) + 3 * weights
    with pytest.raises(ApiError, match="no node uses"):
        build(C.unused_int64_initializer(1000))


def test_four_inspects_of_the_largest_model_fit_the_budget(server, client):
    name = uploaded(client, C.many_values(MAX_VALUES))
    before = server.rss_mb()
    alone_and_four(server, lambda: send(client, name, image=BLACK_256),
                   lambda r: (r.status_code == 200) or pytest.fail(r.text[:300]))
    # Freed arrays go back to the system (app/memory.py): with glibc's defaults the
    # server stayed about 300 MB above where it started, and later cases started there.
    kept = server.rss_mb() - before
    print(f"kept after the heavy case: {kept:.0f} MB")
    assert kept < 120, f"the server kept {kept:.0f} MB after four inspects"


def test_denormals_are_flushed_in_both_runtimes(server, client):
    from app.services.model import make_session
    from engine.graph import load_graph, run

    data = C.denormal_matmuls()
    x = np.zeros((1, 1, 256, 256), np.float32)
    tiny = np.finfo(np.float32).tiny
    def denormal(out: np.ndarray) -> bool:
        return bool(np.any((out != 0) & (np.abs(out) < tiny)))

    assert not any(denormal(out) for out in run(load_graph(data), x).values())  # every layer
    session = make_session(data, 1)
    assert session.get_session_options().get_session_config_entry(
        "session.set_denormal_as_zero") == "1"
    assert not denormal(session.run(None, {"input": x})[0])
    name = uploaded(client, data)
    for route in ("predict", "inspect"):  # the issue: 5 s and 7 s on a black image
        alone_and_four(server, lambda route=route: send(client, name, route, BLACK_256),
                       lambda r: (r.status_code == 200) or pytest.fail(r.text[:300]))


def test_trace_through_600_relus(server, client):
    name = uploaded(client, C.relu_chain(600))
    run = send(client, name).json()["run"]
    body = {"layer": "relu599", "channel": 0, "row": 3, "col": 5, "run": run}

    def check(r):
        assert r.status_code == 200, r.text[:300]  # was 500 (RecursionError)
        assert r.json()["field"] == {"whole": False, "rows": [3, 3], "cols": [5, 5], "size": [1, 1]}

    alone_and_four(server, lambda: client.post(f"/api/models/{name}/trace", json=body), check)


@pytest.mark.parametrize("height,width", [(1, 256), (256, 1)])
def test_strip_shaped_inputs_run(server, client, height, width):
    name = uploaded(client, C.strip(height, width))
    for route in ("predict", "inspect"):  # was 500: "cannot write empty image"
        alone_and_four(server, lambda route=route: send(client, name, route),
                       lambda r: (r.status_code == 200) or pytest.fail(r.text[:300]))


def test_skip_detection_is_linear(server, client):
    name = uploaded(client, C.add_chain(1995))

    def check(r):
        assert r.status_code == 200, r.text[:300]
        assert r.json()["timing_ms"]["encode"] < 1000  # was 1.6 s in layers_json alone
        skips = [layer for layer in r.json()["layers"] if "skip" in layer]
        assert len(skips) == 1994 and skips[-1]["skip"] == {"shortcut": "input", "main": "add1993"}

    alone_and_four(server, lambda: send(client, name), check)


def test_nan_scores_are_refused_naming_the_model(server, client):
    name = uploaded(client, C.nan_on_black())
    for route in ("predict", "inspect"):  # was 200 with label "class 0"
        alone_and_four(server, lambda route=route: send(client, name, route),
                       lambda r: refused(r, 422, f"{name} produced class scores that are not finite"))
