"""The compose topology's pieces without containers (issue 14, part 3): real nginx
running deploy/nginx.conf, round robin in front of two ConvLab processes that share a
real redis-server (tests/cluster/conftest.py). ``make cluster-test`` runs this module
(``.ci/run`` does, after ``make test``); ``make test`` leaves it out (marker ``cluster``).

- nginx alternates between the two apps (no sticky sessions), read from its access log;
- a model uploaded through nginx is predicted, inspected, traced and deleted through
  nginx, whichever app answers: the apps share it through Redis;
- nginx's own refusals (a body over its limit: 413, a huge header: 400) speak the API's
  JSON; a body under nginx's limit but over the app's reaches the app, which refuses it;
- idle connections to nginx lock nobody out (uvicorn alone answers 503 past 200);
- the hostile suite's worst inputs through the proxy: a 4xx with a JSON detail (or a
  200), alone and 4 at once, with time and both apps' peak memory asserted.
"""

from __future__ import annotations

import contextlib
import functools
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.app.costly_inputs import (
    big_header_request,
    connect,
    exchange,
    jpeg_marker_flood,
    png16_grey,
    png_strip,
    split_response,
)
from tests.app.hostile_kit import png_bomb
from tests.app.modelkit import tiny_cnn
from tests.app.test_user_models import png
from tests.cluster.conftest import SHIPPED

pytestmark = pytest.mark.cluster

MAX_S = 2.0  # one request never holds a worker longer (issue 14)
MAX_ABOVE_IDLE_MB = 300  # nor pushes its server further above idle
MAX_PEAK_MB = 600  # peak RSS of one server, 4 hostile requests at once
PREDICT = f"/api/models/{SHIPPED}/predict"
RED = png(colour=(255, 0, 0))
MB = 1024 * 1024


def image(data: bytes, name: str = "x.png") -> dict:
    return {"file": (name, data, "application/octet-stream")}


def assert_detail(r: httpx.Response) -> str:
    """A refusal in the API's shape, {"detail": "<sentence>"}, that leaks no internals."""
    assert r.headers["content-type"].startswith("application/json"), r.text[:300]
    detail = r.json()["detail"]
    assert isinstance(detail, str) and detail.endswith("."), detail
    for leak in (".py", "Traceback", "<class", "nginx", "127.0.0.1"):
        assert leak not in detail, detail
    return detail


@contextlib.contextmanager
def measure(apps):
    """Both apps' ``LiveServer.measure()`` at once: the request may land on either."""
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(app.measure()) for app in apps]


def upstreams(apps) -> set[str]:
    return {f"127.0.0.1:{app.port}" for app in apps}


def test_nginx_round_robins_between_the_apps(cluster):
    proxy, apps = cluster
    since = len(proxy.log_lines())
    with httpx.Client(base_url=proxy.url, timeout=10) as client:  # one keep-alive connection
        for _ in range(12):
            assert client.get("/api/health").status_code == 200
    served = proxy.served_by(since, "/api/health", 12)
    assert len(served) == 12 and set(served) == upstreams(apps), served
    assert all(a != b for a, b in zip(served, served[1:], strict=False)), served


def test_a_model_uploaded_through_nginx_is_served_by_either_app(cluster):
    proxy, apps = cluster
    since = len(proxy.log_lines())
    with httpx.Client(base_url=proxy.url, timeout=30) as client:
        files = {"file": ("net.onnx", tiny_cnn(3, 32, classes=4, seed=7), "application/octet-stream")}
        r = client.post("/api/models", files=files)
        assert r.status_code == 201, r.text
        handle = r.json()["name"]
        for _ in range(2):
            p = client.post(f"/api/models/{handle}/predict", files=image(RED))
            assert p.status_code == 200, p.text
            assert len(p.json()["probabilities"]) == 4
        bodies = []
        for _ in range(2):
            i = client.post(f"/api/models/{handle}/inspect", files=image(RED))
            assert i.status_code == 200, i.text
            bodies.append(i.json())
        assert bodies[0]["layers"] == bodies[1]["layers"]  # the same model on both apps
        traces = []
        for body in bodies:  # each run traced twice: once on the app that ran it, once not
            for _ in range(2):
                t = client.post(f"/api/models/{handle}/trace", json={
                    "layer": "conv1", "channel": 1, "row": 3, "col": 4, "run": body["run"]})
                assert t.status_code == 200, t.text  # the other app reruns the shared input
                assert t.json()["kind"] == "conv"
                traces.append(t.json())
        assert all(t == traces[0] for t in traces)  # the same image: the same arithmetic
        assert client.delete(f"/api/models/{handle}").status_code == 204
        for _ in range(2):
            gone = client.post(f"/api/models/{handle}/predict", files=image(RED))
            assert gone.status_code == 404
            assert_detail(gone)
    for path in ("/predict", "/inspect", "/trace"):
        assert set(proxy.served_by(since, f"/api/models/{handle}{path}", 2)) == upstreams(apps), path


