"""A data set's first load (the full CIFAR-10 decodes 50,000 JPEGs, seconds) never holds a
request: it runs in a loader thread, and a request that would wait longer than
``DATA_WAIT_S`` gets 503 + Retry-After with a sentence, then succeeds once it is loaded."""

from __future__ import annotations

import threading
import time

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from app.services import learn_data
from app.services.learn import DATA_WAIT_S

SMALL = {"recipe": "convnetjs", "batch_size": 8, "val_size": 50}


@pytest.fixture
def gated(monkeypatch):
    """learn_data's loads go through a gate the test opens; the cache starts empty."""
    gate = threading.Event()
    calls: list[str] = []
    real = learn_data._load

    def slow(dataset, data_dir):
        calls.append(dataset)
        if not gate.wait(30):
            raise RuntimeError("the test never opened the gate")
        return real(dataset, data_dir)

    monkeypatch.setattr(learn_data, "_loads", {})
    monkeypatch.setattr(learn_data, "_load", slow)
    yield gate, calls
    gate.set()


@pytest.fixture
def client(tmp_path):
    app = create_app(Settings(runtime_dir=tmp_path / "rt", data_dir=None,
                              models_dir=tmp_path / "models"))
    with TestClient(app) as c:
        yield c


def test_a_request_during_the_first_load_gets_503_fast_then_the_run(gated, client):
    gate, calls = gated
    t0 = time.perf_counter()
    r = client.post("/api/learn/runs", json=SMALL)
    took = time.perf_counter() - t0
    assert r.status_code == 503, r.text
    assert took < DATA_WAIT_S + 1.5, took
    assert r.headers["Retry-After"] == "3"
    assert "still loading its MNIST digits images" in r.json()["detail"]
    # The held-out images route says the same, and the load was started only once.
    assert client.get("/api/learn/datasets/mnist/images/0").status_code == 503
    assert calls == ["mnist"]
    gate.set()
    deadline = time.monotonic() + 20
    while (r := client.post("/api/learn/runs", json=SMALL)).status_code == 503:
        assert time.monotonic() < deadline, "the load never finished"
        time.sleep(0.05)
    assert r.status_code == 201, r.text
    assert calls == ["mnist"]  # loaded once, kept
    assert client.get("/api/learn/datasets/mnist/images/0").status_code == 200


def test_a_failed_load_is_tried_again(monkeypatch):
    tries: list[int] = []
    real = learn_data._load

    def flaky(dataset, data_dir):
        tries.append(1)
        if len(tries) == 1:
            raise OSError("disk went away")
        return real(dataset, data_dir)

    monkeypatch.setattr(learn_data, "_loads", {})
    monkeypatch.setattr(learn_data, "_load", flaky)
    with pytest.raises(OSError):
        learn_data.load("mnist", None)
    data = learn_data.load("mnist", None)
    assert len(tries) == 2 and len(data.train_y) > 0


def test_the_kept_loads_are_bounded(monkeypatch, tmp_path):
    monkeypatch.setattr(learn_data, "_loads", {})
    monkeypatch.setattr(learn_data, "_load", lambda dataset, data_dir: (dataset, data_dir))
    for i in range(learn_data.MAX_KEPT + 3):
        learn_data.load("mnist", tmp_path / str(i))
    assert len(learn_data._loads) == learn_data.MAX_KEPT
