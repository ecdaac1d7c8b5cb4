"""GET /api/calculator/quiz, POST /api/calculator/check and POST /api/calculator/chain."""

from __future__ import annotations

import pytest

EX = {"kind": "output_size", "input_size": 7, "kernel_size": 3, "stride": 2, "padding": 0,
      "in_channels": 3, "filters": 10}


def test_quiz_is_reproducible_from_its_seed(client):
    a = client.get("/api/calculator/quiz", params={"seed": 42}).json()
    b = client.get("/api/calculator/quiz", params={"seed": 42}).json()
    assert a == b and a["seed"] == 42
    assert a["question"].startswith("Input volume")
    r = client.get("/api/calculator/quiz").json()
    assert 0 <= r["seed"] < 2**31


@pytest.mark.parametrize("seed", range(40))
def test_every_quiz_exercise_is_answerable(client, seed):
    q = client.get("/api/calculator/quiz", params={"seed": seed}).json()
    ex = q["exercise"]
    assert (ex["input_size"] + 2 * ex["padding"] - ex["kernel_size"]) % ex["stride"] == 0
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 0})
    assert r.status_code == 200
    expected = r.json()["expected"]
    ok = client.post("/api/calculator/check", json={"exercise": ex, "answer": expected}).json()
    assert ok["correct"] is True and ok["hint"] == ""


def test_quiz_kind_can_be_chosen(client):
    for kind in ("output_size", "params", "activations"):
        q = client.get("/api/calculator/quiz", params={"seed": 1, "kind": kind}).json()
        assert q["exercise"]["kind"] == kind


def test_check_output_size(client):
    r = client.post("/api/calculator/check", json={"exercise": EX, "answer": 3}).json()
    assert r["correct"] is True and r["expected"] == 3
    assert r["formula"] == "(7 - 3 + 2*0)/2 + 1 = 3"
    wrong = client.post("/api/calculator/check", json={"exercise": EX, "answer": 2}).json()
    assert wrong["correct"] is False and wrong["expected"] == 3
    assert "+ 1" in wrong["hint"]


def test_check_params_and_hints(client):
    ex = {**EX, "kind": "params", "input_size": 32, "kernel_size": 5, "stride": 1, "padding": 2}
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 760}).json()
    assert r["correct"] and r["formula"] == "(5*5*3 + 1)*10 = 760 (750 weights + 10 biases)"
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 750}).json()
    assert not r["correct"] and "biases" in r["hint"]
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 260}).json()
    assert "full" in r["hint"] or "whole" in r["hint"]


def test_check_activations(client):
    ex = {**EX, "kind": "activations", "input_size": 32, "kernel_size": 5, "stride": 1, "padding": 2}
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 1024}).json()
    assert r["expected"] == 32 * 32 * 10 and not r["correct"]
    assert "one activation map" in r["hint"]
    assert r["formula"] == "32*32*10 = 10,240"


@pytest.mark.parametrize(
    "body",
    [
        {"exercise": EX, "answer": "3"},
        {"exercise": EX, "answer": -1},
        {"exercise": EX, "answer": 3.5},
        {"exercise": {**EX, "kernel_size": 99}, "answer": 1},
        {"exercise": {**EX, "kind": "memory"}, "answer": 1},
        {"exercise": {**EX, "extra": 1}, "answer": 1},
        {"exercise": EX},
    ],
)
def test_check_rejects_bad_input(client, body):
    r = client.post("/api/calculator/check", json=body)
    assert r.status_code == 422 and r.json()["detail"]


def test_check_impossible_exercise_is_422(client):
    r = client.post("/api/calculator/check",
                    json={"exercise": {**EX, "input_size": 2, "kernel_size": 9}, "answer": 1})
    assert r.status_code == 422
    assert "larger than the padded input" in r.json()["detail"]


@pytest.mark.parametrize("q", ["seed=-1", "seed=abc", "kind=nope", f"seed={2**31}"])
def test_quiz_bad_query(client, q):
    assert client.get(f"/api/calculator/quiz?{q}").status_code == 422


