"""Read an ``.onnx`` file (or its bytes) into a :class:`~engine.graph.model.Graph`.

Loading is defensive: the model's own contents decide nothing about the file system.
Weights stored as *external data* (a path inside the model) are refused, never
opened; nodes must come in topological order with every input defined before use;
sizes are bounded (:data:`MAX_NODES`, :data:`MAX_MODEL_BYTES`, :data:`MAX_WEIGHTS`).
Weights are float32 (denormals flushed) or int64. This is the only engine module that
uses ``onnx``, imported inside :func:`load_graph` so that ``import engine`` stays
NumPy-only. :func:`fold_constants` works out the small tensors computed from weights
alone (shapes, pads), which ONNX shape inference needs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from engine.graph.model import Graph, GraphError, Node, UnsupportedOpError, ValueInfo
from engine.graph.ops import OPS
from engine.graph.run import flush_denormals

__all__ = [
    "FOLD_VALUES",
    "MAX_MODEL_BYTES",
    "MAX_NODES",
    "MAX_WEIGHTS",
    "SUPPORTED_OPS",
    "fold_constants",
    "load_graph",
]

SUPPORTED_OPS: frozenset[str] = frozenset(OPS)
MAX_NODES = 2000
MAX_MODEL_BYTES = 128 << 20
MAX_WEIGHTS = 1 << 25  # values over all initializers and Constant tensors (128 MiB of float32)
FOLD_VALUES = 1024  # constant folding only combines tensors this small (shapes, pads, scalars)
_FOLDABLE = frozenset({"Constant", "Identity", "Add", "Sub", "Mul", "Div", "Concat", "Reshape",
                       "Flatten", "Transpose", "Clip"})
_DEFAULT_DOMAINS = ("", "ai.onnx")


def _read(source) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, str | os.PathLike):
        try:
            if os.path.getsize(source) > MAX_MODEL_BYTES:
                raise GraphError(f"the model file is larger than {MAX_MODEL_BYTES >> 20} MiB")
            with open(source, "rb") as f:
                data = f.read(MAX_MODEL_BYTES + 1)
        except OSError as e:
            raise GraphError(f"cannot read the model file: {e.strerror or e}") from None
    elif hasattr(source, "SerializeToString"):  # an onnx.ModelProto
        data = source.SerializeToString()
    else:
        raise TypeError(
            f"load_graph takes a path, bytes or a ModelProto, not {type(source).__name__}"
        )
    if len(data) > MAX_MODEL_BYTES:
        raise GraphError(f"the model is larger than {MAX_MODEL_BYTES >> 20} MiB")
    return data


def _tensors(graph):
    """Every TensorProto a node or initializer holds (subgraphs are refused elsewhere)."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors


def _array(tensor, what: str) -> np.ndarray:
    from onnx import numpy_helper

    if tensor.data_location == tensor.EXTERNAL or len(tensor.external_data):
        raise GraphError(f"{what}: external data is not allowed (the weights must be in the model)")
    count = int(np.prod(tensor.dims, dtype=np.float64))
    if count > MAX_WEIGHTS:
        raise GraphError(f"{what} has {count:,} values (the limit is {MAX_WEIGHTS:,})")
    try:
        arr = numpy_helper.to_array(tensor)
    except Exception as e:
        raise GraphError(f"{what} cannot be read: {e}") from None
    if arr.dtype.kind == "f":
        return flush_denormals(arr.astype(np.float32, copy=False))
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64, copy=False)
    raise GraphError(f"{what} has dtype {arr.dtype}; only numbers are supported")


def _value_info(vi) -> ValueInfo:
    from onnx import helper

    ttype = vi.type.tensor_type
    try:
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(ttype.elem_type)).name
    except Exception:
        dtype = "unknown"
    shape = None
    if ttype.HasField("shape"):
        shape = tuple(
            d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in ttype.shape.dim
        )
    return ValueInfo(vi.name, shape, dtype)


def _attributes(node, label: str) -> dict[str, Any]:
    from onnx import AttributeProto, helper

    attrs: dict[str, Any] = {}
    for attr in node.attribute:
        if attr.type == AttributeProto.TENSOR:
            attrs[attr.name] = _array(attr.t, f"the '{attr.name}' of node '{label}'")
        elif attr.type in (
            AttributeProto.INT,
            AttributeProto.FLOAT,
            AttributeProto.INTS,
            AttributeProto.FLOATS,
            AttributeProto.STRING,
        ):
            value = helper.get_attribute_value(attr)
            attrs[attr.name] = (
                value.decode("utf-8", "replace")
                if isinstance(value, bytes)
                else (list(value) if isinstance(value, Sequence) else value)
            )
        else:
            raise GraphError(
                f"node '{label}': attribute '{attr.name}' has a type the engine "
                f"does not read ({AttributeProto.AttributeType.Name(attr.type)})"
            )
    return attrs


