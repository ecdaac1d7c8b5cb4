"""Input gradients of the shipped models against numeric differences.

The input is a held-out image of the model's data set (the shipped subset), normalised
as the model card says, plus uniform noise of +-0.01: MNIST's flat background makes
exact ties in max pooling (equal windows give equal conv outputs), where the gradient is
one-sided and a centred difference lands between the two sides. Measured on the clean
first MNIST held-out digit: lenet5's pixel (18, 9) has backward 0.4104 and centred
differences 0.4548 at every eps from 1e-6 to 3e-2 (the two one-sided slopes averaged);
with the noise every checked pixel agrees to 5e-8 of the largest gradient.

Three checks per model, on the logit of the predicted class, at 12 pixels (the 6 with
the largest gradients and 6 at random); each set of nudged inputs runs as one batch:

* float64: the model run in float64 (tests/engine/graph64.py), ``backward`` on those
  tensors against float64 centred differences (eps 1e-6), at the pixels and at entries
  of an intermediate conv output; measured error <= 5.2e-8 of the largest gradient, the
  test allows 1e-6.
* ``input_gradient`` (float32 forward and backward) against the float64 backward:
  measured relative error 1.3e-7 (lenet5) to 1.1e-6 (cifar10-net); allowed 1e-5.
* float32 centred differences of the float32 forward, eps 1e-2. Two errors add up there:
  float32 rounding of the logits divided by 2 eps (measured <= 1.5e-3 of the largest
  gradient at eps 1e-2 on the four models; 1.2e-2 at eps 1e-3, where cifar10-net's and
  mnist-cnn's logits, 3 to 4, are 100 times their largest input gradients), and the
  model's own kinks and curvature within +-eps (ReLU and max-pool switches, GELU: up to
  15% of the largest gradient on mnist-cnn at eps 1e-2). The second is measured at each
  pixel without the backward: the float64 difference at eps 1e-2 minus the float64
  difference at 1e-6. So at each pixel the float32 difference must agree with
  ``input_gradient`` within that amount plus 4e-3 of the largest gradient.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from engine.graph import backward, input_gradient, load_graph, run
from engine.graph.backward import default_seed_tensor
from tests.engine.graph64 import run64

ROOT = Path(__file__).resolve().parents[2]

EPS32 = 1e-2  # float32 differences: see the module docstring
ROUNDING = 4e-3  # allowed float32 rounding in those, as a fraction of max |gradient|
MODELS = ("cifar10-net", "lenet5", "mnist-cnn", "mnist-mlp")
# an intermediate conv output (Grad-CAM's kind of layer) checked in float64
INTERMEDIATE = {
    "lenet5": "/0/0.3/Conv_output_0",
    "mnist-cnn": "/0/0.10/Conv_output_0",
    "cifar10-net": "/net/net.3/body/body.3/Conv_output_0",
    "mnist-mlp": "/0/0.1/Gemm_output_0",
}


def held_out_image(model: str, index: int = 0, noise: bool = True) -> np.ndarray:
    """Held-out image ``index`` of the model's data set, as the model's input (1, C, H, W),
    plus uniform noise of +-0.01 (see the module docstring) unless ``noise`` is False."""
    from datasets.subset import read_cifar10_subset, read_mnist_subset

    spec = json.loads((ROOT / "models" / f"{model}.json").read_text())["input"]
    if spec["shape"][1] == 3:
        from PIL import Image

        jpeg = read_cifar10_subset().val[index]
        pixels = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB")).transpose(2, 0, 1)
    else:
        pixels = read_mnist_subset().val_x[index][None]
    c = pixels.shape[0]
    mean = np.asarray(spec.get("mean", [0.0] * c), np.float32).reshape(-1, 1, 1)
    std = np.asarray(spec.get("std", [1.0] * c), np.float32).reshape(-1, 1, 1)
    x = (pixels.astype(np.float32) * np.float32(spec["scale"]) - mean) / std
    if noise:
        x = x + np.random.default_rng(index).uniform(-0.01, 0.01, x.shape)
    return x.astype(np.float32)[None]


@pytest.fixture(scope="module", params=MODELS)
def case(request):
    model = request.param
    g = load_graph(ROOT / "models" / f"{model}.onnx")
    x = held_out_image(model)
    score = default_seed_tensor(g)
    k = int(run(g, x)[score][0].argmax())
    t64 = run64(g, x)
    seed = np.zeros(t64[score].shape)
    seed[0, k] = 1
    g64 = backward(g, t64, {score: seed}, ["input", INTERMEDIATE[model]])
    top = np.argsort(-np.abs(g64["input"]).ravel())[:6]
    rest = np.random.default_rng(1).choice(x.size, 6, replace=False)
    pixels = [np.unravel_index(i, x.shape) for i in (*top, *rest)]
    x64 = x.astype(np.float64)
    n64 = central(run64, g, x64, score, k, "input", x64, pixels, 1e-6)  # the true slopes
    return model, g, x, score, k, t64, g64, pixels, n64


def central(forward, g, x, score, k, name, value, points, eps):
    """Centred differences of logit ``k`` for nudges of ``value`` (the tensor ``name``,
    shape (1, ...)) at each of ``points``, all as one batch of 2 * len(points);
    ``forward(g, batch, override)`` is run64 or run."""
    batch = np.repeat(value, 2 * len(points), axis=0)
    for i, p in enumerate(points):
        batch[(2 * i, *p[1:])] += eps
        batch[(2 * i + 1, *p[1:])] -= eps
    if name == "input":
        out = forward(g, batch)
    else:  # the rest of the graph (and any branch from the input) on a batch of copies
        out = forward(g, np.repeat(x, len(batch), axis=0), {name: batch})
    logits = out[score][:, k].astype(np.float64)
    return (logits[0::2] - logits[1::2]) / (2 * eps)


def test_float64_backward_matches_float64_differences(case):
    model, g, x, score, k, t64, g64, pixels, n64 = case
    grad = np.array([g64["input"][p] for p in pixels])
    assert np.abs(n64 - grad).max() <= 1e-6 * np.abs(g64["input"]).max()
    name = INTERMEDIATE[model]
    inner = g64[name]
    assert np.abs(inner).max() > 0
    points = [np.unravel_index(i, inner.shape) for i in
              (*np.argsort(-np.abs(inner).ravel())[:4], 0, inner.size // 2)]
    numeric = central(run64, g, x.astype(np.float64), score, k, name, t64[name], points, 1e-6)
    grad = np.array([inner[p] for p in points])
    assert np.abs(numeric - grad).max() <= 1e-6 * np.abs(inner).max(), name


def test_float32_input_gradient_matches_float64_backward(case):
    model, g, x, score, k, t64, g64, pixels, n64 = case
    grads, tensors = input_gradient(g, x, index=k)
    assert grads["input"].dtype == np.float32 and grads["input"].shape == x.shape
    error = np.linalg.norm(grads["input"] - g64["input"]) / np.linalg.norm(g64["input"])
    assert error < 1e-5, f"{model}: relative error {error:.2e}"


def test_float32_input_gradient_matches_float32_differences(case):
    model, g, x, score, k, t64, g64, pixels, n64 = case
    scale = np.abs(g64["input"]).max()
    x64 = x.astype(np.float64)
    curvature = np.abs(central(run64, g, x64, score, k, "input", x64, pixels, EPS32) - n64)
    numeric = central(lambda g, b: run(g, b), g, x, score, k, "input", x, pixels, EPS32)
    grad = input_gradient(g, x, index=k)[0]["input"]
    error = np.abs(numeric - np.array([grad[p] for p in pixels]))
    assert np.all(error <= curvature + ROUNDING * scale), (model, error / scale, curvature / scale)
