"""Watch a CNN learn: the course's networks trained live on the engine's own ops.

- :mod:`course.learn.recipes`: networks (``keras-mlp``, ``convnetjs``, ``lenet5``,
  ``cifar-cnn``), data sets and every option with its bounds (:func:`catalogue`).
- :mod:`course.learn.network`: a recipe's parameters and forward/backward passes.
- :mod:`course.learn.optim`: SGD, momentum, Adam and L2.
- :mod:`course.learn.state`: :class:`RunState`, exactly serialisable to bytes.
- :mod:`course.learn.train`: :func:`steps` within a time budget, validation, and the
  views a live page draws (predictions, confusion matrix, filters, feature maps).
- :mod:`course.learn.export`: the trained network as ONNX (written by
  :mod:`course.learn.onnx_proto`, no onnx package needed).
- :mod:`course.learn.codegen`: the same network and training loop as PyTorch or Keras code.

NumPy and the engine only at import time.
"""

from course.learn.recipes import DATASETS, OPTIONS, RECIPES, Config, catalogue, param_count
from course.learn.state import RunState, new_run, reset
from course.learn.train import (
    LearnData,
    StepReport,
    confusion,
    evaluate,
    feature_maps,
    filters,
    predict,
    predictions,
    steps,
)

__all__ = [
    "DATASETS",
    "OPTIONS",
    "RECIPES",
    "Config",
    "LearnData",
    "RunState",
    "StepReport",
    "catalogue",
    "confusion",
    "evaluate",
    "feature_maps",
    "filters",
    "new_run",
    "param_count",
    "predict",
    "predictions",
    "reset",
    "steps",
]