STACK = [
    {"type": "conv", "filters": 10, "kernel_size": 5, "stride": 1, "padding": 2},
    {"type": "relu"},
    {"type": "pool", "mode": "max", "kernel_size": 2, "stride": 2, "padding": 0},
    {"type": "flatten"},
    {"type": "dense", "units": 10},
]


def test_chain_counts_each_layer(client):
    r = client.post("/api/calculator/chain", json={"input": [3, 32, 32], "layers": STACK})
    assert r.status_code == 200
    d = r.json()
    shapes = [row["output_shape"] for row in d["layers"]]
    assert shapes == [[10, 32, 32], [10, 32, 32], [10, 16, 16], [2560], [10]]
    assert [row["params"] for row in d["layers"]] == [760, 0, 0, 0, 25_610]
    assert [row["memory_bytes"] for row in d["layers"]] == [40_960, 40_960, 10_240, 0, 40]
    t = d["totals"]
    assert t["params"] == 26_370 and t["broken_at"] is None
    assert t["activations"] == 3 * 32 * 32 + 10_240 * 2 + 2560 + 10
    assert t["memory_bytes"] == 4 * t["activations"]
    assert t["output_shape"] == [10]
    assert d["layers"][0]["params_formula"] == "(5*5*3 + 1)*10 = 760"
    assert "nn.Conv2d(3, 10, kernel_size=5, stride=1, padding=2)" in d["pytorch"]
    assert "nn.Linear(2560, 10)" in d["pytorch"]
    assert "keras.Input(shape=(32, 32, 3))" in d["keras"]
    assert 'layers.Conv2D(10, kernel_size=5, strides=1, padding="same")' in d["keras"]
    assert "layers.Dense(10)" in d["keras"]


def test_chain_flags_where_it_breaks(client):
    layers = [STACK[0], {"type": "dense", "units": 4}, STACK[3], {"type": "dense", "units": 2}]
    d = client.post("/api/calculator/chain", json={"input": [3, 32, 32], "layers": layers}).json()
    assert d["totals"]["broken_at"] == 1
    assert "Flatten" in d["layers"][1]["error"]
    assert [row["skipped"] for row in d["layers"]] == [False, False, True, True]
    assert d["totals"]["params"] == 760
    assert d["keras"] is None and d["pytorch"] is None


def test_chain_filter_too_big(client):
    layers = [{"type": "conv", "filters": 4, "kernel_size": 7}]
    d = client.post("/api/calculator/chain", json={"input": [1, 5, 5], "layers": layers}).json()
    assert d["totals"]["broken_at"] == 0 and "does not fit" in d["layers"][0]["error"]


def test_chain_huge_numbers_are_flagged_not_wrong(client):
    layers = ([{"type": "conv", "filters": 2048, "kernel_size": 32, "padding": 32}] * 6
              + [{"type": "flatten"}, {"type": "dense", "units": 16384}])
    r = client.post("/api/calculator/chain", json={"input": [1024, 1024, 1024], "layers": layers})
    assert r.status_code == 200
    d = r.json()
    assert d["totals"]["broken_at"] is not None
    assert "2^53" in d["layers"][d["totals"]["broken_at"]]["error"]


def test_chain_empty_stack(client):
    d = client.post("/api/calculator/chain", json={"input": [1, 4, 4], "layers": []}).json()
    assert d["layers"] == [] and d["totals"]["output_shape"] == [1, 4, 4]


@pytest.mark.parametrize(
    "body",
    [
        {"input": [3, 32], "layers": []},
        {"input": [3, 32, 0], "layers": []},
        {"input": [3, 32, 5000], "layers": []},
        {"input": [3, 32, 32], "layers": [{"type": "softmax"}]},
        {"input": [3, 32, 32], "layers": [{"type": "conv", "filters": 0, "kernel_size": 3}]},
        {"input": [3, 32, 32], "layers": [{"type": "conv", "filters": 4}]},
        {"input": [3, 32, 32], "layers": [{"type": "conv", "filters": 4, "kernel_size": 3, "bias": 1}]},
        {"input": [3, 32, 32], "layers": [{"type": "pool", "mode": "min"}]},
        {"input": [3, 32, 32], "layers": [{"type": "relu"}] * 65},
        {"input": [3, 32, 32], "layers": [{"type": "dense", "units": "10"}]},
    ],
)
def test_chain_rejects_bad_input(client, body):
    r = client.post("/api/calculator/chain", json=body)
    assert r.status_code == 422 and r.json()["detail"]


