"""Run a :class:`~engine.graph.model.Graph` layer by layer with the engine's ops, keeping
every tensor, so that a page can show what each layer made of an image.

The first :func:`run` of a graph compiles a *plan*, kept on the graph: each node's op
resolved (prepared with its attributes and weights where :data:`~engine.graph.ops.PREPARED`
has it), each tensor a numbered slot in a list, the inputs each node reads and the
slots each writes, which outputs can hold new denormals, and what can be freed when.
Running is then one loop over the plan's steps. Ops that see a new input shape check it
as before; they remember the geometry for that shape, not the tensors.

Denormals (float32 values ``0 < |v| < 1.18e-38``) are flushed to 0 in every layer's
output: CPUs compute with them up to a hundred times more slowly. An op that only
selects or moves values (ReLU, max pooling, reshapes) cannot make a new one from
flushed inputs, so its output is not checked again; in a plan with ``Add``, ``Sub`` or
``Mul`` nodes each tensor also carries a bound on its smallest nonzero value, which
spares their outputs the check where it proves them free (:mod:`engine.graph.denormals`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from engine.graph.denormals import ADD, MUL, SELECT, check, flush_denormals, rule_of, settle
from engine.graph.model import Graph, GraphError, UnsupportedOpError
from engine.graph.ops import MAX_ELEMENTS, OPS, PREPARED

__all__ = ["flush_denormals", "infer_shapes", "run"]

_F32 = np.dtype(np.float32)
_OP_ERRORS = (ValueError, TypeError, IndexError, KeyError, ArithmeticError)


class _Plan:
    """A graph compiled for :func:`run` (see the module docstring)."""

    def __init__(self, graph: Graph):
        slot_of = {"": 0}  # slot 0 stays None: an omitted optional input
        initial: list = [None]

        def new(name: str) -> int:
            slot_of[name] = len(initial)
            initial.append(None)
            return slot_of[name]

        weights = set()
        lows = [math.inf]  # per slot: its smallest nonzero |v| (see engine.graph.denormals)
        for name, arr in graph.initializers.items():
            weights.add(new(name))
            initial[-1], low = check(arr)
            lows.append(low)
        self.inputs = []
        for info in graph.inputs:
            weights.discard(slot_of.get(info.name))
            self.inputs.append(_input_spec(info, new(info.name)))
            lows.append(0.0)
        self.steps = []
        produced = []
        for node in graph.nodes:
            missing = [n for n in node.inputs if n not in slot_of]
            if missing:
                raise GraphError(
                    f"node '{node.name}' uses tensor '{missing[0]}', which is not defined yet"
                )
            ins = tuple(slot_of[n] for n in node.inputs)
            step = _step(node, graph.opset, [initial[s] if s in weights else None for s in ins])
            outs = list(node.outputs)
            while outs and not outs[-1]:
                outs.pop()  # a trailing omitted output is never asked of the op
            out_slots = tuple(new(name) if name else -1 for name in outs)
            lows += [0.0] * (len(initial) - len(lows))
            # (step, inputs, the one output's slot or -1 for the general case, rule, ...)
            one = out_slots[0] if len(out_slots) == 1 else -1
            self.steps.append((step, ins, one, rule_of(node.op_type), out_slots, node))
            produced += [(name, s) for name, s in zip(outs, out_slots, strict=True) if name]
        self.initial = initial
        # Bounds are tracked only where a rule can use them: the cost of one Python
        # min() per node is not worth it in a plan without Add, Sub or Mul.
        self.lows = lows if any(step[3] in (ADD, MUL) for step in self.steps) else None
        self.kept = [spec[:2] for spec in self.inputs] + produced
        wanted = {o.name for o in graph.outputs}
        self.wanted = [(name, s) for name, s in produced if name in wanted]
        # keep=False: each step's inputs that no later step reads are freed after it.
        last = {s: i for i, step in enumerate(self.steps) for s in step[1]}
        keep = weights | {s for _, s in self.wanted} | {0}
        self.frees: list[list[int]] = [[] for _ in self.steps]
        for s, i in last.items():
            if s not in keep:
                self.frees[i].append(s)


def _step(node, opset: int, consts: list):
    """The callable ``step(ins) -> outputs`` of one node."""
    op = OPS.get(node.op_type)
    if op is None:
        raise UnsupportedOpError(node.op_type, node.name)
    prepare = PREPARED.get(node.op_type)
    if prepare is None:
        attrs = node.attributes

        def step(ins):
            return op(ins, attrs, opset)

        return step
    try:
        return prepare(node.attributes, opset, consts)
    except _OP_ERRORS as e:
        raise GraphError(f"node '{node.name}' ({node.op_type}): {e}") from None


def _plan(graph: Graph) -> _Plan:
    key = (id(graph.nodes), len(graph.nodes), id(graph.initializers), len(graph.initializers),
           id(graph.inputs), len(graph.inputs), graph.opset)
    cached = graph._plan
    if cached is None or cached[0] != key:
        cached = graph._plan = (key, _Plan(graph))
    return cached[1]


def _input_spec(info, slot: int) -> tuple:
    """``(name, slot, shape or None, fixed (axis, size) pairs, dtype)`` of a graph input."""
    fixed = () if info.shape is None else tuple(
        (i, d) for i, d in enumerate(info.shape) if isinstance(d, int) and d > 0)
    kind = np.dtype(info.dtype).kind if info.dtype != "unknown" else "f"
    dtype = np.dtype(np.int64 if kind in "iu" else bool if kind == "b" else np.float32)
    return info.name, slot, info.shape, fixed, dtype


def _feed(slots: list, lows: list | None, plan: _Plan, x) -> None:
    """Check the inputs and put them (cast, denormals flushed) in their slots."""
    if not isinstance(x, Mapping):
        if len(plan.inputs) != 1:
            raise GraphError(
                f"the model has {len(plan.inputs)} inputs "
                f"{[spec[0] for spec in plan.inputs]}: pass a dict of arrays"
            )
        x = {plan.inputs[0][0]: x}
    for name, slot, shape, fixed, dtype in plan.inputs:
        if name not in x:
            raise GraphError(f"missing input '{name}'")
        arr = np.asarray(x[name])
        if arr.dtype.kind not in "fiub":
            raise GraphError(f"input '{name}' must be numeric, got dtype {arr.dtype}")
        if arr.size > MAX_ELEMENTS:
            raise GraphError(
                f"input '{name}' has {arr.size:,} values (the limit is {MAX_ELEMENTS:,})"
            )
        if shape is not None and (
            len(shape) != arr.ndim or any(arr.shape[i] != d for i, d in fixed)
        ):
            shown = tuple(d if isinstance(d, int) and d > 0 else "?" for d in shape)
            raise GraphError(f"input '{name}' must have shape {shown}, got {arr.shape}")
        slots[slot], low = check(arr.astype(dtype, copy=False))
        if lows is not None:
            lows[slot] = low


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
    plan = _plan(graph)
    slots = plan.initial.copy()
    lows = None if plan.lows is None else plan.lows.copy()
    _feed(slots, lows, plan, x)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        _execute(plan, slots, lows, None if keep else plan.frees)
    return {name: slots[s] for name, s in (plan.kept if keep else plan.wanted)}


def _execute(plan: _Plan, slots: list, lows: list | None, frees: list | None) -> None:
    for i, (step, ins, one, rule, outs, node) in enumerate(plan.steps):
        try:
            results = step([slots[ins[0]]] if len(ins) == 1 else [slots[s] for s in ins])
            if one >= 0:  # the usual node: one output
                arr = results[0]
        except _OP_ERRORS as e:
            raise GraphError(f"node '{node.name}' ({node.op_type}): {e}") from None
        if one >= 0:
            if type(arr) is not np.ndarray or arr.dtype is not _F32:
                arr = _array(arr)
            if lows is not None:
                slots[one], lows[one] = settle(arr, rule, ins, lows)
            else:
                slots[one] = arr if rule == SELECT else flush_denormals(arr)
        else:
            if len(outs) > len(results):
                raise GraphError(
                    f"node '{node.name}' ({node.op_type}) asks for {len(node.outputs)} "
                    f"outputs; the engine makes {len(results)}"
                )
            for s, arr in zip(outs, results, strict=False):
                if s >= 0:
                    arr = _array(arr)
                    if lows is not None:
                        slots[s], lows[s] = settle(arr, rule, ins, lows)
                    else:
                        slots[s] = arr if rule == SELECT else flush_denormals(arr)
        if frees is not None:
            for s in frees[i]:
                slots[s] = None


def _array(value) -> np.ndarray:
    """An op's output as an array, float32 where it is any float."""
    arr = np.asarray(value)
    return arr.astype(np.float32) if arr.dtype.kind == "f" and arr.dtype != _F32 else arr


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
