"""Layer specifications and counts: the torchvision totals, LeNet-5, the course's sums."""

from __future__ import annotations

import math

import pytest

from course import architectures as A

TORCHVISION_PARAMS = {
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "vgg19": 143_667_240,
    "googlenet": 6_624_904,
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet152": 60_192_808,
}


@pytest.mark.parametrize(("name", "params"), list(TORCHVISION_PARAMS.items()))
def test_torchvision_parameter_totals(name, params):
    t = A.table(name)
    assert t.total_params == params
    assert t.output_shape == (1000,)


@pytest.mark.parametrize(
    ("name", "depth"),
    [("lenet5", 5), ("alexnet", 8), ("vgg16", 16), ("vgg19", 19), ("googlenet", 22),
     ("resnet18", 18), ("resnet34", 34), ("resnet50", 50), ("resnet152", 152)],
)
def test_depth_counts_weight_layers_on_the_longest_path(name, depth):
    assert A.table(name).depth == depth


def _rows(rows):
    for r in rows:
        yield r
        yield from _rows(r.children)


@pytest.mark.parametrize("name", list(A.ARCHITECTURES) + list(A.VARIANTS))
def test_totals_are_the_sums_of_the_rows_and_blocks_of_their_sub_rows(name):
    t = A.table(name)
    assert t.total_params == sum(r.params for r in t.rows)
    assert t.total_macs == sum(r.macs for r in t.rows)
    assert t.total_activations == math.prod(t.input_shape) + sum(r.activations for r in t.rows)
    for row in _rows(t.rows):
        if row.children:
            assert row.params == sum(c.params for c in row.children)
            assert row.macs == sum(c.macs for c in row.children)
            assert row.activations == sum(c.activations for c in row.children)
            assert row.output_shape == row.children[-1].output_shape
        elif row.type in ("conv", "pool", "dense", "relu", "norm", "concat", "add"):
            assert row.activations == math.prod(row.output_shape)


