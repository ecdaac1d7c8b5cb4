"""Why a model answered: Grad-CAM, saliency, the randomisation check and FGSM for one
image, as JSON. The maths is :mod:`engine.explain.gradcam` and
:mod:`engine.explain.adversarial` over :func:`engine.graph.backward`; this module picks
the layer and class a request names, runs the engine, and encodes the answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np

from app.encode import num, tensor_json
from app.errors import ApiError
from app.services.model import Model, as_probabilities
from app.services.preprocess import normalisation
from engine.explain import adversarial, gradcam
from engine.graph import Graph, GraphError, backward, run

#: Randomised copies of models kept for the sanity check (each shares all but its last
#: layer's weights with the model): the last few models asked about.
_RANDOM_KEEP = 4
_random: OrderedDict[int, tuple[Graph, Graph]] = OrderedDict()
_random_lock = threading.Lock()
SANITY_SEED = 0


def _engine(model: Model, what):
    try:
        return what()
    except GraphError as exc:
        raise ApiError(422, f"The engine could not run {model.name} on this input: {exc}") from None


def _softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64).reshape(-1)
    e = np.exp(z - z.max())
    return e / e.sum()


def pick_target(model: Model, target: str | None, probs: np.ndarray) -> int:
    """The class a request names (an index or a label); the top class when none."""
    if target is None or target.strip() == "":
        return int(np.argmax(probs))
    classes = model.classes
    t = target.strip()
    if t in classes:
        return classes.index(t)
    if t.isascii() and t.isdigit() and int(t) < len(classes):
        return int(t)
    shown = ", ".join(classes[:20]) + (" ..." if len(classes) > 20 else "")
    raise ApiError(422, f"target {t[:40]!r} is not a class of {model.name}: give an index "
                        f"0-{len(classes) - 1} or one of {shown}")


def pick_layer(model: Model, layers: list[gradcam.CamLayer], layer: str | None) -> gradcam.CamLayer | None:
    """The conv layer a request names (its title, tensor or Conv node name); by default
    the last one whose maps are larger than 1 x 1. None for a model without conv layers
    when no layer is asked for (saliency needs none)."""
    if not layers and not layer:
        return None
    if not layers:
        raise ApiError(422, f"{model.name} has no convolutional layer, so there is no Grad-CAM "
                            "to compute; its saliency map is in the answer without a layer.")
    if layer is None or layer.strip() == "":
        spatial = [lay for lay in layers if lay.shape[1] * lay.shape[2] > 1]
        return (spatial or layers)[-1]
    for lay in layers:  # a node or tensor name first: an upload may call a node "conv1"
        if layer in (lay.tensor, lay.conv):
            return lay
    for lay in layers:
        if layer == lay.title:
            return lay
    raise ApiError(422, f"layer {layer[:80]!r} is not a conv layer of {model.name}; "
                        f"choose one of {', '.join(lay.title for lay in layers)}")


def _randomised(graph: Graph) -> Graph:
    with _random_lock:
        hit = _random.get(id(graph))
        if hit is not None and hit[0] is graph:
            _random.move_to_end(id(graph))
            return hit[1]
    copy = gradcam.randomised_top(graph, seed=SANITY_SEED)
    with _random_lock:
        _random[id(graph)] = (graph, copy)
        while len(_random) > _RANDOM_KEEP:
            _random.popitem(last=False)
    return copy


def _cam_for(graph: Graph, x: np.ndarray, logit: str, lay: gradcam.CamLayer | None,
             target: int, tensors=None):
    """(input gradient, Grad-CAM or None) of class ``target``'s score."""
    if tensors is None:
        tensors = run(graph, x)
    z = tensors[logit]
    seed = np.zeros_like(z)
    seed.reshape(-1)[target] = 1.0
    input_name = graph.inputs[0].name
    wrt = [input_name] + ([lay.tensor] if lay is not None else [])
    grads = backward(graph, tensors, {logit: seed}, wrt=wrt)
    cam = None if lay is None else gradcam.grad_cam(
        tensors[lay.tensor], grads[lay.tensor], x.shape[-2:],
        gradcam.field_grid(graph, tensors, lay.tensor))
    return grads[input_name], cam


