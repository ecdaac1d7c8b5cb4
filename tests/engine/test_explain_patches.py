"""Top patches per channel (engine/explain/top_patches.py) and activation maximisation
(engine/explain/maximise.py) on small random graphs, against brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest

from engine.explain.maximise import blur3, maximise, subgraph
from engine.explain.top_patches import TopK, feature_layers, patch_field, scan, shapes_of
from engine.graph import Graph, Node, ValueInfo, run


def small_graph(seed: int = 0) -> Graph:
    """conv 3x3 pad 1 -> relu -> maxpool 2x2 -> conv 3x3 -> relu -> flatten -> gemm."""
    rng = np.random.default_rng(seed)
    inits = {
        "w1": rng.standard_normal((4, 2, 3, 3)), "b1": rng.standard_normal(4) * 0.1,
        "w2": rng.standard_normal((5, 4, 3, 3)), "b2": rng.standard_normal(5) * 0.1,
        "w3": rng.standard_normal((5 * 3 * 4, 3)), "b3": np.zeros(3),
    }
    nodes = [
        Node("c1", "Conv", ("x", "w1", "b1"), ("t1",), {"pads": [1, 1, 1, 1]}),
        Node("r1", "Relu", ("t1",), ("t2",)),
        Node("p1", "MaxPool", ("t2",), ("t3",), {"kernel_shape": [2, 2], "strides": [2, 2]}),
        Node("c2", "Conv", ("t3", "w2", "b2"), ("t4",)),
        Node("r2", "Relu", ("t4",), ("t5",)),
        Node("f", "Flatten", ("t5",), ("t6",)),
        Node("g", "Gemm", ("t6", "w3", "b3"), ("y",)),
    ]
    return Graph([ValueInfo("x", ("N", 2, 10, 12), "float32")], [ValueInfo("y", None, "float32")], nodes,
                 {k: np.asarray(v, np.float32) for k, v in inits.items()}, 13)


def brute_top(acts: np.ndarray, k: int) -> list[list[tuple[int, float, int, int]]]:
    """Per channel: each image's maximum (first in row-major order), sorted by value then index."""
    n, c, h, w = acts.shape
    out = []
    for ch in range(c):
        rows = []
        for i in range(n):
            best, where = -np.inf, (0, 0)
            for r in range(h):
                for q in range(w):
                    if acts[i, ch, r, q] > best:
                        best, where = acts[i, ch, r, q], (r, q)
            rows.append((i, float(best), *where))
        rows.sort(key=lambda t: (-t[1], t[0]))
        out.append(rows[:k])
    return out


@pytest.mark.parametrize("batch", [1, 3, 7, 20])
def test_scan_equals_a_brute_force_loop_whatever_the_batch(batch):
    g = small_graph()
    x = np.random.default_rng(1).standard_normal((20, 2, 10, 12)).astype(np.float32)
    x[5] = x[4]  # two equal images: the lower index must come first
    layers = feature_layers(g, shapes_of(g, (1, 2, 10, 12)))
    tensors = [layer.tensor for layer in layers]
    tops, n = scan(g, (x[i:i + batch] for i in range(0, 20, batch)), tensors, k=9)
    assert n == 20
    every = run(g, x, keep=True)
    for name in tensors:
        expected = brute_top(every[name], 9)
        for ch, want in enumerate(expected):
            got = tops[name].channel(ch)
            assert [(i, r, q) for i, _, r, q in got] == [(i, r, q) for i, _, r, q in want]
            np.testing.assert_allclose([v for _, v, _, _ in got], [v for _, v, _, _ in want], rtol=1e-6)


def test_fewer_images_than_k_fill_only_what_there_is():
    top = TopK(2, 9)
    acts = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    top.update(acts, 0)
    assert [i for i, *_ in top.channel(0)] == [1, 0]
    assert top.channel(1)[0] == (1, 35.0, 2, 2)
    with pytest.raises(ValueError, match="channel 2 does not exist"):
        top.channel(2)


def test_feature_layers_are_the_feature_maps_not_the_vectors():
    g = small_graph()
    layers = feature_layers(g, shapes_of(g, (1, 2, 10, 12)))
    assert [(layer.name, layer.shape) for layer in layers] == [
        ("c1", (4, 10, 12)), ("r1", (4, 10, 12)), ("p1", (4, 5, 6)), ("c2", (5, 3, 4)), ("r2", (5, 3, 4))]


