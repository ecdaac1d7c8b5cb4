"""The engine routes: health, output size, conv (+ trace), pool, activation, softmax."""

from __future__ import annotations

import numpy as np
import pytest

from app.encode import tensor_json
from engine.ops import reference


def t(a) -> dict:
    return tensor_json(np.asarray(a, dtype=np.float64), decimals=None)


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["version"]


def test_security_headers_on_every_response(client):
    for path in ("/api/health", "/", "/docs", "/static/css/main.css", "/api/nope"):
        r = client.get(path)
        csp = r.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "body,size,fits,formula",
    [
        ({"input_size": 7, "kernel_size": 3}, [5, 5], True, "(7 - 3 + 2*0)/1 + 1 = 5"),
        ({"input_size": 7, "kernel_size": 3, "stride": 2}, [3, 3], True, "(7 - 3 + 2*0)/2 + 1 = 3"),
        ({"input_size": 7, "kernel_size": 3, "stride": 3}, [2, 2], False, "= 2.33, rounded down to 2"),
        ({"input_size": 7, "kernel_size": 3, "padding": 1}, [7, 7], True, "(7 - 3 + 2*1)/1 + 1 = 7"),
        ({"input_size": 32, "kernel_size": 5, "padding": 2}, [32, 32], True, "(32 - 5 + 2*2)/1 + 1 = 32"),
        ({"input_size": 227, "kernel_size": 11, "stride": 4}, [55, 55], True, "(227 - 11 + 2*0)/4 + 1 = 55"),
        ({"input_size": [32, 20], "kernel_size": 3, "padding": "same"}, [32, 20], True, "rows:"),
        ({"input_size": 10, "kernel_size": 3, "dilation": 2}, [6, 6], True, "(10 - (2*(3-1)+1) + 2*0)/1 + 1 = 6"),
        ({"input_size": 8, "kernel_size": 3, "padding": [1, 0, 2, 0]}, [9, 6], True, "(8 - 3 + 1 + 2)/1 + 1 = 9"),
    ],
)
def test_output_size(client, body, size, fits, formula):
    r = client.post("/api/output-size", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["output_size"] == size
    assert out["fits"] is fits
    assert formula in out["formula"]


def test_output_size_course_params(client):
    r = client.post(
        "/api/output-size",
        json={"input_size": 32, "kernel_size": 5, "padding": 2, "in_channels": 3, "filters": 10},
    ).json()
    assert r["params"] == {
        "weights": 750, "biases": 10, "total": 760,
        "formula": "(5*5*3 + 1)*10 = 760 (750 weights + 10 biases)",
    }
    assert r["activations"] == 32 * 32 * 10
    alex = client.post(
        "/api/output-size",
        json={"input_size": 227, "kernel_size": 11, "stride": 4, "in_channels": 3, "filters": 96},
    ).json()
    assert alex["output_shape"] == [96, 55, 55]
    assert alex["params"]["weights"] == 34_848 and alex["params"]["biases"] == 96
    # Thousands separators in the sentence, and "an" before eleven (issue 19).
    assert alex["params"]["formula"] == "(11*11*3 + 1)*96 = 34,944 (34,848 weights + 96 biases)"
    assert alex["explanation"].startswith("An 11x11 window sliding over a 227x227 input")
    small = client.post("/api/output-size", json={"input_size": 8, "kernel_size": 3}).json()
    assert small["explanation"].startswith("A 3x3 window sliding over an 8x8 input")


def test_output_size_explains_uncovered_rows(client):
    r = client.post("/api/output-size", json={"input_size": 7, "kernel_size": 3, "stride": 3}).json()
    assert r["fits"] is False
    assert "never covered" in r["explanation"]
    assert "input row and column 6 are never covered" in r["explanation"]
    assert r["unread"] == {"rows": [6], "columns": [6]} and r["reads_all_input"] is False


def test_output_size_names_cells_a_large_stride_steps_over(client):
    # 7x7, 1x1 window, stride 2: (7 - 1)/2 + 1 = 4 lands evenly, yet rows 1, 3, 5 are never read.
    r = client.post("/api/output-size", json={"input_size": 7, "kernel_size": 1, "stride": 2}).json()
    assert r["fits"] is True and r["reads_all_input"] is False
    assert r["unread"] == {"rows": [1, 3, 5], "columns": [1, 3, 5]}
    assert "steps over input rows and columns 1, 3, 5 (3 of 7)" in r["explanation"]
    # Rows and columns differ: each axis is said on its own; padding cells are not input.
    r = client.post("/api/output-size", json={"input_size": [7, 6], "kernel_size": [1, 3],
                                               "stride": 2, "padding": 1}).json()
    assert r["unread"] == {"rows": [1, 3, 5, 7], "columns": [7]}  # padded indices
    assert "steps over input rows 0, 2, 4, 6 (4 of 7)" in r["explanation"]
    assert "1 padding column is never covered" in r["explanation"]  # only padding lost


def test_output_size_reads_everything_when_windows_overlap(client):
    r = client.post("/api/output-size", json={"input_size": 7, "kernel_size": 3, "padding": 1}).json()
    assert r["unread"] == {"rows": [], "columns": []} and r["reads_all_input"] is True
    assert "never" not in r["explanation"] and "steps over" not in r["explanation"]


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"input_size": 3, "kernel_size": 5}, "larger than the padded input"),
        ({"input_size": 7, "kernel_size": 3, "stride": 0}, "stride"),
        ({"input_size": -7, "kernel_size": 3}, "input_size"),
        ({"input_size": 7, "kernel_size": 3, "padding": "valid"}, "padding"),
        ({"input_size": "7", "kernel_size": 3}, "input_size"),
        ({"input_size": 7}, "kernel_size"),
        ({"input_size": 7, "kernel_size": 3, "bogus": 1}, "bogus"),
    ],
)
def test_output_size_rejects(client, body, needle):
    r = client.post("/api/output-size", json=body)
    assert r.status_code == 422
    assert needle in r.json()["detail"]


