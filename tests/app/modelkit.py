"""Tiny ONNX models and cards built in tests (no trained model needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_cnn(channels: int = 1, size: int = 28, classes: int = 10, seed: int = 0) -> bytes:
    """Conv 4@3x3 -> Relu -> MaxPool 2 -> Flatten -> Gemm -> Softmax, random weights."""
    rng = np.random.default_rng(seed)
    w = rng.normal(0, 0.5, (4, channels, 3, 3)).astype(np.float32)
    b = rng.normal(0, 0.1, 4).astype(np.float32)
    pooled = (size - 2) // 2
    fc = rng.normal(0, 0.1, (classes, 4 * pooled * pooled)).astype(np.float32)
    fcb = np.zeros(classes, np.float32)
    nodes = [
        helper.make_node("Conv", ["input", "w", "b"], ["conv"], name="conv1", kernel_shape=[3, 3]),
        helper.make_node("Relu", ["conv"], ["relu"], name="relu1"),
        helper.make_node("MaxPool", ["relu"], ["pool"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], name="flatten"),
        helper.make_node("Gemm", ["flat", "fc", "fcb"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", channels, size, size])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", classes])],
        [numpy_helper.from_array(a, n) for a, n in ((w, "w"), (b, "b"), (fc, "fc"), (fcb, "fcb"))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def write_model(folder: Path, name: str, data: bytes, *, channels: str = "L", size: int = 28,
                classes: list[str] | None = None) -> dict:
    c = 1 if channels == "L" else 3
    card = {
        "name": name,
        "title": f"Test model {name}",
        "description": "built by the tests",
        "classes": classes or [str(i) for i in range(10)],
        "input": {
            "shape": [1, c, size, size], "layout": "NCHW", "channels": channels,
            "scale": 1 / 255, "mean": [0.5] * c, "std": [0.5] * c,
            "background": "black" if channels == "L" else "none",
        },
        "onnx": {"opset": 17, "sha256": hashlib.sha256(data).hexdigest()},
    }
    (folder / f"{name}.onnx").write_bytes(data)
    (folder / f"{name}.json").write_text(json.dumps(card))
    return card
