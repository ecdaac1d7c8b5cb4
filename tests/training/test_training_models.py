"""Models, BN folding, flip-by-MatMul, augmentation and ONNX export (needs PyTorch)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from torch import nn  # noqa: E402

from training import augment, export, models, recipes  # noqa: E402
from training.hyperparams import AIRBENCH  # noqa: E402
from training.specs import SPECS  # noqa: E402

FORBIDDEN = {"Dropout", "Identity", "Shape", "Gather", "Slice", "Unsqueeze", "Constant",
             "BatchNormalization", "Div", "Transpose", "Pad"}


def randomize_bn(model: nn.Module, seed: int = 0, positive: bool = True) -> nn.Module:
    """Give every BatchNorm non-trivial statistics and affine parameters."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=g))
            m.running_var.copy_(torch.rand(c, generator=g) * 2 + 0.1)
            with torch.no_grad():
                scale = torch.rand(c, generator=g) + 0.5
                m.weight.copy_(scale if positive else -scale)
                m.bias.copy_(torch.randn(c, generator=g))
    return model.eval()


@pytest.mark.parametrize("pool", [False, True], ids=["conv-bn", "conv-pool-bn"])
@pytest.mark.parametrize("bias", [False, True])
def test_fold_conv_bn_is_exact(pool, bias):
    torch.manual_seed(0)
    layers = [nn.Conv2d(3, 5, 3, padding=1, bias=bias)] + ([nn.MaxPool2d(2)] if pool else [])
    net = randomize_bn(nn.Sequential(*layers, nn.BatchNorm2d(5), nn.ReLU()))
    folded = models.fold_batchnorm(net)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    x = torch.randn(4, 3, 9, 7, dtype=torch.float64)
    with torch.no_grad():
        diff = (net.double()(x) - folded.double()(x)).abs().max().item()
    assert diff < 1e-6  # float32 rounding of the folded weights only


def test_fold_across_pool_needs_positive_scale():
    net = randomize_bn(nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.BatchNorm2d(2)),
                       positive=False)
    with pytest.raises(ValueError, match="scale is <= 0"):
        models.fold_batchnorm(net)
    # without a pool between them a negative scale folds fine
    net = randomize_bn(nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), positive=False)
    x = torch.randn(2, 1, 6, 6)
    with torch.no_grad():
        assert torch.allclose(net(x), models.fold_batchnorm(net)(x), atol=1e-5)


def test_fold_refuses_bn_after_a_nonlinearity():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.BatchNorm2d(2)).eval()
    with pytest.raises(ValueError, match="does not follow a conv"):
        models.fold_batchnorm(net)


@pytest.mark.parametrize("name", ["mnist-cnn", "cifar10-net"])
def test_fold_whole_networks(name):
    torch.manual_seed(0)
    net = randomize_bn(models.build_model(name))
    assert export.check_fold(net, SPECS[name].shape) < export.FOLD_TOL
    x = torch.randn(3, *SPECS[name].shape)
    with torch.no_grad():
        assert torch.allclose(net(x), models.fold_batchnorm(net)(x), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("width", [1, 4, 7, 32])
def test_flip_by_matmul_mirrors_the_last_axis(width):
    x = torch.randn(2, 3, 5, width)
    flip = models.HFlip(width)
    assert torch.equal(flip(x), x.flip(-1))
    assert torch.equal(flip(flip(x)), x)


def test_flip_tta_averages_the_two_views():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 10)).eval()
    tta = models.FlipTTA(net, 8).eval()
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        expected = torch.softmax((net(x) + net(x.flip(-1))) / 2, dim=1)
        assert torch.allclose(tta(x), expected, atol=1e-6)


def test_gelu_export_form_matches_torch():
    x = torch.linspace(-6, 6, 101)
    exact = x * ((torch.erf(x / 2**0.5) + 1) * 0.5)
    assert torch.allclose(models.GELU()(x), exact, atol=1e-6)
    assert torch.allclose(nn.functional.gelu(x), exact, atol=1e-6)