def test_output_size_says_where_the_windows_sit(client):
    """What the calculator draws: window starts and tap offsets per axis, the dilated span,
    the last cell reached, padded sizes (padded cells, as ``unread``)."""
    r = client.post("/api/output-size", json={"input_size": [9, 7], "kernel_size": 3, "dilation": [2, 1],
                                              "stride": [1, 3], "padding": [1, 0, 1, 0]}).json()
    assert r["output_size"] == [7, 2] and r["axes"]["cap"] == 300
    rows, cols = r["axes"]["rows"], r["axes"]["columns"]
    assert rows == {"padded": 11, "span": 5, "starts": [0, 1, 2, 3, 4, 5, 6], "taps": [0, 2, 4],
                    "last": 10, "overlap": 5, "capped": False}
    assert cols == {"padded": 7, "span": 3, "starts": [0, 3], "taps": [0, 1, 2], "last": 5,
                    "overlap": 1, "capped": False}
    assert r["unread"]["columns"] == [6]


def test_output_size_windows_are_capped_at_the_cells_drawn(client):
    r = client.post("/api/output-size", json={"input_size": 100000, "kernel_size": 60000,
                                              "padding": 10000}).json()
    ax = r["axes"]["rows"]
    assert ax["capped"] and len(ax["starts"]) == len(ax["taps"]) == 300
    assert (ax["span"], ax["last"], ax["padded"]) == (60000, 119999, 120000)


@pytest.mark.parametrize(("route", "body", "formula"), [
    ("/api/output-size", {"input_size": 6, "kernel_size": 7}, "(6 - 7 + 2*0)/1 + 1 = 0"),
    ("/api/output-size", {"input_size": [6, 9], "kernel_size": 9, "stride": 2, "padding": 1},
     "rows: (6 - 9 + 2*1)/2 + 1 = 0.50"),
    ("/api/conv", {"input": {"shape": [1, 6, 6], "data": [0.0] * 36},
                   "weights": {"shape": [1, 1, 7, 7], "data": [0.0] * 49}}, "(6 - 7 + 2*0)/1 + 1 = 0"),
])
def test_an_impossible_layer_is_refused_with_its_formula(client, route, body, formula):
    """The 422's ``detail`` says why in a sentence; ``formula`` is the output-size sum."""
    r = client.post(route, json=body)
    assert r.status_code == 422
    out = r.json()
    assert "larger than the padded input" in out["detail"] and out["formula"] == formula


