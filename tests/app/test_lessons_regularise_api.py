"""GET / POST /api/lessons/dropout and /api/lessons/batchnorm: the engine's numbers, the
train / inference difference, bounded inputs and clear 422s."""

from __future__ import annotations

import numpy as np
import pytest


def test_dropout_example_and_answer(client):
    ex = client.get("/api/lessons/dropout").json()
    assert ex["max_values"] == 16 and ex["max_ratio"] == 0.9 and ex["draws"] == 2000
    r = client.post("/api/lessons/dropout", json={"x": ex["x"], "ratio": 0.5, "seed": 1}).json()
    keep = np.array(r["keep"])
    assert r["training"] is True and r["scale"] == 2.0 and r["kept"] == keep.sum()
    np.testing.assert_allclose(r["y"], np.where(keep, 2 * np.array(ex["x"]), 0))
    np.testing.assert_allclose(r["dx"], np.where(keep, 2.0, 0))  # dout defaults to ones
    np.testing.assert_allclose(r["mean_over_masks"], ex["x"], atol=0.2)
    inf = client.post("/api/lessons/dropout", json={"x": ex["x"], "ratio": 0.5, "training": False}).json()
    assert inf["y"] == ex["x"] and all(inf["keep"])


def test_batchnorm_train_then_inference(client):
    ex = client.get("/api/lessons/batchnorm").json()
    body = {k: ex[k] for k in ("x", "gamma", "beta", "running_mean", "running_var", "dout")}
    t = client.post("/api/lessons/batchnorm", json=body).json()
    x = np.array(ex["x"])
    np.testing.assert_allclose(t["used_mean"], x.mean(0))
    np.testing.assert_allclose(t["running_mean"], 0.1 * x.mean(0))  # from 0, momentum 0.9
    assert t["momentum"] == 0.9 and len(t["dgamma"]) == len(t["dbeta"]) == 2
    i = client.post("/api/lessons/batchnorm", json={**body, "training": False}).json()
    assert i["used_mean"] == ex["running_mean"] and i["running_mean"] == ex["running_mean"]
    np.testing.assert_allclose(i["y"], x / np.sqrt(1 + 1e-5))  # running mean 0, variance 1


@pytest.mark.parametrize("path,body,where", [
    ("dropout", {"x": [1.0] * 17}, "x"),
    ("dropout", {"x": [1.0], "ratio": 0.95}, "ratio"),
    ("dropout", {"x": [1e9]}, "x"),
    ("dropout", {"x": [1.0, 2.0], "dout": [1.0]}, "length"),
    ("dropout", {"x": [1.0], "seed": -1}, "seed"),
    ("batchnorm", {"x": [[1.0]] * 9, "gamma": [1], "beta": [0], "running_mean": [0], "running_var": [1]}, "x"),
    ("batchnorm", {"x": [[1.0, 2.0]], "gamma": [1, 1], "beta": [0, 0], "running_mean": [0, 0],
                   "running_var": [1, 1]}, "at least 2 examples"),
    ("batchnorm", {"x": [[1.0, 2.0], [3.0]], "gamma": [1, 1], "beta": [0, 0], "running_mean": [0, 0],
                   "running_var": [1, 1]}, "same number"),
    ("batchnorm", {"x": [[1.0], [2.0]], "gamma": [1], "beta": [0], "running_mean": [0],
                   "running_var": [-1]}, "running_var"),
    ("batchnorm", {"x": [[1.0], [2.0]], "gamma": [1, 2], "beta": [0], "running_mean": [0],
                   "running_var": [1]}, "one value per channel"),
])
def test_bad_input_is_a_clear_422(client, path, body, where):
    r = client.post(f"/api/lessons/{path}", json=body)
    assert r.status_code == 422, r.text
    assert where in r.json()["detail"]