def test_lenet5_as_in_the_course():
    t = A.table("lenet5")
    assert t.total_params == 61_706
    assert [r.output_shape for r in t.rows] == [
        (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (400,), (120,), (84,), (10,)
    ]
    assert [r.params for r in t.rows] == [156, 0, 2416, 0, 0, 48_120, 10_164, 850]
    # MACs: Ho*Wo*K*(KH*KW*C) for convs, in*out for dense layers.
    assert [r.macs for r in t.rows] == [
        28 * 28 * 6 * 25, 0, 10 * 10 * 16 * 5 * 5 * 6, 0, 0, 400 * 120, 120 * 84, 84 * 10
    ]
    assert t.total_activations == 28 * 28 + 6 * 28 * 28 + 6 * 14 * 14 + 1600 + 400 + 120 + 84 + 10
    assert t.rows[0].params_formula == "(5*5*1 + 1)*6 = 156"
    assert t.rows[0].size_formula == "(28 - 5 + 2*2)/1 + 1 = 28"


def test_vgg16_macs_match_an_independent_sum():
    macs, c, hw = 0, 3, 224
    for stage, n in zip((64, 128, 256, 512, 512), (2, 2, 3, 3, 3), strict=True):
        for _ in range(n):
            macs += hw * hw * stage * 3 * 3 * c
            c = stage
        hw //= 2
    macs += 7 * 7 * 512 * 4096 + 4096 * 4096 + 4096 * 1000
    assert A.table("vgg16").total_macs == macs == 15_470_264_320


def test_alexnet_first_layers():
    tv = A.table("alexnet")
    assert tv.rows[0].output_shape == (64, 55, 55) and tv.rows[0].params == 23_296
    paper = A.table("alexnet_paper")
    conv1 = paper.rows[0]
    assert paper.input_shape == (3, 227, 227)
    assert conv1.output_shape == (96, 55, 55)
    assert conv1.params == 34_848 + 96
    assert [r.output_shape for r in paper.rows[:3]] == [(96, 55, 55), (96, 27, 27), (96, 27, 27)]
    # Two GPUs: conv2/4/5 see half the channels. One tower has every connection.
    assert paper.total_params == 60_965_224
    assert A.table("alexnet_one_tower").total_params == 62_378_344


def test_googlenet_inception_blocks():
    t = A.table("googlenet")
    blocks = {r.name: r for r in t.rows if r.type == "inception"}
    assert len(blocks) == 9
    assert blocks["inception3a"].output_shape == (256, 28, 28)
    assert blocks["inception4e"].output_shape == (832, 14, 14)
    assert blocks["inception5b"].output_shape == (1024, 7, 7)
    # torchvision's inception3a: BasicConv2d = conv without bias + BatchNorm (2 per channel).
    def bc(cin, cout, k):
        return k * k * cin * cout + 2 * cout
    expected = (bc(192, 64, 1) + bc(192, 96, 1) + bc(96, 128, 3) + bc(192, 16, 1)
                + bc(16, 32, 3) + bc(192, 32, 1))
    assert blocks["inception3a"].params == expected
    assert [c.name for c in blocks["inception3a"].children][-1] == "concat"
    # The 2014 paper's layout (5x5 branches, biases, no BN) differs.
    assert A.table("googlenet_paper").total_params == 6_998_552


def test_resnet_blocks_v15_and_shortcuts():
    t = A.table("resnet50")
    first = next(r for r in t.rows if r.name == "layer2.0")
    names = [c.name for c in first.children]
    assert names == ["conv1 1x1", "conv2 3x3", "conv3 1x1", "downsample 1x1", "add + ReLU"]
    # v1.5: the stride sits on the 3x3 conv.
    assert first.children[0].output_shape == (128, 56, 56)
    assert first.children[1].output_shape == (128, 28, 28)
    assert first.output_shape == (512, 28, 28)
    same = next(r for r in t.rows if r.name == "layer2.1")
    assert same.children[3].type == "identity" and same.children[3].params == 0
    # Paper v1 (stride on the first 1x1): same parameters, fewer multiply-adds.
    v1 = A.table("resnet50_v1")
    assert v1.total_params == t.total_params and v1.total_macs < t.total_macs
    r18 = A.table("resnet18")
    assert [r.output_shape for r in r18.rows if r.type == "residual"][-1] == (512, 7, 7)


@pytest.mark.parametrize("c", [1, 3, 64, 256])
def test_three_stacked_3x3_vs_one_7x7(c):
    s = A.stacked_vs_single(c)
    assert s["receptive_fields"] == [3, 5, 7]
    assert s["stacked_params"] == 3 * (3**2 * c**2) == 27 * c * c
    assert s["single_params"] == 7**2 * c**2 == 49 * c * c
    assert s["saved"] == 22 * c * c
    assert s["stacked_formula"].endswith(f"{27 * c * c:,}")


def test_stacked_vs_single_rejects_bad_sizes():
    with pytest.raises(ValueError, match="channels"):
        A.stacked_vs_single(0)


def test_chain_flags_the_breaking_layer_and_skips_the_rest():
    steps = A.chain((3, 8, 8), [
        A.Conv(4, 3), A.Pool(2), A.Conv(8, 5), A.Flatten(), A.Dense(10),
    ])
    assert steps[0].row.output_shape == (4, 6, 6)
    assert steps[1].row.output_shape == (4, 3, 3)
    assert steps[2].row is None and "does not fit" in steps[2].error
    assert [s.skipped for s in steps[3:]] == [True, True]


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ([A.Dense(10)], "Add a Flatten layer"),
        ([A.Flatten(), A.Conv(4, 3)], "before Flatten"),
        ([A.Pool(2, padding=2)], "more than half"),
        ([A.Conv(4, 3, groups=2)], "groups"),
        ([A.Conv(4, 3, dilation=4)], "spans 9"),
    ],
)
def test_chain_reasons(layers, message):
    steps = A.chain((3, 8, 8), layers)
    assert any(s.error and message in s.error for s in steps), [s.error for s in steps]


def test_uneven_stride_is_noted_not_an_error():
    row = A.layer_row(A.Conv(2, 3, stride=3), (1, 7, 7))
    assert row.output_shape == (2, 2, 2)
    assert "rounded down to 2" in row.size_formula
    assert "the last input row and column are never covered" in row.note
    # GoogLeNet's conv1: (224 - 7 + 2*3)/2 + 1 = 112.5; only padding is left over.
    conv1 = A.table("googlenet").rows[0]
    assert conv1.output_shape == (64, 112, 112) and "no input is lost" in conv1.note
    ceil = A.layer_row(A.Pool(3, 2, ceil_mode=True), (1, 112, 112))
    assert ceil.output_shape == (1, 56, 56) and "rounded up" in ceil.size_formula


