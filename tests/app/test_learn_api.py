"""/api/learn (issue 16): options and their bounds, runs, steps, views, reset bit for bit,
ONNX export matched in onnxruntime, code, quotas, expiry and concurrent steps.
Runs train on the shipped subsets (no data folder)."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.encode import decode_f16
from app.main import create_app
from app.services import learn_data
from app.services.learn import NS
from app.services.learn_limits import MIN_COUNTED
from course.learn import predict
from course.learn.train import normalise

SMALL = {"recipe": "convnetjs", "batch_size": 8, "log_every": 2, "eval_every": 3,
         "val_size": 50}


@pytest.fixture(scope="module", autouse=True)
def subsets_loaded():
    """The subsets loaded before the first request, as on a server past its start: a request
    during the first load gets 503 (tests/app/test_learn_data_loading.py), which a loaded
    machine could otherwise turn into a flaky test here."""
    for dataset in ("mnist", "cifar10"):
        learn_data.load(dataset, None)


def make_client(tmp_path, monkeypatch, **env: str) -> TestClient:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return TestClient(create_app(Settings(runtime_dir=tmp_path / "rt", data_dir=None,
                                          models_dir=tmp_path / "models")))


@pytest.fixture
def client(tmp_path, monkeypatch):
    with make_client(tmp_path, monkeypatch) as c:
        yield c


def new_run(client, **options) -> dict:
    r = client.post("/api/learn/runs", json={**SMALL, **options})
    assert r.status_code == 201, r.text
    return r.json()


def test_recipes_list_networks_data_and_bounded_options(client):
    body = client.get("/api/learn/recipes").json()
    recipes = {r["name"]: r for r in body["recipes"]}
    assert set(recipes) == {"keras-mlp", "convnetjs", "lenet5", "cifar-cnn"}
    assert recipes["keras-mlp"]["params"] == 784 * 512 + 512 + 512 * 10 + 10
    assert recipes["lenet5"]["summary"].startswith("conv 6@5x5 pad 2 -> relu -> max pool 2")
    data = {d["name"]: d for d in body["datasets"]}
    assert (data["mnist"]["train"], data["mnist"]["val"], data["mnist"]["source"]) == (
        10_000, 2_000, "subset")
    assert (data["cifar10"]["train"], data["cifar10"]["val"]) == (5_000, 1_000)
    assert "CC BY-SA 3.0" in data["mnist"]["licence"]
    lr = body["options"]["learning_rate"]
    assert (lr["min"], lr["max"], lr["default"]) == (1e-6, 1.0, 1e-3)
    assert body["limits"]["steps_per_call"] == 1000


@pytest.mark.parametrize(("options", "words"), [
    ({"learning_rate": 5.0}, ["learning_rate", "1"]),
    ({"learning_rate": 0}, ["learning_rate", "0.000001"]),
    ({"batch_size": 0}, ["batch_size", "1"]),
    ({"batch_size": 129}, ["batch_size", "128"]),
    ({"dropout": 0.9}, ["dropout", "0.8"]),
    ({"seed": -1}, ["seed", "0"]),
    ({"optimizer": "rmsprop"}, ["optimizer", "adam"]),
    ({"recipe": "resnet"}, ["recipe", "lenet5"]),
    ({"batchnorm": "yes"}, ["batchnorm"]),
    ({"batch_size": 8.5}, ["batch_size"]),
    ({"learning_rate": "0.1"}, ["learning_rate"]),
    ({"epochs": 3}, ["epochs"]),
    ({"recipe": "keras-mlp", "residual": True}, ["residual", "conv"]),
])
def test_bad_options_are_422_naming_the_option(client, options, words):
    r = client.post("/api/learn/runs", json={**SMALL, **options})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail


@pytest.mark.parametrize("body", [{"steps": 0}, {"steps": 1001}, {"steps": "3"},
                                  {"steps": 1, "since": -2}, {"steps": 1, "extra": 1}])
def test_step_requests_are_bounded(client, body):
    run = new_run(client)["run"]
    assert client.post(f"/api/learn/runs/{run}/steps", json=body).status_code == 422


def test_run_ids_are_private_and_unknown_ones_404(client):
    a, b = new_run(client)["run"], new_run(client)["run"]
    assert a != b and re.fullmatch(r"run-[A-Za-z0-9_-]{22}", a)
    for bad in ("run-" + "A" * 22, "../x", "run-" + "x" * 60):
        assert client.get(f"/api/learn/runs/{bad}").status_code in (404, 422)
        assert client.post(f"/api/learn/runs/{bad}/steps", json={"steps": 1}).status_code in (
            404, 422)


def test_create_step_view_and_curves(client):
    made = new_run(client)
    assert made["step"] == 0 and made["params"] == 5994 and made["n_train"] == 10_000
    assert made["config"]["optimizer"] == "sgd"  # the convnetjs recipe's own default
    assert made["preprocessing"]["mean"] == [0.1307]
    run = made["run"]
    r = client.post(f"/api/learn/runs/{run}/steps", json={"steps": 6, "view": True, "since": 0})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["step"] == out["steps_done"] >= 1 and out["images_per_second"] > 0
    assert 0 < out["loss"] < 10 and 0 <= out["train_accuracy"] <= 1
    view = out["view"]
    assert view["filters"]["tensor"]["shape"] == [8, 1, 5, 5]
    labels = [layer["label"] for layer in view["feature_maps"]["layers"]]
    assert labels[:3] == ["conv1", "relu", "max pool 2"]
    first = decode_f16(view["feature_maps"]["layers"][0]["tensor"])
    assert first.shape == (8, 28, 28) and np.isfinite(first).all()
    p = view["predictions"]
    assert p["ids"] == list(range(64)) and len(p["predicted"]) == 64
    matrix = np.array(view["confusion"]["matrix"])
    assert matrix.sum() == view["confusion"]["images"] == 500
    cells = view["confusion"]["cells"]
    assert all(len(cells[t][q]) == matrix[t, q] for t in range(10) for q in range(10))
    t, q = divmod(int(matrix.argmax()), 10)
    i = cells[t][q][0]
    img = client.get(f"/api/learn/datasets/mnist/images/{i}")
    assert img.status_code == 200 and img.headers["content-type"] == "image/png"
    assert int(img.headers["x-label"]) == t
    if out["step"] >= 2:
        assert out["curves"]["log_step"][0] == 2
    again = client.get(f"/api/learn/runs/{run}").json()
    assert again["step"] == out["step"] and again["curves"]["log_step"] == out["curves"]["log_step"]
    assert client.get(f"/api/learn/runs/{run}/view?image=1999").status_code == 200
    assert client.get(f"/api/learn/runs/{run}/view?image=2000").status_code == 422
    assert client.get("/api/learn/datasets/mnist/images/2000").status_code == 404
    assert client.get("/api/learn/datasets/imagenet/images/0").status_code == 422


def test_reset_gives_the_same_start_bit_for_bit(client):
    learn = client.app.state.learn
    run = new_run(client, recipe="lenet5", optimizer="adam", dropout=0.2, augment="shift")["run"]
    start = learn.state(run).to_bytes()
    first = client.post(f"/api/learn/runs/{run}/steps", json={"steps": 2}).json()
    assert learn.state(run).to_bytes() != start
    assert client.post(f"/api/learn/runs/{run}/reset").json()["step"] == 0
    assert learn.state(run).to_bytes() == start
    second = client.post(f"/api/learn/runs/{run}/steps", json={"steps": 2}).json()
    if second["steps_done"] == first["steps_done"]:  # the time budget may stop sooner
        assert second["loss"] == first["loss"]


def test_export_runs_in_onnxruntime_and_matches_the_engine(client):
    import onnxruntime as ort

    learn = client.app.state.learn
    run = new_run(client, recipe="lenet5", batchnorm=True)["run"]
    client.post(f"/api/learn/runs/{run}/steps", json={"steps": 3})
    r = client.get(f"/api/learn/runs/{run}/model.onnx")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert "attachment" in r.headers["content-disposition"]
    state, data = learn.state(run), learn.data("mnist")
    images = data.val_x[:32]
    session = ort.InferenceSession(r.content, providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": normalise(images, "mnist")})[0]
    np.testing.assert_allclose(got, predict(state, images), atol=1e-5)
    assert (got.argmax(1) == predict(state, images).argmax(1)).all()


def test_code_downloads(client):
    run = new_run(client)["run"]
    for framework, word in (("pytorch", "import torch"), ("keras", "keras")):
        r = client.get(f"/api/learn/runs/{run}/code?framework={framework}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
        assert "attachment" in r.headers["content-disposition"] and word in r.text
        compile(r.text, "generated.py", "exec")
    assert client.get(f"/api/learn/runs/{run}/code?framework=jax").status_code == 422


def test_delete_then_404(client):
    run = new_run(client)["run"]
    assert client.delete(f"/api/learn/runs/{run}").status_code == 204
    assert client.get(f"/api/learn/runs/{run}").status_code == 404
    assert client.delete(f"/api/learn/runs/{run}").status_code == 404


def test_runs_expire_after_their_idle_time(client):
    learn = client.app.state.learn
    run = new_run(client)["run"]
    learn.store.clock = lambda: time.time() + learn.limits.idle_s - 60
    assert client.get(f"/api/learn/runs/{run}").status_code == 200  # used: its hour restarts
    learn.store.clock = lambda: time.time() + 2 * learn.limits.idle_s - 120
    assert client.get(f"/api/learn/runs/{run}").status_code == 200
    learn.store.clock = lambda: time.time() + 3 * learn.limits.idle_s
    r = client.get(f"/api/learn/runs/{run}")
    assert r.status_code == 404 and "minutes" in r.json()["detail"]
    assert learn.store.usage(ns=NS) == (0, 0)


def test_runs_per_browser_and_per_address_are_capped(tmp_path, monkeypatch):
    with make_client(tmp_path, monkeypatch, CONVLAB_RUNS_PER_CLIENT="2",
                     CONVLAB_RUNS_ADDRESS_MB=str(3 * MIN_COUNTED // 2**20)) as c:
        new_run(c)
        new_run(c)
        r = c.post("/api/learn/runs", json=SMALL)
        assert r.status_code == 429 and "per browser" in r.json()["detail"]
        c.cookies.clear()  # a new browser on the same address: one more fits, then no
        new_run(c)
        c.cookies.clear()
        r = c.post("/api/learn/runs", json=SMALL)
        assert r.status_code == 429 and "network address" in r.json()["detail"]
        # models keep their own quota: the runs took none of it
        assert c.app.state.learn.store.usage(ns="model") == (0, 0)


def test_two_steps_of_one_run_at_once_one_gets_409(client):
    run = new_run(client, recipe="lenet5", batch_size=64)["run"]
    codes: list[int] = []

    def one() -> None:
        codes.append(client.post(f"/api/learn/runs/{run}/steps",
                                 json={"steps": 1000}).status_code)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]


def test_one_browser_steps_at_most_two_runs_at_once(client):
    """Three of one browser's runs stepped at once: two train, the third gets 429 with
    Retry-After (the heavy-work gate's four slots stay free for other students)."""
    runs = [new_run(client, recipe="lenet5", batch_size=64)["run"] for _ in range(3)]
    answers: list = []
    start = threading.Barrier(3)

    def one(run: str) -> None:
        start.wait()
        answers.append(client.post(f"/api/learn/runs/{run}/steps", json={"steps": 1000}))

    threads = [threading.Thread(target=one, args=(r,)) for r in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in answers) == [200, 200, 429]
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["Retry-After"] == "1"
    assert "2 step requests in progress" in refused.json()["detail"]
    limits = client.get("/api/learn/recipes").json()["limits"]
    assert limits["steps_in_flight_per_client"] == 2


def test_a_stale_write_is_refused_not_merged(client):
    """Another process stepped the run in between (its version moved on): 409."""
    from app.errors import ApiError

    learn = client.app.state.learn
    run = new_run(client)["run"]
    state, meta = learn._read(run)
    client.post(f"/api/learn/runs/{run}/steps", json={"steps": 1})
    with pytest.raises(ApiError) as err:
        learn._write(run, state, meta, owner=meta["owner"], address=meta["address"],
                     expect=meta["version"])
    assert err.value.status_code == 409
    assert learn.state(run).step >= 1


def test_max_steps_per_run(client):
    learn = client.app.state.learn
    run = new_run(client)["run"]
    object.__setattr__(learn, "limits", type(learn.limits)(max_steps=1))
    assert client.post(f"/api/learn/runs/{run}/steps", json={"steps": 5}).json()["step"] == 1
    r = client.post(f"/api/learn/runs/{run}/steps", json={"steps": 5})
    assert r.status_code == 409 and "most one run" in r.json()["detail"]


def test_a_run_counts_its_bytes_keras_mlp_with_adam(client):
    learn = client.app.state.learn
    run = new_run(client, recipe="keras-mlp", optimizer="adam")["run"]
    size = len(learn.state(run).to_bytes())
    assert 407_050 * 3 * 4 < size < learn.limits.run_bytes  # weights and two Adam moments
    assert learn.store.usage(ns=NS) == (size, 1)


def test_a_data_folder_means_the_full_training_sets(tmp_path, monkeypatch):
    from tests.datasets.kit import N_TRAIN, write_mnist

    write_mnist(tmp_path / "data" / "mnist", gz=True)
    app = create_app(Settings(runtime_dir=tmp_path / "rt", data_dir=tmp_path / "data",
                              models_dir=tmp_path / "models"))
    with TestClient(app) as c:
        data = {d["name"]: d for d in c.get("/api/learn/recipes").json()["datasets"]}
        assert (data["mnist"]["train"], data["mnist"]["val"], data["mnist"]["source"]) == (
            N_TRAIN - 5000, 5000, "full")
        assert data["cifar10"]["source"] == "subset"  # no CIFAR files there
        made = c.post("/api/learn/runs", json={**SMALL, "batch_size": 5})
        assert made.json()["n_train"] == N_TRAIN - 5000 and made.json()["data"] == "full"
