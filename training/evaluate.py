"""Evaluate an exported model with onnxruntime, preprocessing exactly as its card says.

NumPy, Pillow and onnxruntime only (no PyTorch): this is the figure the app serves.
``convlab evaluate <model> [--split val|test] [--update-card]``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from training.data import load_split, split_description


def preprocess(images: np.ndarray, mean, std, scale: float = 1 / 255) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` -> float32 ``(N, C, H, W)``: ``x = (pixel * scale - mean) / std``."""
    if images.ndim != 4:
        raise ValueError(f"expected images (N, H, W, C), got shape {images.shape}")
    mean = np.asarray(mean, np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(std, np.float32).reshape(1, -1, 1, 1)
    x = images.transpose(0, 3, 1, 2).astype(np.float32) * np.float32(scale)
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_card(models_dir: str | os.PathLike, name: str) -> tuple[dict, Path]:
    """``(card, onnx path)`` of ``<models_dir>/<name>.json``; raises FileNotFoundError."""
    card_path = Path(models_dir) / f"{name}.json"
    if not card_path.is_file():
        raise FileNotFoundError(f"no model card {card_path} (train or export the model first)")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    onnx_path = card_path.with_name(card.get("onnx", {}).get("file", f"{name}.onnx"))
    if not onnx_path.is_file():
        raise FileNotFoundError(f"no ONNX file {onnx_path} beside {card_path}")
    return card, onnx_path


def predict(onnx_path: str | os.PathLike, x: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """Class probabilities ``(N, K)`` from the ONNX model, in batches."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    in_name = session.get_inputs()[0].name
    outs = [session.run(None, {in_name: x[i:i + batch_size]})[0] for i in range(0, len(x), batch_size)]
    return np.concatenate(outs) if outs else np.zeros((0, 0), np.float32)


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, k: int) -> np.ndarray:
    """``cm[true, predicted]`` counts."""
    cm = np.zeros((k, k), np.int64)
    np.add.at(cm, (labels, preds), 1)
    return cm


def evaluate(name: str, models_dir: str | os.PathLike = "models", data_dir: str | None = None,
             split: str = "val", batch_size: int = 500, limit: int | None = None) -> dict:
    """Accuracy, per-class accuracy and confusion matrix of ``<models_dir>/<name>.onnx``."""
    import onnxruntime as ort

    card, onnx_path = read_card(models_dir, name)
    dataset_kind = "mnist" if card["input"]["channels"] == "L" else "cifar10"
    fmt = card.get("dataset", {}).get("format", "auto") if split == "val" else "auto"
    ds = load_split(dataset_kind, split, data_dir, fmt=fmt, limit=limit)
    spec = card["input"]
    x = preprocess(ds.images, spec["mean"], spec["std"], spec.get("scale", 1 / 255))
    probs = predict(onnx_path, x, batch_size)
    preds = probs.argmax(1)
    classes = list(card["classes"])
    cm = confusion_matrix(ds.labels, preds, len(classes))
    totals = cm.sum(1)
    per_class = {c: (round(float(cm[i, i] / totals[i]), 5) if totals[i] else None)
                 for i, c in enumerate(classes)}
    return {
        "model": name, "split": split, "split_description": split_description(split),
        "dataset": ds.name, "dataset_format": ds.format, "images": int(len(ds)),
        "accuracy": round(float((preds == ds.labels).mean()), 5) if len(ds) else None,
        "per_class_accuracy": per_class, "confusion_matrix": cm.tolist(),
        "evaluated_with": f"onnxruntime {ort.__version__}", "onnx_sha256": sha256_file(onnx_path),
        "limit": limit,
    }


def format_report(result: dict, classes: list[str]) -> str:
    lines = [f"{result['model']} on {result['dataset']}, {result['split_description']}",
             f"{result['images']:,} images, accuracy {100 * result['accuracy']:.2f}%  "
             f"({result['evaluated_with']})", "", "per-class accuracy:"]
    width = max(len(c) for c in classes)
    for c in classes:
        acc = result["per_class_accuracy"][c]
        lines.append(f"  {c:>{width}}  " + ("   n/a" if acc is None else f"{100 * acc:6.2f}%"))
    lines += ["", "confusion matrix (rows: true class, columns: predicted):"]
    head = [c[:5] for c in classes]
    cell = max(5, *(len(h) for h in head))
    lines.append(" " * (width + 2) + " ".join(f"{h:>{cell}}" for h in head))
    for c, row in zip(classes, result["confusion_matrix"], strict=True):
        lines.append(f"  {c:>{width}}" + " ".join(f"{v:>{cell}}" for v in row))
    return "\n".join(lines)