def test_other_refusals_carry_no_formula(client):
    out = client.post("/api/output-size", json={"input_size": 100000, "kernel_size": 101,
                                                "dilation": 1000}).json()
    assert "at most 100,000" in out["detail"] and "formula" not in out
    pool = client.post("/api/pool", json={"input": t(np.zeros((1, 4, 4))), "kernel_size": 2,
                                          "padding": 2})
    assert pool.status_code == 422 and "at most half" in pool.json()["detail"]


def test_conv_matches_reference_and_traces(client):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 9, 8)).round(3)
    w = rng.normal(size=(2, 3, 3, 3)).round(3)
    b = [0.5, -1.0]
    r = client.post(
        "/api/conv",
        json={"input": t(x), "weights": t(w), "bias": b, "stride": 2, "padding": 1, "trace": [1, 2, 3]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    expected = reference.conv2d_reference(x[None], w, np.asarray(b), strides=(2, 2), pads=(1, 1, 1, 1))[0]
    out = np.asarray(body["output"]["data"]).reshape(body["output"]["shape"])
    assert out.shape == (2, 5, 4)
    np.testing.assert_allclose(out, expected, atol=1e-4)
    assert body["output_size"]["output_size"] == [5, 4]
    tr = body["trace"]
    assert tr["rows"] == [4, 5, 6] and tr["cols"] == [6, 7, 8]
    assert tr["input_rows"] == [3, 4, 5] and tr["input_cols"] == [5, 6, 7]
    products = np.asarray(tr["products"]["data"]).reshape(3, 3, 3)
    np.testing.assert_allclose(products.sum(axis=(1, 2)), tr["channel_sums"], atol=1e-5)
    assert tr["value"] == pytest.approx(tr["sum"] + tr["bias"], abs=1e-5)
    assert tr["value"] == pytest.approx(expected[1, 2, 3], abs=1e-4)


def test_conv_trace_padding_cells_are_zero(client):
    x = np.ones((1, 4, 4))
    w = np.ones((1, 1, 3, 3))
    body = client.post(
        "/api/conv", json={"input": t(x), "weights": t(w), "padding": 1, "trace": [0, 0, 0]}
    ).json()
    patch = np.asarray(body["trace"]["patch"]["data"]).reshape(3, 3)
    assert patch[0].tolist() == [0, 0, 0] and patch[:, 0].tolist() == [0, 0, 0]
    assert body["trace"]["value"] == 4.0


def test_conv_activation(client):
    x = np.arange(16, dtype=float).reshape(1, 4, 4) - 8
    w = np.ones((1, 1, 1, 1))
    body = client.post("/api/conv", json={"input": t(x), "weights": t(w), "activation": "relu"}).json()
    assert min(body["output"]["data"]) == 0.0
    assert min(body["pre_activation"]["data"]) == -8.0


@pytest.mark.parametrize(
    "change,needle",
    [
        ({"input": {"shape": [4, 8, 8], "data": [0.0] * 256}}, "at most 3 x 128 x 128"),
        ({"input": {"shape": [1, 8, 8], "data": [0.0] * 63}}, "needs 64 values"),
        ({"weights": {"shape": [1, 2, 3, 3], "data": [0.0] * 18}}, "one slice per input channel"),
        ({"weights": {"shape": [1, 1, 13, 13], "data": [0.0] * 169}}, "11 x 11"),
        ({"bias": [1.0, 2.0]}, "one value per filter"),
        ({"stride": 0}, "stride"),
        ({"trace": [0, 50, 0]}, "outside the output"),
        ({"activation": "softplus"}, "activation"),
        ({"weights": {"shape": [1, 1, 9, 9], "data": [0.0] * 81}}, "larger than the padded input"),
    ],
)
def test_conv_rejects(client, change, needle):
    body = {"input": t(np.zeros((1, 8, 8))), "weights": t(np.zeros((1, 1, 3, 3)))}
    body.update(change)
    r = client.post("/api/conv", json=body)
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_rejected(client, literal):
    raw = f'{{"input": {{"shape": [1, 1, 1], "data": [{literal}]}}, "function": "relu"}}'
    r = client.post("/api/activation", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"]


def test_pool_course_example(client):
    x = [[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]
    body = client.post("/api/pool", json={"input": t([x]), "mode": "max"}).json()
    assert body["output"]["data"] == [6, 8, 3, 4]
    assert body["argmax"]["rows"] == [1, 1, 2, 3] and body["argmax"]["cols"] == [1, 3, 0, 3]
    avg = client.post("/api/pool", json={"input": t([x]), "mode": "avg"}).json()
    assert avg["output"]["data"] == [3.25, 5.25, 2.0, 2.0]
    assert avg["argmax"] is None


def test_pool_rejects_big_padding(client):
    r = client.post("/api/pool", json={"input": t(np.zeros((1, 4, 4))), "kernel_size": 2, "padding": 2})
    assert r.status_code == 422


@pytest.mark.parametrize(
    "fn,out,grad",
    [
        ("relu", [0, 0, 2], [0, 0, 1]),
        ("sigmoid", [0.119203, 0.5, 0.880797], [0.104994, 0.25, 0.104994]),
        ("tanh", [-0.964028, 0.0, 0.964028], [0.070651, 1.0, 0.070651]),
    ],
)
def test_activation(client, fn, out, grad):
    body = client.post("/api/activation", json={"input": t([-2.0, 0.0, 2.0]), "function": fn}).json()
    np.testing.assert_allclose(body["output"]["data"], out, atol=1e-5)
    if fn == "relu":
        assert body["gradient"]["data"][0] == 0 and body["gradient"]["data"][2] == 1
    else:
        np.testing.assert_allclose(body["gradient"]["data"], grad, atol=1e-5)


def test_softmax_steps(client):
    body = client.post("/api/softmax", json={"scores": [3.2, 5.1, -1.7]}).json()
    assert body["max"] == 5.1
    np.testing.assert_allclose(body["shifted"], [-1.9, 0.0, -6.8], atol=1e-12)
    np.testing.assert_allclose(body["exp"], np.exp([-1.9, 0.0, -6.8]))
    assert sum(body["probabilities"]) == pytest.approx(1.0)
    np.testing.assert_allclose(body["probabilities"], [0.13, 0.87, 0.00], atol=0.005)
    huge = client.post("/api/softmax", json={"scores": [1000.0, 999.0]}).json()
    assert huge["probabilities"][0] == pytest.approx(1 / (1 + np.exp(-1)))


@pytest.mark.parametrize("body", [{"scores": []}, {"scores": ["a"]}, {"scores": [1e9]}, {}])
def test_softmax_rejects(client, body):
    assert client.post("/api/softmax", json=body).status_code == 422


def test_json_body_limit(client):
    big = b'{"scores": [' + b"1.0," * 700_000 + b"1.0]}"
    r = client.post("/api/softmax", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert client.get("/api/health").status_code == 200


def test_home_and_docs_pages(client):
    home = client.get("/")
    assert home.status_code == 200 and "ConvLab" in home.text
    docs = client.get("/docs")
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "<script>" not in docs.text
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/conv" in spec["paths"]


@pytest.mark.parametrize("body", [
    {"input_size": 100000, "kernel_size": 60000, "padding": 10000},  # outputs x taps = 3.6e9
    {"input_size": 100000, "kernel_size": 1, "stride": 2, "padding": 10000},  # 60,000 unread rows
    {"input_size": 100000, "kernel_size": 2, "stride": 7, "dilation": 1000, "padding": 10000},
])
def test_output_size_stays_small_at_the_largest_sizes(client, body):
    """Which cells are read is found in time and memory linear in the input, and the
    lists sent back are capped (the counts are not)."""
    r = client.post("/api/output-size", json=body)
    assert r.status_code == 200
    out = r.json()
    assert len(r.content) < 64 * 1024
    for axis in ("rows", "columns"):
        assert len(out["unread"][axis]) <= 1000
        assert out["unread_count"][axis] >= len(out["unread"][axis])
    if body.get("stride") == 2:
        assert out["unread_count"]["rows"] == 60000