def gradcam_json(model: Model, x: np.ndarray, *, target: str | None, layer: str | None,
                 check: bool) -> dict:
    """Grad-CAM and saliency of ``x`` (1, C, H, W) for a class; with ``check`` also the
    Grad-CAM of the model with random class-score weights and the rank correlation.
    A model without conv layers gets its saliency only (``layer`` and ``heatmap`` null)."""
    t0 = time.perf_counter()
    graph = model.graph()
    logit = gradcam.logit_tensor(graph)
    tensors = _engine(model, lambda: run(graph, x))
    scores = np.asarray(tensors[logit], np.float64).reshape(-1)
    has_softmax = logit != graph.outputs[0].name
    # Without a softmax in the graph the scores become probabilities as /predict makes them.
    probs = _softmax(scores) if has_softmax else as_probabilities(scores[None], model.name)[0]
    if scores.size != len(model.classes):
        raise ApiError(422, f"{model.name} gives {scores.size} scores for {len(model.classes)} classes")
    c = pick_target(model, target, probs)
    layers = gradcam.cam_layers(graph, tensors)
    lay = pick_layer(model, layers, layer)
    grad_x, cam = _engine(model, lambda: _cam_for(graph, x, logit, lay, c, tensors))
    t1 = time.perf_counter()
    classes = model.classes
    top = int(np.argmax(probs))
    what = "the score of" if has_softmax else "the model's output for"
    out: dict = {
        "model": model.name,
        "target": {"index": c, "label": classes[c], "probability": num(probs[c]),
                   "score": num(scores[c])},
        "top": {"index": top, "label": classes[top]},
        "layers": [_layer_json(one) for one in layers],
        "layer": None, "heatmap": None, "hot": None, "cam": None, "alphas": None,
        "formula": None,
        "saliency": tensor_json(gradcam.saliency(grad_x), decimals=4),
    }
    if lay is not None and cam is not None:
        h, w = lay.shape[1:]
        order = np.argsort(-np.abs(cam.alphas))[:5]
        out.update({
            "layer": _layer_json(lay),
            "heatmap": tensor_json(cam.heat, decimals=4),
            "hot": _hot(cam.heat),
            "cam": tensor_json(gradcam.scale01(cam.cam), decimals=4),
            "alphas": [num(a, 4) for a in cam.alphas],
            "formula": {
                "alpha": f"alpha_k = (1 / {h * w}) × sum over the {h}×{w} positions of d y / d A^k",
                "map": f"L = ReLU(sum over the {lay.shape[0]} maps of alpha_k × A^k), "
                       f"scaled to 0..1 and resized from {h}×{w} to {x.shape[-2]}×{x.shape[-1]}",
                "score": f"y = {num(scores[c], 5)}, {what} '{classes[c]}'"
                         + (" before softmax" if has_softmax else ""),
                "largest": [{"k": int(k), "alpha": num(cam.alphas[k], 4)} for k in order],
            },
        })
        if check:
            out["sanity"] = _sanity(model, graph, x, logit, lay, c, cam)
    out["timing_ms"] = {"explain": round((t1 - t0) * 1e3, 3),
                        "total": round((time.perf_counter() - t0) * 1e3, 3)}
    return out


def _sanity(model: Model, graph: Graph, x: np.ndarray, logit: str, lay: gradcam.CamLayer,
            c: int, cam: gradcam.GradCam) -> dict:
    """The randomisation check: Grad-CAM of the model with random class-score weights."""
    try:
        rgraph = _randomised(graph)
    except ValueError as exc:  # e.g. class-score weights computed, not stored
        return {"available": False, "reason": f"no random model to compare with: {exc}"}
    _, rcam = _engine(model, lambda: _cam_for(rgraph, x, logit, lay, c))
    if rcam is None:
        return {"available": False, "reason": "no Grad-CAM for the random model"}
    r = gradcam.rank_correlation(cam.heat, rcam.heat)
    return {
        "available": True,
        "randomised": gradcam.top_weights(graph),
        "seed": SANITY_SEED,
        "heatmap": tensor_json(rcam.heat, decimals=4),
        "rank_correlation": None if r is None else num(r, 4),
        "empty": [bool(not np.any(cam.heat > 0)), bool(not np.any(rcam.heat > 0))],
    }


