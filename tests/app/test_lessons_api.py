"""The lessons page's endpoints: one neuron, a dense network's parameters, a dense head."""

from __future__ import annotations

import math

import pytest


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


# --- POST /api/lessons/neuron --------------------------------------------------------


@pytest.mark.parametrize(
    "w,x,b", [(0.5, 1.0, 0.0), (8.0, 2.0, 0.0), (-3.0, 1.5, 2.0), (1.0, 0.0, -1.0), (10.0, -5.0, 3.0)]
)
def test_neuron_sigmoid_chain_rule(client, w, x, b):
    r = client.post("/api/lessons/neuron", json={"w": w, "x": x, "b": b, "function": "sigmoid"})
    assert r.status_code == 200, r.text
    out = r.json()
    z = w * x + b
    s = _sigmoid(z)
    assert out["z"] == pytest.approx(z)
    assert out["y"] == pytest.approx(s)
    assert out["local_gradient"] == pytest.approx(s * (1 - s), rel=1e-9, abs=1e-300)
    assert out["dy_dw"] == pytest.approx(s * (1 - s) * x, rel=1e-9, abs=1e-300)
    assert out["dy_dx"] == pytest.approx(s * (1 - s) * w, rel=1e-9, abs=1e-300)
    assert out["dy_db"] == pytest.approx(s * (1 - s), rel=1e-9, abs=1e-300)
    assert out["saturated"] is (s * (1 - s) < 0.05)
    assert out["threshold"] == 0.05


def test_neuron_numeric_gradient(client):
    """dy/dw matches a centred difference of the engine's own forward pass."""
    h = 1e-5

    def y(w):
        return client.post("/api/lessons/neuron", json={"w": w, "x": 1.3, "b": -0.4, "function": "tanh"}).json()["y"]

    out = client.post("/api/lessons/neuron", json={"w": 0.7, "x": 1.3, "b": -0.4, "function": "tanh"}).json()
    assert out["dy_dw"] == pytest.approx((y(0.7 + h) - y(0.7 - h)) / (2 * h), rel=1e-6)


def test_neuron_large_weight_saturates(client):
    small = client.post("/api/lessons/neuron", json={"w": 0.5, "x": 1, "b": 0}).json()
    large = client.post("/api/lessons/neuron", json={"w": 8, "x": 2, "b": 0}).json()
    assert small["function"] == "sigmoid"
    assert not small["saturated"] and small["dy_dw"] > 0.2
    assert large["saturated"] and 0 < large["dy_dw"] < 1e-6
    # Even the largest inputs stay finite (sigmoid(10000) must not overflow).
    huge = client.post("/api/lessons/neuron", json={"w": 100, "x": 100, "b": 100}).json()
    assert huge["y"] == 1.0 and huge["local_gradient"] == 0.0


def test_neuron_relu(client):
    on = client.post("/api/lessons/neuron", json={"w": 2, "x": 3, "b": 1, "function": "relu"}).json()
    assert on["z"] == 7 and on["y"] == 7 and on["local_gradient"] == 1 and on["dy_dw"] == 3
    assert not on["saturated"]
    off = client.post("/api/lessons/neuron", json={"w": 2, "x": -3, "b": 1, "function": "relu"}).json()
    assert off["y"] == 0 and off["local_gradient"] == 0 and off["dy_dw"] == 0 and off["saturated"]


@pytest.mark.parametrize(
    "body,where",
    [
        ({"w": 101, "x": 1}, "w"),
        ({"w": 1, "x": -100.5}, "x"),
        ({"w": 1, "x": 1, "b": 1e9}, "b"),
        ({"w": "1", "x": 1}, "w"),
        ({"w": 1}, "x"),
        ({"w": 1, "x": 1, "function": "softplus"}, "function"),
        ({"w": 1, "x": 1, "extra": 3}, "extra"),
        ({"w": True, "x": 1}, "w"),
    ],
)
def test_neuron_rejects_bad_input(client, body, where):
    r = client.post("/api/lessons/neuron", json=body)
    assert r.status_code == 422
    assert where in r.json()["detail"]


