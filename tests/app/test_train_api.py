"""The training routes: data, step (stateless round trip), backprop, compare; good and bad input."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from app.encode import decode_f16


def step(client, **body):
    r = client.post("/api/train/step", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def carry(prev: dict, **body) -> dict:
    """The next request: the previous response's weights, biases and state sent back."""
    net = copy.deepcopy(prev["network"])
    return {
        **body,
        "network": {"hidden": net["sizes"][1:-1], "activation": net["activation"],
                    "weights": net["weights"], "biases": net["biases"]},
        "state": dict(prev["state"]),
    }


def test_data_points_and_split(client):
    r = client.post("/api/train/data", json={"dataset": "xor", "train_ratio": 30, "seed": 5})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["extent"] == 6
    assert len(d["train"]["x1"]) == len(d["train"]["label"]) == 150
    assert len(d["test"]["x2"]) == 350
    xs = np.array(d["train"]["x1"] + d["test"]["x1"] + d["train"]["x2"])
    assert np.abs(xs).max() <= 6
    assert set(d["train"]["label"]) == {0, 1}
    assert client.post("/api/train/data", json={"dataset": "xor", "train_ratio": 30, "seed": 5}).json() == d
    other = client.post("/api/train/data", json={"dataset": "xor", "train_ratio": 30, "seed": 6}).json()
    assert other["train"]["x1"] != d["train"]["x1"]


def test_step_zero_initialises_from_the_seed(client):
    a = step(client, steps=0)
    b = step(client, steps=0)
    assert a == b
    assert a["network"]["sizes"] == [2, 4, 2, 1]
    assert a["network"]["activation"] == "tanh"
    assert [np.array(w).shape for w in a["network"]["weights"]] == [(4, 2), (2, 4), (1, 2)]
    assert a["history"]["step"] == [] and a["last_update"] is None
    assert a["state"] == {"epoch": 0, "cursor": 0, "step": 0}
    surface = decode_f16(a["surface"])
    nodes = decode_f16(a["nodes"])
    assert surface.shape == (40, 40) and 0 <= surface.min() <= surface.max() <= 1
    assert nodes.shape == (2 + 4 + 2 + 1, 20, 20)
    assert np.abs(nodes[2:8]).max() <= 1  # tanh neurons
    assert 0 <= a["test_accuracy"] <= 1 and a["train_loss"] > 0
    c = step(client, steps=0, data={"seed": 2})
    assert c["network"]["weights"] != a["network"]["weights"]


def test_steps_round_trip_equals_one_long_call(client):
    start = step(client, steps=0, data={"dataset": "circle", "seed": 3})
    one = step(client, **carry(start, steps=20, data={"dataset": "circle", "seed": 3}))
    half = step(client, **carry(start, steps=10, data={"dataset": "circle", "seed": 3}))
    two = step(client, **carry(half, steps=10, data={"dataset": "circle", "seed": 3}))
    assert two["network"]["weights"] == one["network"]["weights"]
    assert two["network"]["biases"] == one["network"]["biases"]
    assert two["state"] == one["state"] == {"epoch": 0, "cursor": 200, "step": 20}
    assert half["history"]["step"] == list(range(1, 11))
    assert two["history"]["train_loss"] == one["history"]["train_loss"][10:]
    assert one["train_loss"] == one["history"]["train_loss"][-1]
    assert decode_f16(one["surface"]).tolist() != decode_f16(start["surface"]).tolist()


def test_last_update_is_w_minus_lr_times_gradient(client):
    start = step(client, steps=0)
    body = carry(start, steps=3, hyper={"learning_rate": 0.3, "batch_size": 5,
                                        "regularization": "l2", "reg_rate": 0.01})
    r = step(client, **body)
    last = r["last_update"]
    assert last["learning_rate"] == 0.3 and last["regularization"] == "l2"
    for before, grad, after in zip(last["weights_before"], last["grad_weights"], r["network"]["weights"],
                                   strict=True):
        np.testing.assert_allclose(np.array(before) - 0.3 * np.array(grad), after, rtol=1e-12, atol=1e-15)
    for before, grad, after in zip(last["biases_before"], last["grad_biases"], r["network"]["biases"],
                                   strict=True):
        np.testing.assert_allclose(np.array(before) - 0.3 * np.array(grad), after, rtol=1e-12, atol=1e-15)
    assert r["state"]["step"] == 3 and r["state"]["cursor"] == 15


