"""A loaded ONNX model as plain data: :class:`Graph`, its :class:`Node` s, and what they hold.

:func:`engine.graph.load.load_graph` builds a :class:`Graph` (the nodes in execution
order, attributes as Python values, weights as NumPy arrays);
:func:`engine.graph.run.run` executes it. The helpers here answer questions about
a graph's weights: learnable parameters per node and per model, a Conv's filters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "Graph",
    "GraphError",
    "Node",
    "UnsupportedOpError",
    "ValueInfo",
    "conv_weights",
    "graph_params",
    "node_params",
]

# Inputs holding learnable parameters, by op (BatchNormalization's running mean and
# variance are statistics, not learned by gradient descent, as in PyTorch's parameters()).
_PARAM_INPUTS = {
    "Conv": (1, 2),
    "Gemm": (0, 1, 2),
    "MatMul": (0, 1),
    "BatchNormalization": (1, 2),
    "Add": (0, 1),
    "Sub": (0, 1),
    "Mul": (0, 1),
    "Div": (0, 1),
}


class GraphError(ValueError):
    """The model cannot be loaded or run (malformed, unsafe, too large, or a bad input)."""


class UnsupportedOpError(GraphError):
    """A node's op is not one the engine runs (see :data:`SUPPORTED_OPS`)."""

    def __init__(self, op_type: str, node_name: str):
        self.op_type, self.node_name = op_type, node_name
        super().__init__(f"The engine does not run the op '{op_type}' (node '{node_name}').")


@dataclass(frozen=True)
class ValueInfo:
    """A graph input or output. ``shape`` is None when unknown; a dynamic dim is None or a name."""

    name: str
    shape: tuple[int | str | None, ...] | None
    dtype: str


@dataclass(frozen=True)
class Node:
    """One operation: ``inputs``/``outputs`` are tensor names ('' = an omitted optional one)."""

    name: str
    op_type: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Graph:
    """A loaded model: nodes in execution order and the weights as NumPy arrays.

    ``inputs`` are the graph inputs that are not initializers (what :func:`run` is fed);
    ``initializers`` hold float32 or int64 arrays; ``opset`` is the default-domain opset.
    """

    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    nodes: list[Node]
    initializers: dict[str, np.ndarray]
    opset: int
    name: str = ""
    # The runner's compiled plan (engine.graph.run), made on the first run. A graph is
    # not changed after loading; dataclasses.replace makes a copy with no plan.
    _plan: Any = field(default=None, init=False, repr=False, compare=False)

    def node(self, name: str) -> Node:
        """The node called ``name`` (``KeyError`` if there is none)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r}")


def _node(graph: Graph, node: Node | str) -> Node:
    return graph.node(node) if isinstance(node, str) else node


def node_params(graph: Graph, node: Node | str) -> int:
    """Learnable parameters a node holds: the sizes of its float initializer inputs.

    Only inputs that are weights count: Conv's W and B, Gemm/MatMul operands,
    BatchNormalization's scale and B (not its running mean and variance), and a
    weight tensor added or multiplied in Add/Sub/Mul/Div. Scalars (0-D constants such
    as the 0.5 of an exported GELU) and shape or bound inputs (Reshape, Pad, Clip) are
    not parameters. A weight shared by several nodes counts once per node.
    """
    node = _node(graph, node)
    total = 0
    for i in _PARAM_INPUTS.get(node.op_type, ()):
        arr = graph.initializers.get(node.inputs[i]) if i < len(node.inputs) else None
        if arr is not None and arr.dtype == np.float32 and arr.ndim > 0:
            total += arr.size
    return total


def graph_params(graph: Graph) -> int:
    """Learnable parameters of the whole model, as :func:`node_params` counts them, but
    with each weight tensor counted once, however many nodes use it (a network run
    twice for test-time augmentation shares its weights)."""
    seen: dict[str, int] = {}
    for node in graph.nodes:
        for i in _PARAM_INPUTS.get(node.op_type, ()):
            name = node.inputs[i] if i < len(node.inputs) else ""
            arr = graph.initializers.get(name)
            if arr is not None and arr.dtype == np.float32 and arr.ndim > 0:
                seen[name] = arr.size
    return sum(seen.values())


def conv_weights(graph: Graph, node: Node | str) -> tuple[np.ndarray, np.ndarray | None]:
    """A Conv node's filters ``(F, C/group, KH, KW)`` and bias ``(F,)`` (None if it has none)."""
    node = _node(graph, node)
    if node.op_type != "Conv":
        raise GraphError(f"node '{node.name}' is a {node.op_type}, not a Conv")
    w = graph.initializers.get(node.inputs[1])
    if w is None:
        raise GraphError(f"the weights of node '{node.name}' are computed, not stored in the model")
    bias_name = node.inputs[2] if len(node.inputs) > 2 else ""
    return w, graph.initializers.get(bias_name) if bias_name else None
