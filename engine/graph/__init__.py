"""The graph runner: an ONNX CNN run layer by layer on the engine's own ops.

:mod:`engine.graph.model` is a loaded model as plain data (:class:`Graph`);
:mod:`engine.graph.load` reads an ``.onnx`` file into one; :mod:`engine.graph.run`
compiles a graph into a plan once and runs it, keeping every intermediate tensor;
:mod:`engine.graph.ops` maps each ONNX op to the engine's functions;
:mod:`engine.graph.backward` gives gradients through a run (:data:`VJPS`, one per op). ``onnx`` is
imported only inside :func:`load_graph`, so importing this package stays NumPy-only.
"""

from engine.graph.backward import VJPS, backward, input_gradient
from engine.graph.load import (
    FOLD_VALUES,
    MAX_MODEL_BYTES,
    MAX_NODES,
    MAX_WEIGHTS,
    SUPPORTED_OPS,
    fold_constants,
    load_graph,
)
from engine.graph.model import (
    Graph,
    GraphError,
    Node,
    UnsupportedOpError,
    ValueInfo,
    conv_weights,
    graph_params,
    node_params,
)
from engine.graph.run import flush_denormals, infer_shapes, run

__all__ = [
    "FOLD_VALUES",
    "MAX_MODEL_BYTES",
    "MAX_NODES",
    "MAX_WEIGHTS",
    "SUPPORTED_OPS",
    "Graph",
    "GraphError",
    "Node",
    "UnsupportedOpError",
    "VJPS",
    "ValueInfo",
    "backward",
    "conv_weights",
    "flush_denormals",
    "fold_constants",
    "graph_params",
    "infer_shapes",
    "input_gradient",
    "load_graph",
    "node_params",
    "run",
]