def test_unknown_architecture_is_a_key_error():
    with pytest.raises(KeyError):
        A.table("resnet9000")


def test_a_stride_larger_than_the_window_is_said_to_skip_rows():
    """ResNet's 1x1 stride-2 downsample reads only every second row and column."""
    notes = []

    def walk(rows):
        for r in rows:
            if r.name.startswith("downsample") and r.note:
                notes.append(r.note)
            walk(r.children or [])

    walk(A.table("resnet50").rows)
    assert "steps over 27 of the 56 input rows and columns" in notes[0]
    assert "the last input row and column are never covered" in notes[0]
    assert "steps over 13 of the 28 input rows and columns" in notes[1]


@pytest.mark.parametrize("name", list(A.ARCHITECTURES) + list(A.VARIANTS))
def test_weights_are_the_parameters_without_biases_and_batchnorm(name):
    t = A.table(name)
    assert t.total_weights == sum(r.weights for r in t.rows)
    for row in _rows(t.rows):
        if row.type == "dense":
            n_in = row.params // row.output_shape[0] - 1
            assert row.weights == n_in * row.output_shape[0]
        elif not row.children:
            assert row.weights <= row.params
    biases_and_bn = t.total_params - t.total_weights
    assert 0 < biases_and_bn < t.total_params // 100


def test_vgg16_weights_as_the_course_lists_them():
    t = A.table("vgg16")
    assert [r.weights for r in t.rows if r.type == "conv"][:2] == [3 * 3 * 3 * 64, 3 * 3 * 64 * 64]
    assert t.rows[0].weights == 1_728 and t.rows[0].params == 1_792
    fc6 = next(r for r in t.rows if r.name == "fc6")
    assert fc6.weights == 7 * 7 * 512 * 4096 == 102_760_448 and fc6.params == 102_764_544
    assert t.total_weights == 138_344_128


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (999, "999 B"), (3_136, "3.1 kB"), (60_950_432, "61.0 MB"),
    (1_000_000, "1.0 MB"), (2_500_000_000, "2.5 GB"),
])
def test_megabytes_are_decimal(n, text):
    from course.layer_rows import megabytes
    assert megabytes(n) == text


def test_googlenet_paper_has_the_two_lrn_layers_of_its_figure():
    t = A.table("googlenet_paper")
    norms = [r for r in t.rows if r.type == "norm"]
    assert [r.name for r in norms] == ["norm1", "norm2"]
    assert [r.output_shape for r in norms] == [(64, 56, 56), (192, 56, 56)]
    assert all(r.params == 0 for r in norms)
    assert not any(r.type == "norm" for r in A.table("googlenet").rows)


def test_quoted_facts_cover_every_case_study_and_layout():
    from course.architecture_info import INFO, VARIANT_INFO, info
    assert list(INFO) == list(A.ARCHITECTURES) and set(VARIANT_INFO) == set(A.VARIANTS)
    for name in list(A.ARCHITECTURES) + list(A.VARIANTS):
        facts = info(name)
        e = facts["top5_error"]
        assert e["value"] is None or (e["entry"] and "(20" in e["source"])
        assert facts["published"]["year"] >= (facts["ilsvrc"] or 0)
    assert [lay["name"] for lay in info("googlenet_paper")["layouts"]] == ["googlenet", "googlenet_paper"]
    assert info("vgg16")["layouts"] == []


def test_ilsvrc_points_carry_engine_counts():
    from course.architecture_ilsvrc import ilsvrc
    d = ilsvrc()
    for s in d["single_models"]:
        t = A.table(s["arch"])
        assert (s["total_params"], s["total_macs"]) == (t.total_params, t.total_macs)
        assert s["source"]
    winners = [e for e in d["entries"] if e["place"] == 1]
    assert [e["year"] for e in winners] == sorted(e["year"] for e in winners)
    assert [e["top5"] for e in winners] == sorted((e["top5"] for e in winners), reverse=True)