def test_parameter_budgets():
    assert models.count_parameters(models.build_model("mnist-cnn")) < 500_000
    plain = models.count_parameters(models.build_model("cifar10-net", residual=False))
    residual = models.count_parameters(models.build_model("cifar10-net", residual=True))
    assert 1_500_000 < plain < 2_500_000 < residual < 3_500_000
    assert models.count_parameters(models.build_model("cifar10-net")) == (
        residual if AIRBENCH["residual"] else plain)  # the recipe's default layout
    assert models.count_parameters(models.build_model("mnist-mlp")) == 784 * 512 + 512 + 5130
    assert models.count_parameters(models.build_model("lenet5")) == 61_706


@pytest.mark.parametrize("name", list(SPECS))
def test_export_uses_only_allowed_ops_and_matches_torch(name, tmp_path):
    torch.manual_seed(0)
    net = randomize_bn(models.build_model(name))
    path = tmp_path / f"{name}.onnx"
    info = export.export_onnx(name, net, path)
    proto = onnx.load(path)
    ops = {n.op_type for n in proto.graph.node}
    assert ops <= export.ALLOWED_OPS and not ops & FORBIDDEN, ops
    assert proto.opset_import[0].version == 17
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    assert proto.graph.node[-1].op_type == "Softmax"
    assert info["onnxruntime_max_abs_diff"] < export.ORT_TOL
    # dynamic batch: 1 and 5 images; torch agrees on a fresh batch
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    module = models.for_export(name, net)
    for n in (1, 5):
        x = torch.randn(n, *SPECS[name].shape)
        got = session.run(None, {"input": x.numpy()})[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, module(x).numpy(), atol=1e-4)
        np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-5)
    if name == "cifar10-net":  # the mirror is a MatMul with the anti-identity
        inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
        mats = [inits[i] for n in proto.graph.node if n.op_type == "MatMul"
                for i in n.input if i in inits and inits[i].shape == (32, 32)]
        assert any(np.array_equal(m, np.eye(32)[::-1]) for m in mats)
    else:
        assert "MatMul" not in ops or name == "cifar10-net"


def test_export_refuses_unknown_ops():
    bad = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Shape", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.INT64, [1])]))
    with pytest.raises(export.ExportError, match="Shape"):
        export.check_ops(bad)


@pytest.mark.parametrize("residual", [False, True])
def test_summary_counts_cifar_tta_twice(residual):
    net = models.build_model("cifar10-net", residual=residual).eval()
    summary = export.summarize("cifar10-net", models.for_export("cifar10-net", net))
    convs = [r for r in summary["layers"] if r["op"] == "Conv"]
    assert len(convs) == 1 + 3 * (3 if residual else 2) and all(r["calls"] == 2 for r in convs)
    assert convs[1]["output_shape"] == [1, 64, 31, 31]
    one_pass = sum(r["multiply_adds"] for r in summary["layers"] if r["name"] != "flip")
    assert summary["multiply_adds"] == 2 * one_pass + 3 * 32 * 32 * 32
    lenet = export.summarize("lenet5", models.for_export("lenet5", models.build_model("lenet5")))
    assert lenet["parameters"] == 61_706
    assert [r["output_shape"] for r in lenet["layers"] if r["op"] == "Conv"] == [
        [1, 6, 28, 28], [1, 16, 10, 10]]


def test_whitening_init_whitens_patches():
    g = torch.Generator().manual_seed(0)
    mix = torch.randn(3, 3, generator=g)
    images = torch.einsum("dc,nchw->ndhw", mix, torch.randn(64, 3, 16, 16, generator=g))
    conv = nn.Conv2d(3, 24, 2, bias=False)
    recipes.whitening_init(conv, images, eps=1e-8)
    with torch.no_grad():
        out = conv(images)[:, :12].permute(0, 2, 3, 1).reshape(-1, 12)
    cov = out.T @ out / len(out)
    assert torch.allclose(cov, torch.eye(12), atol=2e-3)
    assert torch.equal(conv.weight[12:], -conv.weight[:12])


