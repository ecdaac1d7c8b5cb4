"""Run an ONNX CNN layer by layer with the engine's own ops, keeping every tensor.

:func:`load_graph` reads an ``.onnx`` file (or its bytes) into a small, plain
:class:`Graph`: the inputs and outputs, the nodes in execution order with their
attributes as Python values, and the weights (initializers) as NumPy arrays.
:func:`run` then executes the nodes one by one (see :mod:`engine.graph.ops`) and
returns every intermediate tensor, so a page can show what each layer made of an image.

Loading is defensive: the model's own contents decide nothing about the file system.
Weights stored as *external data* (a path inside the model) are refused, never
opened; nodes must come in topological order with every input defined before use;
sizes are bounded (:data:`MAX_NODES`, :data:`MAX_MODEL_BYTES`, :data:`MAX_WEIGHTS`).
This is the only engine module that uses ``onnx``, imported inside :func:`load_graph`
so that ``import engine`` stays NumPy-only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.graph.ops import MAX_ELEMENTS, OPS

__all__ = [
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

SUPPORTED_OPS: frozenset[str] = frozenset(OPS)
MAX_NODES = 2000
MAX_MODEL_BYTES = 128 << 20
MAX_WEIGHTS = 1 << 25  # values over all initializers and Constant tensors (128 MiB of float32)
FOLD_VALUES = 1024  # constant folding only combines tensors this small (shapes, pads, scalars)
_FOLDABLE = frozenset({"Constant", "Identity", "Add", "Sub", "Mul", "Div", "Concat", "Reshape",
                       "Flatten", "Transpose", "Clip"})
_TINY = np.finfo(np.float32).tiny  # the smallest normal float32, about 1.18e-38
_DEFAULT_DOMAINS = ("", "ai.onnx")
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

    def node(self, name: str) -> Node:
        """The node called ``name`` (``KeyError`` if there is none)."""
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"no node named {name!r}")


# ------------------------------------------------------------------ loading


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


# ------------------------------------------------------------------ running


def _feeds(graph: Graph, x) -> dict[str, np.ndarray]:
    if not isinstance(x, Mapping):
        if len(graph.inputs) != 1:
            raise GraphError(
                f"the model has {len(graph.inputs)} inputs "
                f"{[i.name for i in graph.inputs]}: pass a dict of arrays"
            )
        x = {graph.inputs[0].name: x}
    feeds = {}
    for info in graph.inputs:
        if info.name not in x:
            raise GraphError(f"missing input '{info.name}'")
        arr = np.asarray(x[info.name])
        if arr.dtype.kind not in "fiub":
            raise GraphError(f"input '{info.name}' must be numeric, got dtype {arr.dtype}")
        if arr.size > MAX_ELEMENTS:
            raise GraphError(
                f"input '{info.name}' has {arr.size:,} values (the limit is {MAX_ELEMENTS:,})"
            )
        if info.shape is not None and (
            len(info.shape) != arr.ndim
            or any(
                isinstance(d, int) and d > 0 and d != s
                for d, s in zip(info.shape, arr.shape, strict=True)
            )
        ):
            shown = tuple(d if isinstance(d, int) and d > 0 else "?" for d in info.shape)
            raise GraphError(f"input '{info.name}' must have shape {shown}, got {arr.shape}")
        kind = np.dtype(info.dtype).kind if info.dtype != "unknown" else "f"
        feeds[info.name] = flush_denormals(arr.astype(
            np.int64 if kind in "iu" else bool if kind == "b" else np.float32, copy=False
        ))
    return feeds


def flush_denormals(arr: np.ndarray) -> np.ndarray:
    """``arr`` with its denormal float32 values (0 < |v| < 1.18e-38) replaced by 0.

    CPUs compute with denormals up to a hundred times more slowly than with normal
    numbers, so a model that adds 1e-39 to a black image would make every later layer
    crawl. Flushing each layer's output keeps every op on normal numbers, as
    onnxruntime's ``session.set_denormal_as_zero`` does. Non-float arrays pass through.
    """
    if arr.dtype != np.float32 or arr.size == 0:
        return arr
    small = np.abs(arr) < _TINY
    return np.where(small, np.float32(0), arr) if small.any() else arr


def run(graph: Graph, x, *, keep: bool = True) -> dict[str, np.ndarray]:
    """Execute the nodes in order with the engine's ops.

    Parameters
    ----------
    graph : Graph
    x : ndarray, or dict of name -> ndarray
        The input (cast to float32, or int64 where the model declares an integer
        input); a dict when the model has several inputs.
    keep : bool
        True: return the input(s) and every node output, in execution order.
        False: return only the graph outputs (intermediates are freed after last use).

    Returns
    -------
    dict of name -> ndarray
        Float tensors are float32; integer ones (shapes, indices) int64; a Dropout mask bool.
    """
    values: dict[str, np.ndarray] = dict(graph.initializers)
    feeds = _feeds(graph, x)
    values.update(feeds)
    kept: dict[str, np.ndarray] = dict(feeds) if keep else {}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _execute(graph, values, kept, keep)
    return kept


def _execute(graph: Graph, values: dict, kept: dict, keep: bool) -> None:
    last_use = {name: i for i, node in enumerate(graph.nodes) for name in node.inputs}
    wanted = {o.name for o in graph.outputs}
    for i, node in enumerate(graph.nodes):
        op = OPS.get(node.op_type)
        if op is None:
            raise UnsupportedOpError(node.op_type, node.name)
        try:
            ins = [values[name] if name else None for name in node.inputs]
        except KeyError as e:
            raise GraphError(
                f"node '{node.name}' uses tensor {e}, which is not defined yet"
            ) from None
        try:
            results = op(ins, node.attributes, graph.opset)
        except (ValueError, TypeError, IndexError, KeyError, ArithmeticError) as e:
            raise GraphError(f"node '{node.name}' ({node.op_type}): {e}") from None
        if len(node.outputs) > len(results) and any(node.outputs[len(results) :]):
            raise GraphError(
                f"node '{node.name}' ({node.op_type}) asks for {len(node.outputs)} "
                f"outputs; the engine makes {len(results)}"
            )
        for name, arr in zip(node.outputs, results, strict=False):
            if not name:
                continue
            arr = np.asarray(arr)
            if arr.dtype.kind == "f" and arr.dtype != np.float32:
                arr = arr.astype(np.float32)
            arr = flush_denormals(arr)
            values[name] = arr
            if keep or name in wanted:
                kept[name] = arr
        if not keep:
            for name in node.inputs:
                if (
                    last_use.get(name) == i
                    and name not in wanted
                    and name not in graph.initializers
                ):
                    values.pop(name, None)


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


def infer_shapes(graph: Graph, input_shape: Sequence[int]) -> dict[str, tuple[int, ...]]:
    """Shape of every tensor (input and node outputs) for an input of ``input_shape``.

    Found by running the graph on zeros, so it is exactly what :func:`run` produces.
    """
    shape = tuple(int(d) for d in input_shape)
    if any(d < 1 for d in shape) or int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
        raise GraphError(
            f"input shape {shape} must have sizes >= 1 and at most {MAX_ELEMENTS:,} values"
        )
    return {name: tuple(a.shape) for name, a in run(graph, np.zeros(shape, np.float32)).items()}


# ------------------------------------------------------------------ inspection helpers


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
