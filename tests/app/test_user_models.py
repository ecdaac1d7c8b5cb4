"""Bring your own model: POST /api/models, then predict, inspect and trace it like a shipped one."""

from __future__ import annotations

import io

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from app.config import Settings
from app.main import create_app
from tests.app.modelkit import tiny_cnn
from tests.app.netkit import Builder


@pytest.fixture(scope="module")
def uclient(tmp_path_factory):
    empty = tmp_path_factory.mktemp("no-models")
    runtime = tmp_path_factory.mktemp("runtime")
    with TestClient(create_app(Settings(models_dir=empty, runtime_dir=runtime))) as c:
        yield c


def png(mode="RGB", size=(40, 40), colour="white") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, colour).save(buf, format="PNG")
    return buf.getvalue()


def upload(client, data: bytes, labels: bytes | None = None, **fields):
    files = {"file": ("net.onnx", data, "application/octet-stream")}
    if labels is not None:
        files["labels"] = ("labels.txt", labels, "text/plain")
    return client.post("/api/models", files=files, data=fields)


def tiny(input_dims, output_dims=("N", 3), nodes=None, inits=(), opset=17, domain_ops=()) -> bytes:
    """A model from explicit parts (checked with onnx.checker only when it should pass)."""
    graph = helper.make_graph(
        nodes or [helper.make_node("Flatten", ["input"], ["f"]),
                  helper.make_node("ReduceSum", ["f"], ["out"])],
        "t",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_dims))],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, list(output_dims))],
        list(inits),
    )
    imports = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in domain_ops]
    m = helper.make_model(graph, opset_imports=imports)
    m.ir_version = 8
    return m.SerializeToString()


def dense_model(c=1, h=8, w=8, k=3, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    fc = numpy_helper.from_array(rng.normal(0, 0.1, (k, c * h * w)).astype(np.float32), "fc")
    nodes = [helper.make_node("Flatten", ["input"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "fc"], ["out"], name="fc", transB=1)]
    return tiny(["N", c, h, w], ["N", k], nodes, [fc])


def test_upload_then_predict_inspect_trace(uclient):
    r = upload(uclient, tiny_cnn(3, 32, classes=4, seed=5), b"cat\ndog\n\nbird\nfish\n",
               mean="0.5, 0.5, 0.5", std="0.25")
    assert r.status_code == 201, r.text
    card = r.json()
    name = card["name"]
    assert name.startswith("user-") and len(name) == 27 and card["source"] == "user"
    assert card["classes"] == ["cat", "dog", "bird", "fish"]
    assert card["input"]["shape"] == [1, 3, 32, 32] and card["input"]["channels"] == "RGB"
    assert card["input"]["mean"] == [0.5] * 3 and card["input"]["std"] == [0.25] * 3
    assert card["input"]["background"] == "none"
    assert card["parameters"] == 4 * 3 * 9 + 4 + 4 * 4 * 15 * 15 + 4
    assert card["multiply_adds"] == 4 * 30 * 30 * 27 + 4 * 900
    assert card["check"]["max_abs_diff_vs_onnxruntime"] < 1e-4
    assert name not in [m["name"] for m in uclient.get("/api/models").json()["models"]]
    assert uclient.get(f"/api/models/{name}").json()["title"] == "Your model: net.onnx"

    red = png(colour=(255, 0, 0))
    p = uclient.post(f"/api/models/{name}/predict", files={"file": ("r.png", red, "image/png")})
    assert p.status_code == 200 and p.json()["label"] in card["classes"]
    x = np.asarray(p.json()["input"]["data"]).reshape(3, 32, 32)
    assert x[0].mean() == pytest.approx((1 - 0.5) / 0.25) and x[1].mean() == pytest.approx(-2.0)
    i = uclient.post(f"/api/models/{name}/inspect", files={"file": ("r.png", red, "image/png")})
    assert i.status_code == 200, i.text
    body = i.json()
    assert [la["op_type"] for la in body["layers"]] == ["Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Softmax"]
    assert body["label"] == p.json()["label"] and body["check"]["max_abs_diff_vs_onnxruntime"] < 1e-4
    t = uclient.post(f"/api/models/{name}/trace", json={
        "layer": "conv1", "channel": 3, "row": 9, "col": 4, "run": body["run"]})
    assert t.status_code == 200 and t.json()["channels_total"] == 3
    assert t.json()["result"] == pytest.approx(t.json()["value"], abs=1e-5)


def test_digit_preprocessing_and_default_labels(uclient):
    r = upload(uclient, tiny_cnn(1, 28, seed=2), preprocess="digit", mean="0.1307", std="0.3081")
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["classes"] == [f"class {i}" for i in range(10)]
    assert card["input"]["background"] == "black" and card["input"]["channels"] == "L"
    im = Image.new("L", (80, 80), 255)
    im.paste(0, (30, 10, 45, 70))
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    p = uclient.post(f"/api/models/{card['name']}/predict", files={"file": ("d.png", buf.getvalue(), "image/png")})
    assert [s["name"] for s in p.json()["preprocessing"]][2] == "inverted"


def external_data_model() -> bytes:
    m = onnx.load_from_string(dense_model())
    t = m.graph.initializer[0]
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", "/etc/passwd"
    return m.SerializeToString()


def lstm_model() -> bytes:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=(1, 16, 8)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.normal(size=(1, 16, 4)).astype(np.float32), "R")]
    nodes = [helper.make_node("Reshape", ["input", "shape"], ["seq"], name="reshape"),
             helper.make_node("LSTM", ["seq", "W", "R"], ["", "hidden"], name="lstm", hidden_size=4),
             helper.make_node("Reshape", ["hidden", "shape2"], ["out"], name="reshape2")]
    inits += [numpy_helper.from_array(np.array([8, 1, 8], np.int64), "shape"),
              numpy_helper.from_array(np.array([1, 4], np.int64), "shape2")]
    return tiny([1, 1, 8, 8], [1, 4], nodes, inits)


