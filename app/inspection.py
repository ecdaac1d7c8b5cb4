"""An engine run of a model, as the layers JSON the classify page draws.

The engine's graph runner (:mod:`engine.graph`) executes the model node by node and
keeps every tensor; this module picks what a page can show and encodes it:

- one entry per node: op, attributes, input and output shapes, parameter count, and
  its output as float16 base64 (at most :data:`MAX_CHANNELS` feature maps and
  :data:`MAX_LAYER_VALUES` values per layer, the first ones; the entry says how many
  there are in total);
- a conv layer's filters (the first :data:`MAX_FILTERS`, at most
  :data:`MAX_FILTER_CHANNELS` input channels each) and biases, sent once per weight
  tensor even when two branches share it;
- the softmax step by step, from the engine's values at the last Softmax's input;
- the largest difference between the engine's output and onnxruntime's.

Outputs that would only repeat numbers already sent are left out (``"output": null``
with a ``note``): Identity, Dropout and Constant nodes, and the inner steps of an
element-wise chain of constant arithmetic (e.g. the Mul/Erf/Add steps that spell out
a GELU), whose result is sent at the node that ends the chain.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from app.services.modelstore import Model, as_probabilities
from app.tensors import f16_json
from engine.explain.trace import softmax_steps
from engine.graph import Graph, Node, conv_weights, node_params, run

MAX_CHANNELS = 64
MAX_LAYER_VALUES = 1 << 17
MAX_TOTAL_VALUES = 1 << 20  # over all layers (about 2.8 MB of base64); later layers get fewer maps
SMALL_MAPS = 1024  # a layer's maps this small are sent even past the total (up to twice it)
MAX_VECTOR = 4096
MAX_FILTERS = 64
MAX_FILTER_CHANNELS = 16
SMALL_VECTOR = 1000  # vectors up to this length also travel as exact JSON numbers
#: What the run cache may hold. With the heavy gate full (4 runs of at most
#: app.services.usermodels.MAX_VALUES float32 values each) it keeps a process under ~600 MB.
RUN_CACHE_BYTES = 96 << 20

PASS_THROUGH = {"Identity", "Dropout", "Constant"}
CHAIN_OPS = {"Add", "Sub", "Mul", "Div", "Erf"}
ELEMENTWISE = CHAIN_OPS | {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Gelu", "Clip",
                           "BatchNormalization"}


@dataclass
class Run:
    """The engine's values for one input, and onnxruntime's output for comparison."""

    graph: Graph
    x: np.ndarray  # (1, C, H, W), exactly what the model saw
    values: dict[str, np.ndarray]
    output: np.ndarray  # the engine's first graph output
    ort_output: np.ndarray | None = None

    @property
    def max_abs_diff(self) -> float | None:
        if self.ort_output is None:
            return None
        a = np.asarray(self.output, np.float64).reshape(-1)
        b = np.asarray(self.ort_output, np.float64).reshape(-1)
        return float(np.max(np.abs(a - b))) if a.shape == b.shape else math.inf


    @property
    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.values.values())


class RunCache:
    """The last few engine runs, so that clicks on one image's feature maps (each a
    ``/trace`` request with the same input) do not re-run the whole model."""

    def __init__(self, max_runs: int = 6, max_bytes: int = RUN_CACHE_BYTES):
        self.max_runs, self.max_bytes = max_runs, max_bytes
        self._runs: OrderedDict[tuple, Run] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(model: Model, x: np.ndarray) -> tuple:
        digest = hashlib.blake2b(np.ascontiguousarray(x).tobytes(), digest_size=16).hexdigest()
        return (model.name, id(model), x.shape, digest)

    def get(self, key: tuple) -> Run | None:
        with self._lock:
            found = self._runs.get(key)
            if found is not None:
                self._runs.move_to_end(key)
            return found

    def put(self, key: tuple, r: Run) -> None:
        size = r.nbytes
        if size > self.max_bytes // 4:
            return
        with self._lock:
            self._runs[key] = r
            self._runs.move_to_end(key)
            while len(self._runs) > self.max_runs or (
                    sum(v.nbytes for v in self._runs.values()) > self.max_bytes):
                self._runs.popitem(last=False)


RUNS = RunCache()


def run_model(model: Model, x: np.ndarray, *, compare: bool = True, fresh: bool = True) -> Run:
    """The engine's run of ``model`` on ``x``; with ``fresh=False`` a cached run of the same
    input is reused (``/inspect`` always runs, ``/trace`` reuses what it ran)."""
    key = RUNS.key(model, x)
    result = None if fresh else RUNS.get(key)
    if result is None:
        graph = model.graph()
        values = run(graph, x)
        result = Run(graph, x, values, values[graph.outputs[0].name])
        RUNS.put(key, result)
    if compare and result.ort_output is None:
        result.ort_output = model.session.run(None, {model.input_name: x})[0]
    return result


def warm(models) -> None:
    """Run each model once on a blank image, in the engine and in onnxruntime, so that
    the first student's ``/inspect`` does not pay for loading the engine's graph and
    the first calls into both runtimes. Nothing is cached but the loaded graph."""
    for model in models:
        x = np.zeros([1, *model.input_spec["shape"][1:]], np.float32)
        run(model.graph(), x, keep=False)
        model.session.run(None, {model.input_name: x})


# ------------------------------------------------------------------ graph structure

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
            if shortcut != main and self._depends_on(main, shortcut):
                return shortcut, main
        return None

    def from_input(self, tensor: str) -> bool:
        """Whether ``tensor`` is computed from the model's input (not from weights alone)."""
        return any(self._depends_on(tensor, name) for name in self.input_names)

    def _depends_on(self, tensor: str, ancestor: str) -> bool:
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


