"""Reverse-mode gradients through a :class:`~engine.graph.model.Graph`, for one forward pass.

:func:`backward` takes the tensors :func:`engine.graph.run.run` kept (``keep=True``) and
seeds (``d(scalar)/d(tensor)`` for some tensors, e.g. a one-hot on the logits), and walks
the nodes in reverse, calling each node's vector-Jacobian product from :data:`VJPS`:
``vjp(node, ins, outs, douts, opset, need=None) -> tuple``, one gradient per node input
(None for inputs that get none: shapes, indices, weights). ``need`` (a bool per input,
or None for every float input) says which inputs' gradients are wanted, so a Conv whose
weights are stored is asked for ``dx`` only. Gradients reaching a tensor along several
paths (a skip connection, a tensor read by two nodes, a Concat) add up.

Only the nodes on a path from a wanted tensor to a seed are visited: a node is skipped
when no seed's gradient reached its output, or when none of its inputs depends on a
wanted tensor. As in the forward run, denormal float32 gradients are flushed to 0
(:func:`~engine.graph.run.flush_denormals`) after every op that can make them (an ``Erf``'s
``exp(-x^2)`` underflows for ``|x| > 9.4``), so no layer's backward crawls. :func:`input_gradient` runs the model and seeds one class score.

The VJPs live by family, as the forward ops: :mod:`engine.graph.vjp_window`,
:mod:`engine.graph.vjp_math`, :mod:`engine.graph.vjp_tensor`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping

import numpy as np

from engine.graph.model import Graph, GraphError
from engine.graph.ops_convtranspose import conv_transpose_vjp
from engine.graph.run import flush_denormals, run
from engine.graph.vjp_math import (
    activation_vjp,
    add_vjp,
    batch_norm_vjp,
    clip_vjp,
    div_vjp,
    erf_vjp,
    gemm_vjp,
    matmul_vjp,
    mul_vjp,
    softmax_vjp,
    sub_vjp,
)
from engine.graph.vjp_tensor import (
    concat_vjp,
    constant_vjp,
    identity_vjp,
    pad_vjp,
    reshape_vjp,
    transpose_vjp,
)
from engine.graph.vjp_window import (
    average_pool_vjp,
    conv_vjp,
    global_average_pool_vjp,
    max_pool_vjp,
)
from engine.registry import ACTIVATIONS

__all__ = ["VJPS", "Vjp", "backward", "default_seed_tensor", "input_gradient"]

Vjp = Callable[..., tuple]

VJPS: dict[str, Vjp] = {
    "Conv": conv_vjp,
    "ConvTranspose": conv_transpose_vjp,
    **{a.onnx_op: activation_vjp(a) for a in ACTIVATIONS.values() if a.onnx_op},
    "MaxPool": max_pool_vjp,
    "Add": add_vjp,
    "Sub": sub_vjp,
    "Mul": mul_vjp,
    "Div": div_vjp,
    "Gemm": gemm_vjp,
    "Erf": erf_vjp,
    "AveragePool": average_pool_vjp,
    "GlobalAveragePool": global_average_pool_vjp,
    "BatchNormalization": batch_norm_vjp,
    "Concat": concat_vjp,
    "Flatten": reshape_vjp,
    "Reshape": reshape_vjp,
    "Transpose": transpose_vjp,
    "MatMul": matmul_vjp,
    "Softmax": softmax_vjp,
    "Dropout": identity_vjp,
    "Identity": identity_vjp,
    "Pad": pad_vjp,
    "Clip": clip_vjp,
    "Constant": constant_vjp,
}
"""Op type -> ``vjp(node, ins, outs, douts, opset, need=None)``: every op of
:data:`engine.graph.ops.OPS` has one."""

_OP_ERRORS = (ValueError, TypeError, IndexError, KeyError, ArithmeticError)
# Backward ops that only route gradients (select, move, copy): no new denormals.
_ROUTING = frozenset({"Relu", "MaxPool", "Flatten", "Reshape", "Transpose", "Identity",
                      "Dropout", "Concat", "Pad", "Clip"})


def _names(names: Iterable[str] | str, what: str) -> list[str]:
    if isinstance(names, str):
        return [names]
    names = list(names)
    if not all(isinstance(n, str) for n in names):
        raise ValueError(f"{what} must be tensor names (strings), got {names!r}")
    return names


def backward(graph: Graph, tensors: Mapping[str, np.ndarray], seeds: Mapping[str, np.ndarray],
             wrt: Iterable[str] | None = None) -> dict[str, np.ndarray]:
    """Reverse-mode gradients through ``graph`` for one forward pass.

    Parameters
    ----------
    graph : Graph
    tensors : dict of name -> ndarray
        What ``run(graph, x, keep=True)`` returned: the inputs and every node output.
    seeds : dict of name -> ndarray
        ``d(scalar)/d(tensor)`` for one or more tensors, each of that tensor's shape
        (e.g. a one-hot on the logits, the input of the final Softmax).
    wrt : iterable of str, optional
        The tensors whose gradients to return (default: the graph inputs). Weights
        (initializers) are not allowed: their gradients are never computed.

    Returns
    -------
    dict of name -> ndarray
        ``d(scalar)/d(tensor)`` for each ``wrt`` name, float32, the tensor's shape;
        zeros for a tensor that no seed depends on.

    Raises
    ------
    ValueError
        An unknown or weight name, a seed of the wrong shape, a non-float tensor
        (:class:`GraphError`, a ``ValueError``, when a node's VJP fails).
    """
    wanted = _names([i.name for i in graph.inputs] if wrt is None else wrt, "wrt")
    for name in wanted:
        _check_tensor(graph, tensors, name, "wrt")
    grads: dict[str, np.ndarray] = {}
    for name, seed in seeds.items():
        _check_tensor(graph, tensors, name, "seed")
        seed = np.asarray(seed)
        if seed.shape != tensors[name].shape or seed.dtype.kind not in "fiub":
            raise ValueError(f"the seed of '{name}' must be a numeric array of the tensor's shape "
                             f"{tensors[name].shape}, got {seed.dtype} {seed.shape}")
        seed = seed.astype(np.result_type(seed.dtype, np.float32), copy=False)
        grads[name] = grads[name] + seed if name in grads else seed
    if not grads:
        raise ValueError("backward needs at least one seed")

    # Tensors that depend on a wanted one (forward from wrt): only these need gradients.
    reach = set(wanted)
    nodes = []
    for node in graph.nodes:
        if any(name in reach for name in node.inputs if name):
            reach.update(name for name in node.outputs if name)
            nodes.append(node)
    keep = set(wanted)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for node in reversed(nodes):
            g = grads.get(node.outputs[0]) if node.outputs else None
            if g is None:
                continue  # no seed depends on this node (only output 0 carries a gradient)
            need = [bool(name) and name in reach for name in node.inputs]
            ins = [_value(graph, tensors, name) for name in node.inputs]
            missing = [n for n, v in zip(node.inputs, ins, strict=True) if n and v is None]
            if missing or any(name and name not in tensors for name in node.outputs):
                lost = missing[0] if missing else next(n for n in node.outputs if n not in tensors)
                raise GraphError(f"node '{node.name}' ({node.op_type}) needs tensor '{lost}', "
                                 "which the forward pass did not keep (run with keep=True)")
            outs = [tensors.get(name) if name else None for name in node.outputs]
            douts = [grads.get(name) if name else None for name in node.outputs]
            vjp = VJPS.get(node.op_type)
            if vjp is None:
                raise GraphError(f"node '{node.name}': no backward for the op '{node.op_type}'")
            try:
                results = vjp(node, ins, outs, douts, graph.opset, need)
            except _OP_ERRORS as e:
                raise GraphError(f"node '{node.name}' ({node.op_type}) backward: {e}") from None
            for name in node.outputs:
                if name and name not in keep:
                    grads.pop(name, None)  # every reader of this output is done: free it
            for name, wanted_here, dx in zip(node.inputs, need, results, strict=False):
                if not wanted_here or dx is None:
                    continue
                if dx.shape != ins[node.inputs.index(name)].shape:
                    raise GraphError(
                        f"node '{node.name}' ({node.op_type}) backward gave '{name}' a gradient "
                        f"of shape {dx.shape}; the tensor has {ins[node.inputs.index(name)].shape}"
                    )
                if node.op_type not in _ROUTING:
                    dx = flush_denormals(dx)
                grads[name] = grads[name] + dx if name in grads else dx
    return {
        name: (grads[name].astype(np.float32) if name in grads
               else np.zeros(tensors[name].shape, np.float32))
        for name in wanted
    }


def _check_tensor(graph: Graph, tensors: Mapping[str, np.ndarray], name: str, what: str) -> None:
    if name not in tensors:
        if name in graph.initializers:
            raise ValueError(f"{what} '{name}' is a weight: backward gives gradients of the "
                             "inputs and intermediate tensors only")
        raise ValueError(f"{what} '{name}' is not a tensor of this forward pass "
                         "(run the graph with keep=True)")
    if np.asarray(tensors[name]).dtype.kind != "f":
        raise ValueError(f"{what} '{name}' holds {tensors[name].dtype} values, which have "
                         "no gradient")


def _value(graph: Graph, tensors: Mapping[str, np.ndarray], name: str):
    if not name:
        return None
    value = tensors.get(name)
    return graph.initializers.get(name) if value is None else value


#: Ops that only reshape or pass a tensor on: the class scores may sit behind them.
_SHAPE_ONLY = frozenset({"Identity", "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Dropout"})


def default_seed_tensor(graph: Graph) -> str:
    """The tensor :func:`input_gradient` seeds by default: the class scores before softmax.

    Going back from the (first) graph output through ops that only reshape (Identity,
    Flatten, Reshape...), the input of the first Softmax or LogSoftmax reached; the graph
    output itself when there is none (a model that ends in raw scores).
    """
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    t = graph.outputs[0].name
    for _ in range(len(graph.nodes)):
        node = producer.get(t)
        if node is None:
            break
        if node.op_type in ("Softmax", "LogSoftmax"):
            return node.inputs[0]
        if node.op_type not in _SHAPE_ONLY or not node.inputs:
            break
        t = node.inputs[0]
    return graph.outputs[0].name


def input_gradient(graph: Graph, x, *, seed_tensor: str | None = None, index: int,
                   wrt: Iterable[str] | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run ``graph`` on ``x`` and return the gradients of one score, and the tensors.

    Parameters
    ----------
    graph : Graph
    x : ndarray or dict of name -> ndarray
        As :func:`engine.graph.run.run` takes it.
    seed_tensor : str, optional
        The tensor holding the score (default: :func:`default_seed_tensor`).
    index : int
        Which value of ``seed_tensor`` per image: a flat index into ``tensor[n]`` (for
        ``(N, K)`` class scores, the class). With a batch, every image's own value is
        seeded, so each image gets its own gradient (images do not mix).
    wrt : iterable of str, optional
        As :func:`backward` (default: the graph inputs).

    Returns
    -------
    gradients : dict of name -> ndarray
        ``d tensor[n].flat[index] / d name`` per wanted tensor, float32.
    tensors : dict of name -> ndarray
        The forward pass (``run(graph, x, keep=True)``).
    """
    tensors = run(graph, x, keep=True)
    name = default_seed_tensor(graph) if seed_tensor is None else seed_tensor
    _check_tensor(graph, tensors, name, "seed_tensor")
    try:
        index = operator.index(index)
    except TypeError:
        raise ValueError(f"index must be an integer, got {index!r}") from None
    shape = tensors[name].shape
    batch = shape[0] if len(shape) > 1 else 1
    per = int(np.prod(shape, dtype=np.int64)) // max(batch, 1)
    if not 0 <= index < per:
        raise ValueError(f"index {index} is out of range for '{name}' of shape {shape} "
                         f"({per} values per image)")
    seed = np.zeros(shape, np.float32)
    seed.reshape(batch, per)[:, index] = 1
    return backward(graph, tensors, {name: seed}, wrt), tensors
