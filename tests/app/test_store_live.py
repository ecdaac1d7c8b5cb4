"""Several processes, no sticky sessions (issue 14, part 3): real ``convlab serve``
processes that share uploaded models through the store.

- two servers sharing one redis-server: upload on one, predict, inspect, trace and
  delete on the other;
- ``--workers 2`` with the embedded SQLite store: an upload, then 20 predicts on fresh
  connections (so both workers answer), all 200.

Time and the servers' peak memory are asserted, as in the hostile suite.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.app.modelkit import tiny_cnn
from tests.app.storekit import redis_server
from tests.app.test_user_models import dense_model, png
from tests.serverkit import LiveServer

RED = png(colour=(255, 0, 0))
MAX_S = 2.0
MAX_ABOVE_IDLE_MB = 300


def send_model(url: str, data: bytes | None = None) -> httpx.Response:
    data = data or tiny_cnn(3, 32, classes=4, seed=5)
    files = {"file": ("net.onnx", data, "application/octet-stream")}
    return httpx.post(url + "/api/models", files=files, timeout=30)


def predict(url: str, handle: str) -> httpx.Response:
    with httpx.Client(timeout=30) as fresh:  # a new connection each time
        return fresh.post(f"{url}/api/models/{handle}/predict",
                          files={"file": ("r.png", RED, "image/png")})


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    with redis_server() as url:
        env = {"CONVLAB_STORE_URL": url, "CONVLAB_MODELS_DIR": str(tmp_path_factory.mktemp("m"))}
        with LiveServer(env=env) as a, LiveServer(env=env) as b:
            yield a, b


def test_upload_on_one_server_use_on_the_other(two_servers):
    a, b = two_servers
    r = send_model(a.url)
    assert r.status_code == 201, r.text
    handle = r.json()["name"]
    with b.measure() as m:
        p = predict(b.url, handle)
        i = httpx.post(f"{b.url}/api/models/{handle}/inspect",
                       files={"file": ("r.png", RED, "image/png")}, timeout=30)
        t = httpx.post(f"{b.url}/api/models/{handle}/trace", timeout=30, json={
            "layer": "conv1", "channel": 1, "row": 3, "col": 4, "run": i.json()["run"]})
    assert p.status_code == 200 and i.status_code == 200 and t.status_code == 200, t.text
    assert p.json()["label"] == i.json()["label"]
    assert t.json()["result"] == pytest.approx(t.json()["value"], abs=1e-5)
    assert m.seconds < 3 * MAX_S and m.above_idle_mb < MAX_ABOVE_IDLE_MB, m
    print(f"\nredis, second server: load + predict + inspect + trace {m.seconds:.2f} s, "
          f"peak {m.peak_mb:.0f} MB ({m.above_idle_mb:.0f} above idle)")
    assert httpx.get(f"{b.url}/api/models").json()["models"] == []
    assert httpx.delete(f"{b.url}/api/models/{handle}").status_code == 204
    gone = predict(a.url, handle)  # deleted on b: a's cached copy is not served
    assert gone.status_code == 404 and "may have expired" in gone.json()["detail"]


@pytest.mark.parametrize("model", ["tiny", "24 MB"])
def test_four_at_once_load_a_model_from_redis_once(two_servers, model):
    """Four predicts that all miss b's cache: one load (every upload check again, as the
    bytes come from Redis), the others wait for it; time and memory stay in budget."""
    a, b = two_servers
    data = dense_model(c=3, h=256, w=256, k=30) if model == "24 MB" else None
    r = send_model(a.url, data=data)
    assert r.status_code == 201, r.text
    handle = r.json()["name"]
    with b.measure() as m, ThreadPoolExecutor(4) as pool:
        codes = [r.status_code for r in pool.map(lambda _: predict(b.url, handle), range(4))]
    assert codes == [200] * 4
    assert m.seconds < MAX_S and m.above_idle_mb < MAX_ABOVE_IDLE_MB, m
    print(f"\nredis, 4 cold predicts at once, {model} model: {m.seconds:.2f} s, peak {m.peak_mb:.0f} MB "
          f"({m.above_idle_mb:.0f} above idle)")


def test_two_workers_share_the_embedded_store(tmp_path_factory):
    env = {"CONVLAB_RUNTIME_DIR": str(tmp_path_factory.mktemp("runtime")),
           "CONVLAB_MODELS_DIR": str(tmp_path_factory.mktemp("m"))}
    with LiveServer(env=env, workers=2) as s:
        r = send_model(s.url)
        assert r.status_code == 201, r.text
        handle = r.json()["name"]
        with s.measure() as m:
            codes = [predict(s.url, handle).status_code for _ in range(20)]
        assert codes == [200] * 20
        assert m.seconds < 20 * MAX_S and m.above_idle_mb < MAX_ABOVE_IDLE_MB, m
        print(f"\n--workers 2, SQLite: 20 predicts on fresh connections {m.seconds:.2f} s, "
              f"peak {m.peak_mb:.0f} MB for both workers ({m.above_idle_mb:.0f} above idle)")
        assert httpx.delete(f"{s.url}/api/models/{handle}").status_code == 204
        assert [predict(s.url, handle).status_code for _ in range(6)] == [404] * 6