def _check_order(graph: Graph) -> None:
    """Every input defined before use, every tensor produced once: a topological order."""
    defined = {vi.name for vi in graph.inputs} | set(graph.initializers)
    producer = {}
    for node in graph.nodes:
        for out in filter(None, node.outputs):
            if out in defined or out in producer:
                raise GraphError(f"tensor '{out}' is produced twice (again by node '{node.name}')")
            producer[out] = node.name
    for node in graph.nodes:
        for name in filter(None, node.inputs):
            if name in defined:
                continue
            if name in producer:
                raise GraphError(
                    f"node '{node.name}' uses tensor '{name}' before node '{producer[name]}' "
                    "produces it: the nodes are not in topological order, or the graph has a cycle"
                )
            raise GraphError(f"node '{node.name}' uses tensor '{name}', which is never defined")
        defined.update(filter(None, node.outputs))
    for vi in graph.outputs:
        if vi.name not in defined:
            raise GraphError(f"graph output '{vi.name}' is never produced")


def load_graph(source) -> Graph:
    """Read an ONNX model into a :class:`Graph`, refusing anything unsafe or unsupported.

    Parameters
    ----------
    source : str, os.PathLike, bytes or onnx.ModelProto
        A path to an ``.onnx`` file or its serialized bytes.

    Raises
    ------
    UnsupportedOpError
        A node's op is not in :data:`SUPPORTED_OPS` (or is outside the default domain).
    GraphError
        Malformed or invalid model, external data, nodes out of topological order (or
        a cycle), an undefined tensor, or a size over the limits.
    """
    data = _read(source)
    import onnx  # lazily: `import engine` must not load onnx

    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except Exception:
        raise GraphError("the bytes are not an ONNX model (protobuf parsing failed)") from None
    g = model.graph
    if not len(g.node) or not len(g.output):
        raise GraphError("the model has no graph (no nodes or no outputs): is it an ONNX model?")
    if len(g.node) > MAX_NODES:
        raise GraphError(f"the model has {len(g.node)} nodes (the limit is {MAX_NODES})")
    if len(g.sparse_initializer):
        raise GraphError("sparse initializers are not supported")
    opset = next((o.version for o in model.opset_import if o.domain in _DEFAULT_DOMAINS), None)
    if opset is None:
        raise GraphError("the model does not import the default ONNX opset")
    names: list[str] = []  # unique: "op_<i>" for an unnamed node, "<name>_<i>" for a repeat
    for i, n in enumerate(g.node):
        label = n.name or f"op_{i}"
        names.append(f"{label}_{i}" if label in names else label)
    for node, label in zip(g.node, names, strict=True):
        if node.domain not in _DEFAULT_DOMAINS:
            raise UnsupportedOpError(f"{node.domain}.{node.op_type}", label)
        if node.op_type not in OPS:
            raise UnsupportedOpError(node.op_type, label)
    for i, tensor in enumerate(_tensors(g)):  # before numpy_helper sees any tensor
        if tensor.data_location == tensor.EXTERNAL or len(tensor.external_data):
            raise GraphError(
                f"tensor '{tensor.name or i}': external data is not allowed "
                "(the weights must be stored inside the model)"
            )
    total = sum(int(np.prod(t.dims, dtype=np.float64)) for t in _tensors(g))
    if total > MAX_WEIGHTS:
        raise GraphError(f"the model holds {total:,} weights (the limit is {MAX_WEIGHTS:,})")

    initializers = {t.name: _array(t, f"initializer '{t.name}'") for t in g.initializer}
    graph = Graph(
        inputs=[_value_info(vi) for vi in g.input if vi.name not in initializers],
        outputs=[_value_info(vi) for vi in g.output],
        nodes=[
            Node(label, n.op_type, tuple(n.input), tuple(n.output), _attributes(n, label))
            for n, label in zip(g.node, names, strict=True)
        ],
        initializers=initializers,
        opset=int(opset),
        name=g.name,
    )
    if not graph.inputs:
        raise GraphError("the model has no input to feed (every graph input is an initializer)")
    _check_order(graph)
    return graph


def fold_constants(graph: Graph) -> dict[str, np.ndarray]:
    """Values of the small tensors computed from weights alone, such as Pad widths that
    are the sum of two initializers, found by running those nodes (and nothing else).

    Only cheap ops (:data:`_FOLDABLE`) whose inputs each hold at most :data:`FOLD_VALUES`
    values are run, so folding costs at most about a million values; the results are
    what ONNX shape inference needs to know every shape. One pass in node order.
    """
    known: dict[str, np.ndarray] = dict(graph.initializers)
    folded: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        names = [n for n in node.inputs if n]
        if node.op_type not in _FOLDABLE or not all(
            n in known and known[n].size <= FOLD_VALUES for n in names
        ):
            continue
        try:
            results = OPS[node.op_type](
                [known[n] if n else None for n in node.inputs], node.attributes, graph.opset
            )
        except (ValueError, TypeError, IndexError, KeyError, ArithmeticError):
            continue
        for name, arr in zip(node.outputs, results, strict=False):
            if name:
                known[name] = folded[name] = np.asarray(arr)
    return folded
