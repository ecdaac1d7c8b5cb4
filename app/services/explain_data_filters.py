"""What a filter responds to: each channel's top held-out images, and a synthetic image.

- :func:`layers` lists a model's feature-map layers (one engine run on zeros, kept).
- :func:`top_patches` needs one pass of the engine over the model's held-out images
  (:func:`app.services.explain_data.held_out`, at most :data:`MAX_IMAGES`), in batches of
  at most :data:`PASS_BYTES` of intermediate tensors, keeping every layer's top 9 per
  channel (:func:`engine.explain.top_patches.scan`). The pass runs once per process in
  the background (:mod:`app.services.explain_data_jobs`); after it, any layer and channel
  is a lookup plus nine receptive-field boxes.
- :func:`maximised` makes the activation-maximisation image of a channel
  (:func:`engine.explain.maximise.maximise`), a fixed number of steps, time-bounded,
  seeded, and keeps the last :data:`MAX_IMAGES_KEPT` of them.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.encode import num
from app.errors import ApiError
from app.services.explain_data import (
    HeldOut,
    batch_size,
    confusion_plan,
    held_out,
    heldout_url,
    model_input,
    model_key,
    plan,
)
from app.services.explain_data_jobs import JOBS, Progress
from app.services.model import Model
from app.services.predict import data_url
from app.services.preprocess import normalisation
from engine.explain.maximise import channel_objective, maximise, subgraph
from engine.explain.names import layer_names
from engine.explain.top_patches import (
    FeatureLayer,
    TopK,
    feature_layers,
    patch_field,
    scan,
    shapes_of,
)
from engine.graph import Graph, GraphError
from engine.graph.analysis import Structure

TOP = 9
MAX_IMAGES = 2000  # held-out images one pass scans (the first ones)
PASS_BYTES = 48 * 1024 * 1024  # one batch's tensors, all layers together
MAX_BATCH = 64
STEPS, STEP_SIZE, DECAY, EVERY, JITTER, MAX_SECONDS = 32, 0.05, 0.02, 4, 1, 5.0
MAX_IMAGES_KEPT = 256
_MAX_MODELS = 16  # models whose layer lists (and sub-graphs) are kept


@dataclass
class Layout:
    """A model's graph, its tensors' shapes for one image and its feature-map layers."""

    graph: Graph
    shapes: dict[str, tuple[int, ...]]
    structure: Structure
    layers: list[FeatureLayer]
    subgraphs: dict[str, Graph] = field(default_factory=dict)

    def layer(self, name: str) -> FeatureLayer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ApiError(404, f"The model has no feature-map layer called {name[:120]!r}; "
                            f"GET .../filters lists its {len(self.layers)} layers.")


_layouts: OrderedDict[tuple, Layout] = OrderedDict()
_lock = threading.Lock()


def layout(model: Model) -> Layout:
    key = model_key(model)
    with _lock:
        hit = _layouts.get(key)
        if hit is not None:
            _layouts.move_to_end(key)
            return hit
    graph = model.graph()
    shape = tuple(int(d) for d in model.input_spec["shape"])
    try:
        shapes = shapes_of(graph, (1, *shape[1:]))
    except GraphError as exc:
        raise ApiError(422, f"The engine could not run {model.name}: {exc}") from None
    st = Structure(graph)
    lay = Layout(graph, shapes, st, feature_layers(graph, shapes, st))
    if not lay.layers:
        raise ApiError(422, f"{model.name} has no layer with feature maps (C x H x W) computed from "
                            "the image, so it has no filters to show.")
    with _lock:
        _layouts[key] = lay
        while len(_layouts) > _MAX_MODELS:
            _layouts.popitem(last=False)
    return lay


def layers_json(model: Model) -> dict:
    lay = layout(model)
    titles = layer_names(lay.graph)
    return {"model": model.name, "input_shape": list(lay.shapes[lay.graph.inputs[0].name][1:]),
            "layers": [{"name": x.name, "title": titles[x.name].title if x.name in titles else x.name,
                        "op_type": x.op_type, "label": x.label, "tensor": x.tensor,
                        "shape": list(x.shape)} for x in lay.layers],
            "default": _default_layer(lay).name}


def _default_layer(lay: Layout) -> FeatureLayer:
    """The middle Conv layer with spatial size > 1 (past edges, short of whole objects), else the first layer."""
    convs = [x for x in lay.layers if x.op_type == "Conv" and x.shape[1] * x.shape[2] > 1]
    return convs[len(convs) // 2] if convs else lay.layers[0]


@dataclass
class Tops:
    data: HeldOut
    tops: dict[str, TopK]
    images: int
    batch: int
    seconds: float

    @property
    def nbytes(self) -> int:
        return sum(t.nbytes for t in self.tops.values()) + 1024


def _batch(model: Model, lay: Layout) -> int:
    per_image = sum(int(np.prod(s)) * 4 for n, s in lay.shapes.items() if n not in lay.graph.initializers)
    return batch_size(model, max(1, min(MAX_BATCH, PASS_BYTES // max(1, per_image))))


def _scan(model: Model, lay: Layout, data_dir: Path | None, n: int, p: Progress) -> Tops:
    t0 = time.perf_counter()
    data = held_out(model, data_dir)
    b = _batch(model, lay)
    batches = (model_input(model, data.x[i:min(n, i + b)]) for i in range(0, n, b))

    def progress(done: int) -> None:
        p.done = done

    tensors = [x.tensor for x in lay.layers]
    # only the nodes the feature maps need (not a mirrored copy, not the classifier)
    tops, seen = scan(subgraph(lay.graph, tensors), batches, tensors, TOP, progress=progress)
    return Tops(data, tops, seen, b, time.perf_counter() - t0)


def tops(model: Model, data_dir: Path | None, *, wait: bool = False) -> Tops:
    """Every layer's top images per channel (202 :class:`Computing` until the pass is done)."""
    lay = layout(model)
    pl = plan(model, data_dir)
    n = min(pl.n, MAX_IMAGES)
    key = ("tops", *model_key(model), pl.dataset, pl.source, n)
    what = f"Running {n:,} held-out images through {model.name}'s layers on ConvLab's engine"
    get = JOBS.wait if wait else JOBS.get
    return get(key, lambda p: _scan(model, lay, data_dir, n, p), what=what, total=n)