def test_augmentations():
    x = torch.rand(6, 1, 28, 28)
    assert torch.allclose(augment.random_affine(x, 0.0, 0.0, 0.0), x, atol=1e-5)
    moved = augment.random_affine(x, 10.0, 0.1, 2.0)
    assert moved.shape == x.shape and not torch.allclose(moved, x)
    padded = nn.functional.pad(torch.rand(50, 3, 8, 8), (2,) * 4, mode="reflect")
    crops = augment.random_translate(padded, 8)
    windows = padded.unfold(2, 8, 1).unfold(3, 8, 1)  # every possible 8x8 crop
    for i in range(len(crops)):
        hits = (windows[i] == crops[i][:, None, None]).all(-1).all(-1).all(0)
        assert hits.any()
    assert augment.random_translate(torch.ones(2, 3, 8, 8), 8).shape == (2, 3, 8, 8)
    flipped = augment.random_flip(torch.arange(8.0).view(1, 1, 1, 8).repeat(64, 1, 1, 1))
    rows = flipped[:, 0, 0]
    assert ((rows == torch.arange(8.0)).all(1) | (rows == torch.arange(7.0, -1, -1)).all(1)).all()


def test_random_cutout_zeroes_one_square_inside_each_image():
    x = torch.rand(200, 3, 12, 12) + 1.0  # no zeros before
    out = augment.random_cutout(x, 4, generator=torch.Generator().manual_seed(0))
    zero = out == 0
    assert (zero.all(1) == zero.any(1)).all()  # the same square in every channel
    plane = zero[:, 0]
    assert (plane.sum((1, 2)) == 16).all()
    for m in plane:  # a 4x4 square: 4 rows and 4 columns, contiguous
        rows, cols = m.any(1).nonzero().flatten(), m.any(0).nonzero().flatten()
        assert len(rows) == len(cols) == 4 and rows[-1] - rows[0] == 3 and cols[-1] - cols[0] == 3
    assert torch.equal(out[~zero], x[~zero])
    corners = {(int(m.any(1).nonzero()[0]), int(m.any(0).nonzero()[0])) for m in plane}
    assert len(corners) > 20  # positions vary (9 x 9 possible corners)
    assert (augment.random_cutout(x[:3], 12) == 0).all()
    for size in (0, 13):
        with pytest.raises(ValueError, match="cutout size must be 1..12"):
            augment.random_cutout(x, size)


def test_triangle_schedule():
    assert recipes.triangle(0, 100) == pytest.approx(0.2)
    assert recipes.triangle(23, 100) == pytest.approx(1.0)
    assert recipes.triangle(100, 100) == pytest.approx(0.07)


def test_lookahead_moves_weights_towards_the_average():
    net = nn.Linear(2, 1)
    la = recipes.Lookahead(net)
    start = net.weight.detach().clone()
    with torch.no_grad():
        net.weight.add_(1.0)
    la.update(net, decay=0.75)
    assert torch.allclose(net.weight, start + 0.25)


def test_checkpoints_rebuild_the_cifar_layout_they_were_trained_with(tmp_path):
    """A checkpoint from before ``residual`` existed has no such hyperparameter: plain
    airbench94 blocks. Newer ones record it; the MNIST models take no options."""
    from training.train import save_checkpoint

    assert models.architecture_options("cifar10-net", None) == {"residual": False}
    assert models.architecture_options("cifar10-net", {"residual": 1}) == {"residual": True}
    assert models.architecture_options("lenet5", {"residual": 1}) == {}
    for residual, meta in ((False, {"hyperparameters": {"lr": 11.5}}),
                           (True, {"hyperparameters": {"residual": 1}})):
        net = models.build_model("cifar10-net", residual=residual)
        path = save_checkpoint(tmp_path / f"r{residual}.pt", "cifar10-net", net, meta)
        _, loaded, _ = export.model_from_checkpoint("cifar10-net", path)
        blocks = sum(isinstance(m, models.ResidualGroup) for m in loaded.modules())
        assert blocks == (3 if residual else 0)
        assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(),
                                                     loaded.state_dict().values(), strict=True))
