"""The engine's gradients through the shipped models against PyTorch autograd on the
exported graph.

A small interpreter runs each ``.onnx`` file's nodes, in order, with torch ops
(``F.conv2d``, ``F.max_pool2d``, ``torch.erf``...) on the file's own weights (read with
``onnx``, not through the engine's loader), in float64 with ``requires_grad``; autograd
then gives d(logit)/d(input) and d(logit)/d(an intermediate conv output). The engine's
``input_gradient`` (float32 forward and backward) must match within a relative error of
1e-5 (measured: 1.2e-7 for lenet5 to 9.1e-7 for cifar10-net), and ``backward`` on the
engine's own float64 run within 1e-6 (it hands back float32: measured 2.8e-8). The
float64 class scores of the two runs agree to 4e-15.

The input is a batch of two held-out images: the first as it is, the second plus +-0.01
noise as in tests/engine/test_graph_backward_models.py. MNIST's flat background makes
exact max-pooling ties, where the gradient is one-sided and either side is right; the
engine routes it to the first maximum in row-major order, as PyTorch's CPU max pooling
does, so the clean image agrees too (measured as closely as the noisy one).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")

import torch.nn.functional as F  # noqa: E402
from onnx import helper, numpy_helper  # noqa: E402

from engine.graph import backward, input_gradient, load_graph  # noqa: E402
from engine.graph.backward import default_seed_tensor  # noqa: E402
from tests.engine.graph64 import run64  # noqa: E402
from tests.engine.test_graph_backward_models import INTERMEDIATE, held_out_image  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("cifar10-net", "lenet5", "mnist-cnn", "mnist-mlp")


def _pads(x, pads, value=0.0):
    top, left, bottom, right = pads
    return F.pad(x, (left, right, top, bottom), value=value) if any(pads) else x


def _conv(ins, a):
    if a.get("auto_pad", "NOTSET") != "NOTSET":
        raise NotImplementedError("auto_pad")
    x = _pads(ins[0], a.get("pads", [0, 0, 0, 0]))
    return F.conv2d(x, ins[1], ins[2] if len(ins) > 2 else None, stride=a.get("strides", 1),
                    dilation=a.get("dilations", 1), groups=a.get("group", 1))


def _max_pool(ins, a):
    x = _pads(ins[0], a.get("pads", [0, 0, 0, 0]), -math.inf)
    return F.max_pool2d(x, a["kernel_shape"], a.get("strides", 1),
                        dilation=a.get("dilations", 1), ceil_mode=bool(a.get("ceil_mode", 0)))


def _gemm(ins, a):
    x = ins[0].T if a.get("transA", 0) else ins[0]
    w = ins[1].T if a.get("transB", 0) else ins[1]
    y = a.get("alpha", 1.0) * (x @ w)
    return y + a.get("beta", 1.0) * ins[2] if len(ins) > 2 else y


TORCH_OPS = {
    "Conv": _conv,
    "MaxPool": _max_pool,
    "Gemm": _gemm,
    "Relu": lambda ins, a: torch.relu(ins[0]),
    "Erf": lambda ins, a: torch.erf(ins[0]),
    "Add": lambda ins, a: ins[0] + ins[1],
    "Mul": lambda ins, a: ins[0] * ins[1],
    "MatMul": lambda ins, a: ins[0] @ ins[1],
    "GlobalAveragePool": lambda ins, a: ins[0].mean(dim=(2, 3), keepdim=True),
    "Flatten": lambda ins, a: ins[0].reshape(math.prod(ins[0].shape[: a.get("axis", 1)]), -1),
    "Softmax": lambda ins, a: torch.softmax(ins[0], dim=a.get("axis", -1)),
    "Constant": lambda ins, a: torch.from_numpy(numpy_helper.to_array(a["value"])).double(),
}


def torch_run(path: Path, x: np.ndarray) -> dict:
    """Every tensor of the ONNX file's graph, computed by torch in float64 from ``x``."""
    model = onnx.load(path)
    assert model.opset_import[0].version >= 13  # Softmax along its axis
    values = {init.name: torch.from_numpy(numpy_helper.to_array(init).copy()).double()
              for init in model.graph.initializer}
    values[model.graph.input[0].name] = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        out = TORCH_OPS[node.op_type]([values[n] for n in node.input if n], attrs)
        if out.requires_grad:
            out.retain_grad()
        values[node.output[0]] = out
    return values


@pytest.fixture(scope="module", params=MODELS)
def case(request):
    model = request.param
    path = ROOT / "models" / f"{model}.onnx"
    g = load_graph(path)
    x = np.concatenate([held_out_image(model, 0, noise=False), held_out_image(model, 1)])
    score = default_seed_tensor(g)
    values = torch_run(path, x)
    k = int(values[score][0].argmax())
    values[score][:, k].sum().backward()  # the images do not mix: each gets its own gradient
    inner = INTERMEDIATE[model]
    expected = {name: values[name].grad.numpy() for name in ("input", inner)}
    return g, x, score, k, values[score].detach().numpy(), expected


def test_the_interpreter_runs_the_engines_model(case):
    """Same model, same weights: torch's float64 class scores equal the engine's."""
    g, x, score, k, logits, expected = case
    np.testing.assert_allclose(run64(g, x)[score], logits, rtol=1e-10, atol=1e-10)


def test_input_gradient_matches_autograd(case):
    g, x, score, k, logits, expected = case
    grads, _ = input_gradient(g, x, index=k, wrt=list(expected))
    for name, want in expected.items():
        for i, label in enumerate(("clean", "noisy")):
            assert np.abs(want[i]).max() > 0
            error = np.linalg.norm(grads[name][i] - want[i]) / np.linalg.norm(want[i])
            assert error < 1e-5, f"{name}, {label} image: relative error {error:.2e}"


def test_float64_backward_matches_autograd(case):
    g, x, score, k, logits, expected = case
    tensors = run64(g, x)
    seed = np.zeros(tensors[score].shape)
    seed[:, k] = 1
    grads = backward(g, tensors, {score: seed}, list(expected))
    for name, want in expected.items():
        for i, label in enumerate(("clean", "noisy")):
            # backward hands back float32: its rounding (6e-8) is the whole difference
            error = np.linalg.norm(grads[name][i] - want[i]) / np.linalg.norm(want[i])
            assert error < 1e-6, f"{name}, {label} image: relative error {error:.2e}"
