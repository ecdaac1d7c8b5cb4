"""GET /api/architectures, /api/architectures/{name} and /api/architectures/ideas."""

from __future__ import annotations

import math

import pytest

NAMES = ["lenet5", "alexnet", "vgg16", "vgg19", "googlenet",
         "resnet18", "resnet34", "resnet50", "resnet152"]


def test_summary_lists_all_nine(client):
    r = client.get("/api/architectures")
    assert r.status_code == 200
    body = r.json()
    arcs = body["architectures"]
    assert [a["name"] for a in arcs] == NAMES
    by = {a["name"]: a for a in arcs}
    assert by["vgg16"]["total_params"] == 138_357_544
    assert by["googlenet"]["depth"] == 22
    assert by["alexnet"]["top5_error"]["value"] == 16.4
    assert "15.3%" in by["alexnet"]["top5_error"]["context"]
    assert by["googlenet"]["top5_error"]["value"] == 6.67
    assert by["resnet152"]["top5_error"]["value"] == 3.57
    assert "ensemble" in by["resnet18"]["top5_error"]["context"]
    assert by["lenet5"]["top5_error"]["value"] is None
    for a in arcs:
        assert set(a) >= {"name", "title", "year", "depth", "total_params", "total_activations",
                          "total_macs", "top5_error", "idea"}
        assert a["memory_bytes"] == 4 * a["total_activations"]
    assert "BatchNorm" in body["counting"]


def _flat(rows):
    for r in rows:
        yield r
        yield from _flat(r.get("children", []))


@pytest.mark.parametrize("name", NAMES)
def test_detail_totals_are_exact_sums(client, name):
    r = client.get(f"/api/architectures/{name}")
    assert r.status_code == 200
    d = r.json()
    assert d["name"] == name
    layers = d["layers"]
    assert d["total_params"] == sum(row["params"] for row in layers)
    assert d["total_macs"] == sum(row["macs"] for row in layers)
    assert d["total_activations"] == math.prod(d["input_shape"]) + sum(
        row["activations"] for row in layers
    )
    for row in _flat(layers):
        assert set(row) >= {"name", "type", "output_shape", "params", "activations", "macs"}
        assert row["memory_bytes"] == 4 * row["activations"]


def test_vgg16_table(client):
    d = client.get("/api/architectures/vgg16").json()
    assert d["total_params"] == 138_357_544
    assert len(d["layers"]) == 13 + 5 + 1 + 3  # convs, pools, flatten, FC
    assert d["layers"][0]["output_shape"] == [64, 224, 224]
    assert d["layers"][0]["params_formula"] == "(3*3*3 + 1)*64 = 1,792"
    fc6 = next(r for r in d["layers"] if r["name"] == "fc6")
    assert fc6["params"] == 102_764_544 and fc6["output_shape"] == [4096]
    assert any("24M" in n["course"] for n in d["notes"])


def test_blocks_have_sub_rows(client):
    d = client.get("/api/architectures/resnet50").json()
    blocks = [r for r in d["layers"] if r["type"] == "residual"]
    assert len(blocks) == 16
    assert all(r["children"][-1]["name"] == "add + ReLU" for r in blocks)
    g = client.get("/api/architectures/googlenet").json()
    assert sum(r["type"] == "inception" for r in g["layers"]) == 9


def test_course_figures_are_compared(client):
    alex = client.get("/api/architectures/alexnet").json()
    text = " ".join(n["exact"] + n["explanation"] for n in alex["notes"])
    assert "60,965,224" in text and "61,100,840" in text and "54.25" in text
    goog = client.get("/api/architectures/googlenet").json()
    assert "6,624,904" in goog["notes"][0]["exact"]


@pytest.mark.parametrize("bad", ["resnet9000", "VGG16", "x" * 200])
def test_unknown_architecture_is_404(client, bad):
    r = client.get(f"/api/architectures/{bad}")
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert "Unknown architecture" in detail and "lenet5" in detail
    assert len(detail) < 300


@pytest.mark.parametrize("c", [1, 64, 512])
def test_ideas(client, c):
    r = client.get("/api/architectures/ideas", params={"channels": c})
    assert r.status_code == 200
    d = r.json()
    s = d["stacked"]
    assert s["stacked_params"] == 27 * c * c and s["single_params"] == 49 * c * c
    assert s["receptive_fields"] == [3, 5, 7]
    inc = d["inception"]
    assert inc["naive"]["output_shape"] == [128 + 192 + 96 + 256, 28, 28]
    assert inc["naive"]["macs"] == 854_196_224  # the course's 854M
    assert inc["bottleneck"]["macs"] < inc["naive"]["macs"]
    assert inc["no_fc"]["fc_4096_params"] == (7 * 7 * 1024 + 1) * 4096
    res = d["residual"]
    assert res["identity_params"] == 0
    # Basic block at 4C: two 3x3 convs + BN; bottleneck 1x1 (4C->C), 3x3, 1x1 (C->4C) + BN.
    assert res["basic_wide"]["params"] == 2 * (9 * 16 * c * c + 2 * 4 * c)
    assert res["bottleneck"]["params"] == 4 * c * c + 9 * c * c + 4 * c * c + 2 * (c + c + 4 * c)
    assert [x["depth"] for x in res["resnets"]] == [18, 34, 50, 152]


@pytest.mark.parametrize("q", ["channels=0", "channels=5000", "channels=abc", "channels=2.5"])
def test_ideas_bad_channels(client, q):
    r = client.get(f"/api/architectures/ideas?{q}")
    assert r.status_code == 422
    assert "channels" in r.json()["detail"]
