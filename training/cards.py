"""Model cards: the JSON file beside each shipped ``.onnx`` (no PyTorch needed).

A card says what the model is, what data it saw (with credit and licence), how to
prepare an input (``x = (pixel * scale - mean) / std``, NCHW), its layers, size and
cost, its accuracy as measured by ``training.evaluate`` on the exported file, how it
was trained, and the ONNX file's opset, names and sha256.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from training.data import N_VAL, split_description
from training.evaluate import sha256_file
from training.specs import ModelSpec

CARD_VERSION = 1
DATASET_CREDITS = {
    "mnist": {
        "credit": "Yann LeCun and Corinna Cortes, The MNIST database of handwritten digits",
        "licence": "CC BY-SA 3.0",
        "url": "http://yann.lecun.com/exdb/mnist/",
    },
    "cifar10": {
        "credit": 'Alex Krizhevsky, "Learning Multiple Layers of Features from Tiny Images", 2009',
        "licence": "no licence stated by the authors; credit the report above when using it",
        "url": "https://www.cs.toronto.edu/~kriz/cifar.html",
    },
}


def build_card(spec: ModelSpec, meta: dict, export_info: dict, summary: dict,
               onnx_path: str | os.PathLike) -> dict:
    """The card for a freshly exported model (``metrics`` is filled by ``update_metrics``)."""
    onnx_path = Path(onnx_path)
    ds = meta["dataset"]
    c, h, w = spec.shape
    notes = list(spec.notes)
    if ds["format"] == "jpeg-zip":
        notes.append("Trained and evaluated on a JPEG re-encoding (quality about 75) of the "
                     "CIFAR-10 training images, which loses detail and costs accuracy compared "
                     "with the official images; the official test split is not part of it.")
    if meta.get("stopped_early"):
        notes.append(f"Training stopped early by its time limit after {meta['epochs']} of "
                     f"{meta['epochs_planned']} planned epochs.")
    if meta.get("overrides"):
        changed = ", ".join(f"{k}={v}" for k, v in meta["overrides"].items())
        notes.append(f"Trained with hyperparameters changed from its recipe ({changed}); "
                     "training.hyperparameters lists every value used.")
    if meta.get("limit"):
        notes.append(f"DEBUG RUN: trained on a --limit {meta['limit']} subset; not a release model.")
    return {
        "card_version": CARD_VERSION,
        "name": spec.name,
        "title": spec.title,
        "summary": spec.summary,
        "description": spec.description,
        "notes": notes,
        "dataset": {
            "name": ds["name"], "format": ds["format"], "source": ds["source"],
            "train_size": ds["train_size"], "val_size": ds["val_size"],
            "split": (f"the last {N_VAL:,} images of the training file (file order) are held out "
                      f"for validation; training uses the rest"),
            **DATASET_CREDITS[spec.dataset],
        },
        "classes": list(spec.classes),
        "input": {
            "shape": [1, c, h, w], "layout": "NCHW", "channels": spec.channels,
            "scale": 1 / 255, "mean": list(meta.get("input", {}).get("mean", spec.mean)),
            "std": list(meta.get("input", {}).get("std", spec.std)),
            "background": "black" if spec.dataset == "mnist" else None,
            "formula": "x = (pixel * scale - mean) / std, per channel; pixel in 0..255",
        },
        "architecture": summary["layers"],
        "parameters": summary["parameters"],
        "multiply_adds": summary["multiply_adds"],
        "metrics": None,
        "training": {
            "command": meta["command"], "epochs": meta["epochs"],
            "epochs_planned": meta.get("epochs_planned", meta["epochs"]),
            "stopped_early": meta.get("stopped_early", False), "seed": meta["seed"],
            "batch_size": meta["batch_size"], "wall_time_seconds": meta["wall_time_s"],
            "data_time_seconds": meta.get("data_time_s"),
            "device": meta["device"], "hardware": meta["hardware"],
            "versions": {**meta["versions"], **_export_versions()}, "recipe": spec.recipe,
            "augmentation": meta.get("augmentation"),
            "hyperparameters": meta.get("hyperparameters"),
            "parameters_trainable": meta.get("parameters_trainable"),
            "limit": meta.get("limit"), "created": meta.get("created"),
            "cpu_budget": spec.cpu_budget,
            "precision": meta.get("precision", "float32"),
            "log": meta["log"],
        },
        "onnx": {
            "file": onnx_path.name, "opset": 17, "sha256": sha256_file(onnx_path),
            "input_name": "input", "output_name": "probabilities",
            "input_shape": ["batch", c, h, w], "output_shape": ["batch", len(spec.classes)],
            "op_types": export_info["ops"], "nodes": export_info["nodes"],
            "exporter": f"torch.onnx TorchScript exporter (torch {_torch_version()})",
            "batchnorm_fold_max_abs_diff": export_info["fold_max_abs_diff"],
            "onnxruntime_vs_torch_max_abs_diff": export_info["onnxruntime_max_abs_diff"],
        },
    }


def _export_versions() -> dict[str, str]:
    import onnx
    import onnxruntime

    return {"onnx (export)": onnx.__version__, "onnxruntime (evaluation)": onnxruntime.__version__}


def _torch_version() -> str:
    try:
        import torch
    except ImportError:
        return "unknown"
    return torch.__version__


def write_card(card: dict, path: str | os.PathLike) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def metrics_from_result(result: dict) -> dict:
    keys = ("split", "split_description", "dataset", "images", "accuracy", "per_class_accuracy",
            "confusion_matrix", "evaluated_with")
    return {k: result[k] for k in keys}


def update_metrics(card_path: str | os.PathLike, result: dict) -> dict:
    """Write an ``evaluate`` result into the card: ``metrics`` for val, ``metrics.test`` for test.

    Refuses results measured on a different file (sha256) or on a ``--limit`` subset.
    """
    card_path = Path(card_path)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if result.get("limit"):
        raise ValueError("refusing to write metrics measured on a --limit subset into the card")
    if result["onnx_sha256"] != card["onnx"]["sha256"]:
        raise ValueError(f"{card_path}: the ONNX file changed since the card was written "
                         "(sha256 mismatch); export again")
    new = metrics_from_result(result)
    if result["split"] == "val":
        old_test = (card.get("metrics") or {}).get("test")
        card["metrics"] = {**new, "test": old_test}
    else:
        if not card.get("metrics"):
            card["metrics"] = {"split": None, "split_description": split_description("val"),
                               "accuracy": None, "test": None}
        card["metrics"]["test"] = new
    write_card(card, card_path)
    return card
