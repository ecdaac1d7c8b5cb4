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
               "steps_in_flight_per_client": int,
    "run_idle_s": float, "runs_per_client": int, "run_bytes": int, "grid": int,
    "confusion_images": int, "filters_shown": int}}``

``POST /api/learn/runs`` (JSON body: any of the options; unknown names -> 422)
    ``{"recipe": "lenet5", "dataset": "mnist", "optimizer": "adam", "learning_rate": 0.001,
    "batch_size": 64, "l2": 0, "dropout": 0, "activation": "relu", "batchnorm": false,
    "residual": false, "augment": "none", "seed": 0, "log_every": 10, "eval_every": 100,
    "val_size": 1000}``
    -> 201 *run summary*::

        {"run": "run-<22 URL-safe chars, 128 random bits>", "params": int,
         "config": {every option, defaults filled in}, "recipe_title": str,
         "preprocessing": {"input", "formula", "scale", "mean": [...], "std": [...]},
         "classes": [...], "layers": [...], "summary": "conv 6@5x5 pad 2 -> relu -> ...",
         "step": 0, "epoch": 0.0,
         "steps_per_epoch": int, "n_train": int, "n_val": int, "data": "subset"|"full",
         "curves": {"log_step": [], "log_loss": [], "log_acc": [],
                    "val_step": [], "val_acc": [], "val_loss": []},
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
         "validation": {"step", "accuracy", "loss"} | null  (made by this call, if any),
         "curves": {same six lists, points with step > since} (when since >= 0),
         "view": {...} (when view is true; see GET .../view)}

    409 when another step of the same run is in progress (or got in first: the run's
    version moved on); 409 after ``max_steps``; 429 + ``Retry-After`` when two of the
    owner's runs are already stepping in this process; 503 + ``Retry-After`` when the
    server's heavy-work slots are all busy; 404 when the run is unknown or expired. Any
    route that reads the run's images answers 503 + ``Retry-After`` while this process is
    still loading the data set (the full CIFAR-10's 50,000 JPEGs decode once, in seconds).

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

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from app.deps import HeavyDep, LearnDep
from app.errors import ApiError, error_responses
from app.schemas.learn import RunOptions, StepRequest
from app.services.learn_views import catalogue_json, image_png
from app.services.store_models import client_id
from course.learn import codegen
from course.learn.export import to_onnx
from course.learn.recipes import DATASETS

router = APIRouter(prefix="/api/learn", tags=["learn"])

RunId = Annotated[str, Path(max_length=64, description="the run's id, as POST /api/learn/runs "
                                                       "answered it")]


@router.get("/recipes")
def recipes(learn: LearnDep) -> dict:
    """The networks (with parameter counts and layers), the data sets (training and held-out
    sizes, and whether they are the full training sets or the subsets shipped with ConvLab),
    every option with its default and bounds, and this server's limits."""
    return catalogue_json(learn.data_dir, learn.limits)


@router.post("/runs", status_code=201, responses=error_responses(429, 507))
def create_run(request: Request, response: Response, learn: LearnDep, _: HeavyDep,
               options: RunOptions | None = None) -> dict:
    """Start a training run at step 0. Every option is optional (see ``GET
    /api/learn/recipes``); an unknown option or a value out of bounds is a 422 that names it.
    The answer's ``run`` is the run's private id (128 random bits): whoever holds it can
    step, export or delete the run. Runs count against caps per browser (the
    ``convlab_client`` cookie), per network address and for the server (429 or 507)."""
    chosen = options.model_dump(exclude_none=True) if options is not None else {}
    owner = client_id(request, response)
    return learn.create(chosen, owner=owner,
                        address=request.client.host if request.client else "")


@router.get("/runs/{run}", responses=error_responses(503))
def get_run(run: RunId, learn: LearnDep) -> dict:
    """The run: its config, step, epoch and curves so far (train loss and accuracy every
    ``log_every`` steps, validation accuracy every ``eval_every`` steps)."""
    return learn.summary(run)


@router.post("/runs/{run}/steps", responses=error_responses(409, 429))
def run_steps(run: RunId, body: StepRequest, learn: LearnDep, _: HeavyDep) -> dict:
    """Train: up to ``steps`` steps, stopping after about a second (one step at least).
    Answers the new step, epoch, this call's mean loss and training accuracy, images per
    second, the validation point made by this call if any, the curve points after
    ``since`` and, with ``view``, what the page draws. 409 while another request steps
    the same run; 429 with ``Retry-After`` while two of this browser's runs are already
    stepping; 503 with ``Retry-After`` when the server is busy."""
    return learn.step(run, body.steps, view=body.view, since=body.since)


@router.get("/runs/{run}/view")
def run_view(run: RunId, learn: LearnDep, _: HeavyDep,
             image: Annotated[int, Query(ge=0, le=100_000,
                                         description="held-out image for the feature maps")] = 0
             ) -> dict:
    """What a live page draws: first-layer filters, the feature maps of one held-out image
    through every layer, predictions for a fixed grid of held-out images, and the confusion
    matrix with the ids of the images in each cell."""
    return learn.view(run, image)


@router.post("/runs/{run}/reset", responses=error_responses(409))
def reset_run(run: RunId, learn: LearnDep, _: HeavyDep) -> dict:
    """Back to step 0 with the same options and seed: the same start, bit for bit."""
    return learn.reset(run)


@router.delete("/runs/{run}", status_code=204)
def delete_run(run: RunId, learn: LearnDep) -> Response:
    """Delete the run (whoever holds its id may)."""
    if not learn.delete(run):
        raise learn.missing(run)
    return Response(status_code=204)


@router.get("/runs/{run}/model.onnx", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}},
                             "description": "the ONNX file"}})