def check_channel(layer: FeatureLayer, channel: int) -> None:
    if not 0 <= channel < layer.shape[0]:
        raise ApiError(404, f"Layer {layer.name} has {layer.shape[0]} channels (0-{layer.shape[0] - 1}); "
                            f"there is no channel {channel}.")


def top_patches_json(model: Model, data_dir: Path | None, name: str, channel: int) -> dict:
    t0 = time.perf_counter()
    lay = layout(model)
    layer = lay.layer(name)
    check_channel(layer, channel)
    t = tops(model, data_dir)
    patches = []
    for rank, (i, value, row, col) in enumerate(t.tops[layer.tensor].channel(channel), 1):
        f = patch_field(lay.graph, lay.shapes, layer.tensor, row, col, lay.structure)
        label = int(t.data.y[i])
        patches.append({"rank": rank, "index": i, "file_index": int(t.data.file_index[i]),
                        "label": t.data.classes[label], "value": num(value), "row": row, "col": col,
                        "field": {"rows": list(f.rows), "cols": list(f.cols), "size": list(f.size),
                                  "whole": f.whole},
                        "image": data_url(t.data.image(i)), "url": heldout_url(model, i)})
    return {"model": model.name, "layer": {"name": layer.name, "label": layer.label, "op_type": layer.op_type,
                                           "shape": list(layer.shape)},
            "channel": channel, "input_shape": list(lay.shapes[lay.graph.inputs[0].name][1:]),
            "images_scanned": t.images, "source": t.data.description, "patches": patches,
            "precompute": {"seconds": round(t.seconds, 3), "images": t.images, "batch": t.batch},
            "lookup_ms": round((time.perf_counter() - t0) * 1e3, 3)}


_made: OrderedDict[tuple, dict] = OrderedDict()


def maximised_json(model: Model, name: str, channel: int, seed: int) -> dict:
    """The activation-maximisation image of ``channel`` of layer ``name`` (kept once made)."""
    lay = layout(model)
    layer = lay.layer(name)
    check_channel(layer, channel)
    key = (*model_key(model), name, channel, seed)
    with _lock:
        hit = _made.get(key)
        if hit is not None:
            _made.move_to_end(key)
            return hit
        sub = lay.subgraphs.get(layer.tensor)
        if sub is None:
            sub = lay.subgraphs[layer.tensor] = subgraph(lay.graph, layer.tensor)
    spec = model.input_spec
    c = int(spec["shape"][1])
    norm = normalisation(spec, c)
    lo, hi = norm.limits()
    shape = (1, c, int(spec["shape"][2]), int(spec["shape"][3]))
    try:
        m = maximise(channel_objective(sub, layer.tensor, channel), shape, lo, hi, steps=STEPS,
                     step_size=STEP_SIZE, decay=DECAY, every=EVERY, jitter=JITTER, seed=seed,
                     max_seconds=MAX_SECONDS)
    except GraphError as exc:
        raise ApiError(422, f"The engine could not run {model.name}: {exc}") from None
    pixels = norm.pixels(m.x[0])
    image = pixels[0] if c == 1 else pixels.transpose(1, 2, 0)
    answer = {"model": model.name, "layer": layer.name, "channel": channel, "seed": seed,
              "image": data_url(image), "size": [shape[2], shape[3]],
              "objective": {"start": num(m.history[0]), "end": num(m.history[-1]),
                            "history": [num(v) for v in m.history]},
              "steps": m.steps, "stopped_early": m.stopped_early, "seconds": round(m.seconds, 3),
              "settings": {"steps": STEPS, "step_size": STEP_SIZE, "decay": DECAY, "blur_every": EVERY,
                           "jitter_px": JITTER, "max_seconds": MAX_SECONDS}}
    with _lock:
        _made[key] = answer
        while len(_made) > MAX_IMAGES_KEPT:
            _made.popitem(last=False)
    return answer


def panels_json(model: Model, data_dir: Path | None) -> dict:
    """Whether the confusion matrix and the filter panels exist for ``model``, and if not why."""
    def check(fn) -> dict:
        try:
            fn()
        except ApiError as exc:
            return {"available": False, "reason": exc.detail}
        return {"available": True, "reason": None}

    return {"model": model.name, "confusion": check(lambda: confusion_plan(model, data_dir)),
            "filters": check(lambda: (layout(model), plan(model, data_dir)))}
