"""GET /api/architectures, /api/architectures/{name} (case studies and the papers' layouts),
/api/architectures/ilsvrc and /api/architectures/ideas."""

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
    # Every headline is the team's submitted entry: AlexNet's winning 15.3%, like the others.
    assert by["alexnet"]["top5_error"]["value"] == 15.3
    assert "16.4%" in by["alexnet"]["top5_error"]["context"]
    assert "Table 2" in by["alexnet"]["top5_error"]["source"]
    assert by["googlenet"]["top5_error"]["value"] == 6.67
    assert by["resnet152"]["top5_error"]["value"] == 3.57
    assert "ensemble" in by["resnet18"]["top5_error"]["context"]
    assert by["lenet5"]["top5_error"]["value"] is None
    for a in arcs:
        assert set(a) >= {"name", "title", "year", "depth", "total_params", "total_activations",
                          "total_macs", "top5_error", "idea", "ilsvrc", "published", "memory_text"}
        assert a["memory_bytes"] == 4 * a["total_activations"]
        assert a["top5_error"]["value"] is None or a["top5_error"]["source"]
        assert a["single_model"]["source"]
    assert "BatchNorm" in body["counting"] and "decimal" in body["counting"]
    # ILSVRC year and publication year, said apart.
    assert by["vgg16"]["ilsvrc"] == 2014 and by["vgg16"]["published"]["year"] == 2015
    assert by["resnet50"]["ilsvrc"] == 2015 and by["resnet50"]["published"]["year"] == 2016
    assert by["lenet5"]["ilsvrc"] is None
    assert [v["name"] for v in body["variants"]][0] == "alexnet_paper"
    assert {v["base"] for v in body["variants"]} == {"alexnet", "googlenet", "resnet50", "resnet152"}


def test_memory_is_in_decimal_megabytes(client):
    vgg = client.get("/api/architectures/vgg16").json()
    assert vgg["total_activations"] == 15_237_608
    assert vgg["memory_bytes"] == 60_950_432
    assert vgg["memory_text"] == "61.0 MB"  # not 58.1 (MiB)
    assert vgg["layers"][0]["memory_text"] == "12.8 MB"  # 224*224*64*4 = 12,845,056 bytes
    assert client.get("/api/architectures/lenet5").json()["input"]["memory_text"] == "3.1 kB"


def test_vgg16_memory_note_in_the_course_terms(client):
    notes = {n["topic"]: n for n in client.get("/api/architectures/vgg16").json()["notes"]}
    m = notes["Memory per image"]
    assert "forward only" not in m["claim"]
    assert "about 15.2 M values, about 61 MB per image forward" in m["explanation"]
    assert "24 M total is a slip" in m["explanation"]
    assert "60,950,432 bytes = 61.0 MB" in m["exact"]


def test_vgg16_weights_and_parameters(client):
    d = client.get("/api/architectures/vgg16").json()
    first, fc6 = d["layers"][0], next(r for r in d["layers"] if r["name"] == "fc6")
    assert (first["weights"], first["params"]) == (1_728, 1_792)
    assert (fc6["weights"], fc6["params"]) == (102_760_448, 102_764_544)
    assert d["total_weights"] == 138_344_128 and d["total_params"] == 138_357_544
    note = next(n for n in d["notes"] if n["topic"] == "Weights or parameters?")
    assert note["claim_by"] == "course"
    assert "1,728" in note["claim"] and "102,760,448" in note["claim"]
    assert "138,344,128 weights + 13,416 biases = 138,357,544" in note["explanation"]


def test_alexnet_paper_layout_is_served(client):
    d = client.get("/api/architectures/alexnet_paper").json()
    assert d["input_shape"] == [3, 227, 227]
    conv1 = d["layers"][0]
    assert conv1["output_shape"] == [96, 55, 55] and conv1["params"] == 34_944
    assert [r["name"] for r in d["layers"]][:6] == ["conv1", "pool1", "norm1", "conv2", "pool2", "norm2"]
    assert d["layers"][2]["type"] == "norm" and d["layers"][2]["params"] == 0
    assert "2 groups" in d["layers"][3]["detail"]
    assert d["total_params"] == 60_965_224
    assert [lay["name"] for lay in d["layouts"]] == ["alexnet", "alexnet_paper", "alexnet_one_tower"]
    gpus = next(n for n in d["notes"] if n["topic"] == "Two GPUs")
    assert "(5*5*96/2 + 1)*256 = 307,456" in gpus["exact"] and "Sec. 3.2" in gpus["source"]
    tv = client.get("/api/architectures/alexnet").json()
    assert tv["layers"][0]["output_shape"] == [64, 55, 55]
    assert client.get("/api/architectures/googlenet_paper").json()["total_params"] == 6_998_552


def test_googlenet_12x_counted_exactly(client):
    note = client.get("/api/architectures/googlenet").json()["notes"][0]
    assert "60,965,224 / 6,998,552 = 8.7x" in note["exact"]
    assert "61,100,840 / 6,624,904 = 9.2x" in note["exact"]
    assert "about 9x as many, not 12x" in note["explanation"]
    assert "4M" not in note["claim"]  # not in the course notes


