"""Inspect and trace: every layer of an engine run, and the arithmetic behind one value.

Oracles: the engine's own run on the input the API says the model saw, onnxruntime,
ONNX shape inference, and the receptive field found by poisoning input rows and
columns with NaN and watching which outputs turn NaN.
"""

from __future__ import annotations

import io
import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.config import Settings
from app.encode import decode_f16
from app.main import create_app
from app.services.layers import MAX_LAYER_VALUES, MAX_TOTAL_VALUES
from app.services.samples import generated
from engine.graph import load_graph, run
from tests.app.modelkit import tiny_cnn, write_model
from tests.app.netkit import Builder, cifar_like, lenet5, mixed, squeeze_excite

MODELS = {
    "tiny-digits": (tiny_cnn(1, 28), "L", 28),
    "lenet-like": (lenet5(), "L", 28),
    "mixed": (mixed(), "RGB", 30),
    "cifar-like": (cifar_like(), "RGB", 32),
    "resnet-like": (cifar_like(widths=(8, 16, 16), residual=True), "RGB", 32),
    "se-like": (squeeze_excite(), "L", 28),
}


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    for name, (data, channels, size) in MODELS.items():
        classes = list("abcde") if name == "mixed" else None
        write_model(folder, name, data, channels=channels, size=size, classes=classes)
    return folder


@pytest.fixture(scope="module")
def mclient(models_dir):
    with TestClient(create_app(Settings(models_dir=models_dir))) as c:
        yield c


def png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def seven() -> bytes:
    im = Image.new("RGB", (120, 120), "white")
    ImageDraw.Draw(im).line([(25, 20), (95, 20), (45, 105)], fill="black", width=12)
    return png(np.asarray(im))


IMAGES = {"L": seven(), "RGB": png(generated("scene", 112))}


@pytest.fixture(scope="module")
def inspected(mclient):
    out = {}
    for name, (_, channels, _) in MODELS.items():
        r = mclient.post(f"/api/models/{name}/inspect", files={"file": ("x.png", IMAGES[channels], "image/png")})
        assert r.status_code == 200, r.text
        out[name] = (r.json(), len(r.content))
    return out


def engine_values(name: str, body: dict) -> dict[str, np.ndarray]:
    x = np.asarray(body["input"]["data"], np.float32).reshape(body["input"]["shape"])
    return run(load_graph(MODELS[name][0]), x)


def inferred_shapes(data: bytes) -> dict[str, list]:
    m = onnx.load_from_string(data)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    m = onnx.shape_inference.infer_shapes(m)
    return {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
            for vi in [*m.graph.value_info, *m.graph.output]}


@pytest.mark.parametrize("name", list(MODELS))
def test_one_entry_per_node_with_shapes_of_the_engine_and_onnx(inspected, name):
    body, _ = inspected[name]
    model = onnx.load_from_string(MODELS[name][0])
    assert [layer["name"] for layer in body["layers"]] == [n.name for n in model.graph.node]
    assert [layer["op_type"] for layer in body["layers"]] == [n.op_type for n in model.graph.node]
    values = engine_values(name, body)
    shapes = inferred_shapes(MODELS[name][0])
    for layer, node in zip(body["layers"], model.graph.node, strict=True):
        assert layer["output_shape"] == list(values[node.output[0]].shape)
        assert layer["output_shape"] == shapes[node.output[0]], layer["name"]
        want_in = [list(values[i].shape) if i in values else None for i in node.input]
        assert [s for s, w in zip(layer["input_shapes"], want_in, strict=True) if w] == [w for w in want_in if w]


@pytest.mark.parametrize("name", list(MODELS))
def test_feature_maps_are_the_engine_values_in_float16(inspected, name):
    body, _ = inspected[name]
    values = engine_values(name, body)
    model = onnx.load_from_string(MODELS[name][0])
    sent = 0
    for layer, node in zip(body["layers"], model.graph.node, strict=True):
        out = layer["output"]
        if out is None:
            assert layer["note"]
            continue
        sent += 1
        got = decode_f16(out)
        want = values[node.output[0]][0]
        if want.ndim == 3:
            assert out["channels"] == want.shape[0]
            want = want[: out["channels_shown"]]
            assert out["channels_shown"] == min(64, want.shape[0] if want.shape[0] < 64 else 64)
        else:
            want = want.reshape(-1)[: out["length_shown"]]
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-3 * max(1.0, float(np.abs(want).max())))
        assert out["min"] == pytest.approx(float(want.min()), abs=1e-6) or out.get("channels_shown", 0) < out.get("channels", 0)
    assert sent >= 5


