"""What a loaded graph's structure says: chains, skip connections, receptive fields.

Everything is found from the :class:`~engine.graph.Graph` and (for receptive fields) the
shapes of one run's tensors, in loops over the nodes (never a recursion over the graph's
depth), with ``ValueError`` for impossible questions. NumPy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from engine import registry
from engine.graph import Graph, Node
from engine.graph.ops import node_window  # the runner's own auto_pad / pads resolution

__all__ = ["CHAIN_OPS", "ELEMENTWISE", "PASS_THROUGH", "WINDOW_OPS", "Field", "Structure",
           "Shapes", "Window", "receptive_box", "receptive_field", "window_of"]

PASS_THROUGH = frozenset({"Identity", "Dropout", "Constant"})
CHAIN_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Erf"})
#: Ops that map each value on its own (every registered activation included).
ELEMENTWISE = CHAIN_OPS | {a.onnx_op for a in registry.ACTIVATIONS.values() if a.onnx_op} | {
    "Clip", "BatchNormalization"}
WINDOW_OPS = frozenset({"Conv", "MaxPool", "AveragePool"})


class Structure:
    """Who produces and who consumes each tensor; which tensors are data (not weights).

    Everything is found in one pass over the nodes: ``ancestors[t]`` is a bit set (a
    Python int) of the data tensors ``t`` is computed from, so "is a computed from b?"
    is one bit test, however deep the graph (a skip-connection check per Add stays
    linear in the graph's size).
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.producer: dict[str, Node] = {}
        self.consumers: dict[str, list[Node]] = {}
        constants = set(graph.initializers)
        for node in graph.nodes:
            for name in node.inputs:
                if name:
                    self.consumers.setdefault(name, []).append(node)
            for name in node.outputs:
                if name:
                    self.producer[name] = node
            if node.op_type == "Constant":
                constants.update(filter(None, node.outputs))
        self.constants = constants
        self.input_names = {vi.name for vi in graph.inputs}
        self.output_names = {vi.name for vi in graph.outputs}
        self.bit: dict[str, int] = {}
        self.ancestors: dict[str, int] = {}
        for name in self.input_names:
            self._add_tensor(name, 0)
        for node in graph.nodes:
            inherited = 0
            for name in self.data_inputs(node):
                inherited |= self.ancestors.get(name, 0)
            for name in filter(None, node.outputs):
                if name not in constants:
                    self._add_tensor(name, inherited)
        self._ends: dict[int, Node] = {}

    def _add_tensor(self, name: str, inherited: int) -> None:
        self.bit[name] = 1 << len(self.bit)
        self.ancestors[name] = inherited | self.bit[name]

    def data_inputs(self, node: Node) -> list[str]:
        return [n for n in node.inputs if n and n not in self.constants]

    def source(self, tensor: str) -> str:
        """The layer that made ``tensor`` ("input" for the model input)."""
        if tensor in self.input_names:
            return "input"
        node = self.producer.get(tensor)
        return node.name if node else "weights"

    def is_chain_step(self, node: Node) -> bool:
        """Whether ``node`` is an inner step of an element-wise chain of constant arithmetic."""
        if node.op_type not in CHAIN_OPS or len(self.data_inputs(node)) != 1:
            return False
        out = node.outputs[0]
        users = self.consumers.get(out, [])
        return len(users) == 1 and users[0].op_type in ELEMENTWISE and out not in self.output_names

    def chain_end(self, node: Node) -> Node:
        """The node that ends the element-wise chain ``node`` is in (remembered, so that
        asking for every step of a long chain stays linear)."""
        path = []
        while id(node) not in self._ends and self.is_chain_step(node):
            path.append(node)
            node = self.consumers[node.outputs[0]][0]
        end = self._ends.get(id(node), node)
        for step in path:
            self._ends[id(step)] = end
        return end

    def skip_connection(self, node: Node) -> tuple[str, str] | None:
        """``(shortcut, main)`` tensors when ``node`` adds a tensor to something computed from it.

        That is a residual (ResNet) skip connection: ``x + F(x)``. An Add of two separate
        branches, such as the sum of the two views in test-time augmentation, is not one.
        """
        if node.op_type != "Add" or len(self.data_inputs(node)) != 2:
            return None
        a, b = self.data_inputs(node)
        for shortcut, main in ((a, b), (b, a)):
            if shortcut != main and self.depends_on(main, shortcut):
                return shortcut, main
        return None

    def from_input(self, tensor: str) -> bool:
        """Whether ``tensor`` is computed from the model's input (not from weights alone)."""
        return any(self.depends_on(tensor, name) for name in self.input_names)

    def depends_on(self, tensor: str, ancestor: str) -> bool:
        """Whether ``tensor`` is computed from ``ancestor`` (or is it): one bit test."""
        return bool(self.ancestors.get(tensor, 0) & self.bit.get(ancestor, 0))

    def activation_name(self, node: Node) -> str | None:
        """"GELU" when ``node`` is the Mul x * 0.5 * (1 + erf(x / sqrt 2)) spelled out in ops."""
        if node.op_type != "Mul" or len(self.data_inputs(node)) != 2:
            return None
        a, b = self.data_inputs(node)
        for start, chain in ((a, b), (b, a)):
            ops, t = [], chain
            while t in self.producer and self.is_chain_step(self.producer[t]):
                ops.append(self.producer[t].op_type)
                t = self.data_inputs(self.producer[t])[0]
            if t == start and "Erf" in ops:
                return "GELU"
        return None

    def is_fixed_permutation(self, node: Node) -> bool:
        """A MatMul whose constant operand is a square 0/1 matrix with one 1 per row and
        column (e.g. the horizontal flip of test-time augmentation): nothing is learned."""
        if node.op_type != "MatMul":
            return False
        for name in node.inputs:
            m = self.graph.initializers.get(name)
            if m is not None and m.ndim == 2 and m.shape[0] == m.shape[1]:
                ones = m == 1
                if np.all(ones | (m == 0)) and np.all(ones.sum(0) == 1) and np.all(ones.sum(1) == 1):
                    return True
        return False


# ------------------------------------------------------------------ windows


@dataclass(frozen=True)
class Window:
    """A Conv/MaxPool/AveragePool window as the runner uses it (``auto_pad`` resolved)."""

    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]  # top, left, bottom, right
    dilations: tuple[int, int]


