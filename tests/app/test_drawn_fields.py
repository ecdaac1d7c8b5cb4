"""The fields the pages draw from instead of computing: conv windows and value ranges,
pooling in the same request as the conv, pooling windows, the pooling lesson's example."""

from __future__ import annotations

import numpy as np
import pytest

from app.encode import tensor_json

COURSE_6x6 = np.eye(6, dtype=np.float64)[None]


def t(a) -> dict:
    return tensor_json(np.asarray(a, dtype=np.float64), decimals=None)


def conv_body(**extra) -> dict:
    w = np.array([[[[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]], [[[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]]]])
    return {"input": t(COURSE_6x6), "weights": t(w), "bias": [0, 0], **extra}


def test_conv_windows_list_each_output_rows_and_columns_and_their_inverse(client):
    r = client.post("/api/conv", json=conv_body(stride=2, padding=1)).json()
    win = r["windows"]
    assert win["size"] == [8, 8]  # 6 + 2 padding
    assert r["output"]["shape"][1:] == [3, 3]
    assert win["rows"] == [[0, 1, 2], [2, 3, 4], [4, 5, 6]] == win["cols"]
    assert win["feeds_rows"][2] == [0, 1] and win["feeds_rows"][7] == []
    r = client.post("/api/conv", json=conv_body(dilation=2)).json()
    assert r["windows"]["rows"] == [[0, 2, 4], [1, 3, 5]]


def test_conv_tensors_carry_their_range_and_the_filters_theirs(client):
    r = client.post("/api/conv", json=conv_body(activation="relu")).json()
    for key in ("output", "pre_activation"):
        data = np.asarray(r[key]["data"])
        assert r[key]["min"] == pytest.approx(data.min()) and r[key]["max"] == pytest.approx(data.max())
    assert r["output"]["min"] >= 0 > r["pre_activation"]["min"]
    assert r["filter_ranges"] == [[-1, 1], [-1, 1]]


def test_conv_with_pool_pools_its_own_output(client):
    both = client.post("/api/conv", json=conv_body(activation="relu", pool={"mode": "max"})).json()
    alone = client.post("/api/pool", json={"input": both["output"], "mode": "max"}).json()
    assert both["pool"]["output"]["data"] == alone["output"]["data"]
    assert both["pool"]["argmax"] == alone["argmax"]
    assert both["pool"]["output_size"]["output_size"] == [2, 2]
    assert both["pool"]["windows"]["rows"] == [[0, 1], [2, 3]]


def test_a_pooling_that_cannot_be_says_why_and_keeps_the_conv(client):
    r = client.post("/api/conv", json=conv_body(pool={"kernel_size": 2, "padding": 2})).json()
    assert "at most half the pooling window" in r["pool"]["error"]
    assert r["output"]["shape"] == [2, 4, 4]


def test_pool_windows_are_clipped_to_the_map(client):
    x = np.arange(25, dtype=np.float64).reshape(1, 5, 5)
    r = client.post("/api/pool", json={"input": t(x), "kernel_size": 3, "stride": 2, "padding": 1}).json()
    assert r["windows"]["rows"] == [[0, 1], [1, 2, 3], [3, 4]] == r["windows"]["cols"]
    data = np.asarray(r["output"]["data"])
    assert r["output"]["min"] == data.min() and r["output"]["max"] == data.max()


def test_the_pooling_lesson_example(client):
    ex = client.get("/api/lessons/pooling").json()
    assert ex["input"]["shape"] == [1, 4, 4] and (ex["kernel_size"], ex["stride"], ex["padding"]) == (2, 2, 0)
    assert ex["output_size"] == [2, 2]
    r = client.post("/api/pool", json={"input": ex["input"], "kernel_size": ex["kernel_size"],
                                       "stride": ex["stride"]}).json()
    assert r["output"]["data"] == [6, 8, 3, 4]
