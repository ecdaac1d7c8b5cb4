"""The graph runner: an ONNX CNN run layer by layer on the engine's own ops.

:mod:`engine.graph.model` loads a model into a plain :class:`Graph` and runs it, keeping
every intermediate tensor; :mod:`engine.graph.ops` maps each ONNX op to the engine's
functions. ``onnx`` is imported only inside :func:`load_graph`, so importing this package
stays NumPy-only.
"""

from engine.graph.model import (
    FOLD_VALUES,
    MAX_MODEL_BYTES,
    MAX_NODES,
    MAX_WEIGHTS,
    SUPPORTED_OPS,
    Graph,
    GraphError,
    Node,
    UnsupportedOpError,
    ValueInfo,
    conv_weights,
    flush_denormals,
    fold_constants,
    graph_params,
    infer_shapes,
    load_graph,
    node_params,
    run,
)

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
    "ValueInfo",
    "conv_weights",
    "flush_denormals",
    "fold_constants",
    "graph_params",
    "infer_shapes",
    "load_graph",
    "node_params",
    "run",
]
