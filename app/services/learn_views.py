"""A training run as JSON: its summary, curves, and what a live page draws (the shapes are
listed in app/routers/learn.py's docstring). Tensors go out as float16 base64
(:func:`app.encode.f16_json`)."""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from app.encode import f16_json
from app.services.learn_limits import LearnLimits
from course.learn import LearnData, RunState, catalogue, feature_maps, filters, predict
from course.learn.recipes import DATASETS, RECIPES, Config, Layer, layers

#: Held-out images whose predictions the page shows as a grid (ids 0..GRID-1).
GRID = 64
#: Held-out images the confusion matrix counts (ids 0..CONFUSION_IMAGES-1).
CONFUSION_IMAGES = 500
#: First-layer filters sent (keras-mlp's first layer has 512 rows).
FILTERS_SHOWN = 64

_LAYER_FIELDS = ("kind", "name", "units", "kernel", "pad", "rate")


def layer_json(layer: Layer) -> dict[str, Any]:
    """A layer of a recipe; its kernel as ``kernel_size``, the API's one name for it."""
    d = asdict(layer)
    return {("kernel_size" if k == "kernel" else k): d[k] for k in _LAYER_FIELDS
            if d[k] or k == "kind"}


def layer_summary(config: Config) -> str:
    words = []
    for layer in layers(config):
        if layer.kind == "conv":
            words.append(f"conv {layer.units}@{layer.kernel}x{layer.kernel}"
                         + (f" pad {layer.pad}" if layer.pad else ""))
        elif layer.kind == "act":
            words.append(config.activation)
        elif layer.kind == "pool":
            words.append(f"max pool {layer.kernel}")
        elif layer.kind == "dense":
            words.append(f"dense {layer.units}")
        elif layer.kind == "dropout":
            words.append(f"dropout {layer.rate:g}")
        elif layer.kind == "residual":
            words.append(f"residual block ({layer.units} ch)")
        else:
            words.append(layer.kind)
    return " -> ".join(words + ["softmax"])


def catalogue_json(data_dir: Path | None, limits: LearnLimits) -> dict[str, Any]:
    """``GET /api/learn/recipes``: course.learn's catalogue with layers, data sizes, limits."""
    from app.services import learn_data

    cat = catalogue()
    for entry in cat["recipes"]:
        config = Config.make(recipe=entry["name"])
        entry["layers"] = [layer_json(x) for x in layers(config)]
        entry["summary"] = layer_summary(config)
    for entry in cat["datasets"]:
        entry.update(learn_data.describe(entry["name"], data_dir))
    cat["limits"] = {"steps_per_call": _max_steps_per_call(), "time_budget_s": limits.time_budget_s,
                     "max_steps": limits.max_steps, "run_idle_s": limits.idle_s,
                     "runs_per_client": limits.runs_per_client, "run_bytes": limits.run_bytes,
                     "steps_in_flight_per_client": limits.steps_in_flight_per_client,
                     "grid": GRID, "confusion_images": CONFUSION_IMAGES,
                     "filters_shown": FILTERS_SHOWN}
    return cat


def _max_steps_per_call() -> int:
    from app.schemas.learn import MAX_STEPS_PER_CALL

    return MAX_STEPS_PER_CALL


def curves_json(state: RunState, since: int = -1) -> dict[str, list]:
    """The five curve lists, points with step > ``since`` (all of them for -1)."""
    c = state.curves
    log_keep = c["log_step"] > since
    val_keep = c["val_step"] > since
    return {"log_step": c["log_step"][log_keep].tolist(),
            "log_loss": _floats(c["log_loss"][log_keep]),
            "log_acc": _floats(c["log_acc"][log_keep]),
            "val_step": c["val_step"][val_keep].tolist(),
            "val_acc": _floats(c["val_acc"][val_keep]),
            "val_loss": _floats(c["val_loss"][val_keep])}


def _floats(a: np.ndarray) -> list[float | None]:
    return [round(float(v), 6) if np.isfinite(v) else None for v in a]


def summary_json(run: str, state: RunState, data: LearnData, meta: dict,
                 limits: LearnLimits) -> dict[str, Any]:
    cfg = state.config
    from course.learn import param_count

    return {"run": run, "params": param_count(cfg), "config": cfg.to_dict(),
            "recipe_title": RECIPES[cfg.recipe].title,
            "preprocessing": DATASETS[cfg.dataset].preprocessing(),
            "classes": list(DATASETS[cfg.dataset].classes),
            "layers": [layer_json(x) for x in layers(cfg)], "summary": layer_summary(cfg),
            "step": state.step, "epoch": state.epoch, "steps_per_epoch": state.steps_per_epoch,
            "n_train": state.n_train, "n_val": len(data.val_y),
            "data": meta.get("source", "subset"), "curves": curves_json(state),
            "max_steps": limits.max_steps, "idle_s": limits.idle_s}


def view_json(state: RunState, data: LearnData, image: int = 0) -> dict[str, Any]:
    """Filters, one image's feature maps, the prediction grid and the confusion matrix."""
    n = min(CONFUSION_IMAGES, len(data.val_y))
    probs = predict(state, data.val_x[:n])
    pred = probs.argmax(axis=1)
    labels = np.asarray(data.val_y[:n], np.int64)
    k = probs.shape[1]
    cells: list[list[list[int]]] = [[[] for _ in range(k)] for _ in range(k)]
    for i, (t, p) in enumerate(zip(labels.tolist(), pred.tolist(), strict=True)):
        cells[t][p].append(i)
    g = min(GRID, n)
    w = filters(state)
    first = next(x for x in layers(state.config) if x.kind in ("conv", "dense"))
    maps = feature_maps(state, np.asarray(data.val_x[image]))
    return {
        "step": state.step,
        "filters": {"layer": first.name, "count": int(w.shape[0]),
                    "tensor": f16_json(w[:FILTERS_SHOWN])},
        "feature_maps": {"image": image, "label": int(data.val_y[image]),
                         "layers": [{"label": label, "tensor": f16_json(v)}
                                    for label, v in maps]},
        "predictions": {"ids": list(range(g)), "labels": labels[:g].tolist(),
                        "predicted": pred[:g].tolist(),
                        "confidence": [round(float(c), 4) for c in
                                       probs[np.arange(g), pred[:g]]],
                        "wrong": (pred[:g] != labels[:g]).tolist()},
        "confusion": {"matrix": np.bincount(labels * k + pred, minlength=k * k)
                      .reshape(k, k).tolist(), "images": n, "cells": cells},
    }


def image_png(data: LearnData, i: int) -> bytes:
    """Held-out image ``i`` as a PNG at its own size."""
    x = np.asarray(data.val_x[i])
    im = Image.fromarray(x[0], "L") if x.shape[0] == 1 else Image.fromarray(
        np.ascontiguousarray(x.transpose(1, 2, 0)), "RGB")
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()