@pytest.mark.parametrize("path,megabytes,limit", [
    (PREDICT, 12, "11 MB"),  # an image upload: the app's limit is 10 MB
    ("/api/models", 28, "27 MB"),  # a model upload: 25 MB and a labels file
])
def test_nginx_refuses_a_body_over_its_limit_before_any_app_reads_it(cluster, path, megabytes, limit):
    proxy, apps = cluster
    since = len(proxy.log_lines())
    with measure(apps) as ms:
        r = httpx.post(proxy.url + path, files=image(bytes(megabytes * MB)), timeout=30)
    assert r.status_code == 413
    assert limit in assert_detail(r)
    assert proxy.served_by(since, path, 1) == ["-"]  # answered by nginx, no app involved
    assert all(m.above_idle_mb < 20 for m in ms), [m.above_idle_mb for m in ms]


def test_a_body_within_nginx_limit_but_over_the_apps_is_refused_by_the_app(cluster):
    proxy, apps = cluster
    since = len(proxy.log_lines())
    r = httpx.post(proxy.url + PREDICT, files=image(bytes(10 * MB + 200 * 1024)), timeout=30)
    assert r.status_code == 413
    assert_detail(r)
    assert set(proxy.served_by(since, PREDICT, 1)) <= upstreams(apps)


def test_a_100_kb_header_gets_nginx_400_in_the_api_shape(cluster):
    proxy, _ = cluster
    status, headers, body = split_response(exchange(proxy.port, big_header_request(100)))
    assert status == 400
    assert headers["content-type"].startswith("application/json")
    assert b'"detail"' in body


def test_idle_connections_to_nginx_lock_nobody_out(cluster):
    proxy, _ = cluster
    idle = [connect(proxy.port) for _ in range(250)]  # uvicorn alone refuses past 200
    try:
        for _ in range(4):
            with measure(cluster[1]) as ms:
                r = httpx.post(proxy.url + PREDICT, files=image(RED), timeout=10)
            assert r.status_code == 200, r.text
            assert ms[0].seconds < MAX_S
    finally:
        for s in idle:
            s.close()


# ----------------------------------------------------------------------- hostile inputs

@functools.cache
def hostile(case: str) -> tuple[str, dict]:
    """(path, httpx keyword arguments) of the hostile suite's worst inputs."""
    if case == "output-size":
        return "/api/output-size", {"json": {"input_size": 100000, "kernel_size": 100000,
                                             "dilation": 100, "padding": "same"}}
    data = {"png16-4096": png16_grey, "png-1x16M": png_strip, "png-bomb": png_bomb,
            "jpeg-comment-flood": jpeg_marker_flood}[case]()
    return PREDICT, {"files": image(data, "x.jpg" if case.startswith("jpeg") else "x.png")}


CASES = ["png16-4096", "png-1x16M", "png-bomb", "jpeg-comment-flood", "output-size"]


def send(proxy, case: str) -> httpx.Response:
    path, kwargs = hostile(case)
    return httpx.post(proxy.url + path, timeout=30, **kwargs)


def assert_bounded_answer(r: httpx.Response) -> None:
    assert r.status_code < 500 or r.status_code == 503, r.text[:300]
    if r.status_code >= 400:
        assert_detail(r)


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_through_the_proxy_alone(cluster, case):
    proxy, apps = cluster
    hostile(case)  # built before the clock starts
    with measure(apps) as ms:
        r = send(proxy, case)
    assert_bounded_answer(r)
    assert ms[0].seconds < MAX_S, f"{case}: {ms[0].seconds:.2f} s"
    assert max(m.above_idle_mb for m in ms) < MAX_ABOVE_IDLE_MB, [m.above_idle_mb for m in ms]


@pytest.mark.parametrize("case", CASES)
def test_hostile_input_through_the_proxy_4_at_once(cluster, case):
    proxy, apps = cluster
    hostile(case)
    with measure(apps) as ms, ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: send(proxy, case), range(4)))
    for r in answers:
        assert_bounded_answer(r)
    # Two requests per app (round robin), which run in parallel on two shared cores.
    assert ms[0].seconds < 2 * MAX_S, f"{case}: {ms[0].seconds:.2f} s"
    assert max(m.peak_mb for m in ms) < MAX_PEAK_MB, [m.peak_mb for m in ms]
    assert all(app.alive() for app in apps)
