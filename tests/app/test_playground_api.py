"""GET /api/filters: the playground's presets, served as (C, F, F) weights."""

from __future__ import annotations

import numpy as np
import pytest


def names(body: dict) -> list[str]:
    return [f["name"] for f in body["filters"]]


def test_default_is_every_3x3_preset_for_greyscale(client):
    r = client.get("/api/filters")
    assert r.status_code == 200
    body = r.json()
    assert body["size"] == 3 and body["channels"] == "L"
    expected = {"identity", "box_blur", "gaussian_blur", "sharpen", "sobel_x", "sobel_y",
                "prewitt_x", "prewitt_y", "laplacian", "emboss", "outline", "diagonal", "vertical"}
    assert set(names(body)) == expected
    sobel = next(f for f in body["filters"] if f["name"] == "sobel_x")
    assert sobel["title"] == "Sobel x" and "vertical edges" in sobel["description"]
    assert sobel["weights"] == {"shape": [1, 3, 3], "data": [-1, 0, 1, -2, 0, 2, -1, 0, 1],
                                "min": -2, "max": 2}  # every tensor says its range


@pytest.mark.parametrize("size", [1, 2, 4, 5, 7])
def test_other_sizes_offer_what_exists_there(client, size):
    body = client.get(f"/api/filters?kernel_size={size}").json()
    assert "box_blur" in names(body)
    assert ("sobel_x" in names(body)) == (size % 2 == 1 and size >= 3)
    assert "laplacian" not in names(body)
    for f in body["filters"]:
        assert f["weights"]["shape"] == [1, size, size]
        assert len(f["weights"]["data"]) == size * size


def test_rgb_filters_have_three_slices_that_sum_to_the_kernel(client):
    body = client.get("/api/filters?kernel_size=5&channels=RGB").json()
    assert body["channels"] == "RGB"
    grey = {f["name"]: f for f in client.get("/api/filters?kernel_size=5").json()["filters"]}
    for f in body["filters"]:
        assert f["weights"]["shape"] == [3, 5, 5]
        w = np.array(f["weights"]["data"]).reshape(3, 5, 5)
        g = np.array(grey[f["name"]]["weights"]["data"]).reshape(5, 5)
        np.testing.assert_allclose(w.sum(axis=0), g, atol=1e-5)


def test_course_filters_work_with_the_conv_route(client):
    course = client.get("/api/samples/course-6x6").json()["tensor"]
    body = client.get("/api/filters").json()
    by_name = {f["name"]: f["weights"] for f in body["filters"]}
    weights = by_name["diagonal"]["data"] + by_name["vertical"]["data"]
    r = client.post("/api/conv", json={"input": course, "weights": {"shape": [2, 1, 3, 3], "data": weights}})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["output_size"]["output_shape"] == [2, 4, 4]
    assert out["output"]["data"][:4] == [3, -1, -3, -1]


@pytest.mark.parametrize(
    "query",
    ["size=0", "size=8", "size=three", "size=2.5", "channels=CMYK", "channels=rgb", "size=-1"],
)
def test_bad_queries_get_a_readable_422(client, query):
    r = client.get(f"/api/filters?{query}")
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert isinstance(detail, str) and ("size" in detail or "channels" in detail)


# --- POST /api/playground/convolution: the convolutions after the course ----------------

OPS = ["standard", "pointwise", "grouped", "depthwise", "separable", "transposed", "conv1d"]