@pytest.mark.parametrize(("tensor", "row", "col", "rows", "cols"), [
    ("t1", 0, 0, (0, 1), (0, 1)),      # conv 3x3 pad 1 at the corner: clipped to the image
    ("t3", 2, 3, (3, 6), (5, 8)),      # pool rows 4-5 <- conv rows 3-6
    ("t5", 1, 2, (1, 8), (3, 10)),     # conv2 rows 1-3 of the pool <- pool 2-7 <- input 1-8
])
def test_field_boxes_are_the_windows_composed(tensor, row, col, rows, cols):
    g = small_graph()
    f = patch_field(g, shapes_of(g, (1, 2, 10, 12)), tensor, row, col)
    assert (f.rows, f.cols, f.whole) == (rows, cols, False)


def test_only_pixels_inside_the_field_change_the_value():
    g = small_graph(3)
    shapes = shapes_of(g, (1, 2, 10, 12))
    f = patch_field(g, shapes, "t4", 1, 1)
    x = np.random.default_rng(0).standard_normal((1, 2, 10, 12)).astype(np.float32)
    base = run(g, x)["t4"][0, 0, 1, 1]
    for r in range(10):
        for c in range(12):
            y = x.copy()
            y[0, :, r, c] += 5.0
            changed = run(g, y)["t4"][0, 0, 1, 1] != base
            if changed:
                assert f.rows[0] <= r <= f.rows[1] and f.cols[0] <= c <= f.cols[1]
    with pytest.raises(ValueError, match="outside the 3 x 4 map"):
        patch_field(g, shapes, "t4", 3, 0)


def test_subgraph_computes_the_same_tensor_with_fewer_nodes():
    g = small_graph()
    sub = subgraph(g, "t3")
    assert [n.name for n in sub.nodes] == ["c1", "r1", "p1"]
    x = np.random.default_rng(2).standard_normal((2, 2, 10, 12)).astype(np.float32)
    np.testing.assert_array_equal(run(sub, x, keep=False)["t3"], run(g, x)["t3"])
    both = subgraph(g, ["t1", "t3"])
    assert [n.name for n in both.nodes] == ["c1", "r1", "p1"] and [o.name for o in both.outputs] == ["t1", "t3"]
    with pytest.raises(ValueError, match="no node"):
        subgraph(g, "nope")


def test_blur_keeps_a_constant_image_and_smooths_a_spike():
    flat = np.full((1, 2, 5, 6), 3.0, np.float32)
    np.testing.assert_allclose(blur3(flat), flat, rtol=1e-6)
    spike = np.zeros((1, 1, 5, 5), np.float32)
    spike[0, 0, 2, 2] = 1
    b = blur3(spike)
    assert b[0, 0, 2, 2] < 1 and b[0, 0, 1, 2] > 0 and abs(b.sum() - 1) < 1e-6


def test_maximise_climbs_a_known_objective_and_stays_in_range():
    target = np.random.default_rng(5).uniform(-1, 1, (1, 1, 8, 8)).astype(np.float32)

    def objective(x):  # -(x - target)^2 summed: the best image is the target
        return -float(((x - target) ** 2).sum()), (-2 * (x - target)).astype(np.float32)

    m = maximise(objective, (1, 1, 8, 8), np.array([-1.0]), np.array([1.0]), steps=60, jitter=0,
                 decay=0.0, seed=0)
    assert m.history[-1] > 0.5 * m.history[0] and m.steps == 60
    assert m.x.min() >= -1 and m.x.max() <= 1
    again = maximise(objective, (1, 1, 8, 8), np.array([-1.0]), np.array([1.0]), steps=60, jitter=0,
                     decay=0.0, seed=0)
    np.testing.assert_array_equal(m.x, again.x)  # seeded: the same image each time


def test_maximise_raises_the_channel_mean_through_the_graph():
    pytest.importorskip("engine.graph.backward", reason="the graph runner's backward has not landed")
    from engine.explain.maximise import channel_objective

    g = small_graph(7)
    for tensor, channel in (("t2", 1), ("t5", 3)):
        sub = subgraph(g, tensor)
        m = maximise(channel_objective(sub, tensor, channel), (1, 2, 10, 12), np.full(2, -2.0),
                     np.full(2, 2.0), steps=30, seed=1)
        assert m.history[-1] > m.history[0] + 0.5, (tensor, m.history)
        x = m.x
        assert abs(run(sub, x)[tensor][0, channel].mean() - m.history[-1]) < 1e-5


def test_a_nan_is_never_the_best_value():
    top = TopK(1, 2)
    acts = np.array([[[[1.0, np.nan]]], [[[np.nan, np.nan]]], [[[0.5, 2.0]]]], np.float32)
    top.update(acts, 0)
    assert top.channel(0) == [(2, 2.0, 0, 1), (0, 1.0, 0, 0)]
