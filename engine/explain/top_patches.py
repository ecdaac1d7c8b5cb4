"""What a filter responds to: the images (and where in them) that make a channel largest.

For every chosen feature-map tensor ``(N, C, H, W)`` of a model and every channel ``c``,
:class:`TopK` keeps the ``k`` images whose largest value in that channel is largest, one
entry per image (the image's maximum position), as in Zeiler & Fergus (2014) and
CNN Explainer. :func:`scan` runs the graph over batches of images and folds each batch
into the running top-k, so memory holds one batch's intermediates at a time, never all
images'. :func:`feature_layers` lists the tensors worth asking about and
:func:`patch_field` gives the receptive-field box of a position in the model input
(:func:`engine.graph.analysis.receptive_field`, the same analysis ``/trace`` uses).

Ties are broken by the lower image index, so the result does not depend on the batch
size. NumPy only; ``ValueError`` for impossible requests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.graph import Graph, run
from engine.graph.analysis import PASS_THROUGH, Field, Structure, receptive_field

__all__ = ["FeatureLayer", "TopK", "feature_layers", "patch_field", "scan", "shapes_of"]


@dataclass(frozen=True)
class FeatureLayer:
    """A node whose output is a feature map ``(C, H, W)`` computed from the image."""

    name: str  # the node's name (what /inspect and /trace call a layer)
    tensor: str  # its output tensor
    op_type: str
    label: str  # "Conv", "Relu", "GELU", "MaxPool", "Add (skip connection)", ...
    shape: tuple[int, int, int]


class TopK:
    """The ``k`` largest per-image maxima of each channel of one ``(N, C, H, W)`` tensor.

    Arrays are ``(C, k)``, best first: ``values`` (float32), ``images`` (the image's
    index in the scan, -1 where fewer than ``k`` images were seen), ``rows``, ``cols``
    (where in the feature map the image's maximum is; the first such position in
    row-major order when several are equal).
    """

    def __init__(self, channels: int, k: int):
        if channels < 1 or k < 1:
            raise ValueError(f"need channels >= 1 and k >= 1, got {channels}, {k}")
        self.k = k
        self.values = np.full((channels, k), -np.inf, np.float32)
        self.images = np.full((channels, k), -1, np.int64)
        self.rows = np.zeros((channels, k), np.int32)
        self.cols = np.zeros((channels, k), np.int32)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.values, self.images, self.rows, self.cols))

    def update(self, acts: np.ndarray, first_index: int) -> None:
        """Fold in a batch: ``acts`` is ``(B, C, H, W)``, image ``b`` is number ``first_index + b``."""
        if acts.ndim != 4 or acts.shape[1] != self.values.shape[0]:
            raise ValueError(f"expected (B, {self.values.shape[0]}, H, W), got {acts.shape}")
        b, c, h, w = acts.shape
        flat = acts.reshape(b, c, h * w)
        pos = flat.argmax(axis=2)  # (B, C): the first maximum in row-major order
        best = np.take_along_axis(flat, pos[..., None], axis=2)[..., 0]
        if np.isnan(best).any():  # argmax picks a NaN: a NaN is never the best
            flat = np.where(np.isnan(flat), -np.inf, flat)
            pos = flat.argmax(axis=2)
            best = np.take_along_axis(flat, pos[..., None], axis=2)[..., 0]
        best = best.T.astype(np.float32)
        images = np.broadcast_to(np.arange(first_index, first_index + b, dtype=np.int64), (c, b))
        values = np.concatenate([self.values, best], axis=1)
        index = np.concatenate([self.images, images], axis=1)
        rows = np.concatenate([self.rows, (pos // w).T.astype(np.int32)], axis=1)
        cols = np.concatenate([self.cols, (pos % w).T.astype(np.int32)], axis=1)
        # Best first; among equal values the lower image index (empty slots, -1, last).
        order = np.lexsort((np.where(index < 0, np.iinfo(np.int64).max, index), -values.astype(np.float64)),
                           axis=1)[:, : self.k]
        self.values = np.take_along_axis(values, order, axis=1)
        self.images = np.take_along_axis(index, order, axis=1)
        self.rows = np.take_along_axis(rows, order, axis=1)
        self.cols = np.take_along_axis(cols, order, axis=1)

    def channel(self, c: int) -> list[tuple[int, float, int, int]]:
        """``(image, value, row, col)`` of channel ``c``, best first (filled slots only)."""
        if not 0 <= c < self.values.shape[0]:
            raise ValueError(f"channel {c} does not exist; the layer has {self.values.shape[0]} (0-{self.values.shape[0] - 1})")
        keep = self.images[c] >= 0
        return [(int(i), float(v), int(r), int(q)) for i, v, r, q in zip(
            self.images[c][keep], self.values[c][keep], self.rows[c][keep], self.cols[c][keep], strict=True)]


def shapes_of(graph: Graph, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape for one image (from one run on zeros) and every weight's shape."""
    values = run(graph, np.zeros(input_shape, np.float32), keep=True)
    shapes = {name: tuple(a.shape) for name, a in values.items()}
    shapes.update({name: tuple(a.shape) for name, a in graph.initializers.items()})
    return shapes


