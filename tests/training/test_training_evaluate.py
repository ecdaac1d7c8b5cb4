"""evaluate + cards without PyTorch: a hand-built ONNX model on synthetic MNIST."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper, save

from training import cards, evaluate
from training.data import load_split

ROOT = Path(__file__).resolve().parents[2]


def test_preprocess_follows_the_card_formula():
    images = np.array([[[[0, 255, 51]], [[102, 0, 255]]]], np.uint8)  # (1, 2, 1, 3) NHWC
    x = evaluate.preprocess(images, mean=[0.5, 0.0, 0.2], std=[0.5, 1.0, 0.1])
    assert x.shape == (1, 3, 2, 1) and x.dtype == np.float32 and x.flags.c_contiguous
    expected = (images.transpose(0, 3, 1, 2) / 255 - np.array([0.5, 0, 0.2])[:, None, None]) \
        / np.array([0.5, 1, 0.1])[:, None, None]
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="expected images"):
        evaluate.preprocess(images[0], [0], [1])


def test_confusion_matrix():
    cm = evaluate.confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 0]), 3)
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def pixel_model(path: Path) -> None:
    """Probabilities from pixel (0, 0): Flatten -> Gemm (one-hot on the first pixel) -> Softmax.

    The synthetic images hold index % 256 at (0, 0), so the model predicts class
    argmax(w * pixel) = 9 when pixel > 0 and 0 when it is 0 (all logits equal).
    """
    w = np.zeros((784, 10), np.float32)
    w[0] = np.arange(10, dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["input"], ["flat"]),
         helper.make_node("Gemm", ["flat", "w"], ["logits"]),
         helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1)],
        "pixel", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 28, 28])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(w, "w")])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def write_card(models: Path, name: str = "mnist-mlp") -> Path:
    models.mkdir(parents=True, exist_ok=True)
    onnx_path = models / f"{name}.onnx"
    pixel_model(onnx_path)
    card = {"name": name, "classes": [str(d) for d in range(10)],
            "dataset": {"format": "idx"},
            "input": {"shape": [1, 1, 28, 28], "layout": "NCHW", "channels": "L",
                      "scale": 1 / 255, "mean": [0.0], "std": [1.0]},
            "metrics": None, "onnx": {"file": onnx_path.name,
                                      "sha256": evaluate.sha256_file(onnx_path)}}
    return cards.write_card(card, models / f"{name}.json")


def test_evaluate_and_update_card(mnist_dir, tmp_path):
    card_path = write_card(tmp_path / "models")
    result = evaluate.evaluate("mnist-mlp", tmp_path / "models", mnist_dir, "val")
    val = load_split("mnist", "val", mnist_dir)
    pred = np.where(val.images[:, 0, 0, 0] > 0, 9, 0)
    assert result["images"] == 5000
    assert result["accuracy"] == pytest.approx((pred == val.labels).mean(), abs=1e-5)
    cm = np.array(result["confusion_matrix"])
    assert cm.sum() == 5000 and set(np.nonzero(cm.sum(0))[0]) <= {0, 9}
    assert result["per_class_accuracy"]["9"] == pytest.approx(cm[9, 9] / cm[9].sum(), abs=1e-5)
    report = evaluate.format_report(result, [str(d) for d in range(10)])
    assert "confusion matrix" in report and f"{100 * result['accuracy']:.2f}%" in report

    card = cards.update_metrics(card_path, result)
    assert card["metrics"]["accuracy"] == result["accuracy"] and card["metrics"]["test"] is None
    assert json.loads(card_path.read_text())["metrics"]["split"] == "val"
    with pytest.raises(ValueError, match="--limit"):
        cards.update_metrics(card_path, {**result, "limit": 10})
    onnx_path = tmp_path / "models" / "mnist-mlp.onnx"
    onnx_path.write_bytes(b"changed")
    with pytest.raises(ValueError, match="sha256"):
        cards.update_metrics(card_path, {**result, "onnx_sha256": evaluate.sha256_file(onnx_path)})


def test_evaluate_cli_prints_and_updates(mnist_dir, tmp_path, capsys):
    from training.cli import main

    write_card(tmp_path / "models")
    rc = main(["evaluate", "mnist-mlp", "--data-dir", str(mnist_dir),
               "--models-dir", str(tmp_path / "models"), "--update-card"])
    out = capsys.readouterr().out
    assert rc == 0 and "per-class accuracy" in out and "wrote the val metrics" in out
    assert json.loads((tmp_path / "models" / "mnist-mlp.json").read_text())["metrics"]["images"] == 5000
    rc = main(["evaluate", "mnist-mlp", "--split", "test", "--data-dir", str(mnist_dir),
               "--models-dir", str(tmp_path / "models")])
    assert rc == 2 and "t10k" in capsys.readouterr().err
    assert main(["evaluate", "lenet5", "--data-dir", str(mnist_dir),
                 "--models-dir", str(tmp_path / "models")]) == 2


def test_torch_free_modules_do_not_import_torch():
    probe = ("import sys, training.data, training.evaluate, training.cards, training.cli, "
             "training.specs, training.progress; print(any(m.split('.')[0] == 'torch' "
             "for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "False"
