"""Watch a CNN learn: training runs of the course's networks on the engine (issue 16).

The contract (the /learn page and teachers' notebooks use it; /docs shows it too)
================================================================================

Tensors in the answers are :func:`app.encode.f16_json` objects:
``{"shape": [...], "min", "max", "encoding": "f16-base64", "data": "<base64 float16, LE>"}``
(decode with a ``Uint16Array``; index row-first ``data[(c*H + y)*W + x]``).
Errors are ``{"detail": "<sentence>"}``; a 422 for an option names it and its bounds.

``GET /api/learn/recipes``
    ``{"recipes": [{"name", "title", "dataset", "note", "defaults": {option: value},
    "params": int, "layers": [{"kind", "name", "units", "kernel", "pad", "rate"}],
    "summary": "conv 6@5x5 pad 2 -> relu -> ..."}],
    "datasets": [{"name", "title", "shape": [C, H, W], "classes": [...],
    "preprocessing": {...}, "train": int, "val": int, "source": "subset" | "full",
    "licence": str}],
    "options": {name: {"kind": "choice"|"float"|"int"|"bool", "default", "min", "max",
    "choices", "help"}},
    "limits": {"steps_per_call": int, "time_budget_s": float, "max_steps": int,
    "run_idle_s": float, "runs_per_client": int, "run_bytes": int, "grid": int,
    "confusion_images": int}}``

``POST /api/learn/runs`` (JSON body: any of the options; unknown names -> 422)
    ``{"recipe": "lenet5", "dataset": "mnist", "optimizer": "adam", "learning_rate": 0.001,
    "batch_size": 64, "l2": 0, "dropout": 0, "activation": "relu", "batchnorm": false,
    "residual": false, "augment": "none", "seed": 0, "log_every": 10, "eval_every": 100,
    "val_size": 1000}``
    -> 201 *run summary*::

        {"run": "run-<22 URL-safe chars, 128 random bits>", "params": int,
         "config": {every option, defaults filled in}, "preprocessing": {...},
         "classes": [...], "layers": [...], "step": 0, "epoch": 0.0,
         "steps_per_epoch": int, "n_train": int, "n_val": int, "data": "subset"|"full",
         "curves": {"log_step": [], "log_loss": [], "log_acc": [],
                    "val_step": [], "val_acc": []},
         "max_steps": int, "idle_s": float}

    429 when the browser (``convlab_client`` cookie) or its network address already
    keeps as many runs as allowed, or the bytes cap is reached; 507 when the server's
    store of runs is full.

``POST /api/learn/runs/{run}/steps`` body ``{"steps": 1..1000 (default 50),
"view": true|false (default false), "since": step (default: -1 = no curves)}``
    Up to ``steps`` training steps, stopping after about ``limits.time_budget_s`` (one
    step at least). Answer::

        {"run", "step", "epoch", "steps_done", "loss", "train_accuracy",
         "images_per_second", "seconds",
         "validation": {"step", "accuracy"} | null  (made by this call, if any),
         "curves": {same five lists, points with step > since} (when since >= 0),
         "view": {...} (when view is true; see GET .../view)}

    409 when another step of the same run is in progress (or got in first: the run's
    version moved on); 409 after ``max_steps``; 503 + ``Retry-After`` when the server's
    heavy-work slots are all busy; 404 when the run is unknown or expired.

``GET /api/learn/runs/{run}``
    the run summary (as POST answers, with ``step``, ``epoch`` and the curves so far).

``GET /api/learn/runs/{run}/view?image=0``
    What a live page draws, for the run as it is now::

        {"step",
         "filters": {"layer": "conv1", "tensor": f16 (F, C, KH, KW), "count": total F}
                    (keras-mlp: the first 64 rows of fc1 as (64, C, H, W) images),
         "feature_maps": {"image": id, "label": int,
                          "layers": [{"label": "conv1"|"relu"|"max pool 2"|...,
                                      "tensor": f16 (C, H, W) or (D,)}]},
         "predictions": {"ids": [0..grid-1], "labels": [...], "predicted": [...],
                         "confidence": [...], "wrong": [...]},
         "confusion": {"matrix": 10x10 ints [true][predicted], "images": n,
                       "cells": 10x10 lists of image ids}}

    Image ids index the data set's held-out (validation) images; ``image`` picks the
    feature-map image (default 0).

``GET /api/learn/datasets/{dataset}/images/{i}``
    held-out image ``i`` as a PNG at its own size (28x28 grey, 32x32 RGB); the label
    in the ``X-Label`` header. Public and cacheable.

``POST /api/learn/runs/{run}/reset``
    the run back to step 0 with the same seed: the same start, bit for bit. Answers the
    run summary.

``DELETE /api/learn/runs/{run}``
    204.

``GET /api/learn/runs/{run}/model.onnx``
    the trained network, ONNX opset 17, input ``input`` float32 N x C x H x W normalised
    as ``preprocessing`` says, output ``probabilities`` N x 10 (as a download,
    ``application/octet-stream``). The classify page can POST it to ``/api/models`` with
    the run's mean/std.

``GET /api/learn/runs/{run}/code?framework=pytorch|keras``
    the same network and training loop as a Python script (``text/x-python``, a download).

Runs live in the shared store (app/services/store.py, namespace ``learn``), so any
process on any host serves any step; a run unused for ``limits.run_idle_s`` is deleted.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.errors import ApiError

router = APIRouter(prefix="/api/learn", tags=["learn"])


@router.get("/recipes")
def recipes() -> dict:
    """Networks, data sets, options with bounds and the server's limits (stub)."""
    raise ApiError(501, "not yet")