def test_claims_say_who_makes_them(client):
    lenet = client.get("/api/architectures/lenet5").json()["notes"][0]
    assert lenet["claim_by"] == "convlab" and "28x28" in lenet["claim"]
    res = client.get("/api/architectures/resnet50").json()["notes"][0]
    assert res["claim_by"] == "paper" and "3.4" in res["source"]
    alex = client.get("/api/architectures/alexnet").json()
    assert "became the standard kit" in alex["idea"] and "local response normalisation did not" in alex["idea"]
    for name in ("alexnet", "alexnet_paper", "vgg16", "googlenet", "resnet50"):
        d = client.get(f"/api/architectures/{name}").json()
        assert all(n["claim_by"] in ("course", "paper", "convlab") for n in d["notes"])
        text = str(d)
        assert "A 11x11" not in text and "a 11x11" not in text


def test_batchnorm_learned_and_estimated_said_alike(client):
    body = client.get("/api/architectures").json()
    assert "learned by gradient descent" in body["counting"]
    assert "estimated" in body["counting"]
    res = client.get("/api/architectures/resnet18").json()["notes"][0]["explanation"]
    assert "learned scale and shift" in res and "estimated during training (not learned" in res


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
    assert any("24M" in n["claim"] for n in d["notes"])


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
    assert "Unknown architecture" in detail and "lenet5" in detail and "alexnet_paper" in detail
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
    assert inc["naive"]["macs"] == 854_196_224  # ConvLab's example (not in the course notes)
    assert inc["example_by"] == "convlab"
    # Four branches; the bottlenecked ones start with a 1x1 conv to 64 channels.
    branches = inc["bottleneck_branches"]
    assert [[r["name"] for r in b["rows"]] for b in branches] == [
        ["1x1 conv, 128"], ["1x1 conv, 64", "3x3 conv, 192"], ["1x1 conv, 64", "5x5 conv, 96"],
        ["3x3 max pool", "1x1 conv, 64"]]
    assert sum(b["macs"] for b in branches) == inc["bottleneck"]["macs"] == 271_351_808
    # 28*28*64*256 for a 1x1 to 64, then 28*28*192*(3*3*64) for the 3x3.
    assert branches[1]["rows"][0]["macs"] == 28 * 28 * 64 * 256
    assert branches[1]["rows"][1]["macs"] == 28 * 28 * 192 * 9 * 64
    assert inc["saving"]["macs_saved"] == 854_196_224 - 271_351_808
    assert "3.1x" in inc["saving"]["text"]
    assert [x["title"] for x in d["vgg_lessons"]] == [
        "No local response normalisation", "Ensembles", "FC7 features, used elsewhere"]
    assert all("Simonyan & Zisserman" in x["source"] for x in d["vgg_lessons"])
    assert inc["bottleneck"]["macs"] < inc["naive"]["macs"]
    assert inc["no_fc"]["fc_4096_params"] == (7 * 7 * 1024 + 1) * 4096
    res = d["residual"]
    assert res["identity_params"] == 0
    # Basic block at 4C: two 3x3 convs + BN; bottleneck 1x1 (4C->C), 3x3, 1x1 (C->4C) + BN.
    assert res["basic_wide"]["params"] == 2 * (9 * 16 * c * c + 2 * 4 * c)
    assert res["bottleneck"]["params"] == 4 * c * c + 9 * c * c + 4 * c * c + 2 * (c + c + 4 * c)
    assert [x["depth"] for x in res["resnets"]] == [18, 34, 50, 152]
    assert [c["name"] for c in res["basic"]["children"]] == ["conv1 3x3", "conv2 3x3", "shortcut", "add + ReLU"]
    assert res["basic"]["children"][0]["params"] == 9 * c * c + 2 * c  # no bias; BN scale + shift


def test_ilsvrc(client):
    d = client.get("/api/architectures/ilsvrc").json()
    assert "1,000 object classes" in d["about"]["text"] and "Russakovsky" in d["about"]["source"]
    assert [t["name"] for t in d["about"]["tasks"]] == [
        "Image classification", "Single-object localisation", "Object detection"]
    by = {(e["year"], e["place"]): e for e in d["entries"]}
    assert by[(2012, 1)]["top5"] == 15.3 and by[(2012, 2)]["top5"] == 26.2
    assert by[(2015, 1)]["top5"] == 3.57
    # The counts beside a quoted error are the engine's, of the network the entry used.
    assert by[(2012, 1)]["arch"] == "alexnet_paper" and by[(2012, 1)]["total_params"] == 60_965_224
    facts = " ".join(f["text"] for f in d["facts"])
    assert "40.7% top-1" in facts and "COCO 2015" in facts
    assert all(f["source"] for f in d["facts"]) and all(e["source"] for e in d["entries"])
    assert [m["top5"] for m in d["human"]["measured"]] == [5.1, 12.0]
    assert "5-10%" in d["human"]["course"] and "Sec. 6.4" in d["human"]["source"]
    singles = {s["arch"]: s for s in d["single_models"]}
    assert singles["vgg16"]["total_macs"] == 15_470_264_320
    assert singles["resnet152_v1"]["top5"] == 4.49 and "Table 4" in singles["resnet152_v1"]["source"]
    assert singles["alexnet_paper"]["top5"] == 18.2


@pytest.mark.parametrize("q", ["channels=0", "channels=5000", "channels=abc", "channels=2.5"])
def test_ideas_bad_channels(client, q):
    r = client.get(f"/api/architectures/ideas?{q}")
    assert r.status_code == 422
    assert "channels" in r.json()["detail"]