def window_of(node: Node, shape_of: Mapping[str, tuple[int, ...]]) -> Window:
    """The window of ``node``, given the shapes of its input (and weight) tensors."""
    x = np.broadcast_to(np.float32(0), shape_of[node.inputs[0]])
    kernel = shape_of[node.inputs[1]][2:] if node.op_type == "Conv" else None
    k, s, p, d = node_window(x, node.attributes, kernel, with_dilations=node.op_type != "AveragePool")
    return Window(tuple(k), tuple(s), tuple(p), tuple(d))  # type: ignore[arg-type]


# ------------------------------------------------------------------ receptive field


@dataclass(frozen=True)
class Field:
    """The rows and columns of the model input one position depends on (clipped to the
    input); ``size`` is the unclipped extent; ``whole`` when every input pixel counts."""

    whole: bool
    rows: tuple[int, int]
    cols: tuple[int, int]
    size: tuple[int, int]


class _Whole(Exception):
    pass


Box = tuple[int, int, int, int]  # first row, last row, first column, last column


def _union(a: Box | None, b: Box) -> Box:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))


def _input_boxes(st: Structure, shape_of: Mapping[str, tuple[int, ...]], node: Node, t: str,
                 box: Box) -> list[tuple[str, Box]]:
    """Where the cells ``box`` of ``t`` (an output of ``node``) come from, per data input."""
    r0, r1, c0, c1 = box
    op = node.op_type
    if op in WINDOW_OPS:
        w = window_of(node, shape_of)
        (kh, kw), (sh, sw), (dh, dw) = w.kernel, w.strides, w.dilations
        top, left = w.pads[0], w.pads[1]
        return [(node.inputs[0], (r0 * sh - top, r1 * sh - top + dh * (kh - 1),
                                  c0 * sw - left, c1 * sw - left + dw * (kw - 1)))]
    out_shape = shape_of[t]
    if op == "MatMul" and len(out_shape) == 4 and st.data_inputs(node) == [node.inputs[0]]:
        # x @ W mixes the columns of each row: rows stay, every column counts
        return [(node.inputs[0], (r0, r1, 0, shape_of[node.inputs[0]][3] - 1))]
    if op in ELEMENTWISE | PASS_THROUGH or (op == "Concat" and node.attributes.get("axis") in (1, -3)):
        inputs = [i for i in st.data_inputs(node) if len(shape_of[i]) == 4]
        if any(shape_of[i][2:] != out_shape[2:] and st.from_input(i) for i in inputs):
            # A broadcast map computed from the image, e.g. squeeze-and-excitation's
            # (1, C, 1, 1) from a global pool: every input pixel reaches it.
            raise _Whole
        same = [(i, box) for i in inputs if shape_of[i][2:] == out_shape[2:]]
        if same:
            return same
    raise _Whole