def test_neuron_rejects_nan(client):
    r = client.post(
        "/api/lessons/neuron", content=b'{"w": NaN, "x": 1}', headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


# --- POST /api/lessons/network-params ----------------------------------------------


def test_network_params_course_example(client):
    r = client.post("/api/lessons/network-params", json={"layers": [3, 4, 2]})
    assert r.status_code == 200
    out = r.json()
    assert (out["weights"], out["biases"], out["total"]) == (20, 6, 26)
    assert out["summary"] == "20 weights + 6 biases = 26 learnable parameters"
    assert [(p["weights"], p["biases"], p["total"]) for p in out["per_layer"]] == [(12, 4, 16), (8, 2, 10)]
    assert out["per_layer"][0]["formula"] == "3*4 + 4 = 16"
    assert out["neurons"] == 6


def test_network_params_singular_words(client):
    out = client.post("/api/lessons/network-params", json={"layers": [1, 1]}).json()
    assert out["summary"] == "1 weight + 1 bias = 2 learnable parameters"


@pytest.mark.parametrize(
    "layers,total",
    [([3, 4, 4, 1], 41), ([3072, 10], 30_730), ([1, 1], 2), ([784, 100, 10], 79_510)],
)
def test_network_params_totals(client, layers, total):
    out = client.post("/api/lessons/network-params", json={"layers": layers}).json()
    assert out["total"] == total
    assert out["weights"] == sum(a * b for a, b in zip(layers, layers[1:], strict=False))
    assert out["biases"] == sum(layers[1:])


@pytest.mark.parametrize(
    "body",
    [
        {"layers": [3]},
        {"layers": []},
        {"layers": [3, 0, 2]},
        {"layers": [3, 100_001]},
        {"layers": [2] * 13},
        {"layers": [3, 4.5, 2]},
        {"layers": "3,4,2"},
        {},
    ],
)
def test_network_params_rejects_bad_input(client, body):
    r = client.post("/api/lessons/network-params", json=body)
    assert r.status_code == 422
    assert "layers" in r.json()["detail"]


# --- POST /api/lessons/dense-head --------------------------------------------------


def test_dense_head_course_example(client):
    out = client.post("/api/lessons/dense-head", json={}).json()
    assert out["volume"] == [32, 32, 3] and out["features"] == 3072
    assert out["weights_shape"] == [10, 3072] and out["output_shape"] == [10]
    assert out["params"] == {
        "weights": 30_720, "biases": 10, "total": 30_730, "formula": "10*3,072 + 10 = 30,730"
    }
    ex = out["example"]
    assert ex["volume"] == [4, 4, 3] and ex["length"] == 48 == len(ex["order"])
    # Channel by channel, each channel row by row (NCHW, as ONNX Flatten and PyTorch).
    assert ex["order"][0] == [0, 0, 0]
    assert ex["order"][1] == [0, 0, 1]
    assert ex["order"][4] == [0, 1, 0]
    assert ex["order"][16] == [1, 0, 0]
    assert ex["order"][47] == [2, 3, 3]


def test_dense_head_pooling_saves_parameters(client):
    before = client.post("/api/lessons/dense-head", json={"height": 28, "width": 28, "channels": 1}).json()
    after = client.post("/api/lessons/dense-head", json={"height": 14, "width": 14, "channels": 1}).json()
    assert before["params"]["total"] == 7850 and after["params"]["total"] == 1970


def test_dense_head_small_volume_is_shown_whole(client):
    out = client.post(
        "/api/lessons/dense-head", json={"height": 2, "width": 3, "channels": 1, "outputs": 4}
    ).json()
    assert out["features"] == 6 and out["example"]["length"] == 6
    assert out["example"]["order"] == [[0, 0, 0], [0, 0, 1], [0, 0, 2], [0, 1, 0], [0, 1, 1], [0, 1, 2]]
    assert out["params"]["total"] == 28


@pytest.mark.parametrize(
    "body,where",
    [
        ({"height": 0}, "height"),
        ({"width": 4097}, "width"),
        ({"channels": -1}, "channels"),
        ({"outputs": 10_001}, "outputs"),
        ({"height": 3.5}, "height"),
        ({"depth": 3}, "depth"),
    ],
)
def test_dense_head_rejects_bad_input(client, body, where):
    r = client.post("/api/lessons/dense-head", json=body)
    assert r.status_code == 422
    assert where in r.json()["detail"]


def test_dense_head_largest_volume_is_quick(client):
    out = client.post(
        "/api/lessons/dense-head", json={"height": 4096, "width": 4096, "channels": 4096, "outputs": 10_000}
    ).json()
    assert out["features"] == 4096**3
    assert out["params"]["total"] == 4096**3 * 10_000 + 10_000
    assert out["example"]["length"] == 48