@pytest.mark.parametrize("op", OPS)
def test_convolution_example_traces_one_value(client, op):
    body = {"op": op, "size": 5, "in_channels": 2, "filters": 2, "kernel_size": 3, "stride": 2,
            "padding": 1, "groups": 2, "seed": 4, "position": [1, 0, 1],
            "output_padding": 1 if op == "transposed" else 0}
    r = client.post("/api/playground/convolution", json=body)
    assert r.status_code == 200, r.text
    d = r.json()
    out = np.asarray(d["output"]["data"]).reshape(d["output"]["shape"])
    if op == "conv1d":
        out = out[:, None, :]
    t = d["trace"]
    assert out[tuple(t["position"])] == pytest.approx(t["value"]) == pytest.approx(t["engine_value"])
    assert sum(term["product"] for term in t["terms"]) == pytest.approx(t["sum"])
    assert t["value"] == pytest.approx(t["sum"] + t["bias"])
    assert list(out.shape) == [d["output_shape"][0], *([1] if op == "conv1d" else []), *d["output_shape"][1:]]
    x = np.asarray(d["input"]["data"])
    assert set(np.unique(x)) <= {0, 1, 2, 3, 4}  # whole numbers a student can add up
    assert d["size_formula"] and d["params"]["formula"] and d["macs"]["formula"]
    if op == "transposed":
        assert t["zero_view"]["sum"] == pytest.approx(t["sum"]) and t["gradient_gap"] == 0
        assert d["output_shape"] == [2, 10, 10]  # (5-1)*2 - 2 + 3 + 1
    if op == "separable":
        assert len(t["stage_values"]) == 2 and d["depthwise_output"]["shape"] == [2, 3, 3]


def test_convolution_is_reproducible_from_its_seed(client):
    body = {"op": "standard", "seed": 11}
    a, b = (client.post("/api/playground/convolution", json=body).json() for _ in range(2))
    c = client.post("/api/playground/convolution", json={**body, "seed": 12}).json()
    assert a == b and a["input"] != c["input"]


@pytest.mark.parametrize(("body", "text"), [
    ({"op": "standard", "size": 9}, "at most 8"),
    ({"op": "transposed", "stride": 2, "output_padding": 2}, "smaller than the stride"),
    ({"op": "transposed", "kernel_size": 2, "padding": 2}, "smaller than the kernel"),
    ({"op": "standard", "position": [0, 9, 0]}, "outside the output"),
    ({"op": "grouped", "in_channels": 3, "groups": 2}, "divide"),
    ({"op": "standard", "size": 2, "kernel_size": 5}, "fits nowhere"),
    ({"op": "standard", "filters": 99}, ""),
    ({"op": "fft"}, ""),
])
def test_convolution_refusals_are_clear_422s(client, body, text):
    r = client.post("/api/playground/convolution", json=body)
    assert r.status_code == 422 and text in r.json()["detail"]


def test_operations_lists_what_convolution_takes(client):
    ops = client.get("/api/playground/operations").json()["operations"]
    assert [o["name"] for o in ops] == OPS
    assert all(o["title"] for o in ops)
    for o in ops:  # each one it lists is answered
        assert client.post("/api/playground/convolution", json={"op": o["name"]}).status_code == 200


def test_channel_sums_add_up_per_channel(client):
    d = client.post("/api/playground/convolution", json={"op": "standard", "in_channels": 3, "filters": 1,
                                                         "seed": 5, "position": [0, 1, 1]}).json()
    t = d["trace"]
    assert t["channels"] == [0, 1, 2]
    for c, s in zip(t["channels"], t["channel_sums"], strict=True):
        assert s == pytest.approx(sum(u["product"] for u in t["terms"] if u["channel"] == c))
    assert sum(t["channel_sums"]) == pytest.approx(t["sum"])


def test_size_is_the_deprecated_name_of_kernel_size(client):
    new = client.get("/api/filters?kernel_size=5")
    old = client.get("/api/filters?size=5")
    assert new.status_code == old.status_code == 200
    assert old.json()["filters"] == new.json()["filters"] and old.json()["kernel_size"] == 5
    assert "Deprecation" in old.headers and "Deprecation" not in new.headers
    assert "kernel_size" in old.json()["warnings"][0]
    both = client.get("/api/filters?kernel_size=5&size=5")
    assert both.status_code == 422 and "not both" in both.json()["detail"]


def test_learn_and_architectures_name_the_kernel_kernel_size(client):
    recipes = client.get("/api/learn/recipes").json()
    layers = [layer for r in recipes["recipes"] for layer in r["layers"]]
    assert any("kernel_size" in layer for layer in layers)
    assert not any("kernel" in layer for layer in layers)
    ideas = client.get("/api/architectures/ideas").json()
    assert "kernel_size" in ideas["stacked"] and "kernel" not in ideas["stacked"]