def feature_layers(graph: Graph, shapes: Mapping[str, tuple[int, ...]],
                   structure: Structure | None = None) -> list[FeatureLayer]:
    """The nodes whose output is a float feature map ``(1, C, H, W)`` computed from the image.

    Left out: pass-through nodes, the inner steps of an element-wise chain (the GELU's
    Mul/Erf/Add; its end is kept), fixed permutations (the mirror image of test-time
    augmentation) and everything computed from one (the same filters again, on the
    mirrored image), whose outputs repeat what is shown elsewhere.
    """
    st = structure or Structure(graph)
    mirrored = [n.outputs[0] for n in graph.nodes if n.outputs and st.is_fixed_permutation(n)]
    out = []
    for node in graph.nodes:
        if not node.outputs or not node.outputs[0] or node.op_type in PASS_THROUGH:
            continue
        t = node.outputs[0]
        shape = shapes.get(t)
        if shape is None or len(shape) != 4 or shape[0] != 1 or not st.from_input(t):
            continue
        if st.is_chain_step(node) or any(st.depends_on(t, m) for m in mirrored):
            continue
        label = st.activation_name(node) or node.op_type
        if st.skip_connection(node):
            label = "Add (skip connection)"
        out.append(FeatureLayer(node.name, t, node.op_type, label, (shape[1], shape[2], shape[3])))
    return out


def patch_field(graph: Graph, shapes: Mapping[str, tuple[int, ...]], tensor: str, row: int, col: int,
                structure: Structure | None = None) -> Field:
    """The receptive field of position (``row``, ``col``) of ``tensor`` in the model input."""
    shape = shapes.get(tensor)
    if shape is None or len(shape) != 4:
        raise ValueError(f"tensor {tensor!r} is not a feature map of this model")
    if not (0 <= row < shape[2] and 0 <= col < shape[3]):
        raise ValueError(f"position ({row}, {col}) is outside the {shape[2]} x {shape[3]} map")
    return receptive_field(structure or Structure(graph), shapes, tensor, row, col)


def scan(graph: Graph, batches: Iterable[np.ndarray], tensors: list[str], k: int = 9, *,
         progress: Callable[[int], None] | None = None) -> tuple[dict[str, TopK], int]:
    """Run ``graph`` over ``batches`` (model inputs ``(B, C, H, W)``, in order) and keep each
    channel's top ``k`` images for every tensor in ``tensors``.

    Only one batch's tensors are alive at a time. ``progress(n)`` is called after each
    batch with the number of images done. Returns the top-k per tensor and the image count.
    """
    if not tensors:
        raise ValueError("no feature-map tensors to scan")
    tops: dict[str, TopK] = {}
    done = 0
    for x in batches:
        values = run(graph, x, keep=True)
        for name in tensors:
            acts = values.get(name)
            if acts is None or acts.ndim != 4:
                raise ValueError(f"tensor {name!r} is not a feature map of this model")
            if name not in tops:
                tops[name] = TopK(acts.shape[1], k)
            tops[name].update(acts, done)
        done += x.shape[0]
        del values
        if progress is not None:
            progress(done)
    return tops, done
