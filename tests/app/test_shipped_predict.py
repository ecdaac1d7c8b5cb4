"""Predict with the shipped models: digits drawn the way people draw them still classify.

The most common complaint about digit demos is that a thick digit drawn off-centre on
a white canvas is misread. The MNIST preprocessing (invert, crop to the ink, scale the
longer side to 20 px, centre by centre of mass) must make such digits look like MNIST.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from app.config import MODELS_DIR
from app.services.preprocess import prepare_mnist

pytestmark = pytest.mark.skipif(
    not (MODELS_DIR / "mnist-cnn.onnx").exists(), reason="models/mnist-cnn.onnx is not there"
)

FONTS = [p for p in (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
) if p.exists()]


def font(size: int, index: int):
    if index < len(FONTS):
        return ImageFont.truetype(str(FONTS[index]), size)
    return ImageFont.load_default(size=size)


def drawn_digit(d: int, *, canvas=280, size=150, stroke=0, at=(0.5, 0.5), font_index=0) -> Image.Image:
    """A black digit on a white canvas, its centre at ``at`` (fractions of the canvas)."""
    im = Image.new("RGB", (canvas, canvas), "white")
    draw = ImageDraw.Draw(im)
    f = font(size, font_index)
    box = draw.textbbox((0, 0), str(d), font=f, stroke_width=stroke)
    x = at[0] * canvas - (box[0] + box[2]) / 2
    y = at[1] * canvas - (box[1] + box[3]) / 2
    draw.text((x, y), str(d), fill="black", font=f, stroke_width=stroke, stroke_fill="black")
    return im


def png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


VARIANTS = [
    {"size": size, "stroke": stroke, "at": at, "font_index": fi}
    for size in (90, 150, 220)
    for stroke in (0, 6)
    for at in ((0.5, 0.5), (0.3, 0.35), (0.68, 0.62))
    for fi in range(max(1, len(FONTS)))
    if not (size == 220 and at != (0.5, 0.5))  # a 220 px digit does not fit off-centre
]


def test_font_digits_on_white_classify_like_mnist(client):
    correct = total = 0
    wrong = []
    for d in range(10):
        for v in VARIANTS:
            r = client.post(
                "/api/models/mnist-cnn/predict?explain=false",
                files={"file": ("digit.png", png(drawn_digit(d, **v)), "image/png")},
            )
            assert r.status_code == 200, r.text
            total += 1
            if r.json()["label"] == str(d):
                correct += 1
            else:
                wrong.append((d, r.json()["label"], v))
    accuracy = correct / total
    assert total >= 100
    assert accuracy >= 0.90, f"{accuracy:.1%} of {total}; wrong: {wrong[:10]}"


def test_off_centre_thick_digit_ends_up_centred_like_mnist():
    im = drawn_digit(4, size=120, stroke=8, at=(0.25, 0.7))
    prepared = prepare_mnist(im, {"shape": [1, 1, 28, 28], "scale": 1 / 255, "mean": [0.0], "std": [1.0]})
    x = prepared.tensor[0, 0]
    assert x.shape == (28, 28)
    assert x[0].max() == 0 and x[:, 0].max() == 0  # black border, white ink: inverted
    assert x.max() == pytest.approx(1.0, abs=0.01)
    rows = np.flatnonzero(x.max(axis=1) > 0.1)
    cols = np.flatnonzero(x.max(axis=0) > 0.1)
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) in (19, 20, 21)  # longer side 20 px
    yy, xx = np.mgrid[0:28, 0:28]
    cy, cx = (yy * x).sum() / x.sum(), (xx * x).sum() / x.sum()
    assert abs(cy - 13.5) <= 1.0 and abs(cx - 13.5) <= 1.0  # centre of mass in the middle
    assert "inverted" in prepared.notes[0]


@pytest.mark.parametrize("name", ["mnist-mlp", "lenet5", "mnist-cnn", "cifar10-net"])
def test_every_shipped_model_predicts(client, name):
    if not (MODELS_DIR / f"{name}.onnx").exists():
        pytest.skip(f"{name} not shipped")
    im = drawn_digit(3) if name != "cifar10-net" else Image.new("RGB", (64, 48), (30, 90, 200))
    body = client.post(f"/api/models/{name}/predict", files={"file": ("x.png", png(im), "image/png")}).json()
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-4)
    assert body["label"] == body["classes"][body["index"]]
    if name != "cifar10-net":
        assert body["label"] == "3"


def test_cifar_flip_matrix_is_not_counted_as_parameters(client):
    if not (MODELS_DIR / "cifar10-net.onnx").exists():
        pytest.skip("cifar10-net not shipped")
    im = Image.new("RGB", (32, 32), (120, 160, 200))
    body = client.post("/api/models/cifar10-net/inspect", files={"file": ("x.png", png(im), "image/png")}).json()
    matmuls = [layer for layer in body["layers"] if layer["op_type"] == "MatMul"]
    flips = [layer for layer in matmuls if "permutation" in (layer.get("note") or "")]
    assert len(flips) == 1, "the exported graph flips the input with one MatMul"
    assert flips[0]["params"] == 0 and flips[0]["input_shapes"][1] == [32, 32]
    heads = [layer for layer in matmuls if layer is not flips[0]]
    assert heads and all(layer["params"] == 256 * 10 for layer in heads)  # the learned classifier
    assert body["check"]["max_abs_diff_vs_onnxruntime"] < 1e-4