def run_onnx(run: RunId, learn: LearnDep, _: HeavyDep) -> Response:
    """The trained network as ONNX (opset 17): input ``input`` float32 N x C x H x W,
    normalised as the run's ``preprocessing`` says; output ``probabilities`` N x 10.
    POST it to ``/api/models`` (with the run's mean and std) to classify with it."""
    state = learn.state(run)
    name = f"convlab-{state.config.recipe}-step{state.step}.onnx"
    return Response(to_onnx(state), media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/runs/{run}/code", response_class=Response,
            responses={200: {"content": {"text/x-python": {}}, "description": "the script"}})
def run_code(run: RunId, learn: LearnDep,
             framework: Annotated[Literal["pytorch", "keras"], Query()] = "pytorch",
             epochs: Annotated[int, Query(ge=1, le=100)] = 5) -> Response:
    """The same network and training loop as a Python script (PyTorch or Keras) to run at
    home, with the run's options, normalisation and held-out split."""
    state = learn.state(run)
    try:
        text = codegen.code(state.config, framework, epochs)
    except ValueError as exc:
        raise ApiError(422, str(exc)) from None
    name = f"convlab_{state.config.recipe.replace('-', '_')}_{framework}.py"
    return Response(text, media_type="text/x-python",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/datasets/{dataset}/images/{i}", response_class=Response,
            responses={200: {"content": {"image/png": {}}, "description": "the image"},
                       **error_responses(503)})
def dataset_image(dataset: Annotated[Literal["mnist", "cifar10"], Path()],
                  i: Annotated[int, Path(ge=0, le=100_000)], learn: LearnDep) -> Response:
    """Held-out image ``i`` of a data set as a PNG at its own size (the ids the views
    name); its label index in the ``X-Label`` header."""
    data = learn.data(dataset)
    if i >= len(data.val_y):
        raise ApiError(404, f"{dataset} has {len(data.val_y)} held-out images here; "
                            f"ids run from 0 to {len(data.val_y) - 1}.")
    label = int(data.val_y[i])
    return Response(image_png(data, i), media_type="image/png",
                    headers={"X-Label": str(label),
                             "X-Class": DATASETS[dataset].classes[label],
                             "Cache-Control": "public, max-age=3600"})