def made_up_op_model() -> bytes:
    nodes = [helper.make_node("Flatten", ["input"], ["f"], name="flatten"),
             helper.make_node("TeleportScores", ["f"], ["out"], name="magic", domain="com.example")]
    return tiny(["N", 1, 8, 8], ["N", 3], nodes, domain_ops=["com.example"])


def conv_out_model(c_in=1, h=8, w=8, k=4, input_dims=None, output_dims=None) -> bytes:
    b = Builder(0)
    out = b.conv("input", c_in, k, 3, 1)
    dims = input_dims or ["N", c_in, h, w]
    graph = helper.make_graph(b.nodes, "t", [helper.make_tensor_value_info("input", TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, output_dims or ["N", k, h, w])],
                              b.inits)
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


def huge_conv_model() -> bytes:
    b = Builder(0)
    t = b.conv("input", 3, 512, 7, 3)  # 512 * 3 * 49 * 256 * 256 = 4.9e9 multiply-adds
    t = b.node("GlobalAveragePool", [t])
    t = b.node("Flatten", [t])
    return b.model("input", t, ["N", 3, 256, 256], 512)


def pooling_bomb_model() -> bytes:
    """A few hundred bytes: a 64x64 max pool over 256x256, padded to keep its size, three
    times: 2.5e9 window reads, with no multiply-add at all."""
    nodes, t = [], "input"
    for i in range(3):
        nodes.append(helper.make_node("MaxPool", [t], [f"p{i}"], name=f"pool{i}", kernel_shape=[65, 65],
                                      pads=[32, 32, 32, 32], strides=[1, 1]))
        t = f"p{i}"
    nodes += [helper.make_node("GlobalAveragePool", [t], ["g"]), helper.make_node("Flatten", ["g"], ["out"])]
    return tiny(["N", 3, 256, 256], ["N", 3], nodes)


def memory_bomb_model() -> bytes:
    """A few hundred bytes: edge-pad a 3x8x8 input to 3x4096x4096, then six ReLUs: 350
    million values that a layer-by-layer run would keep."""
    pads = numpy_helper.from_array(np.array([0, 0, 2044, 2044, 0, 0, 2044, 2044], np.int64), "pads")
    nodes, t = [helper.make_node("Pad", ["input", "pads"], ["padded"], mode="edge")], "padded"
    for i in range(6):
        nodes.append(helper.make_node("Relu", [t], [f"r{i}"]))
        t = f"r{i}"
    nodes += [helper.make_node("GlobalAveragePool", [t], ["g"]), helper.make_node("Flatten", ["g"], ["out"])]
    return tiny(["N", 3, 8, 8], ["N", 3], nodes, [pads])