def test_generated_pytorch_code_runs_and_matches_the_engine(client):
    torch = pytest.importorskip("torch")
    layers = [
        {"type": "conv", "filters": 6, "kernel_size": 5, "padding": 2},
        {"type": "relu"},
        {"type": "pool", "mode": "max", "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "conv", "filters": 8, "kernel_size": 3, "stride": 2, "dilation": 2},
        {"type": "pool", "mode": "avg", "kernel_size": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 12},
        {"type": "relu"},
        {"type": "dense", "units": 10},
    ]
    d = client.post("/api/calculator/chain", json={"input": [3, 31, 28], "layers": layers}).json()
    assert d["totals"]["broken_at"] is None
    scope: dict = {}
    exec(d["pytorch"].replace("print(", "(lambda *a: None)("), scope)  # noqa: S102
    model = scope["model"]
    seen = []
    x = torch.zeros(1, 3, 31, 28)
    for module, row in zip(model, d["layers"], strict=True):
        x = module(x)
        seen.append(list(x.shape[1:]))
        assert sum(p.numel() for p in module.parameters()) == row["params"]
    assert seen == [row["output_shape"] for row in d["layers"]]


# --- kernel_size, and the deprecated old name kernel ----------------------------------


def test_chain_takes_kernel_size_without_warnings(client):
    r = client.post("/api/calculator/chain", json={"input": [3, 32, 32], "layers": STACK})
    assert r.status_code == 200
    assert "deprecation" not in r.headers and "warnings" not in r.json()


def test_chain_still_takes_the_old_name_kernel_with_a_deprecation_notice(client):
    old = [{("kernel" if k == "kernel_size" else k): v for k, v in layer.items()} for layer in STACK]
    r = client.post("/api/calculator/chain", json={"input": [3, 32, 32], "layers": old})
    new = client.post("/api/calculator/chain", json={"input": [3, 32, 32], "layers": STACK}).json()
    assert r.status_code == 200
    assert r.headers["deprecation"].startswith("@") and int(r.headers["deprecation"][1:]) > 0
    body = r.json()
    (warning,) = body.pop("warnings")
    assert "'kernel' is deprecated" in warning and "kernel_size" in warning
    assert "layer 1, layer 3" in warning  # the conv and the pool that used it
    assert body == new  # the same answer otherwise


def test_chain_refuses_both_names_at_once(client):
    layer = {"type": "conv", "filters": 4, "kernel": 3, "kernel_size": 3}
    r = client.post("/api/calculator/chain", json={"input": [1, 8, 8], "layers": [layer]})
    assert r.status_code == 422 and "kernel_size" in r.text


def test_check_takes_the_old_exercise_name_with_a_deprecation_notice(client):
    old = {("kernel" if k == "kernel_size" else k): v for k, v in EX.items()}
    r = client.post("/api/calculator/check", json={"exercise": old, "answer": 3})
    assert r.status_code == 200 and r.json()["correct"] is True
    assert "deprecation" in r.headers and "exercise" in r.json()["warnings"][0]
    plain = client.post("/api/calculator/check", json={"exercise": EX, "answer": 3})
    assert "deprecation" not in plain.headers and "warnings" not in plain.json()


def test_the_old_name_is_documented_as_deprecated(client):
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "deprecated" in schema["ConvLayer"]["properties"]["kernel_size"]["description"]
    assert "kernel" not in schema["ConvLayer"]["properties"]


# --- kinds of convolution and the rules ------------------------------------------------


def test_kinds_lists_every_kind(client):
    names = [k["name"] for k in client.get("/api/calculator/kinds").json()["kinds"]]
    assert names == ["standard", "pointwise", "bottleneck", "grouped", "depthwise", "separable",
                     "transposed", "conv1d"]


def test_kind_separable_saving(client):
    body = {"kind": "separable", "input_size": [112, 112], "in_channels": 64, "filters": 128,
            "kernel_size": 3, "padding": 1}
    d = client.post("/api/calculator/kind", json=body).json()
    assert d["output_shape"] == [128, 112, 112]
    dw, pw = 112 * 112 * 64 * 9, 112 * 112 * 64 * 128
    assert d["macs"]["total"] == dw + pw and d["standard"]["macs"] == 112 * 112 * 128 * 9 * 64
    assert d["params"]["total"] == (9 + 1) * 64 + (64 + 1) * 128
    assert [s["name"] for s in d["stages"]] == ["depthwise", "pointwise 1x1"]
    assert "times fewer multiply-adds" in d["savings"]


def test_kind_transposed_size(client):
    body = {"kind": "transposed", "input_size": [4, 4], "in_channels": 1024, "filters": 512,
            "kernel_size": 4, "stride": 2, "padding": 1}
    d = client.post("/api/calculator/kind", json=body).json()
    assert d["output_shape"] == [512, 8, 8]
    assert d["size_formula"] == "(4 - 1)*2 - 2*1 + 4 = 8"


def test_kind_conv1d_and_pointwise(client):
    d = client.post("/api/calculator/kind", json={"kind": "conv1d", "input_size": [100], "in_channels": 16,
                                                  "filters": 32, "kernel_size": 5, "padding": 2}).json()
    assert d["output_shape"] == [32, 100] and d["params"]["total"] == (5 * 16 + 1) * 32
    d = client.post("/api/calculator/kind", json={"kind": "pointwise", "input_size": [28, 28], "in_channels": 256,
                                                  "filters": 64, "kernel_size": 5}).json()
    assert d["output_shape"] == [64, 28, 28] and d["params"]["total"] == (256 + 1) * 64


@pytest.mark.parametrize(("body", "text"), [
    ({"kind": "grouped", "input_size": [8, 8], "in_channels": 4, "filters": 6, "groups": 4}, "divide"),
    ({"kind": "standard", "input_size": [3, 3], "in_channels": 1, "filters": 1, "kernel_size": 7}, "fits nowhere"),
    ({"kind": "conv1d", "input_size": [8, 8], "in_channels": 1, "filters": 1}, "one input length"),
    ({"kind": "transposed", "input_size": [1, 1], "in_channels": 1, "filters": 1, "kernel_size": 1,
      "padding": 1}, "crops all"),
    ({"kind": "standard", "input_size": [4096, 4096], "in_channels": 8192, "filters": 8192,
      "kernel_size": 64, "padding": 32}, "2^53"),
    ({"kind": "wavelet", "input_size": [8, 8], "in_channels": 1, "filters": 1}, ""),
    ({"kind": "standard", "input_size": [8, 8, 8], "in_channels": 1, "filters": 1}, ""),
])
def test_kind_refusals_are_clear_422s(client, body, text):
    r = client.post("/api/calculator/kind", json=body)
    assert r.status_code == 422 and text in r.json()["detail"]


def test_rules_state_the_same_padding_rule(client):
    d = client.get("/api/calculator/rules").json()["same_padding"]
    assert d["examples"] == [{"kernel_size": 3, "padding": 1}, {"kernel_size": 5, "padding": 2},
                             {"kernel_size": 7, "padding": 3}]
    assert "(F \u2212 1)/2" in d["rule"] and "keeps the size" in d["rule"]
    for ex in d["examples"]:  # the rule holds for the calculator's own sums
        r = client.post("/api/output-size", json={"input_size": 32, "kernel_size": ex["kernel_size"],
                                                  "padding": ex["padding"]}).json()
        assert r["output_size"] == [32, 32]


def test_six_5x5_filters_on_32x32x3(client):
    """The course's example: six 5x5 filters on 32x32x3 give 28x28x6."""
    r = client.post("/api/output-size", json={"input_size": 32, "kernel_size": 5, "in_channels": 3,
                                              "filters": 6}).json()
    assert r["output_shape"] == [6, 28, 28] and r["params"]["total"] == (5 * 5 * 3 + 1) * 6
