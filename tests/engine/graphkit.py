"""Small engine graphs built directly (no onnx): chains, windows, skips."""

from __future__ import annotations

import numpy as np

from engine.graph import Graph, Node, ValueInfo


def graph(nodes: list[Node], inits: dict[str, np.ndarray], shape=(1, 1, 12, 10), out: str | None = None) -> Graph:
    return Graph([ValueInfo("x", tuple(shape), "float32")],
                 [ValueInfo(out or nodes[-1].outputs[0], None, "float32")],
                 nodes, {k: np.asarray(v, np.float32) for k, v in inits.items()}, 13)


def conv(name: str, x: str, w: str, b: str | None = None, **attrs) -> Node:
    return Node(name, "Conv", (x, w, b or ""), (name,), attrs)


def op(name: str, op_type: str, *inputs: str, **attrs) -> Node:
    return Node(name, op_type, inputs, (name,), attrs)
