"""Swish, added once in engine/registry.py, works on every route that takes an activation:
the basics activation and conv routes, the lessons' neuron, the training playground and
the graph runner (an uploaded model with an ONNX ``Swish`` node, inspected and traced).

The registry is the one list: each route's schema accepts exactly the registry's menu
names (plus ``linear`` for the playground) and refuses the rest, naming the choices.
"""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from app.config import Settings
from app.encode import tensor_json
from app.main import create_app
from course import nettrain
from engine import registry


def swish(x):
    x = np.asarray(x, dtype=np.float64)
    return x / (1 + np.exp(-x))


def swish_grad(x):
    s = 1 / (1 + np.exp(-np.asarray(x, dtype=np.float64)))
    return s + x * s * (1 - s)


def t(a) -> dict:
    return tensor_json(np.asarray(a, dtype=np.float64), decimals=None)


MENU = registry.names(lesson_only=True)


def test_swish_is_in_the_menus_and_gelu_is_not():
    assert "swish" in MENU and "gelu" not in MENU
    assert list(nettrain.ACTIVATIONS) == [*MENU, "linear"]


def test_activation_route_swish(client):
    x = [-3.0, -0.5, 0.0, 0.5, 3.0]
    r = client.post("/api/activation", json={"input": t(x), "function": "swish"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["function"] == "swish"
    assert body["output"]["data"] == pytest.approx(swish(x), abs=1e-4)
    assert body["gradient"]["data"] == pytest.approx(swish_grad(np.array(x)), abs=1e-4)


def test_conv_route_swish(client):
    x = np.arange(16, dtype=np.float64).reshape(1, 4, 4) - 8
    w = np.ones((1, 1, 2, 2))
    r = client.post("/api/conv", json={"input": t(x), "weights": t(w), "activation": "swish"})
    assert r.status_code == 200, r.text
    body = r.json()
    pre = np.asarray(body["pre_activation"]["data"])
    assert pre.min() < 0 < pre.max()
    assert body["output"]["data"] == pytest.approx(swish(pre), rel=1e-4, abs=1e-4)


def test_lessons_neuron_swish(client):
    r = client.post("/api/lessons/neuron", json={"w": 0.7, "x": 1.3, "b": -0.4, "function": "swish"})
    assert r.status_code == 200, r.text
    body = r.json()
    z = 0.7 * 1.3 - 0.4
    assert body["z"] == pytest.approx(z) and body["y"] == pytest.approx(swish(z))
    assert body["local_gradient"] == pytest.approx(swish_grad(z))
    assert body["dy_dw"] == pytest.approx(swish_grad(z) * 1.3)


def test_training_playground_swish_learns(client):
    req = {"data": {"dataset": "circle", "seed": 2}, "network": {"hidden": [6, 4], "activation": "swish"},
           "hyper": {"learning_rate": 0.1}, "steps": 0}
    before = client.post("/api/train/step", json=req)
    assert before.status_code == 200, before.text
    req["steps"] = 50
    after = client.post("/api/train/step", json=req)
    assert after.status_code == 200, after.text
    a, b = before.json(), after.json()
    assert b["network"]["activation"] == "swish" and b["network"]["sizes"] == [2, 6, 4, 1]
    assert b["train_loss"] < a["train_loss"] and not b["diverged"]
    # The state round-trips: one more step from the returned weights is accepted.
    net = b["network"]
    again = client.post("/api/train/step", json={
        **req, "steps": 1, "state": b["state"],
        "network": {"hidden": [6, 4], "activation": "swish", "weights": net["weights"],
                    "biases": net["biases"]}})
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("route,body,field", [
    ("/api/activation", {"input": {"shape": [1], "data": [1.0]}, "function": "gelu"}, "function"),
    ("/api/lessons/neuron", {"w": 1, "x": 1, "function": "softplus"}, "function"),
    ("/api/train/step", {"network": {"activation": "leaky_relu"}}, "activation"),
])
def test_names_outside_the_menu_are_refused_with_the_choices(client, route, body, field):
    r = client.post(route, json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert field in detail
    for name in MENU:
        assert repr(name) in detail, detail


def test_openapi_lists_the_registry_choices(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["ActivationIn"]["properties"]["function"]["enum"] == list(MENU)
    assert schemas["NeuronIn"]["properties"]["function"]["enum"] == list(MENU)
    train_net = next(v for k, v in schemas.items() if k.endswith("train__NetworkIn"))
    assert train_net["properties"]["activation"]["enum"] == [*MENU, "linear"]


# ----------------------------------------------------------------------------- graph runner


def swish_cnn(seed: int = 3) -> bytes:
    """Conv 3@3x3 -> Swish -> Flatten -> Gemm -> Softmax (ONNX opset 24, where Swish is)."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.5, (3, 1, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.5, 3).astype(np.float32)
    fc = rng.normal(0, 0.1, (4, 3 * 6 * 6)).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["conv"], name="conv1", kernel_shape=[3, 3]),
        helper.make_node("Swish", ["conv"], ["act"], name="swish1", alpha=1.0),
        helper.make_node("Flatten", ["act"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes, "swish",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 4])],
        [numpy_helper.from_array(a, n) for a, n in ((w, "w"), (b, "b"), (fc, "fc"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 24)])
    onnx.checker.check_model(model)
    return model.SerializeToString()


@pytest.fixture(scope="module")
def uclient(tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-models")
    runtime = tmp_path_factory.mktemp("runtime")
    with TestClient(create_app(Settings(models_dir=empty, runtime_dir=runtime))) as c:
        yield c


@pytest.fixture(scope="module")
def swish_inspected(uclient) -> tuple[str, dict]:
    r = uclient.post("/api/models", files={"file": ("swish.onnx", swish_cnn(), "application/octet-stream")})
    assert r.status_code == 201, r.text
    name = r.json()["name"]
    buf = io.BytesIO()
    Image.fromarray((np.arange(64).reshape(8, 8) * 4).astype(np.uint8), "L").save(buf, format="PNG")
    i = uclient.post(f"/api/models/{name}/inspect", files={"file": ("g.png", buf.getvalue(), "image/png")})
    assert i.status_code == 200, i.text
    return name, i.json()


def test_graph_runner_runs_an_uploaded_swish_model(swish_inspected):
    _, body = swish_inspected
    assert [la["op_type"] for la in body["layers"]] == ["Conv", "Swish", "Flatten", "Gemm", "Softmax"]
    assert body["check"]["max_abs_diff_vs_onnxruntime"] < 1e-4


def test_graph_runner_traces_a_swish_value(uclient, swish_inspected):
    name, body = swish_inspected
    tr = uclient.post(f"/api/models/{name}/trace", json={
        "run": body["run"], "layer": "swish1", "channel": 1, "row": 2, "col": 3})
    assert tr.status_code == 200, tr.text
    assert tr.json()["result"] == pytest.approx(tr.json()["value"], abs=1e-4)
