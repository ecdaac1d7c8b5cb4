"""Why a model answered as it did: Grad-CAM and plain gradients (saliency) for one image.

Grad-CAM (Selvaraju et al., ICCV 2017) asks which places of a convolutional layer's
feature maps raised the score of a class. With ``A^k`` the layer's map ``k`` (size
``h x w``) and ``y^c`` the class's score before softmax,

    alpha_k = (1 / (h w)) sum_ij d y^c / d A^k_ij      (how much map k matters for c)
    L^c     = ReLU(sum_k alpha_k A^k)                  (where the maps that matter fire)

``L^c`` is scaled to [0, 1] and resized to the model input's resolution. The
gradients come from :func:`engine.graph.backward` on the model's own graph, so this
works for any model the graph runner runs.

Saliency (Simonyan et al., 2014) is the plain input gradient ``|d y^c / d x|``, the
largest over the colour channels, scaled to [0, 1].

The sanity check of Adebayo et al. (NeurIPS 2018): an explanation that hardly changes
when the weights that make the class scores are replaced by random numbers does not
explain the model. :func:`randomised_top` builds that model; :func:`rank_correlation`
measures how much the two maps agree.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from engine.graph.analysis import Shapes, Structure, receptive_box
from engine.graph.backward import default_seed_tensor
from engine.graph.model import Graph

__all__ = [
    "CamLayer",
    "GradCam",
    "cam_layers",
    "field_grid",
    "grad_cam",
    "logit_tensor",
    "randomised_top",
    "rank_correlation",
    "resize_bilinear",
    "saliency",
    "scale01",
    "top_weights",
]

#: Ops that keep a feature map's shape and act on it value by value (or add a same-shaped
#: branch, as a residual connection does): a "conv layer" as a student knows it runs through
#: them to its activation.
_SAME_SHAPE = frozenset({"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Add",
                         "BatchNormalization", "Identity", "Dropout", "Elu", "Selu",
                         "HardSigmoid", "Softplus"})


@dataclass(frozen=True)
class CamLayer:
    """A convolutional layer Grad-CAM can explain: the tensor after its activation."""

    tensor: str  # the feature maps used (the Conv's output after its activation)
    conv: str  # the Conv node's name
    title: str  # "conv1", "conv2", ... in the order of the graph
    shape: tuple[int, int, int]  # (C, h, w)


@dataclass(frozen=True)
class GradCam:
    """One Grad-CAM map and what it was made of (see the module docstring)."""

    cam: np.ndarray  # (h, w), ReLU(sum_k alpha_k A^k) before scaling
    alphas: np.ndarray  # (C,), the weight of each map
    heat: np.ndarray  # (H, W) in [0, 1] at the model input's resolution


def logit_tensor(graph: Graph) -> str:
    """The class scores before softmax (:func:`engine.graph.backward.default_seed_tensor`)."""
    return default_seed_tensor(graph)


def cam_layers(graph: Graph, shapes) -> list[CamLayer]:
    """Each Conv's activated output, first to last.

    ``shapes`` maps tensor names to shapes or to arrays (a run's values). A conv layer's output
    is followed through activations (and a residual Add, BatchNorm...) that keep its
    shape; a GELU spelled out as Mul/Erf/Add/Mul is recognised as one activation. Layers
    computed from a fixed permutation of the input (the mirrored view of test-time
    augmentation) are left out: their maps are of the mirrored image.
    """
    st = Structure(graph)
    mirrored = [n.outputs[0] for n in graph.nodes if st.is_fixed_permutation(n)]
    layers: list[CamLayer] = []
    for node in graph.nodes:
        if node.op_type != "Conv" or not node.outputs[0]:
            continue
        t = node.outputs[0]
        if not st.from_input(t) or any(st.depends_on(t, m) for m in mirrored):
            continue
        t = _activated(st, t, shapes)
        shape = _shape(shapes[t])
        if len(shape) != 4 or shape[0] != 1:
            continue
        layers.append(CamLayer(t, node.name, f"conv{len(layers) + 1}",
                               (int(shape[1]), int(shape[2]), int(shape[3]))))
    return layers


def _shape(v) -> tuple[int, ...]:
    return tuple(v.shape) if hasattr(v, "shape") else tuple(v)


def _activated(st: Structure, t: str, shapes) -> str:
    """Follow ``t`` through the same-shape element-wise steps that end its layer."""
    for _ in range(len(st.graph.nodes)):
        users = st.consumers.get(t, [])
        gelu = [u for u in users if st.activation_name(u) == "GELU" and t in u.inputs]
        if gelu:
            nxt = gelu[0].outputs[0]
        elif len(users) == 1 and users[0].op_type in _SAME_SHAPE and users[0].outputs[0]:
            nxt = users[0].outputs[0]
        else:
            return t
        if _shape(shapes[nxt]) != _shape(shapes[t]) or nxt in st.output_names:
            return t
        t = nxt
    return t


def field_grid(graph: Graph, values, tensor: str) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Where the positions of ``tensor``'s maps sit in the model input: ``(origin, step)``
    per axis, the input row (and column) of the centre of position 0's receptive field and
    the distance between neighbouring positions' centres. None when a position sees the
    whole input (after global pooling, say) or the map has one position per axis.

    ``values`` are a run's tensors (their shapes are what counts).
    """
    st = Structure(graph)
    shapes = Shapes(graph, values)
    h, w = _shape(values[tensor])[-2:]
    if h < 2 or w < 2:
        return None
    first = receptive_box(st, shapes, tensor, 0, 0)
    last = receptive_box(st, shapes, tensor, h - 1, w - 1)
    if first is None or last is None:
        return None
    # The centres of the unclipped boxes: right even where a field is wider than the input.
    r0, c0 = (first[0] + first[1]) / 2, (first[2] + first[3]) / 2
    r1, c1 = (last[0] + last[1]) / 2, (last[2] + last[3]) / 2
    return (r0, c0), ((r1 - r0) / (h - 1), (c1 - c0) / (w - 1))


def grad_cam(acts: np.ndarray, grads: np.ndarray, input_hw: tuple[int, int],
             grid: tuple[tuple[float, float], tuple[float, float]] | None = None) -> GradCam:
    """Grad-CAM from a layer's maps ``acts`` and ``grads`` = d y^c / d acts, both (C, h, w)
    (or (1, C, h, w)); the map resized to ``input_hw``: with ``grid`` (from
    :func:`field_grid`) each position is placed at the centre of its receptive field,
    otherwise the map is stretched over the input."""
    a = np.asarray(acts, np.float64)
    g = np.asarray(grads, np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a, g = a[0], g[0]
    if a.ndim != 3 or a.shape != g.shape:
        raise ValueError(f"maps and gradients must both be (C, h, w); got {a.shape} and {g.shape}")
    alphas = g.mean(axis=(1, 2))
    cam = np.maximum(np.tensordot(alphas, a, axes=1), 0.0)
    return GradCam(cam, alphas, scale01(resize_bilinear(cam, input_hw, grid)))


def saliency(grad_input: np.ndarray) -> np.ndarray:
    """``|d y / d x|``, the largest over channels, scaled to [0, 1]: (H, W) from (1, C, H, W)."""
    g = np.asarray(grad_input, np.float64)
    if g.ndim != 4 or g.shape[0] != 1:
        raise ValueError(f"the input gradient must be (1, C, H, W), got {g.shape}")
    return scale01(np.abs(g[0]).max(axis=0))


def scale01(m: np.ndarray) -> np.ndarray:
    """``m`` divided by its maximum (all zeros stay zeros); negatives clipped to 0."""
    m = np.maximum(np.asarray(m, np.float64), 0.0)
    top = float(m.max()) if m.size else 0.0
    return m / top if top > 0 and np.isfinite(top) else np.zeros_like(m)


def resize_bilinear(m: np.ndarray, size: tuple[int, int],
                    grid: tuple[tuple[float, float], tuple[float, float]] | None = None) -> np.ndarray:
    """Bilinear resize of a 2-D map ``(h, w)`` to ``size``, clamped at the edges.

    Without ``grid``, pixel centres are aligned as image libraries do: output pixel ``i``
    samples the map at ``(i + 0.5) * h / H - 0.5``. With ``grid = ((r0, c0), (dr, dc))``
    map position ``u`` sits at output row ``r0 + u * dr``, so output row ``i`` samples the
    map at ``(i - r0) / dr`` (columns alike).
    """
    m = np.asarray(m, np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"a map to resize must be 2-D and non-empty, got shape {m.shape}")
    H, W = (int(v) for v in size)
    if H < 1 or W < 1:
        raise ValueError(f"the size must be positive, got {size}")

    def axis(n_out: int, n_in: int, place):
        i = np.arange(n_out, dtype=np.float64)
        at = (i - place[0]) / place[1] if place else (i + 0.5) * n_in / n_out - 0.5
        pos = np.clip(at, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, pos - lo

    if grid is not None and (grid[1][0] <= 0 or grid[1][1] <= 0):
        raise ValueError(f"the grid's steps must be positive, got {grid[1]}")
    rows = (grid[0][0], grid[1][0]) if grid else None
    cols = (grid[0][1], grid[1][1]) if grid else None
    r0, r1, fr = axis(H, m.shape[0], rows)
    c0, c1, fc = axis(W, m.shape[1], cols)
    top = m[r0][:, c0] * (1 - fc) + m[r0][:, c1] * fc
    bottom = m[r1][:, c0] * (1 - fc) + m[r1][:, c1] * fc
    return top * (1 - fr)[:, None] + bottom * fr[:, None]


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rank correlation of two maps (the measure of Adebayo et al.): 1 when
    they order the pixels the same way, about 0 when unrelated. Ties get average ranks.
    None when a map is constant (all zeros, say): it orders nothing, so no correlation."""
    x, y = _ranks(np.ravel(a)), _ranks(np.ravel(b))
    if x.size != y.size or x.size < 2:
        raise ValueError(f"two maps of the same size (at least 2 values) are needed, got {x.size} and {y.size}")
    x, y = x - x.mean(), y - y.mean()
    den = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / den) if den > 0 else None


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(v.size, np.float64)
    ranks[order] = np.arange(v.size, dtype=np.float64)
    values, inverse = np.unique(v, return_inverse=True)
    if values.size < v.size:  # average the ranks of ties
        sums = np.bincount(inverse, weights=ranks)
        counts = np.bincount(inverse)
        ranks = (sums / counts)[inverse]
    return ranks


def top_weights(graph: Graph) -> list[str]:
    """The weight tensors of the layer(s) that make the class scores: going back from the
    scores through weight-free steps, the first Gemm/MatMul/Conv reached on each path."""
    st = Structure(graph)
    found: list[str] = []
    todo, seen = [logit_tensor(graph)], set()
    while todo:
        t = todo.pop()
        node = st.producer.get(t)
        if node is None or t in seen:
            continue
        seen.add(t)
        weights = [n for n in node.inputs
                   if n in graph.initializers and graph.initializers[n].ndim >= 2]
        if node.op_type in ("Gemm", "MatMul", "Conv") and weights \
                and not st.is_fixed_permutation(node):
            found += [w for w in weights if w not in found]
            continue
        todo += st.data_inputs(node)
    return found


def randomised_top(graph: Graph, seed: int = 0) -> Graph:
    """A copy of ``graph`` whose class-score layer weights are random (normal, the same
    mean and standard deviation as the trained ones); every other weight is shared."""
    names = top_weights(graph)
    if not names:
        raise ValueError("no weight matrix makes this model's class scores; nothing to randomise")
    rng = np.random.default_rng(seed)
    inits = dict(graph.initializers)
    for n in names:
        w = graph.initializers[n]
        inits[n] = rng.normal(float(w.mean()), float(w.std()) or 1.0, w.shape).astype(w.dtype)
    return replace(graph, initializers=inits)  # a new graph: its own plan, made on first run
