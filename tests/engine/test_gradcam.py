"""engine.explain.gradcam: the pieces of Grad-CAM, each against a hand-made answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.explain import gradcam
from engine.graph import load_graph, run
from engine.graph.analysis import Structure

MODELS = Path(__file__).resolve().parents[2] / "models"


def shipped(name):
    return load_graph((MODELS / f"{name}.onnx").read_bytes())


def test_grad_cam_weighs_maps_by_their_mean_gradient():
    acts = np.zeros((2, 2, 2))
    acts[0] = [[1, 0], [0, 0]]
    acts[1] = [[0, 0], [0, 3]]
    grads = np.stack([np.full((2, 2), 0.5), np.full((2, 2), -1.0)])
    out = gradcam.grad_cam(acts, grads, (2, 2))
    assert np.allclose(out.alphas, [0.5, -1.0])
    assert np.allclose(out.cam, [[0.5, 0], [0, 0]])  # ReLU(0.5 A0 - A1)
    assert np.allclose(out.heat, [[1, 0], [0, 0]])
    with pytest.raises(ValueError):
        gradcam.grad_cam(acts, grads[:1], (2, 2))


def test_resize_aligns_pixel_centres_and_keeps_constants():
    m = np.array([[0.0, 1.0]])
    out = gradcam.resize_bilinear(m, (1, 4))
    assert np.allclose(out, [[0, 0.25, 0.75, 1]])  # samples at -0.25, 0.25, 0.75, 1.25 (clamped)
    assert np.allclose(gradcam.resize_bilinear(np.full((3, 5), 2.0), (7, 9)), 2.0)
    # with a grid: position u sits at row 4.5 + 2u
    col = gradcam.resize_bilinear(np.arange(3.0)[:, None], (10, 1), ((4.5, 0.0), (2.0, 1.0)))
    assert np.allclose(col[:, 0], [0, 0, 0, 0, 0, 0.25, 0.75, 1.25, 1.75, 2])


def test_lenet5_conv2_positions_sit_at_the_centres_of_their_fields():
    """conv1 (5x5, pad 2) keeps 28x28, pooling halves it, conv2 (5x5, no pad) reads pool
    rows u..u+4: its position u is centred on pool row u + 2, input row 2(u + 2) + 0.5."""
    g = shipped("lenet5")
    values = run(g, np.zeros((1, 1, 28, 28), np.float32))
    layers = gradcam.cam_layers(g, values)
    assert [lay.title for lay in layers] == ["conv1", "conv2"]
    assert [lay.shape for lay in layers] == [(6, 28, 28), (16, 10, 10)]
    assert gradcam.field_grid(g, values, layers[1].tensor) == ((4.5, 4.5), (2.0, 2.0))
    assert gradcam.field_grid(g, values, layers[0].tensor) == ((0.0, 0.0), (1.0, 1.0))


def test_positions_whose_fields_are_wider_than_the_input_are_placed_by_their_centres():
    """cifar10-net's conv9 and conv10 see 63 and 79 pixels of a 32-pixel image: clipped,
    both edges of their fields say nothing. After the pooling that halves 7x7 to 3x3 (2x2,
    stride 2, on the 8-pixel grid of the layers before), their positions sit at rows
    4, 12, 20."""
    g = shipped("cifar10-net")
    values = run(g, np.zeros((1, 3, 32, 32), np.float32))
    layers = {lay.title: lay for lay in gradcam.cam_layers(g, values)}
    for title in ("conv9", "conv10"):
        assert gradcam.field_grid(g, values, layers[title].tensor) == ((4.0, 4.0), (8.0, 8.0))


def test_cifar10_net_layers_leave_out_the_mirrored_branch():
    g = shipped("cifar10-net")
    values = run(g, np.zeros((1, 3, 32, 32), np.float32))
    layers = gradcam.cam_layers(g, values)
    st = Structure(g)
    flips = [n.outputs[0] for n in g.nodes if st.is_fixed_permutation(n)]
    assert flips, "cifar10-net averages the image and its mirror image"
    assert layers and not any(st.depends_on(lay.tensor, f) for lay in layers for f in flips)
    convs = [n for n in g.nodes if n.op_type == "Conv"]
    assert len(layers) == len(convs) // 2  # one branch of the two
    # a layer is taken after its activation (a GELU spelled out in Mul/Erf/Add ops, after the
    # residual Add), unless max pooling comes first: then it is the conv's own output
    for lay in layers:
        pooled = [u.op_type for u in st.consumers[g.node(lay.conv).outputs[0]]] == ["MaxPool"]
        assert (st.producer[lay.tensor].op_type == "Conv") == pooled
        if not pooled:
            assert st.activation_name(st.producer[lay.tensor]) == "GELU"


def test_rank_correlation_is_spearmans():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert gradcam.rank_correlation(a, a * 10 + 3) == pytest.approx(1.0)
    assert gradcam.rank_correlation(a, -a) == pytest.approx(-1.0)
    # ties get average ranks: ranks (0.5, 0.5, 2, 3) vs (0, 1, 2, 3)
    r = gradcam.rank_correlation(np.array([1.0, 1.0, 2.0, 3.0]), a)
    x = np.array([0.5, 0.5, 2, 3]) - 1.5
    y = np.arange(4.0) - 1.5
    assert r == pytest.approx((x * y).sum() / np.sqrt((x * x).sum() * (y * y).sum()))
    assert gradcam.rank_correlation(np.zeros(4), a) is None  # an empty map orders nothing
    with pytest.raises(ValueError):
        gradcam.rank_correlation(a, a[:3])


def test_randomised_top_changes_only_the_class_score_weights():
    for name in ("lenet5", "mnist-cnn", "cifar10-net"):
        g = shipped(name)
        r = gradcam.randomised_top(g, seed=0)
        changed = [k for k in g.initializers if r.initializers[k] is not g.initializers[k]]
        assert changed == gradcam.top_weights(g) and changed
        for k in changed:
            assert r.initializers[k].shape == g.initializers[k].shape
            assert not np.allclose(r.initializers[k], g.initializers[k])
        assert g._plan is None or r._plan is None  # the copy compiles its own plan
    assert gradcam.logit_tensor(shipped("lenet5")) == "/0/0.11/Gemm_output_0"


def test_saliency_and_scaling():
    g = np.zeros((1, 3, 2, 2))
    g[0, 1, 0, 1] = -4.0
    g[0, 2, 1, 0] = 2.0
    assert np.allclose(gradcam.saliency(g), [[0, 1], [0.5, 0]])
    assert np.allclose(gradcam.scale01(np.zeros((2, 2))), 0)
    with pytest.raises(ValueError):
        gradcam.saliency(g[0])