@pytest.mark.parametrize("name", list(MODELS))
def test_engine_agrees_with_onnxruntime_and_softmax_steps(inspected, name, models_dir):
    body, _ = inspected[name]
    assert body["check"]["max_abs_diff_vs_onnxruntime"] < 1e-4
    x = np.asarray(body["input"]["data"], np.float32).reshape(body["input"]["shape"])
    sess = ort.InferenceSession(str(models_dir / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    probs = sess.run(None, {"input": x})[0][0]
    np.testing.assert_allclose(body["probabilities"], probs, atol=1e-5)
    assert body["label"] == body["classes"][int(np.argmax(probs))]
    sm = body["softmax"]
    soft_node = [n for n in onnx.load_from_string(MODELS[name][0]).graph.node if n.op_type == "Softmax"][-1]
    scores = engine_values(name, body)[soft_node.input[0]].reshape(-1)
    np.testing.assert_allclose(sm["scores"], scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sm["exp"], np.exp(scores - scores.max()), rtol=1e-5)
    np.testing.assert_allclose(sm["probabilities"], probs, atol=1e-5)
    assert sm["sum"] == pytest.approx(float(np.exp(scores - scores.max()).sum()), rel=1e-5)
    assert [s["name"] for s in body["preprocessing"]][0] == "original"
    assert body["input"]["shape"][0] == 1


def test_cifar_sized_response_is_capped_and_deduplicated(inspected):
    body, size = inspected["cifar-like"]
    assert size < 2_000_000, f"inspect response is {size:,} bytes"
    layers = body["layers"]
    wide = [la for la in layers if la["output"] and la["output"].get("channels") == 256]
    assert wide and all(la["output"]["channels_shown"] == 64 for la in wide)
    assert all(la["output"]["shape"][0] == 64 for la in wide)
    gelus = [la for la in layers if la.get("activation") == "GELU"]
    assert len(gelus) == 14  # 7 per branch, both branches
    inner = [la for la in layers if la.get("part_of")]
    assert len(inner) == 4 * len(gelus) and all(la["output"] is None for la in inner)
    convs = [la for la in layers if la["op_type"] == "Conv"]
    assert sum("same_as" in la["weights"] for la in convs) == len(convs) // 2  # mirrored branch
    first = convs[0]["weights"]
    assert first["full_shape"] == [24, 3, 2, 2] and decode_f16(first).shape == (24, 3, 2, 2)
    deep = [c["weights"] for c in convs if c["weights"].get("full_shape") == [256, 256, 3, 3]][0]
    assert decode_f16(deep).shape == (64, 16, 3, 3) and len(deep["bias"]) == 64


def big_maps() -> bytes:
    """256 x 256 input, 16 maps per layer, ten layers deep: more than the response may carry."""
    b = Builder(0)
    t = b.conv("input", 1, 16, 3, 1)
    for _ in range(10):
        t = b.node("Relu", [t])
    t = b.node("Flatten", [b.node("GlobalAveragePool", [t])])
    t = b.node("Gemm", [t, b.const(b.rng.normal(0, 0.3, (3, 16))), b.const(np.zeros(3))], transB=1)
    return b.model("input", b.node("Softmax", [t], axis=1), ["N", 1, 256, 256], 3)


def test_big_feature_maps_are_bounded_per_layer_and_in_total(tmp_path):
    write_model(tmp_path, "big", big_maps(), size=256, classes=["a", "b", "c"])
    with TestClient(create_app(Settings(models_dir=tmp_path))) as c:
        r = c.post("/api/models/big/inspect", files={"file": ("x.png", IMAGES["L"], "image/png")})
    assert r.status_code == 200, r.text
    layers = [la for la in r.json()["layers"] if la["output_shape"] and len(la["output_shape"]) == 4]
    maps = [la["output"] for la in layers if la["output"] and la["output"]["shape"][1] == 256]
    assert [m["channels_shown"] for m in maps] == [MAX_LAYER_VALUES // (256 * 256)] * len(maps)
    assert sum(math.prod(m["shape"]) for m in maps) == MAX_TOTAL_VALUES
    skipped = [la for la in layers if la["output"] is None]
    assert len(skipped) == 11 - len(maps) > 0 and all("not sent" in la["note"] for la in skipped)
    assert layers[-1]["op_type"] == "GlobalAveragePool" and layers[-1]["output"]["channels_shown"] == 16
    assert len(r.content) < 3_500_000


def test_inspect_errors(mclient):
    r = mclient.post("/api/models/nope/inspect", files={"file": ("x.png", IMAGES["L"], "image/png")})
    assert r.status_code == 404
    r = mclient.post("/api/models/tiny-digits/inspect", files={"file": ("x.png", b"not an image", "image/png")})
    assert r.status_code == 415 and "PNG" in r.json()["detail"]
    r = mclient.post("/api/models/tiny-digits/inspect")
    assert r.status_code == 422 and "file" in r.json()["detail"]


# ------------------------------------------------------------------ trace

def post_trace(mclient, name, body, layer, channel, row=0, col=0):
    return mclient.post(f"/api/models/{name}/trace", json={
        "layer": layer, "channel": channel, "row": row, "col": col, "run": body["run"]})


def layer_value(body, name, layer, channel, row=0, col=0):
    values = engine_values(name, body)
    node = [n for n in onnx.load_from_string(MODELS[name][0]).graph.node if n.name == layer][0]
    out = values[node.output[0]]
    return float(out[0, channel, row, col] if out.ndim == 4 else out[0, channel])


@pytest.mark.parametrize("name,layer,pos", [
    ("tiny-digits", "conv1", (2, 10, 13)),
    ("mixed", "conv3", (5, 0, 0)),     # stride 2, padding in the window
    ("mixed", "conv3", (7, 14, 9)),
    ("mixed", "conv13", (6, 3, 1)),    # grouped (second group) and dilated
    ("lenet-like", "conv8", (11, 4, 7)),
])
def test_conv_trace_is_the_dot_product_that_made_the_value(mclient, inspected, name, layer, pos):
    body, _ = inspected[name]
    r = post_trace(mclient, name, body, layer, *pos)
    assert r.status_code == 200, r.text
    t = r.json()
    want = layer_value(body, name, layer, *pos)
    assert t["kind"] == "conv" and t["value"] == pytest.approx(want, rel=1e-6, abs=1e-6)
    assert t["result"] == pytest.approx(want, rel=1e-5, abs=1e-5)
    assert t["sum"] + t["bias"] == pytest.approx(t["result"], abs=1e-5)
    assert sum(t["channel_sums"]) == pytest.approx(t["sum"], abs=1e-5)
    for ch in t["channels"]:
        p, w, prod = (np.asarray(ch[k]) for k in ("patch", "weights", "products"))
        np.testing.assert_allclose(p * w, prod, rtol=1e-5, atol=1e-6)
        assert prod.sum() == pytest.approx(ch["sum"], abs=1e-5)
    pad = np.asarray(t["window"]["padding"])
    first = np.asarray(t["channels"][0]["patch"])
    assert np.all(first[pad] == 0)
    x = engine_values(name, body)
    assert t["input_shape"][0] == t["channels_total"] * t["group"]
    if pos == (5, 0, 0):
        assert pad[0].all() and pad[:, 0].all() and not pad[1:, 1:].any()
    if layer == "conv13":
        assert t["group"] == 2 and {c["channel"] for c in t["channels"]} <= set(range(4, 8))
        assert t["window"]["rows"] == [3, 5, 7] and t["window"]["cols"] == [1, 3, 5]
    assert x  # the run exists


def nan_field(name, body, layer, channel, row, col):
    """Input rows and columns that reach output (channel, row, col), by NaN poisoning."""
    graph = load_graph(MODELS[name][0])
    x = np.asarray(body["input"]["data"], np.float32).reshape(body["input"]["shape"])
    out_name = graph.node(layer).outputs[0]
    hit_rows, hit_cols = [], []
    for axis, hits in ((2, hit_rows), (3, hit_cols)):
        for k in range(x.shape[axis]):
            xp = x.copy()
            if axis == 2:
                xp[:, :, k, :] = np.nan
            else:
                xp[:, :, :, k] = np.nan
            if np.isnan(run(graph, xp)[out_name][0, channel, row, col]):
                hits.append(k)
    return [min(hit_rows), max(hit_rows)], [min(hit_cols), max(hit_cols)]


@pytest.mark.parametrize("name,layer,pos", [
    ("mixed", "conv3", (0, 0, 0)),
    ("mixed", "avgpool10", (3, 2, 5)),
    ("mixed", "conv13", (1, 1, 2)),
    ("mixed", "maxpool15", (4, 2, 0)),
    ("lenet-like", "pool10", (3, 2, 4)),
    ("resnet-like", "conv86", (2, 3, 4)),  # behind two skip connections: the union of paths
])
def test_receptive_field_matches_nan_poisoning(mclient, inspected, name, layer, pos):
    body, _ = inspected[name]
    t = post_trace(mclient, name, body, layer, *pos).json()
    rows, cols = nan_field(name, body, layer, *pos)
    assert t["field"]["whole"] is False
    assert t["field"]["rows"] == rows and t["field"]["cols"] == cols


def test_dense_trace_top_contributions(mclient, inspected):
    body, _ = inspected["tiny-digits"]
    t = post_trace(mclient, "tiny-digits", body, "fc", 6).json()
    assert t["kind"] == "dense" and t["inputs_total"] == 4 * 13 * 13
    assert len(t["top"]) == 10
    mags = [abs(item["product"]) for item in t["top"]]
    assert mags == sorted(mags, reverse=True)
    assert sum(i["product"] for i in t["top"]) + t["rest_sum"] == pytest.approx(t["sum"], abs=1e-4)
    assert t["sum"] + t["bias"] == pytest.approx(t["value"], abs=1e-4)
    assert t["value"] == pytest.approx(layer_value(body, "tiny-digits", "fc", 6), abs=1e-5)
    values = engine_values("tiny-digits", body)
    for item in t["top"]:
        assert item["x"] * item["w"] == pytest.approx(item["product"], rel=1e-4, abs=1e-6)
        s = item["source"]
        assert s["layer"] == "pool1"
        assert values["pool"][0, s["channel"], s["row"], s["col"]] == pytest.approx(item["x"], rel=1e-5)
    m = post_trace(mclient, "mixed", inspected["mixed"][0], "matmul18", 2).json()  # MatMul, no bias
    assert m["kind"] == "dense" and m["bias"] == 0 and m["inputs_total"] == 72
    assert m["sum"] == pytest.approx(layer_value(inspected["mixed"][0], "mixed", "matmul18", 2), abs=1e-5)


def test_pool_traces(mclient, inspected):
    body, _ = inspected["mixed"]
    t = post_trace(mclient, "mixed", body, "maxpool15", 3, 1, 2).json()
    assert t["kind"] == "maxpool"
    win = np.asarray(t["window"]["values"], dtype=float)
    assert t["result"] == pytest.approx(np.nanmax(win)) == pytest.approx(t["value"], abs=1e-6)
    assert t["winner"]["row"] in t["window"]["rows"] and t["winner"]["col"] in t["window"]["cols"]
    a = post_trace(mclient, "mixed", body, "avgpool10", 2, 0, 0).json()  # corner: padding excluded
    assert a["kind"] == "avgpool" and a["count"] == 4
    assert np.asarray(a["window"]["padding"]).sum() == 5
    assert a["result"] == pytest.approx(a["value"], rel=1e-5, abs=1e-6)
    assert a["sum"] / a["count"] == pytest.approx(a["value"], rel=1e-5, abs=1e-6)


def test_activation_traces_show_their_source(mclient, inspected):
    body, _ = inspected["tiny-digits"]
    t = post_trace(mclient, "tiny-digits", body, "relu1", 1, 6, 6).json()
    assert t["kind"] == "elementwise" and t["formula"] == "max(0, x)"
    assert t["result"] == pytest.approx(max(0.0, t["x"]), abs=1e-6)
    assert t["source"]["kind"] == "conv" and t["source"]["result"] == pytest.approx(t["x"], abs=1e-5)
    body, _ = inspected["mixed"]
    bn = post_trace(mclient, "mixed", body, "bn8", 3, 4, 4).json()
    c = bn["constants"]
    expected = (bn["x"] - c["mean"]) / np.sqrt(c["var"] + c["epsilon"]) * c["scale"] + c["B"]
    assert bn["result"] == pytest.approx(expected, rel=1e-4, abs=1e-5)
    body, _ = inspected["cifar-like"]
    gelu = [la for la in body["layers"] if la.get("activation") == "GELU"][1]
    g = post_trace(mclient, "cifar-like", body, gelu["name"], 5, 3, 4).json()
    assert g["op"] == "GELU" and g["source"]["kind"] == "maxpool"
    from math import erf, sqrt
    assert g["result"] == pytest.approx(g["x"] * 0.5 * (1 + erf(g["x"] / sqrt(2))), abs=1e-5)
    assert g["field"]["size"] == [5, 5]  # 2x2 pool <- 3x3 pad-1 conv (4) <- 2x2 whiten conv (5)


@pytest.mark.parametrize("patch,needle", [
    ({"layer": "nope"}, "no layer called"),
    ({"channel": 4}, "4 maps of 26 x 26"),
    ({"row": 26}, "no (channel"),
    ({"layer": "softmax"}, "is a Softmax"),
    ({"layer": "fc", "row": 1}, "row and col must be 0"),
    ({"layer": "flatten"}, "is a Flatten"),
])
def test_trace_422(mclient, inspected, patch, needle):
    body, _ = inspected["tiny-digits"]
    req = {"layer": "conv1", "channel": 0, "row": 0, "col": 0, "run": body["run"], **patch}
    r = mclient.post("/api/models/tiny-digits/trace", json=req)
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]


def test_trace_request_validation(mclient, inspected):
    body, _ = inspected["tiny-digits"]
    good = {"layer": "conv1", "channel": 0, "row": 0, "col": 0, "run": body["run"]}
    cases = [
        ({**good, "input": body["input"]}, "input: Extra"),  # the input no longer travels back
        ({**good, "run": "not/an id"}, "run"),
        ({**good, "run": "x" * 65}, "run"),
        ({**good, "extra": 1}, "extra"),
        ({**good, "channel": -1}, "channel"),
        ({**good, "channel": "0"}, "channel"),
    ]
    for req, needle in cases:
        r = mclient.post("/api/models/tiny-digits/trace", json=req)
        assert r.status_code == 422, (req.keys(), r.text)
        assert needle in r.json()["detail"], r.json()["detail"]
    assert mclient.post("/api/models/tiny-digits/trace", json=good).status_code == 200


def test_a_run_id_names_one_run_of_one_model(mclient, inspected):
    """Unknown ids, and one model's run asked of another model, answer 410: inspect again."""
    body, _ = inspected["tiny-digits"]
    good = {"layer": "conv1", "channel": 0, "row": 0, "col": 0, "run": body["run"]}
    assert len(body["run"]) >= 22 and body["run"] != inspected["mixed"][0]["run"]
    for name, req in (("tiny-digits", {**good, "run": "A" * 22}), ("mixed", good)):
        r = mclient.post(f"/api/models/{name}/trace", json=req)
        assert r.status_code == 410, r.text
        assert "inspect" in r.json()["detail"] and "again" in r.json()["detail"]


def test_a_run_whose_tensors_were_dropped_is_run_again_from_its_input(mclient, inspected):
    """More runs than the cache keeps: the first one's tensors are gone, its input is not."""
    body, _ = inspected["tiny-digits"]
    runs = mclient.app.state.runs
    first = post_trace(mclient, "tiny-digits", body, "conv1", 1, 5, 7).json()
    for _ in range(runs.max_runs + 1):
        r = mclient.post("/api/models/tiny-digits/inspect", files={"file": ("x.png", IMAGES["L"], "image/png")})
        assert r.status_code == 200
    assert body["run"] not in runs._runs and body["run"] in runs._inputs
    again = post_trace(mclient, "tiny-digits", body, "conv1", 1, 5, 7).json()
    assert again == first
    assert again["value"] == pytest.approx(layer_value(body, "tiny-digits", "conv1", 1, 5, 7), abs=1e-6)


def test_gelu_spelled_out_with_constant_nodes_is_one_layer(mclient, inspected):
    body, _ = inspected["mixed"]
    layers = {la["name"]: la for la in body["layers"]}
    assert layers["gelu28"]["activation"] == "GELU" and layers["gelu28"]["output"]["length"] == 5
    for name in ("const21", "mul22", "erf23", "const24", "add25", "const26", "mul27"):
        assert layers[name]["part_of"] == "gelu28" and layers[name]["output"] is None
    assert layers["bias20"]["output"] is not None  # used twice (x and the chain): not folded
    t = post_trace(mclient, "mixed", body, "gelu28", 2).json()
    from math import erf, sqrt
    assert t["op"] == "GELU" and t["result"] == pytest.approx(t["x"] * 0.5 * (1 + erf(t["x"] / sqrt(2))), abs=1e-5)
    bias = t["source"]
    assert bias["layer"] == "bias20" and bias["formula"] == "x + c"
    assert bias["x"] + bias["constant"] == pytest.approx(t["x"], abs=1e-5)
    assert bias["source"]["kind"] == "dense" and bias["source"]["sum"] == pytest.approx(bias["x"], abs=1e-5)


def test_skip_connections_are_named_and_traced_as_x_plus_f_of_x(mclient, inspected):
    body, _ = inspected["resnet-like"]
    layers = {la["name"]: la for la in body["layers"]}
    skips = [la for la in body["layers"] if "skip" in la]
    assert len(skips) == 6  # three blocks, run on the image and on its mirror
    assert all(la["op_type"] == "Add" and la["name"].startswith("skip") for la in skips)
    assert "skip" not in layers[[n for n in layers if n.startswith("add")][-1]]  # the TTA sum
    for la in skips:
        assert layers[la["skip"]["shortcut"]].get("activation") == "GELU"
        assert layers[la["skip"]["main"]]["op_type"] == "Conv"
        assert sorted(la["from"]) == sorted(la["skip"].values())
    t = post_trace(mclient, "resnet-like", body, skips[1]["name"], 3, 2, 5).json()
    assert t["kind"] == "skip" and t["formula"] == "x + F(x)"
    assert t["result"] == pytest.approx(t["x"] + t["fx"], abs=1e-5)
    assert t["result"] == pytest.approx(layer_value(body, "resnet-like", skips[1]["name"], 3, 2, 5),
                                        abs=1e-5)
    assert t["source"]["kind"] == "conv" and t["source"]["layer"] == skips[1]["skip"]["main"]
    assert t["source"]["result"] == pytest.approx(t["fx"], abs=1e-5)
    assert t["field"]["whole"] is False


def test_a_ceil_mode_average_divides_by_the_cells_of_the_padded_input(mclient, inspected):
    """AveragePool with ceil_mode and count_include_pad: the last window hangs past the
    input; the trace divides by the cells that exist, as the engine and onnxruntime do."""
    body, _ = inspected["se-like"]
    for pos in ((0, 0), (0, 12), (12, 12)):
        t = post_trace(mclient, "se-like", body, "avgpool11", 1, *pos).json()
        assert t["kind"] == "avgpool"
        expected = layer_value(body, "se-like", "avgpool11", 1, *pos)
        assert t["result"] == pytest.approx(expected, rel=1e-4, abs=1e-5), pos
    assert post_trace(mclient, "se-like", body, "avgpool11", 1, 12, 12).json()["count"] == 1


def test_after_a_squeeze_and_excitation_gate_every_pixel_counts(mclient, inspected):
    body, _ = inspected["se-like"]
    t = post_trace(mclient, "se-like", body, "conv14", 0, 0, 0).json()
    assert t["field"]["whole"] is True
    # A pixel far outside the conv's own window still moves that output, through the gate.
    graph = load_graph(MODELS["se-like"][0])
    x = np.asarray(body["input"]["data"], np.float32).reshape(body["input"]["shape"])
    moved = x.copy()
    moved[0, 0, 27, 27] += 1.0
    out = graph.node("conv14").outputs[0]
    assert run(graph, moved)[out][0, 0, 0, 0] != run(graph, x)[out][0, 0, 0, 0]
    # Before the gate the field is the conv's own 4x4 window.
    t = post_trace(mclient, "se-like", body, "conv3", 0, 3, 5).json()
    assert t["field"]["whole"] is False and t["field"]["rows"] == [3, 6] and t["field"]["cols"] == [5, 8]


def test_feature_maps_beyond_float16_are_clipped_and_counted_not_infinite():
    from app.encode import f16_json

    payload = f16_json(np.array([[70000.0, 1.0], [-1e9, 0.5]], np.float32))
    values = decode_f16(payload)
    assert np.all(np.isfinite(values)) and values[0, 0] == 65504 and values[1, 0] == -65504
    assert payload["clipped"] == 2 and payload["max"] == 70000.0 and payload["min"] == -1e9
    assert "clipped" not in f16_json(np.ones((2, 2), np.float32))


def test_layers_are_titled_as_a_course_names_them_with_the_onnx_name_kept(inspected):
    body, _ = inspected["lenet-like"]
    shown = [la for la in body["layers"] if not la.get("part_of")]
    assert [la["title"] for la in shown] == [
        "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten",
        "fc1", "relu3", "fc2", "relu4", "fc3", "softmax"]
    assert all(la["branch"] is None and "branch_title" not in la for la in shown)
    assert all(la["name"] != la["title"] for la in shown)  # the ONNX name is still there


def test_the_flip_is_a_labelled_second_branch_and_gelu_one_layer(inspected):
    body, _ = inspected["resnet-like"]
    layers = body["layers"]
    mirror = [la for la in layers if la["branch"] == "mirror"]
    main = [la for la in layers if la["branch"] is None and not la.get("part_of")]
    assert mirror[0]["op_type"] == "MatMul" and mirror[0]["title"] == "mirror"
    assert mirror[0]["branch_title"] == "the same network on the mirrored image; the two answers are averaged"
    assert sum("branch_title" in la for la in layers) == 1
    assert [la["title"] for la in main][-3:] == ["sum of both views", "average", "softmax"]
    gelus = [la for la in main if la.get("activation") == "GELU"]
    assert gelus and all(la["title"].startswith("gelu") for la in gelus)
    for la in layers:  # GELU's inner Mul/Erf/Add steps are titled as their layer
        if la.get("part_of"):
            assert la["title"] == next(x["title"] for x in layers if x["name"] == la["part_of"])
    assert {la["title"] for la in main if la.get("skip")} == {"skip add 1", "skip add 2", "skip add 3"}


def test_reads_say_which_maps_of_which_layer_each_layer_reads(inspected):
    body, _ = inspected["resnet-like"]
    layers = {la["name"]: la for la in body["layers"]}
    for la in body["layers"]:
        if la.get("part_of") or la["op_type"] == "Constant":
            assert la["reads"] == []
            continue
        sources = [r["from"] for r in la["reads"]]
        assert all(s == "input" or s in layers for s in sources), la["name"]
        assert all(s == "input" or not layers[s].get("part_of") for s in sources)  # shown layers
        kinds = {r["channels"] for r in la["reads"]}
        if la["op_type"] in ("Conv", "Gemm", "Flatten", "Softmax"):
            assert kinds == {"all"}, la["name"]
        elif la["op_type"] == "MaxPool" or la.get("activation") or la.get("skip"):
            assert kinds == {"same"}, la["name"]
        if la.get("activation") == "GELU":  # reads the tensor its chain started from, once
            assert sources == [la["from"][0] if len(la["from"]) == 1 else
                               next(s for s in la["from"] if not layers.get(s, {}).get("part_of"))]
        if la.get("skip"):
            assert sorted(sources) == sorted(la["skip"].values())
    join = next(la for la in body["layers"] if la["title"] == "sum of both views")
    assert [layers[r["from"]]["branch"] for r in join["reads"]] == [None, "mirror"]


def test_preprocessing_sizes_are_the_users_file_and_a_reduced_decode_is_said(mclient):
    """A 640x480 JPEG for a 32x32 model is decoded at 80x60 (DCT scaling); the captions
    still speak of the file: its size, that it was decoded reduced, and the crop in its pixels."""
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray((rng.random((480, 640, 3)) * 255).astype(np.uint8)).save(buf, format="JPEG")
    r = mclient.post("/api/models/cifar-like/inspect", files={"file": ("photo.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    captions = [s["caption"] for s in body["preprocessing"]]
    assert body["original"]["width"] == 640 and body["original"]["height"] == 480
    assert captions[0].startswith("your image, 640 × 480 px (decoded at reduced size, 80 × 60")
    assert "centre-cropped to the middle 480 × 480 px of your image" in captions
    assert captions[-1] == "resized to 32 × 32"
    # a PNG of the same size is decoded whole: nothing to say about a reduced decode
    buf = io.BytesIO()
    Image.fromarray((rng.random((48, 64, 3)) * 255).astype(np.uint8)).save(buf, format="PNG")
    r = mclient.post("/api/models/cifar-like/inspect", files={"file": ("small.png", buf.getvalue(), "image/png")})
    first = r.json()["preprocessing"][0]["caption"]
    assert first == "your image, 64 × 48 px"
