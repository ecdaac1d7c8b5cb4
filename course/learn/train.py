"""Training steps within a time budget, validation, and what a live page draws.

Data come in as raw uint8 images (:class:`LearnData`); each batch is normalised as
the data set's ``preprocessing`` says (the ONNX export expects the same input). One
step: a batch from this epoch's shuffled order, augmentation, forward in training mode,
softmax cross-entropy, backward, one optimiser update. Every ``log_every`` steps the
mean loss and training accuracy of those steps become a curve point; every
``eval_every`` steps the first ``val_size`` held-out images are scored.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from course.learn import optim
from course.learn.network import Net
from course.learn.recipes import DATASETS
from course.learn.state import RunState
from engine.ops.dense import cross_entropy_backward, cross_entropy_forward, softmax_forward

__all__ = [
    "LearnData",
    "StepReport",
    "confusion",
    "evaluate",
    "feature_maps",
    "filters",
    "normalise",
    "predict",
    "predictions",
    "steps",
]

SHIFT = 2  # augmentation: random shifts of up to this many pixels
EVAL_CHUNK = 128  # images per forward pass when scoring: bounds memory (500 took 4x the time)


class LearnData(NamedTuple):
    """A data set as uint8 images ``(N, C, H, W)`` (or ``(N, H, W)``) and int labels."""

    dataset: str
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray


class StepReport(NamedTuple):
    steps: int  # steps done by this call
    step: int  # the run's step count now
    epoch: float
    loss: float  # mean training loss over this call's steps (nan if none)
    train_acc: float  # mean training accuracy over this call's steps
    images_per_s: float
    seconds: float
    val_acc: float | None  # the latest validation point made by this call, if any


def normalise(images: np.ndarray, dataset: str) -> np.ndarray:
    """uint8 ``(N, C, H, W)`` or ``(N, H, W)`` -> float32 ``(pixel/255 - mean) / std``."""
    d = DATASETS[dataset]
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[:, None]
    if x.shape[1:] != d.shape:
        raise ValueError(f"{dataset} images must be {d.shape} (C, H, W), got {x.shape[1:]}")
    mean = np.array(d.mean, np.float32)[None, :, None, None]
    scale = np.array([1 / (255 * s) for s in d.std], np.float32)[None, :, None, None]
    return (x.astype(np.float32) - mean * np.float32(255)) * scale


@lru_cache(maxsize=4)
def _epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, 2, epoch]).permutation(n)


def _augment(x: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    """Random shifts (zero fill) and/or horizontal flips of a uint8 batch (N, C, H, W)."""
    n, _, h, w = x.shape
    if "flip" in how:
        flip = np.less(rng.random(n), 0.5)
        x = np.where(flip[:, None, None, None], x[..., ::-1], x)
    if "shift" in how:
        dy, dx = rng.integers(-SHIFT, SHIFT + 1, size=(2, n))
        padded = np.zeros((n, x.shape[1], h + 2 * SHIFT, w + 2 * SHIFT), x.dtype)
        padded[:, :, SHIFT:SHIFT + h, SHIFT:SHIFT + w] = x
        rows = (SHIFT - dy)[:, None] + np.arange(h)  # (N, H)
        cols = (SHIFT - dx)[:, None] + np.arange(w)
        x = padded[np.arange(n)[:, None, None, None], np.arange(x.shape[1])[None, :, None, None],
                   rows[:, None, :, None], cols[:, None, None, :]]
    return x


def _batch(state: RunState, data: LearnData, rng: np.random.Generator):
    cfg = state.config
    epoch, k = divmod(state.step, state.steps_per_epoch)
    order = _epoch_order(cfg.seed, epoch, state.n_train)
    idx = np.sort(order[k * cfg.batch_size:(k + 1) * cfg.batch_size])
    x = data.train_x[idx]
    x = x[:, None] if x.ndim == 3 else x
    if cfg.augment != "none":
        x = _augment(x, cfg.augment, rng)
    return normalise(x, cfg.dataset), np.asarray(data.train_y[idx], np.int64)


def steps(state: RunState, data: LearnData, n: int, time_budget_s: float = 1.0) -> StepReport:
    """Up to ``n`` training steps on ``state`` (in place), stopping once ``time_budget_s``
    has passed (at least one step is done when ``n >= 1``)."""
    cfg = state.config
    if data.dataset != cfg.dataset or len(data.train_y) != state.n_train:
        raise ValueError(f"run was made for {state.n_train} {cfg.dataset} training images, "
                         f"got {len(data.train_y)} {data.dataset} ones")
    net = Net(cfg)
    start = time.perf_counter()
    done, loss_sum, correct, seen, val_acc = 0, 0.0, 0, 0, None
    while done < n and (done == 0 or time.perf_counter() - start < time_budget_s):
        rng = np.random.default_rng([cfg.seed, 1, state.step])
        x, y = _batch(state, data, rng)
        logits, caches = net.forward(state.params, state.buffers, x, train=True, rng=rng)
        loss, ce_cache = cross_entropy_forward(logits, y)
        grads = net.backward(caches, cross_entropy_backward(ce_cache))
        state.step += 1
        optim.update(state.params, grads, state.moments, optimizer=cfg.optimizer,
                     lr=cfg.learning_rate, l2=cfg.l2, t=state.step)
        hits = int((logits.argmax(axis=1) == y).sum())
        done, loss_sum, correct, seen = done + 1, loss_sum + loss, correct + hits, seen + len(y)
        _log(state, loss, hits, len(y))
        if state.step % cfg.eval_every == 0:
            val_acc, val_loss = score(state, data, cfg.val_size)
            _append(state, val_step=state.step, val_acc=val_acc, val_loss=val_loss)
    seconds = time.perf_counter() - start
    return StepReport(done, state.step, state.epoch, loss_sum / done if done else float("nan"),
                      correct / seen if seen else float("nan"),
                      seen / seconds if seconds > 0 else 0.0, seconds, val_acc)


def _log(state: RunState, loss: float, hits: int, count: int) -> None:
    p = state.pending
    p["loss"] += loss
    p["correct"] += hits
    p["seen"] += count
    p["steps"] += 1
    if state.step % state.config.log_every == 0:
        _append(state, log_step=state.step, log_loss=p["loss"] / p["steps"],
                log_acc=p["correct"] / p["seen"])
        state.pending = {"loss": 0.0, "correct": 0.0, "seen": 0.0, "steps": 0.0}


def _append(state: RunState, **points: float) -> None:
    for name, value in points.items():
        old = state.curves[name]
        state.curves[name] = np.append(old, np.array(value, dtype=old.dtype))


def predict(state: RunState, images: np.ndarray) -> np.ndarray:
    """Softmax probabilities ``(N, 10)`` of uint8 images, in inference mode."""
    net, x = Net(state.config), normalise(images, state.config.dataset)
    out = []
    for i in range(0, len(x), EVAL_CHUNK):
        logits, _ = net.forward(state.params, state.buffers, x[i:i + EVAL_CHUNK], train=False)
        out.append(softmax_forward(logits, axis=1)[0])
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


def evaluate(state: RunState, data: LearnData, limit: int | None = None) -> float:
    """Accuracy on the first ``limit`` held-out images (all of them by default)."""
    return score(state, data, limit)[0]


def score(state: RunState, data: LearnData, limit: int | None = None) -> tuple[float, float]:
    """Accuracy and mean cross-entropy on the first ``limit`` held-out images."""
    sl = slice(0, limit)
    probs = predict(state, data.val_x[sl])
    labels = np.asarray(data.val_y[sl], np.int64)
    picked = probs[np.arange(len(labels)), labels].astype(np.float64)
    loss = float(-np.log(np.maximum(picked, np.finfo(np.float32).tiny)).mean())
    return float((probs.argmax(axis=1) == labels).mean()), loss


def predictions(state: RunState, data: LearnData, count: int = 64) -> dict[str, Any]:
    """The first ``count`` held-out images' labels, predicted labels and confidences."""
    probs = predict(state, data.val_x[:count])
    pred = probs.argmax(axis=1)
    return {"labels": np.asarray(data.val_y[:count], np.int64), "predicted": pred,
            "confidence": probs[np.arange(len(pred)), pred], "wrong": pred != data.val_y[:count]}


