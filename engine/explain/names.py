"""Layers named as a student names them, and which maps of which layer each layer reads.

An exported ONNX graph names its nodes after the framework's modules (``/0/0.3/Conv``,
``/net/net.2/first/first.3/Mul_2``) and spells some layers out in several ops (GELU as
Mul -> Erf -> Add -> Mul -> Mul). A course says conv1, relu1, pool1, ..., fc1, softmax.
:func:`layer_names` derives those names from the graph's structure
(:class:`~engine.graph.analysis.Structure`):

- a counter per kind of layer and per branch: conv1, conv2, relu1, pool1, fc1, ...;
- a GELU spelled out in ops is one "gelu" layer (its inner steps carry the same title);
- a residual Add (``x + F(x)``) is a "skip add";
- a MatMul of the model input with a fixed 0/1 permutation matrix starts a second branch,
  the same network on the mirrored image (horizontal-flip test-time augmentation): the
  layers after it are counted on their own (conv1 again, in the "mirror" branch), and the
  node that joins the two branches and the scaling after it are named as the average.

:func:`layer_reads` says which maps of which earlier layer each output map of a node is
computed from: "all" of them (a convolution, a dense layer), the "same" channel (pooling,
an activation), or, per output map, a range of input channels (grouped convolutions,
channel concatenation). The classify page draws these connections; it computes none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine.graph import Graph, Node
from engine.graph.analysis import CHAIN_OPS, PASS_THROUGH, Structure

__all__ = ["BRANCH_TITLES", "LayerName", "layer_names", "layer_reads"]

#: The sentence a page shows over each branch other than the main one.
BRANCH_TITLES = {
    "mirror": "the same network on the mirrored image; the two answers are averaged",
}

# ONNX op -> the kind of layer a course calls it.
_KINDS = {
    "Conv": "conv", "ConvTranspose": "deconv", "Relu": "relu", "LeakyRelu": "leaky relu",
    "Sigmoid": "sigmoid", "Tanh": "tanh", "Gelu": "gelu", "Swish": "swish", "Clip": "clip",
    "MaxPool": "pool", "AveragePool": "avg pool", "GlobalAveragePool": "global avg pool",
    "BatchNormalization": "batch norm", "Flatten": "flatten", "Reshape": "reshape",
    "Gemm": "fc", "MatMul": "fc", "Softmax": "softmax", "Concat": "concat", "Pad": "pad",
    "Transpose": "transpose", "Dropout": "dropout", "Identity": "identity",
    "Constant": "constant",
}
#: Kinds always numbered, as a course numbers them (conv1 even in a one-conv network).
_NUMBERED = frozenset({"conv", "deconv", "relu", "leaky relu", "sigmoid", "tanh", "gelu",
                       "swish", "pool", "avg pool", "fc", "batch norm", "skip add"})
#: Channel-wise ops: output map c is computed from input map c alone.
_SAME = frozenset({"MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization", "Relu",
                   "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Swish", "Clip", "Pad", "Dropout",
                   "Identity"}) | CHAIN_OPS


@dataclass(frozen=True)
class LayerName:
    """A node's name in the course's words.

    ``title``: "conv1", "gelu3", "skip add 2", "mirror", "average"; ``kind``: the title
    without its number; ``branch``: None on the main branch, "mirror" on the flipped view.
    """

    title: str
    kind: str
    branch: str | None = None


def _branches(st: Structure) -> tuple[dict[str, str | None], set[str]]:
    """Branch of every node (by name), and the names of the nodes that join two branches.

    A fixed-permutation MatMul reading the model input starts the "mirror" branch; a node
    is on it when every data input is; a node reading both branches joins them.
    """
    mirror: set[str] = set()  # tensors of the mirror branch
    branch: dict[str, str | None] = {}
    joins: set[str] = set()
    for node in st.graph.nodes:
        data = st.data_inputs(node)
        on = [t in mirror for t in data]
        if st.is_fixed_permutation(node) and data and all(t in st.input_names for t in data):
            side: str | None = "mirror"
        elif data and all(on):
            side = "mirror"
        else:
            side = None
            if any(on):
                joins.add(node.name)
        branch[node.name] = side
        if side == "mirror":
            mirror.update(o for o in node.outputs if o)
    return branch, joins


def _kind(st: Structure, node: Node, joins: set[str], after_join: set[str]) -> str:
    if st.is_fixed_permutation(node):
        return "mirror"
    if node.name in joins:
        return "sum of both views"
    if node.name in after_join:
        return "average"
    if st.activation_name(node):
        return st.activation_name(node).lower()  # type: ignore[union-attr]
    if st.skip_connection(node):
        return "skip add"
    return _KINDS.get(node.op_type, node.op_type.lower())


def layer_names(graph: Graph, st: Structure | None = None) -> dict[str, LayerName]:
    """Every node's :class:`LayerName`, keyed by node name.

    The inner steps of an element-wise chain (e.g. the Mul/Erf/Add of a GELU) get the name
    of the node that ends the chain, so the ops a framework spelled out read as one layer.
    """
    st = st or Structure(graph)
    branch, joins = _branches(st)
    after_join = set()
    for node in graph.nodes:  # the scaling right after a join: (a + b) * 0.5 is the average
        data = st.data_inputs(node)
        if (node.op_type in ("Mul", "Div") and len(data) == 1 and data[0] in st.producer
                and st.producer[data[0]].name in joins):
            after_join.add(node.name)
    kinds: dict[str, str] = {}
    for node in graph.nodes:
        if not st.is_chain_step(node):
            kinds[node.name] = _kind(st, node, joins, after_join)
    totals = Counter((branch[n], k) for n, k in kinds.items())
    seen: Counter = Counter()
    names: dict[str, LayerName] = {}
    for node in graph.nodes:
        if node.name not in kinds:
            continue
        kind, side = kinds[node.name], branch[node.name]
        seen[(side, kind)] += 1
        title = kind
        if kind in _NUMBERED or totals[(side, kind)] > 1:
            title = f"{kind}{' ' if ' ' in kind else ''}{seen[(side, kind)]}"
        names[node.name] = LayerName(title, kind, side)
    for node in graph.nodes:
        if st.is_chain_step(node):
            end = names[st.chain_end(node).name]
            names[node.name] = LayerName(end.title, end.kind, branch[node.name])
    return names


def _visible(st: Structure, tensor: str) -> str:
    """The layer a page shows for ``tensor``: through Identity/Dropout to what they pass on."""
    node = st.producer.get(tensor)
    while node is not None and node.op_type in PASS_THROUGH - {"Constant"} and st.data_inputs(node):
        tensor = st.data_inputs(node)[0]
        node = st.producer.get(tensor)
    return st.source(tensor)


def _per_map(ranges: list[list[int] | None]) -> dict:
    return {"per_map": ranges}


def layer_reads(st: Structure, node: Node, shape_of, shown: int) -> list[dict]:
    """What each output map of ``node`` is computed from, one entry per data input.

    Each entry is ``{"from": layer, "channels": c}`` with ``c`` "all" (every map of that
    layer), "same" (the map with the same index) or ``{"per_map": [[first, last] or None,
    ...]}``, the input channels of each of the first ``shown`` output maps. ``shape_of``
    maps tensor names to shapes (one run's). A GELU spelled out in ops reads only the
    tensor its chain started from.
    """
    data = st.data_inputs(node)
    if st.activation_name(node):
        data = [t for t in data if not (t in st.producer and st.is_chain_step(st.producer[t]))]
    elif st.is_chain_step(node) or node.op_type == "Constant":
        return []
    op = node.op_type
    reads = []
    offset = 0
    for t in data:
        if op == "Conv":
            group = int(node.attributes.get("group", 1) or 1)
            if group == 1:
                channels: str | dict = "all"
            else:
                f, c_in = shape_of[node.inputs[1]][0], shape_of[t][1]
                per_out, per_in = f // group, c_in // group
                channels = _per_map([[(k // per_out) * per_in, (k // per_out + 1) * per_in - 1]
                                     for k in range(min(shown, f))])
        elif op == "Concat" and node.attributes.get("axis") in (1, -3) and len(shape_of[t]) == 4:
            n = shape_of[t][1]
            channels = _per_map([[k - offset, k - offset] if offset <= k < offset + n else None
                                 for k in range(shown)])
            offset += n
        elif op in _SAME or st.skip_connection(node) or st.activation_name(node) or st.is_fixed_permutation(node):
            channels = "same"
        else:
            channels = "all"
        reads.append({"from": _visible(st, t), "channels": channels})
    return reads