def test_features_network_shape_and_activation(client):
    r = step(client, steps=2, data={"features": ["x1", "x2", "x1^2", "sin(x2)"]},
             network={"hidden": [3, 3, 3], "activation": "relu"})
    assert r["network"]["sizes"] == [4, 3, 3, 3, 1]
    assert decode_f16(r["nodes"]).shape == (4 + 9 + 1, 20, 20)
    none = step(client, steps=1, network={"hidden": [], "activation": "linear"})
    assert none["network"]["sizes"] == [2, 1]


def test_divergence_is_reported_not_an_error(client):
    r = step(client, steps=50, network={"hidden": [8, 8], "activation": "linear"},
             hyper={"learning_rate": 10, "batch_size": 1})
    assert r["diverged"] is True
    assert r["state"]["step"] < 50
    assert all(np.isfinite(np.array(w)).all() for w in r["network"]["weights"])


BAD_STEPS = [
    ({"steps": 51}, "steps"),
    ({"steps": -1}, "steps"),
    ({"steps": "3"}, "steps"),
    ({"steps": 1.5}, "steps"),
    ({"steps": True}, "steps"),
    ({"hyper": {"learning_rate": 0}}, "learning_rate"),
    ({"hyper": {"learning_rate": 11}}, "learning_rate"),
    ({"hyper": {"batch_size": 0}}, "batch_size"),
    ({"hyper": {"batch_size": 101}}, "batch_size"),
    ({"hyper": {"regularization": "l3"}}, "regularization"),
    ({"hyper": {"reg_rate": -1}}, "reg_rate"),
    ({"network": {"hidden": [9]}}, "hidden"),
    ({"network": {"hidden": [0]}}, "hidden"),
    ({"network": {"hidden": [2] * 7}}, "hidden"),
    ({"network": {"activation": "gelu"}}, "activation"),
    ({"data": {"dataset": "moons"}}, "dataset"),
    ({"data": {"noise": 51}}, "noise"),
    ({"data": {"train_ratio": 5}}, "train_ratio"),
    ({"data": {"train_ratio": 95}}, "train_ratio"),
    ({"data": {"seed": -1}}, "seed"),
    ({"data": {"features": []}}, "features"),
    ({"data": {"features": ["x1", "x1"]}}, "once"),
    ({"data": {"features": ["x3"]}}, "features"),
    ({"state": {"cursor": 501}}, "cursor"),
    ({"state": {"epoch": -1}}, "epoch"),
    ({"turbo": True}, "turbo"),
    ({"network": {"weights": [[[1e7, 0]]], "biases": [[0]]}}, "weights"),
]


@pytest.mark.parametrize("body,where", BAD_STEPS)
def test_step_rejects_bad_input(client, body, where):
    r = client.post("/api/train/step", json=body)
    assert r.status_code == 422, r.text
    assert where in r.json()["detail"]


def test_step_rejects_mismatched_weights(client):
    start = step(client, steps=0)
    body = carry(start, steps=1)
    body["network"]["weights"][1] = [[0.1, 0.2, 0.3]] * 2  # layer 2 needs 2 rows of 4
    r = client.post("/api/train/step", json=body)
    assert r.status_code == 422
    assert "layer 2 connects 4 inputs to 2 neurons" in r.json()["detail"]
    body = carry(start, steps=1)
    body["network"]["biases"] = None
    r = client.post("/api/train/step", json=body)
    assert r.status_code == 422 and "both weights and biases" in r.json()["detail"]
    body = carry(start, steps=1)
    body["network"]["hidden"] = [4]
    r = client.post("/api/train/step", json=body)
    assert r.status_code == 422 and "layer sizes [2, 4, 1]" in r.json()["detail"]
    body = carry(start, steps=1)
    body["state"]["cursor"] = 250  # 250 training points: cursors 0..249
    r = client.post("/api/train/step", json=body)
    assert r.status_code == 422 and "cursor" in r.json()["detail"]