def confusion(state: RunState, data: LearnData, limit: int | None = None) -> dict[str, Any]:
    """Confusion matrix ``[true, predicted]`` over the first ``limit`` held-out images, and
    for each image its prediction (a cell's images: ``(labels == t) & (predicted == p)``)."""
    probs = predict(state, data.val_x[slice(0, limit)])
    pred = probs.argmax(axis=1)
    labels = np.asarray(data.val_y[slice(0, limit)], np.int64)
    k = probs.shape[1]
    matrix = np.bincount(labels * k + pred, minlength=k * k).reshape(k, k)
    return {"matrix": matrix, "labels": labels, "predicted": pred}


def filters(state: RunState) -> np.ndarray:
    """The first layer's filters as images: conv ``(F, C, KH, KW)``; for the MLP, each of
    the first dense layer's rows as an input-shaped image ``(units, C, H, W)``."""
    first = next(layer for layer in Net(state.config).layers if layer.kind in ("conv", "dense"))
    w = state.params[first.name + ".weight"]
    return w if w.ndim == 4 else w.reshape(w.shape[0], *DATASETS[state.config.dataset].shape)


def feature_maps(state: RunState, image: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Every layer's output for one uint8 image, inference mode: ``[(label, (C, H, W) or
    (D,)), ...]``, the label naming the layer (``conv1``, ``relu``, ``pool 2``, ...)."""
    net, keep = Net(state.config), list[np.ndarray]()
    net.forward(state.params, state.buffers, normalise(image[None], state.config.dataset),
                train=False, keep=keep)
    out = []
    for layer, value in zip(net.layers, keep, strict=True):
        label = layer.name or layer.kind
        if layer.kind == "act":
            label = state.config.activation
        elif layer.kind == "pool":
            label = f"max pool {layer.kernel}"
        out.append((label, value[0]))
    return out
