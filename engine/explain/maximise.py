"""Activation maximisation: an image made, from noise, to excite one channel.

Gradient ascent on the channel's mean activation, ``J(x) = mean_{i,j} A_c(x)[i, j]``,
with the light regularisation of Olah et al., "Feature Visualization" (Distill, 2017):
each step is taken on the image shifted by a random pixel or two (jitter), every few
steps the image is blurred a little (a 3x3 Gaussian) and pulled towards grey (L2 decay),
and it always stays inside the range of real pixels (0..255 after undoing the model's
normalisation). The number of steps is fixed and the time bounded; the noise is seeded,
so the same request gives the same image.

:func:`channel_objective` gives ``J`` and its gradient through the graph runner's
backward (:func:`engine.graph.backward`) on the part of the graph the channel depends
on (:func:`subgraph`). NumPy only; ``ValueError`` for impossible requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from engine.graph import Graph, ValueInfo, run
from engine.graph.analysis import Structure

__all__ = ["Maximised", "blur3", "channel_objective", "maximise", "subgraph"]

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class Maximised:
    """The optimised input ``x`` (1, C, H, W), the objective before each step and after
    the last (``history``), the steps taken and the seconds they took."""

    x: np.ndarray
    history: list[float]
    steps: int
    seconds: float
    stopped_early: bool


def subgraph(graph: Graph, tensor: str | Sequence[str]) -> Graph:
    """The nodes ``tensor`` (one name or several) is computed from, as a graph whose
    outputs are those tensors: running it costs only what they need."""
    wanted = [tensor] if isinstance(tensor, str) else list(tensor)
    st = Structure(graph)
    for name in wanted:
        if name not in st.producer:
            raise ValueError(f"no node of the model outputs the tensor {name!r}")
    needed, nodes = set(wanted), []
    for node in reversed(graph.nodes):
        if any(o in needed for o in node.outputs if o):
            nodes.append(node)
            needed.update(n for n in node.inputs if n)
    nodes.reverse()
    inits = {k: v for k, v in graph.initializers.items() if k in needed}
    return Graph(list(graph.inputs), [ValueInfo(name, None, "float32") for name in wanted], nodes, inits,
                 graph.opset, graph.name)


def channel_objective(graph: Graph, tensor: str, channel: int) -> Objective:
    """``x -> (J, dJ/dx)`` for the mean of channel ``channel`` of ``tensor`` (a feature map).

    ``graph`` should be :func:`subgraph` of the model for ``tensor`` (any graph that
    computes it works). The gradient comes from :func:`engine.graph.backward`.
    """
    from engine.graph import backward  # the graph runner's vector-Jacobian products

    if len(graph.inputs) != 1:
        raise ValueError(f"activation maximisation needs a model with one input, not {len(graph.inputs)}")
    name_in = graph.inputs[0].name

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        tensors = run(graph, x, keep=True)
        acts = tensors.get(tensor)
        if acts is None or acts.ndim != 4:
            raise ValueError(f"tensor {tensor!r} is not a feature map of this model")
        if not 0 <= channel < acts.shape[1]:
            raise ValueError(f"channel {channel} does not exist; the layer has {acts.shape[1]} (0-{acts.shape[1] - 1})")
        seed = np.zeros_like(acts)
        seed[:, channel] = 1.0 / (acts.shape[2] * acts.shape[3])
        grads = backward(graph, tensors, {tensor: seed}, wrt=[name_in])
        return float(acts[0, channel].mean(dtype=np.float64)), np.asarray(grads[name_in], np.float32)

    return objective


def blur3(x: np.ndarray, sigma: float = 0.5) -> np.ndarray:
    """A separable 3x3 Gaussian blur of each channel of ``(N, C, H, W)`` (edges reflected)."""
    k = np.exp(-np.array([1.0, 0.0, 1.0]) / (2 * sigma * sigma))
    k = (k / k.sum()).astype(np.float32)
    p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect" if min(x.shape[2:]) > 1 else "edge")
    rows = k[0] * p[:, :, :-2] + k[1] * p[:, :, 1:-1] + k[2] * p[:, :, 2:]
    return (k[0] * rows[..., :-2] + k[1] * rows[..., 1:-1] + k[2] * rows[..., 2:]).astype(np.float32)


def maximise(objective: Objective, shape: tuple[int, int, int, int], lo: np.ndarray, hi: np.ndarray, *,
             steps: int = 48, step_size: float = 0.02, decay: float = 0.02, every: int = 4,
             jitter: int = 1, seed: int = 0, max_seconds: float = 10.0) -> Maximised:
    """Gradient ascent on ``objective`` from seeded noise around mid-grey.

    Parameters
    ----------
    objective : callable
        ``x -> (J, dJ/dx)`` for ``x`` of ``shape`` (1, C, H, W).
    lo, hi : ndarray
        The model-input values of pixel 0 and pixel 255, per channel ``(C,)``: ``x`` stays
        between them.
    steps : int
        Gradient steps (fixed); ``max_seconds`` stops earlier if they take too long.
    step_size : float
        Each step moves the average pixel by this fraction of ``hi - lo``: the gradient is
        divided by its mean absolute value, so the step does not depend on its scale.
    decay, every : float, int
        Every ``every`` steps, ``x <- mid + (1 - decay) (blur(x) - mid)`` (mid: grey).
    jitter : int
        Each gradient is taken on the image rolled by up to this many pixels.
    """
    n, c, h, w = shape
    if n != 1 or min(c, h, w) < 1 or steps < 1 or every < 1 or jitter < 0:
        raise ValueError(f"need shape (1, C, H, W), steps >= 1, every >= 1 and jitter >= 0; got "
                         f"{shape}, {steps}, {every}, {jitter}")
    lo = np.asarray(lo, np.float32).reshape(1, c, 1, 1)
    hi = np.asarray(hi, np.float32).reshape(1, c, 1, 1)
    low, high = np.minimum(lo, hi), np.maximum(lo, hi)
    mid, span = (lo + hi) / 2, np.abs(hi - lo)
    rng = np.random.default_rng(seed)
    x = np.clip(mid + span * 0.08 * rng.standard_normal(shape, dtype=np.float32), low, high)
    history: list[float] = []
    t0 = time.perf_counter()
    taken = 0
    for i in range(steps):
        dy, dx = (rng.integers(-jitter, jitter + 1, size=2) if jitter else (0, 0))
        value, grad = objective(np.roll(x, (int(dy), int(dx)), axis=(2, 3)))
        history.append(value)
        grad = np.roll(grad, (-int(dy), -int(dx)), axis=(2, 3))
        scale = float(np.mean(np.abs(grad)))
        if not np.isfinite(scale) or scale == 0:
            break  # a dead channel here: no direction improves it
        x = x + (step_size * span * grad / scale).astype(np.float32)
        if (i + 1) % every == 0:
            x = mid + (1 - decay) * (blur3(x) - mid)
        x = np.clip(x, low, high).astype(np.float32)
        taken = i + 1
        if time.perf_counter() - t0 > max_seconds:
            break
    history.append(objective(x)[0])
    return Maximised(x, history, taken, time.perf_counter() - t0, taken < steps)
