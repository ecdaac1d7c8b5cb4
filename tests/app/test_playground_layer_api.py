"""POST /api/playground/layer: the playground checks its layer before computing it, and
an impossible layer is answered with a 200 that says why (no failed request to log);
/api/conv gives each map's own range for per-map colour scales."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def test_a_possible_layer_has_its_size_and_no_padding_note_without_padding(client):
    r = client.post("/api/playground/layer", json={"input_size": [6, 6], "kernel_size": 3, "filters": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["possible"] is True
    assert body["layer"]["output_size"] == [4, 4]
    assert body["layer"]["formula"] == "(6 - 3 + 2*0)/1 + 1 = 4"
    assert "padded to" not in body["layer"]["explanation"]
    padded = client.post("/api/playground/layer", json={"input_size": [6, 6], "kernel_size": 3, "padding": 1}).json()
    assert "(padded to 8x8)" in padded["layer"]["explanation"]
    same = client.post("/api/playground/layer", json={"input_size": [5, 7], "kernel_size": 3, "padding": "same"}).json()
    assert same["layer"]["output_size"] == [5, 7]


@pytest.mark.parametrize("body,words", [
    ({"input_size": [6, 6], "kernel_size": 7}, "larger than the padded input"),
    ({"input_size": [6, 6], "kernel_size": 3, "dilation": 4}, "larger than the padded input"),
])
def test_an_impossible_layer_is_a_200_that_says_why(client, body, words):
    r = client.post("/api/playground/layer", json=body)
    assert r.status_code == 200
    got = r.json()
    assert got["possible"] is False and words in got["detail"]
    assert got["formula"]  # the output-size sum with these numbers


@pytest.mark.parametrize("body", [
    {"input_size": [6, 6], "kernel_size": 12},
    {"input_size": [6, 6], "kernel_size": 3, "stride": 9},
    {"input_size": [129, 6], "kernel_size": 3},
    {"input_size": [6], "kernel_size": 3},
])
def test_out_of_bounds_settings_are_refused(client, body):
    assert client.post("/api/playground/layer", json=body).status_code == 422


def test_conv_gives_each_maps_range(client):
    x = {"shape": [1, 3, 3], "data": [0, 1, 2, 3, 4, 5, 6, 7, 8]}
    w = {"shape": [2, 1, 1, 1], "data": [1, -2]}
    body = client.post("/api/conv", json={"input": x, "weights": w, "activation": "relu",
                                          "pool": {"kernel_size": 2, "stride": 1}}).json()
    assert body["map_ranges"]["pre_activation"] == [[0, 8], [-16, 0]]
    assert body["map_ranges"]["output"] == [[0, 8], [0, 0]]
    assert body["pool"]["map_ranges"] == [[4, 8], [0, 0]]
