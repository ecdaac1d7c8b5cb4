"""Where a model goes wrong and what its filters respond to (app/routers/explain_data.py),
checked against onnxruntime and the engine run again here on the images the API names."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from app.config import MODELS_DIR, Settings
from app.main import create_app
from app.services import learn_data
from app.services.preprocess import prepare
from datasets import split_slices
from datasets.subset import SUBSET_DIR
from engine.graph import load_graph, run


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(runtime_dir=tmp_path_factory.mktemp("rt"), data_dir=None)
    with TestClient(create_app(settings)) as c:
        yield c


def poll(client, url, params=None, timeout=600.0):
    """GET ``url`` until it is no longer 202 (the held-out pass runs once, in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(url, params=params)
        if r.status_code != 202:
            return r
        body = r.json()
        assert body["status"] == "computing" and 0 <= body["done"] <= body["total"]
        assert r.headers["retry-after"] == "1"
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


def png_pixels(client, url) -> np.ndarray:
    r = client.get(url)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    a = np.asarray(Image.open(io.BytesIO(r.content)))
    return a[None] if a.ndim == 2 else a.transpose(2, 0, 1)


def card_input(card, pixels: np.ndarray) -> np.ndarray:
    spec = card["input"]
    c = pixels.shape[1]
    mean = np.asarray(spec["mean"], np.float32).reshape(1, c, 1, 1)
    std = np.asarray(spec["std"], np.float32).reshape(1, c, 1, 1)
    return ((pixels.astype(np.float32) * spec["scale"] - mean) / std).astype(np.float32)


def session(name: str) -> ort.InferenceSession:
    return ort.InferenceSession(str(MODELS_DIR / f"{name}.onnx"), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", ["lenet5", "mnist-cnn"])
def test_confusion_cells_list_images_whose_prediction_is_that_pair(client, name):
    r = poll(client, f"/api/models/{name}/confusion")
    assert r.status_code == 200, r.text
    body = r.json()
    m = np.asarray(body["matrix"])
    val_y = learn_data.load("mnist", None).val_y
    assert m.sum() == body["images"] == len(val_y) == 2000
    np.testing.assert_array_equal(m.sum(axis=1), np.bincount(val_y, minlength=10))  # rows are true classes
    assert body["source"]["first_file_index"] == 58000 and body["source"]["last_file_index"] == 59999
    assert "58,000-59,999" in body["source"]["description"]
    card = client.get(f"/api/models/{name}").json()
    sess = session(name)
    off = [(t, p) for t in range(10) for p in range(10) if t != p and m[t, p]]
    assert off, "a model with no mistake at all on 2,000 digits: the test would check nothing"
    for t, p in off[:6] + [(7, 7)]:
        cell = client.get(f"/api/models/{name}/confusion/{t}/{p}", params={"limit": 60}).json()
        assert cell["count"] == m[t, p] and len(cell["images"]) == min(60, m[t, p])
        probs = [item["p_pred"] for item in cell["images"]]
        assert probs == sorted(probs, reverse=True)
        idx = [item["index"] for item in cell["images"]]
        pixels = np.concatenate([png_pixels(client, item["url"])[None] for item in cell["images"]])
        np.testing.assert_array_equal(pixels, learn_data.load("mnist", None).val_x[idx])
        out = sess.run(None, {"input": card_input(card, pixels)})[0]
        assert (out.argmax(axis=1) == p).all() and (val_y[idx] == t).all()
        np.testing.assert_allclose([item["p_pred"] for item in cell["images"]], out[:, p], atol=2e-6)
        np.testing.assert_allclose([item["p_true"] for item in cell["images"]], out[:, t], atol=2e-6)


def test_a_cell_pages_through_its_images(client):
    body = poll(client, "/api/models/lenet5/confusion").json()
    n = body["matrix"][1][1]
    first = client.get("/api/models/lenet5/confusion/1/1", params={"limit": 50}).json()
    second = client.get("/api/models/lenet5/confusion/1/1", params={"limit": 50, "offset": 50}).json()
    seen = [i["index"] for i in first["images"]] + [i["index"] for i in second["images"]]
    assert len(seen) == len(set(seen)) == min(100, n)
    last = client.get("/api/models/lenet5/confusion/1/1", params={"offset": n}).json()
    assert last["images"] == [] and last["count"] == n


def test_most_confident_mistakes_are_wrong_and_sorted(client):
    body = poll(client, "/api/models/mnist-cnn/mistakes", {"limit": 8}).json()
    conf = poll(client, "/api/models/mnist-cnn/confusion").json()
    assert body["wrong"] == conf["images"] - conf["correct"]
    items = body["mistakes"]
    assert len(items) == min(8, body["wrong"]) and all(i["true"] != i["pred"] for i in items)
    assert [i["p_pred"] for i in items] == sorted((i["p_pred"] for i in items), reverse=True)
    assert all(i["image"].startswith("data:image/png;base64,") for i in items)
    # "as_upload": the same PNG prepared as the classify page prepares an upload
    card = client.get("/api/models/mnist-cnn").json()
    sess = session("mnist-cnn")
    for i in items:
        im = Image.open(io.BytesIO(client.get(i["url"]).content))
        out = sess.run(None, {"input": prepare(im, card["input"]).tensor})[0][0]
        assert i["as_upload"]["pred"] == int(out.argmax())
        assert i["as_upload"]["p"] == pytest.approx(float(out.max()), abs=2e-6)


def test_the_cifar_subset_lies_inside_the_cards_held_out_split(client):
    card = client.get("/api/models/cifar10-net").json()
    with np.load(SUBSET_DIR / "cifar10.npz") as f:
        val_index = f["val_index"]
    held = split_slices(card["dataset"]["train_size"] + card["dataset"]["val_size"])[1]
    assert held.start <= val_index.min() and val_index.max() < held.stop
    assert card["metrics"]["images"] == held.stop - held.start


@pytest.mark.parametrize(("url", "params", "status", "needle"), [
    ("/api/models/lenet5/confusion/10/1", None, 404, "no true class 10"),
    ("/api/models/lenet5/confusion/1/12", None, 404, "no predicted class 12"),
    ("/api/models/lenet5/confusion/-1/1", None, 422, ""),
    ("/api/models/lenet5/confusion/1/1", {"limit": 0}, 422, ""),
    ("/api/models/lenet5/mistakes", {"limit": 1000}, 422, ""),
    ("/api/models/lenet5/heldout/2000.png", None, 404, "0-1999"),
    ("/api/models/lenet5/heldout/abc.png", None, 422, ""),
    ("/api/models/nope/confusion", None, 404, "no model"),
    ("/api/models/lenet5/filters/patches", {"layer": "nope", "channel": 0}, 404, "no feature-map layer"),
    ("/api/models/lenet5/filters/patches", {"layer": "/0/0.1/Relu", "channel": 6}, 404, "6 channels (0-5)"),
    ("/api/models/lenet5/filters/patches", {"layer": "/0/0.1/Relu", "channel": -1}, 422, ""),
    ("/api/models/lenet5/filters/patches", {"layer": "/0/0.1/Relu"}, 422, ""),
    ("/api/models/lenet5/filters/maximise", {"layer": "/0/0.1/Relu", "channel": 99}, 404, "no channel 99"),
    ("/api/models/mnist-mlp/filters", None, 422, "no layer with feature maps"),
])
def test_bad_requests_are_clear_4xx(client, url, params, status, needle):
    r = poll(client, url, params)
    assert r.status_code == status, r.text
    assert needle.lower() in r.json()["detail"].lower()


def test_top_patches_are_the_engines_maxima_with_their_fields(client):
    layers = client.get("/api/models/lenet5/filters").json()
    names = [x["name"] for x in layers["layers"]]
    assert layers["default"] in names
    assert names == ["/0/0.0/Conv", "/0/0.1/Relu", "/0/0.2/MaxPool", "/0/0.3/Conv", "/0/0.4/Relu", "/0/0.5/MaxPool"]
    layer = next(x for x in layers["layers"] if x["name"] == "/0/0.4/Relu")
    assert layer["shape"] == [16, 10, 10]
    r = poll(client, "/api/models/lenet5/filters/patches", {"layer": layer["name"], "channel": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    patches = body["patches"]
    assert len(patches) == 9 and body["images_scanned"] == 2000
    values = [p["value"] for p in patches]
    assert values == sorted(values, reverse=True) and len({p["index"] for p in patches}) == 9
    card = client.get("/api/models/lenet5").json()
    g = load_graph((MODELS_DIR / "lenet5.onnx").read_bytes())
    pixels = np.concatenate([png_pixels(client, p["url"])[None] for p in patches])
    acts = run(g, card_input(card, pixels))[layer["tensor"]][:, 5]
    for a, p in zip(acts, patches, strict=True):
        assert a.max() == pytest.approx(p["value"], rel=1e-5)
        assert a[p["row"], p["col"]] == a.max()
        # conv 5x5 (padding 2), pool 2, conv 5x5: 14 x 14 pixels, clipped to the image
        f = p["field"]
        assert f["size"] == [14, 14] and not f["whole"]
        assert f["rows"] == [max(0, 2 * p["row"] - 2), min(27, 2 * p["row"] + 11)]
        assert f["cols"] == [max(0, 2 * p["col"] - 2), min(27, 2 * p["col"] + 11)]
    # every other held-out image has a smaller maximum than the ninth
    data = learn_data.load("mnist", None).val_x
    rest = np.setdiff1d(np.arange(2000), [p["index"] for p in patches])
    others = run(g, card_input(card, data[rest]))[layer["tensor"]][:, 5].max(axis=(1, 2))
    assert others.max() <= values[-1]


def test_maximisation_raises_the_channels_mean_in_the_returned_image(client):
    params = {"layer": "/0/0.3/Relu", "channel": 7}
    body = client.get("/api/models/mnist-cnn/filters/maximise", params=params).json()
    assert body["objective"]["end"] > body["objective"]["start"] + 0.2
    assert body["size"] == [28, 28] and body["steps"] >= 1
    png = Image.open(io.BytesIO(__import__("base64").b64decode(body["image"].split(",")[1])))
    assert png.size == (28, 28) and png.mode == "L"
    card = client.get("/api/models/mnist-cnn").json()
    g = load_graph((MODELS_DIR / "mnist-cnn.onnx").read_bytes())
    mean = run(g, card_input(card, np.asarray(png)[None, None]))["/0/0.3/Relu_output_0"][0, 7].mean()
    assert mean == pytest.approx(body["objective"]["end"], abs=0.05)  # after rounding to pixels
    again = client.get("/api/models/mnist-cnn/filters/maximise", params=params).json()
    assert again["image"] == body["image"]


def upload(client, data: bytes) -> str:
    r = client.post("/api/models", files={"file": ("mine.onnx", data, "application/octet-stream")},
                    data={"mean": "0.5", "std": "0.5"})
    assert r.status_code == 201, r.text
    return r.json()["name"]


def test_an_uploaded_model_is_judged_on_the_matching_held_out_images(client):
    from tests.app.modelkit import tiny_cnn

    data = tiny_cnn(channels=1, size=28, seed=3)
    name = upload(client, data)
    body = poll(client, f"/api/models/{name}/confusion").json()
    assert body["images"] == 2000 and np.asarray(body["matrix"]).sum() == 2000
    sess = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    m = np.asarray(body["matrix"])
    t, p = np.unravel_index(np.argmax(m - np.diag(np.diag(m))), m.shape)
    cell = client.get(f"/api/models/{name}/confusion/{t}/{p}").json()
    pixels = np.concatenate([png_pixels(client, i["url"])[None] for i in cell["images"]])
    x = ((pixels.astype(np.float32) / 255 - 0.5) / 0.5).astype(np.float32)
    assert (sess.run(None, {"input": x})[0].argmax(axis=1) == p).all()
    patches = poll(client, f"/api/models/{name}/filters/patches", {"layer": "relu1", "channel": 2}).json()
    assert len(patches["patches"]) == 9 and patches["patches"][0]["field"]["size"] == [3, 3]
    other = upload(client, tiny_cnn(channels=3, size=20, seed=1))
    r = poll(client, f"/api/models/{other}/confusion")
    assert r.status_code == 422 and "1 x 28 x 28 (MNIST digits) or 3 x 32 x 32 (CIFAR-10)" in r.json()["detail"]
    assert poll(client, f"/api/models/{other}/heldout/0.png").status_code == 422
    panels = client.get(f"/api/models/{other}/heldout").json()
    assert panels["confusion"] == {"available": False, "reason": r.json()["detail"]}
    assert panels["filters"]["available"] is False and "3 x 32 x 32" in panels["filters"]["reason"]
    ok = client.get(f"/api/models/{name}/heldout").json()
    assert ok["confusion"]["available"] and ok["filters"]["available"]
    mlp = client.get("/api/models/mnist-mlp/heldout").json()
    assert mlp["confusion"]["available"] and "no layer with feature maps" in mlp["filters"]["reason"]


@pytest.mark.skipif(not os.environ.get("CONVLAB_DATA_DIR"), reason="needs the full MNIST training file")
@pytest.mark.parametrize("name", ["lenet5", "mnist-cnn", "mnist-mlp"])
def test_with_the_full_data_the_matrix_is_the_cards(tmp_path, name):
    settings = Settings(runtime_dir=tmp_path / "rt", data_dir=Path(os.environ["CONVLAB_DATA_DIR"]))
    with TestClient(create_app(settings)) as c:
        body = poll(c, f"/api/models/{name}/confusion").json()
        card = c.get(f"/api/models/{name}").json()
    assert body["images"] == 5000 and body["source"]["first_file_index"] == 55000
    assert body["matrix"] == card["metrics"]["confusion_matrix"] and body["equals_card_matrix"] is True
