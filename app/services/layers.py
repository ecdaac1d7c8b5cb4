"""An engine run of a model (:mod:`app.services.runs`), as the layers JSON the classify page draws.

The engine's graph runner (:mod:`engine.graph`) executes the model node by node and
keeps every tensor; this module picks what a page can show (the graph's structure from
:mod:`engine.graph.analysis`) and encodes it:

- one entry per node: op, attributes, input and output shapes, parameter count, and
  its output as float16 base64 (at most :data:`MAX_CHANNELS` feature maps and
  :data:`MAX_LAYER_VALUES` values per layer, the first ones; the entry says how many
  there are in total);
- a conv layer's filters (the first :data:`MAX_FILTERS`, at most
  :data:`MAX_FILTER_CHANNELS` input channels each) and biases, sent once per weight
  tensor even when two branches share it;
- the softmax step by step, from the engine's values at the last Softmax's input;
- the largest difference between the engine's output and onnxruntime's;
- each layer's name as a course says it (``title``: conv1, relu1, pool1, ..., fc1,
  softmax; ``branch`` "mirror" for the flipped view of test-time augmentation, with the
  branch's sentence on its first layer as ``branch_title``) and which maps of which layer
  it reads (``reads``), from :mod:`engine.explain.names`.

Outputs that would only repeat numbers already sent are left out (``"output": null``
with a ``note``): Identity, Dropout and Constant nodes, and the inner steps of an
element-wise chain of constant arithmetic (e.g. the Mul/Erf/Add steps that spell out
a GELU), whose result is sent at the node that ends the chain.
"""

from __future__ import annotations

import math

import numpy as np

from app.encode import f16_json, num
from app.services.model import as_probabilities
from app.services.runs import Run
from engine.explain.names import BRANCH_TITLES, layer_names, layer_reads
from engine.explain.trace import softmax_steps
from engine.graph import conv_weights, node_params
from engine.graph.analysis import PASS_THROUGH, Shapes, Structure

MAX_CHANNELS = 64
MAX_LAYER_VALUES = 1 << 17
MAX_TOTAL_VALUES = 1 << 20  # over all layers (about 2.8 MB of base64); later layers get fewer maps
SMALL_MAPS = 1024  # a layer's maps this small are sent even past the total (up to twice it)
MAX_VECTOR = 4096
MAX_FILTERS = 64
MAX_FILTER_CHANNELS = 16
SMALL_VECTOR = 1000  # vectors up to this length also travel as exact JSON numbers


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


def layers_json(r: Run) -> list[dict]:
    graph, values = r.graph, r.values
    st = Structure(graph)
    names = layer_names(graph, st)
    shape_of = Shapes(graph, values)
    branches_started: set[str] = set()
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
            "title": names[node.name].title,
            "branch": names[node.name].branch,
        }
        side = names[node.name].branch
        if side and side not in branches_started:
            branches_started.add(side)
            entry["branch_title"] = BRANCH_TITLES.get(side, side)
        shown = MAX_CHANNELS
        if out is not None and out.ndim == 4:
            shown = min(int(out.shape[1]), MAX_CHANNELS)
        entry["reads"] = layer_reads(st, node, shape_of, shown)
        if st.is_fixed_permutation(node):
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