# ------------------------------------------------------------------ encoding

def num(v: float, digits: int = 7) -> float | None:
    """A number for JSON: ``digits`` significant digits; None where the model overflowed."""
    v = float(v)
    return float(f"{v:.{digits}g}") if math.isfinite(v) else None


def _json_attr(value):
    if isinstance(value, np.ndarray):
        return value.tolist() if value.size <= 16 else {"tensor_shape": list(value.shape)}
    if isinstance(value, float):
        return num(value)
    return value


def encode_output(arr: np.ndarray, budget: int = MAX_LAYER_VALUES) -> dict | None:
    """A node's output without the batch axis, capped; None for non-float tensors."""
    if arr.dtype.kind != "f" or arr.size == 0:
        return None
    a = arr[0] if arr.ndim >= 2 and arr.shape[0] == 1 else arr
    if a.ndim == 3:
        c, h, w = a.shape
        shown = min(c, MAX_CHANNELS, budget // max(1, h * w))
        if shown < 1:
            return None
        payload = f16_json(a[:shown])
        payload.update(channels=c, channels_shown=shown)
        return payload
    flat = a.reshape(-1)
    shown = min(flat.size, MAX_VECTOR)
    payload = f16_json(flat[:shown])
    payload.update(length=int(flat.size), length_shown=shown, full_shape=list(a.shape))
    if flat.size <= SMALL_VECTOR:
        payload["values"] = [num(v) for v in flat]
    return payload


def encode_filters(w: np.ndarray, b: np.ndarray | None) -> dict:
    nf, nc = min(w.shape[0], MAX_FILTERS), min(w.shape[1], MAX_FILTER_CHANNELS)
    payload = f16_json(w[:nf, :nc])
    payload.update(
        full_shape=list(w.shape),
        filters_shown=nf,
        channels_shown=nc,
        bias=None if b is None else [num(v) for v in b[:nf]],
    )
    return payload


def _is_fixed_permutation(graph: Graph, node: Node) -> bool:
    """A MatMul whose constant operand is a square 0/1 matrix with one 1 per row and column."""
    if node.op_type != "MatMul":
        return False
    for name in node.inputs:
        m = graph.initializers.get(name)
        if m is not None and m.ndim == 2 and m.shape[0] == m.shape[1]:
            ones = m == 1
            if np.all(ones | (m == 0)) and np.all(ones.sum(0) == 1) and np.all(ones.sum(1) == 1):
                return True
    return False


def layers_json(r: Run) -> list[dict]:
    graph, values = r.graph, r.values
    st = Structure(graph)
    sent_weights: dict[str, str] = {}
    budget = MAX_TOTAL_VALUES
    layers = []
    for node in graph.nodes:
        out_name = node.outputs[0] if node.outputs else ""
        out = values.get(out_name)
        shapes = []
        for name in node.inputs:
            arr = values.get(name) if name in values else graph.initializers.get(name)
            shapes.append(None if arr is None else list(arr.shape))
        entry: dict = {
            "name": node.name,
            "op_type": node.op_type,
            "attributes": {k: _json_attr(v) for k, v in node.attributes.items()},
            "inputs": [n for n in node.inputs if n],
            "from": [st.source(n) for n in st.data_inputs(node)],
            "input_shapes": shapes,
            "output_shape": None if out is None else list(out.shape),
            "params": int(node_params(graph, node)),
        }
        if _is_fixed_permutation(graph, node):
            entry["params"] = 0
            entry["note"] = (
                "multiplies by a fixed 0/1 permutation matrix (e.g. the horizontal flip of "
                "test-time augmentation): nothing here is learned"
            )
        label = st.activation_name(node)
        if label:
            entry["activation"] = label
        skip = st.skip_connection(node)
        if skip:
            entry["skip"] = {"shortcut": st.source(skip[0]), "main": st.source(skip[1])}
        if node.op_type == "Constant":
            entry["output"] = None
            users = st.consumers.get(out_name, [])
            entry["note"] = "a constant operand of the next layer"
            if users:
                entry["part_of"] = st.chain_end(users[0]).name
        elif node.op_type in PASS_THROUGH:
            entry["output"] = None
            entry["note"] = "passes its input through unchanged at inference; output not repeated"
        elif st.is_chain_step(node):
            end = st.chain_end(node)
            entry["output"] = None
            entry["note"] = f"an inner step of the element-wise arithmetic ending at {end.name}"
            entry["part_of"] = end.name
        else:
            allowed = min(MAX_LAYER_VALUES, budget)
            if allowed < SMALL_MAPS and budget > -MAX_TOTAL_VALUES:
                allowed = SMALL_MAPS  # small maps (e.g. after global pooling) still travel
            entry["output"] = None if out is None else encode_output(out, allowed)
            if entry["output"] is not None:
                budget -= math.prod(entry["output"]["shape"])
            elif out is not None and out.dtype.kind == "f":
                entry["note"] = (f"maps not sent: the response already carries {MAX_TOTAL_VALUES:,} "
                                 "values; trace a value of this layer to see it")
        if node.op_type == "Conv" and node.inputs[1] in graph.initializers:
            w, b = conv_weights(graph, node)
            key = node.inputs[1]
            if key in sent_weights:
                entry["weights"] = {"same_as": sent_weights[key], "full_shape": list(w.shape)}
            else:
                sent_weights[key] = node.name
                entry["weights"] = encode_filters(w, b)
        layers.append(entry)
    return layers


def softmax_json(r: Run) -> dict | None:
    """Scores -> exp -> probabilities from the engine's values (last Softmax's input), or
    from the model's output when it ends in raw class scores."""
    soft = [n for n in r.graph.nodes if n.op_type == "Softmax"]
    if soft:
        layer, scores = soft[-1].name, r.values[soft[-1].inputs[0]]
    else:
        out = np.asarray(r.output, np.float64).reshape(1, -1)
        if np.allclose(as_probabilities(out), out, atol=1e-6):
            return None
        layer, scores = None, r.output
    s = np.asarray(scores, np.float64).reshape(-1)
    if not np.all(np.isfinite(s)):
        return None
    st = softmax_steps(s)
    return {
        "layer": layer,
        "scores": [num(v) for v in s],
        "max": num(st.max),
        "shifted": [num(v) for v in st.shifted],
        "exp": [num(v) for v in st.exp],
        "sum": num(st.sum),
        "probabilities": [num(v) for v in st.probabilities],
    }


def probabilities(r: Run, model_name: str = "the model") -> np.ndarray:
    return as_probabilities(np.asarray(r.output, np.float64).reshape(1, -1), model_name)[0]