def test_step_rejects_nan_and_infinity(client):
    for token in ("NaN", "Infinity", "-Infinity"):
        raw = '{"steps": 1, "hyper": {"learning_rate": TOKEN}}'.replace("TOKEN", token)
        r = client.post("/api/train/step", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422, token
        raw = '{"network": {"hidden": [], "weights": [[[TOKEN, 0.1]]], "biases": [[0]]}}'.replace(
            "TOKEN", token)
        r = client.post("/api/train/step", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 422, token


def test_backprop_default_is_mazurs_example(client):
    r = client.post("/api/train/backprop", json={})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["nodes"]["y"] == pytest.approx(0.75136507)
    assert d["loss"] == pytest.approx(0.274811083)
    lines = {line["param"]: line for line in d["lines"]}
    assert list(lines) == ["w5", "w6", "b3", "w1", "w2", "b1", "w3", "w4", "b2"]
    w5 = lines["w5"]
    assert [f["label"] for f in w5["factors"]] == ["dL/dy = y - t", "dy/dz3 = y(1 - y)", "dz3/dw5 = h1"]
    assert w5["gradient"] == pytest.approx(0.082167041)
    assert w5["before"] == 0.4 and w5["after"] == pytest.approx(0.35891648)
    assert d["new_loss"] < d["loss"]
    # Stepping again from the updated weights lowers the loss again.
    again = client.post("/api/train/backprop", json={"params": d["updated"]}).json()
    assert again["loss"] == pytest.approx(d["new_loss"])
    assert again["new_loss"] < again["loss"]


@pytest.mark.parametrize(
    "body,where",
    [
        ({"x1": 101}, "x1"),
        ({"target": 1.5}, "target"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"params": {"w1": 1000}}, "w1"),
        ({"params": {"w7": 1}}, "w7"),
        ({"params": {"w1": "0.1"}}, "w1"),
        ({"extra": 1}, "extra"),
    ],
)
def test_backprop_rejects_bad_input(client, body, where):
    r = client.post("/api/train/backprop", json=body)
    assert r.status_code == 422, r.text
    assert where in r.json()["detail"]


def test_compare_activations_and_depth(client):
    r = client.post("/api/train/compare", json={"kind": "activation", "steps": 60})
    assert r.status_code == 200, r.text
    d = r.json()
    assert [run["label"] for run in d["runs"]] == ["sigmoid", "tanh", "relu"]
    assert d["settings"]["hidden"] == [8] * 6 and d["settings"]["steps"] == 60
    for run in d["runs"]:
        assert run["loss_steps"][0] == 0 and run["loss_steps"][-1] == 60
        assert len(run["losses"]) == len(run["loss_steps"])
        assert len(run["grad_means"]) == 7
        assert decode_f16(run["surface"]).shape == (20, 20)
    sig, relu = d["runs"][0], d["runs"][2]
    assert sig["grad_means"][0] < relu["grad_means"][0] / 100
    assert client.post("/api/train/compare", json={"kind": "activation", "steps": 60}).json() == d
    r = client.post("/api/train/compare", json={"kind": "depth", "steps": 40})
    assert r.status_code == 200, r.text
    d = r.json()
    labels = [run["label"] for run in d["runs"]]
    assert labels == ["plain, 4 layers", "plain, 20 layers", "residual, 20 layers"]
    assert [len(run["grad_means"]) for run in d["runs"]] == [4, 20, 20]
    assert d["settings"]["batchnorm"] is True and d["settings"]["init"].startswith("He")
    assert d["without_batchnorm"]["init"].startswith("normal, std 1/sqrt(fan_in)")
    assert len(d["without_batchnorm"]["grad_means"]) == 20


def test_compare_depth_shows_degradation_not_vanishing_gradients(client):
    """The page's default settings: the plain 20-layer network with BatchNorm keeps its
    gradients yet trains worse than the 4-layer one; without BatchNorm they vanish."""
    d = client.post("/api/train/compare", json={"kind": "depth"}).json()
    shallow, plain, residual = d["runs"]
    assert plain["losses"][-1] > 3 * shallow["losses"][-1]
    assert residual["losses"][-1] < 2 * shallow["losses"][-1]
    assert plain["grad_means"][0] > 1e-3
    assert d["without_batchnorm"]["grad_means"][0] < 1e-4
    assert d["without_batchnorm"]["final_loss"] > 0.6


@pytest.mark.parametrize(
    "body,where",
    [
        ({"kind": "width"}, "kind"),
        ({"steps": 5}, "steps"),
        ({"steps": 501}, "steps"),
        ({"learning_rate": 2}, "learning_rate"),
        ({"seed": 10**7}, "seed"),
        ({"noise": "0"}, "noise"),
    ],
)
def test_compare_rejects_bad_input(client, body, where):
    r = client.post("/api/train/compare", json=body)
    assert r.status_code == 422, r.text
    assert where in r.json()["detail"]