def receptive_box(st: Structure, shape_of: Mapping[str, tuple[int, ...]], tensor: str,
                  row: int, col: int) -> Box | None:
    """The input rows and columns position (row, col) of ``tensor`` depends on, NOT clipped
    to the input: ``(r0, r1, c0, c1)``, reaching into the zero padding (negative, or past the
    last row) where windows do; None when every input pixel counts (after a global pooling,
    a dense layer...).

    ``shape_of`` maps every data tensor (the input, each node output) and weight to its
    shape. One pass over the nodes from the last to the first (a loop, not a recursion,
    however deep the model): each node maps the box of its output that the position
    reaches to boxes of its inputs, and where skip connections meet again the boxes are
    united. Its centre is the position's place in the input even when the box is wider than
    the input (then both of its clipped edges would say nothing).
    """
    if len(st.input_names) != 1:
        raise ValueError(f"a receptive field needs a model with one input, not {len(st.input_names)}")
    boxes: dict[str, Box] = {tensor: (row, row, col, col)}
    field: Box | None = None
    try:
        for node in reversed(st.graph.nodes):
            for t in [o for o in node.outputs if o in boxes]:
                for name, box in _input_boxes(st, shape_of, node, t, boxes.pop(t)):
                    if name in st.input_names:
                        field = _union(field, box)
                    elif st.producer.get(name) is None:
                        raise _Whole
                    else:
                        boxes[name] = _union(boxes.get(name), box)
        if field is None or boxes:
            raise _Whole
    except _Whole:
        return None
    return field


def receptive_field(st: Structure, shape_of: Mapping[str, tuple[int, ...]], tensor: str,
                    row: int, col: int) -> Field:
    """Rows and columns of the model input that position (row, col) of ``tensor`` depends on,
    clipped to the input (``size``: the unclipped extent); see :func:`receptive_box`."""
    if len(st.input_names) != 1:
        raise ValueError(f"a receptive field needs a model with one input, not {len(st.input_names)}")
    (name_in,) = st.input_names
    h, w = shape_of[name_in][-2:]
    box = receptive_box(st, shape_of, tensor, row, col)
    if box is None:
        return Field(True, (0, h - 1), (0, w - 1), (h, w))
    r0, r1, c0, c1 = box
    return Field(False, (max(0, r0), min(h - 1, r1)), (max(0, c0), min(w - 1, c1)),
                 (r1 - r0 + 1, c1 - c0 + 1))


class Shapes(Mapping[str, tuple[int, ...]]):
    """The shapes of one run's tensors and the graph's weights, looked up lazily."""

    def __init__(self, graph: Graph, values: Mapping[str, np.ndarray]):
        self._graph, self._values = graph, values

    def __getitem__(self, name: str) -> tuple[int, ...]:
        arr = self._values.get(name)
        if arr is None:
            arr = self._graph.initializers[name]
        return tuple(arr.shape)

    def __iter__(self):
        yield from self._values
        yield from self._graph.initializers

    def __len__(self) -> int:
        return len(self._values) + len(self._graph.initializers)
