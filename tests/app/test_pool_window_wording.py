"""A pooling window too large for its map is called a window, not a filter (issue 18): in
POST /api/pool's refusal and in the pooling that POST /api/conv does after the convolution."""

from __future__ import annotations

import numpy as np

from app.encode import tensor_json


def t(a) -> dict:
    return tensor_json(np.asarray(a, dtype=np.float64), decimals=None)


def test_pool_refusal_names_the_pooling_window(client):
    r = client.post("/api/pool", json={"input": t(np.zeros((1, 4, 4))), "kernel_size": 11, "stride": 2})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert detail.startswith("The pooling window (11 rows) is larger than the padded input")
    assert "Use a smaller window" in detail and "filter" not in detail


def test_conv_then_pool_names_the_pooling_window_and_the_conv_its_filter(client):
    body = {"input": t(np.ones((1, 6, 6))), "weights": t(np.ones((1, 1, 3, 3))), "bias": [0.0],
            "pool": {"mode": "max", "kernel_size": 11, "stride": 2}}
    out = client.post("/api/conv", json=body).json()
    assert out["pool"]["error"].startswith("The pooling window (11 rows)")
    body.pop("pool")
    body["weights"] = t(np.ones((1, 1, 7, 7)))
    r = client.post("/api/conv", json=body)
    assert r.status_code == 422 and r.json()["detail"].startswith("The filter (7 rows)")
