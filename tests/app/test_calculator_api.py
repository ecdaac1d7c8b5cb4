"""GET /api/calculator/quiz, POST /api/calculator/check and POST /api/calculator/chain."""

from __future__ import annotations

import pytest

EX = {"kind": "output_size", "input_size": 7, "kernel": 3, "stride": 2, "padding": 0,
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
    assert (ex["input_size"] + 2 * ex["padding"] - ex["kernel"]) % ex["stride"] == 0
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
    ex = {**EX, "kind": "params", "input_size": 32, "kernel": 5, "stride": 1, "padding": 2}
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 760}).json()
    assert r["correct"] and r["formula"] == "(5*5*3 + 1)*10 = 760 (750 weights + 10 biases)"
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 750}).json()
    assert not r["correct"] and "biases" in r["hint"]
    r = client.post("/api/calculator/check", json={"exercise": ex, "answer": 260}).json()
    assert "full" in r["hint"] or "whole" in r["hint"]


def test_check_activations(client):
    ex = {**EX, "kind": "activations", "input_size": 32, "kernel": 5, "stride": 1, "padding": 2}
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
        {"exercise": {**EX, "kernel": 99}, "answer": 1},
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
                    json={"exercise": {**EX, "input_size": 2, "kernel": 9}, "answer": 1})
    assert r.status_code == 422
    assert "larger than the padded input" in r.json()["detail"]


@pytest.mark.parametrize("q", ["seed=-1", "seed=abc", "kind=nope", f"seed={2**31}"])
def test_quiz_bad_query(client, q):
    assert client.get(f"/api/calculator/quiz?{q}").status_code == 422


STACK = [
    {"type": "conv", "filters": 10, "kernel": 5, "stride": 1, "padding": 2},
    {"type": "relu"},
    {"type": "pool", "mode": "max", "kernel": 2, "stride": 2, "padding": 0},
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
    layers = [{"type": "conv", "filters": 4, "kernel": 7}]
    d = client.post("/api/calculator/chain", json={"input": [1, 5, 5], "layers": layers}).json()
    assert d["totals"]["broken_at"] == 0 and "does not fit" in d["layers"][0]["error"]


def test_chain_huge_numbers_are_flagged_not_wrong(client):
    layers = ([{"type": "conv", "filters": 2048, "kernel": 32, "padding": 32}] * 6
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
        {"input": [3, 32, 32], "layers": [{"type": "conv", "filters": 0, "kernel": 3}]},
        {"input": [3, 32, 32], "layers": [{"type": "conv", "filters": 4}]},
        {"input": [3, 32, 32], "layers": [{"type": "conv", "filters": 4, "kernel": 3, "bias": 1}]},
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
        {"type": "conv", "filters": 6, "kernel": 5, "padding": 2},
        {"type": "relu"},
        {"type": "pool", "mode": "max", "kernel": 3, "stride": 2, "padding": 1},
        {"type": "conv", "filters": 8, "kernel": 3, "stride": 2, "dilation": 2},
        {"type": "pool", "mode": "avg", "kernel": 2},
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