@pytest.mark.parametrize("data,labels,fields,status,needle", [
    (b"\x08\x07this is not protobuf \xff\xff\xff", None, {}, 422, "not an ONNX model"),
    (b"", None, {}, 422, "empty"),
    (external_data_model(), None, {}, 422, "external data"),
    (lstm_model(), None, {}, 422, "'LSTM'"),
    (made_up_op_model(), None, {}, 422, "TeleportScores"),
    (dense_model(c=5), None, {}, 422, "1 (grey) or 3"),
    (conv_out_model(input_dims=["N", 28, 28, 1], output_dims=None), None, {}, 422, "NHWC"),
    (dense_model(h=300, w=300), None, {}, 422, "at most 256 x 256"),
    (conv_out_model(input_dims=["N", 1, "H", "W"], output_dims=["N", 4, "H", "W"]), None, {}, 422, "fixed numbers"),
    (conv_out_model(input_dims=[4, 1, 8, 8], output_dims=[4, 4, 8, 8]), None, {}, 422, "batch size is fixed at 4"),
    (conv_out_model(), None, {}, 422, "class scores"),
    (conv_out_model(output_dims=["N", "K"]), None, {}, 422, "class scores"),
    (dense_model(k=1001), None, {}, 422, "K <= 1000"),
    (huge_conv_model(), None, {}, 422, "billion multiply-adds"),
    (pooling_bomb_model(), None, {}, 422, "pooling layers read 2.5 billion values per image; the limit is 0.5 billion"),
    (memory_bomb_model(), None, {}, 422, "million values per image"),
    (dense_model(k=3), b"a\nb\n", {}, 422, "has 2 labels but the model outputs 3"),
    (dense_model(k=3), b"\xff\xfe\x00bad", {}, 422, "UTF-8"),
    (dense_model(k=3), ("x" * 65 + "\nb\nc").encode(), {}, 422, "at most 64 characters"),
    (dense_model(c=3), None, {"mean": "0.5,0.5"}, 422, "one number per input channel (3)"),
    (dense_model(), None, {"std": "0"}, 422, "std must be at least 0.001"),
    (dense_model(), None, {"std": "1e-30"}, 422, "std must be at least 0.001"),
    (dense_model(), None, {"mean": "abc"}, 422, "numbers separated by commas"),
    (dense_model(c=3), None, {"preprocess": "digit"}, 422, "1-channel"),
    (dense_model(h=28, w=32), None, {"preprocess": "digit"}, 422, "square field; this model's input is 28 x 32"),
    (dense_model(), None, {"preprocess": "resize"}, 422, "preprocess"),
])
def test_refused_uploads(uclient, data, labels, fields, status, needle):
    r = upload(uclient, data, labels, **fields)
    assert r.status_code == status, r.text
    assert needle in r.json()["detail"], r.json()["detail"]
    assert uclient.get("/api/health").status_code == 200


def test_two_inputs_and_two_outputs_refused(uclient):
    nodes = [helper.make_node("Add", ["input", "other"], ["s"]), helper.make_node("Flatten", ["s"], ["out"])]
    graph = helper.make_graph(
        nodes, "t",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 1, 2, 2]) for n in ("input", "other")],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    r = upload(uclient, m.SerializeToString())
    assert r.status_code == 422 and "exactly one input" in r.json()["detail"]
    m = onnx.load_from_string(dense_model())
    m.graph.output.append(helper.make_tensor_value_info("f", TensorProto.FLOAT, ["N", 64]))
    r = upload(uclient, m.SerializeToString())
    assert r.status_code == 422 and "2 outputs" in r.json()["detail"]


def test_checker_rejects_invalid_graph(uclient):
    m = onnx.load_from_string(dense_model())
    m.graph.node[1].attribute.append(helper.make_attribute("transB", 1))  # duplicate attribute
    r = upload(uclient, m.SerializeToString())
    assert r.status_code == 422
    assert "checker" in r.json()["detail"] or "engine" in r.json()["detail"]


def test_oversized_model_refused(uclient):
    big = dense_model() + b"\x00" * (25 * 1024 * 1024)  # just over 25 MiB, under the body limit
    r = upload(uclient, big)
    assert r.status_code == 413 and "26.2 MB" in r.json()["detail"]  # 25 MiB in decimal MB
    r = upload(uclient, b"\x00" * (27 * 1024 * 1024))  # over the route's body limit
    assert r.status_code == 413
    assert uclient.get("/api/health").status_code == 200


def test_other_routes_keep_their_smaller_body_limit(uclient):
    r = uclient.post("/api/image", files={"file": ("x.png", b"\x89PNG\r\n\x1a\n" + bytes(11 << 20), "image/png")})
    assert r.status_code == 413


def test_missing_file_field(uclient):
    r = uclient.post("/api/models", data={"mean": "0"})
    assert r.status_code == 422 and "file" in r.json()["detail"]


def test_form_limits(uclient):
    data = dense_model()
    three = [("file", ("a.onnx", data, "application/octet-stream")),
             ("labels", ("l.txt", b"a\nb\nc", "text/plain")),
             ("extra", ("x.txt", b"x", "text/plain"))]
    r = uclient.post("/api/models", files=three)
    assert (r.status_code, r.json()) == (400, {"detail": (
        "The form has more files than this endpoint takes. "
        "Too many files. Maximum number of files is 2.")})
    r = uclient.post("/api/models", files={"file": ("a.onnx", data, "application/octet-stream")},
                     data={"mean": "0", "std": "1", "preprocess": "none", "a": "1", "b": "2"})
    assert (r.status_code, r.json()) == (400, {"detail": (
        "The form has more fields than this endpoint takes. "
        "Too many fields. Maximum number of fields is 4.")})
    r = uclient.post("/api/models", files={"file": ("a.onnx", data, "application/octet-stream")},
                     data={"mean": "0." + "1" * 300})
    assert r.status_code == 422