def _hot(heat: np.ndarray) -> dict | None:
    """Where a [0, 1] map is strongest: its peak and the box of values >= 0.5."""
    if not np.any(heat > 0):
        return None
    rows, cols = np.nonzero(heat >= 0.5)
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return {"peak": [int(peak[0]), int(peak[1])], "rows": [int(rows.min()), int(rows.max())],
            "cols": [int(cols.min()), int(cols.max())]}


def _layer_json(lay: gradcam.CamLayer) -> dict:
    c, h, w = lay.shape
    return {"title": lay.title, "tensor": lay.tensor, "conv": lay.conv,
            "shape": [c, h, w], "shape_hwc": f"{h}×{w}×{c}"}


def _pixel_range(model: Model, channels: int) -> tuple[list[float], list[float], list[float]]:
    """Per channel: std as a share of the pixel range, and the model-unit values of pixel 0
    and pixel 255."""
    norm = normalisation(model.input_spec, channels)
    lo, hi = norm.limits()
    # x = (pixel * scale - mean) / std: one pixel unit (1/255 of the range) is scale*255/std
    return (norm.std / (255.0 * norm.scale)).tolist(), lo.tolist(), hi.tolist()


def _infer_each(model: Model, images: np.ndarray) -> np.ndarray:
    """Probabilities for a batch, one image at a time when the model's batch size is fixed."""
    batch = model.session.get_inputs()[0].shape[0]  # an int when the ONNX file fixes it
    if isinstance(batch, int) and batch > 0 and batch != len(images):
        return np.concatenate([model.infer(images[i:i + 1]) for i in range(len(images))])
    return model.infer(images)


def fgsm_json(model: Model, x: np.ndarray) -> dict:
    """FGSM on ``x``: each step of the ladder, its answer, and the smallest that flips it."""
    t0 = time.perf_counter()
    graph = model.graph()
    logit = gradcam.logit_tensor(graph)
    tensors = _engine(model, lambda: run(graph, x))
    probs = model.infer(x)[0]
    label = int(np.argmax(probs))
    if logit == graph.outputs[0].name:  # no softmax in the graph: the loss of its output
        seed = -np.eye(len(probs), dtype=np.float32)[label].reshape(tensors[logit].shape)
    else:  # cross-entropy of the chosen class: d loss / d scores = p - onehot
        p = _softmax(tensors[logit])
        seed = (p - np.eye(len(p))[label]).astype(np.float32).reshape(tensors[logit].shape)
    name = graph.inputs[0].name
    grad = _engine(model, lambda: backward(graph, tensors, {logit: seed}, wrt=[name]))[name]
    std, lo, hi = _pixel_range(model, x.shape[1])
    images = adversarial.fgsm_images(x, grad, std, lo, hi)
    new = _infer_each(model, images)
    flip = adversarial.first_flip(new, label)
    classes = model.classes
    steps = [{"epsilon": num(e, 6), "grey_levels": round(e * 255),
              "label": classes[int(np.argmax(row))], "index": int(np.argmax(row)),
              "probability": num(float(np.max(row)), 4),
              "probability_original": num(float(row[label]), 4)}
             for e, row in zip(adversarial.LADDER, new, strict=True)]
    out: dict = {
        "model": model.name,
        "original": {"index": label, "label": classes[label], "probability": num(probs[label], 4)},
        "ladder": steps,
        "flipped_at": flip,
    }
    if flip is not None:
        delta = (images[flip] - x[0]) * np.asarray(std).reshape(-1, 1, 1)  # back to pixel units
        out["perturbation"] = tensor_json(delta, decimals=5)
        out["adversarial"] = tensor_json(images[flip], decimals=5)
        out["probabilities"] = [num(p, 5) for p in new[flip]]
    out["timing_ms"] = {"total": round((time.perf_counter() - t0) * 1e3, 3)}
    return out
