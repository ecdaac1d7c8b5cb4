"""Where a model goes wrong: its predictions on held-out images, as a clickable confusion matrix.

Which images (:func:`held_out`):

- a shipped model: the held-out split its card reports (``metrics``; the last 5,000
  images of the training file, :mod:`datasets.splits`). With ``CONVLAB_DATA_DIR``
  holding the full training files those are the card's 5,000 images, so the counts
  can be checked against the card's matrix; without it, the shipped subset's held-out
  images (datasets/README.md), which lie inside that split (MNIST: images
  58,000-59,999; CIFAR-10: 49,000-49,999 of the JPEG zip, in its order).
- an uploaded model: MNIST's held-out images when its input is 1 x 28 x 28, CIFAR-10's
  when 3 x 32 x 32 (else 422), at most as many as :data:`MAX_USER_MACS` multiply-adds
  allow (the first ones), and the model's class i is taken to be the data set's class i.

Predictions come from the model's onnxruntime session in batches, on the pixels
preprocessed exactly as the card's ``input`` says (x = (pixel * scale - mean) / std).
They are computed once per process in the background (:mod:`app.services.explain_data_jobs`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from app.errors import ApiError
from app.services import learn_data
from app.services.explain_data_jobs import JOBS, Progress
from app.services.model import Model
from app.services.predict import data_url
from app.services.preprocess import normalise, prepare
from course.learn.recipes import DATASETS
from datasets import split_slices
from datasets.subset import SUBSET_DIR
from engine.graph import run

#: An uploaded model's held-out pass costs at most this many multiply-adds in all (the
#: images beyond are left out, and the page says how many were used).
MAX_USER_MACS = 2.5e11
MIN_USER_IMAGES = 100
ORT_BATCH = 250
ORT_BYTES = 32 * 1024 * 1024  # a batch's layer outputs, all together (onnxruntime keeps its peak)
MAX_LIST = 60  # images per page of a cell, and in the mistakes gallery


@dataclass(frozen=True)
class HeldOut:
    """The held-out images a model is judged on: uint8 ``x`` (N, C, H, W), labels ``y``."""

    dataset: str
    x: np.ndarray
    y: np.ndarray
    file_index: np.ndarray  # each image's index in the data set's training file
    source: str  # "full" or "subset"
    description: str
    classes: tuple[str, ...]

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as HxW (grey) or HxWx3 uint8, for a PNG."""
        a = self.x[i]
        return a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0)


@lru_cache(maxsize=2)
def _subset_val_index(dataset: str) -> np.ndarray:
    with np.load(SUBSET_DIR / f"{dataset}.npz", allow_pickle=False) as f:
        return np.asarray(f["val_index"], np.int64)


def dataset_of(model: Model) -> str:
    """'mnist' or 'cifar10': the data set whose held-out images fit ``model`` (422 if none)."""
    shape = tuple(model.input_spec.get("shape", [])[1:])
    card_set = ((model.card.get("dataset") or {}).get("name") or "").lower()
    for key, ds in DATASETS.items():
        if shape == ds.shape and (model.source == "user" or card_set.startswith(ds.title.split()[0].lower())):
            return key
    sizes = " or ".join(f"{' x '.join(map(str, d.shape))} ({d.title})" for d in DATASETS.values())
    raise ApiError(422, f"{model.name} takes {' x '.join(map(str, shape))} inputs; ConvLab has held-out "
                        f"images only for {sizes} models, so it cannot show where this one goes wrong.")


@dataclass(frozen=True)
class Plan:
    """Which held-out images a model is judged on, known without loading them."""

    dataset: str
    source: str  # "full" or "subset"
    total: int  # the data set's held-out images
    n: int  # the first n of them are used (fewer for an uploaded model: a cost bound)


def plan(model: Model, data_dir: Path | None) -> Plan:
    """The held-out images for ``model``, sized without decoding them (422 if none fit)."""
    dataset = dataset_of(model)
    info = learn_data.describe(dataset, data_dir)
    total = n = int(info["val"])
    if model.source == "user":
        macs = float(model.card.get("multiply_adds") or 0)
        n = min(n, int(MAX_USER_MACS // macs)) if macs > 0 else n
        if n < MIN_USER_IMAGES:
            raise ApiError(422, f"{model.name} needs {macs / 1e9:.1f} billion multiply-adds per image; "
                                f"within the limit of {MAX_USER_MACS / 1e9:.0f} billion for a held-out pass "
                                f"it could see only {n} images (at least {MIN_USER_IMAGES} are needed).")
    return Plan(dataset, info["source"], total, n)


def held_out(model: Model, data_dir: Path | None) -> HeldOut:
    """The held-out images for ``model`` (loaded once per process by :mod:`app.services.learn_data`:
    decoding the full CIFAR-10 takes seconds, so the precomputations call this, not requests)."""
    pl = plan(model, data_dir)
    data = learn_data.load(pl.dataset, data_dir)
    x, y = data.val_x, data.val_y
    if x.ndim == 3:
        x = x[:, None]
    ds = DATASETS[pl.dataset]
    if pl.source == "subset":
        index = _subset_val_index(pl.dataset)
        where = (f"the {len(y):,} held-out images of the subset shipped with ConvLab: images "
                 f"{index[0]:,}-{index[-1]:,} of the {ds.title} training file, which lie inside the "
                 "last 5,000 that the model cards hold out (set CONVLAB_DATA_DIR to the full data "
                 "for all 5,000)")
    else:
        val = split_slices(len(data.train_y) + len(y))[1]
        index = np.arange(val.start, val.stop, dtype=np.int64)
        where = (f"the {len(y):,} held-out images of the card's split: images {val.start:,}-"
                 f"{val.stop - 1:,}, the last 5,000 of the {ds.title} training file")
    if pl.n < len(y):
        where += (f"; for an uploaded model, the first {pl.n:,} of them (a cost bound: "
                  f"{MAX_USER_MACS / 1e9:.0f} billion multiply-adds per pass)")
    return HeldOut(pl.dataset, x[:pl.n], y[:pl.n], index[:pl.n], pl.source, where, ds.classes)


def model_input(model: Model, pixels: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) -> the model's input, as its card says (float32)."""
    return normalise(pixels, model.input_spec)


def batch_size(model: Model, wanted: int) -> int:
    """``wanted``, or 1 when the model's input declares a fixed batch of 1."""
    shape = model.session.get_inputs()[0].shape
    return 1 if shape and isinstance(shape[0], int) and shape[0] == 1 else wanted


def ort_batch(model: Model) -> int:
    """Images per onnxruntime call: all layers' outputs for the batch within :data:`ORT_BYTES`."""
    c, h, w = (int(d) for d in model.input_spec["shape"][1:])
    values = run(model.graph(), np.zeros((1, c, h, w), np.float32), keep=True)
    per_image = sum(a.nbytes for a in values.values())
    return batch_size(model, max(1, min(ORT_BATCH, ORT_BYTES // max(1, per_image))))


@dataclass(frozen=True)
class Predictions:
    data: HeldOut
    probs: np.ndarray  # (N, K) float32
    pred: np.ndarray  # (N,) int64
    seconds: float

    @property
    def nbytes(self) -> int:
        return self.probs.nbytes + self.pred.nbytes + 64


def _compute(model: Model, data_dir: Path | None, p: Progress) -> Predictions:
    t0 = time.perf_counter()
    data = held_out(model, data_dir)
    b = ort_batch(model)
    chunks = []
    for start in range(0, len(data.y), b):
        chunks.append(model.infer(model_input(model, data.x[start:start + b])).astype(np.float32))
        p.done = min(len(data.y), start + b)
    probs = np.concatenate(chunks)
    return Predictions(data, probs, probs.argmax(axis=1).astype(np.int64), time.perf_counter() - t0)


def model_key(model: Model) -> tuple[str, str, str]:
    return (model.source, model.name, str((model.card.get("onnx") or {}).get("sha256", "")))


def confusion_plan(model: Model, data_dir: Path | None) -> Plan:
    """:func:`plan`, and 422 when the model's classes cannot be the data set's."""
    pl = plan(model, data_dir)
    classes = DATASETS[pl.dataset].classes
    if len(model.classes) != len(classes):
        raise ApiError(422, f"{model.name} has {len(model.classes)} classes; the {DATASETS[pl.dataset].title} "
                            f"held-out images have {len(classes)}, so its answers cannot be "
                            "compared with their labels.")
    return pl


def predictions(model: Model, data_dir: Path | None, *, wait: bool = False) -> Predictions:
    """The model's predictions on its held-out images (202 :class:`Computing` until ready)."""
    pl = confusion_plan(model, data_dir)
    key = ("predictions", *model_key(model), pl.dataset, pl.source, pl.n)
    what = f"Predicting the {pl.n:,} held-out images with {model.name}"
    get = JOBS.wait if wait else JOBS.get
    return get(key, lambda p: _compute(model, data_dir, p), what=what, total=pl.n)


def source_json(model: Model, data: HeldOut) -> dict:
    metrics = model.card.get("metrics") or {}
    return {"dataset": DATASETS[data.dataset].title, "source": data.source, "images": len(data.y),
            "first_file_index": int(data.file_index[0]), "last_file_index": int(data.file_index[-1]),
            "description": data.description, "card_split": metrics.get("split_description"),
            "card_images": metrics.get("images")}


def confusion_json(model: Model, pr: Predictions) -> dict:
    """Counts[t][p] of the held-out images, and whether they equal the card's matrix."""
    k = len(model.classes)
    counts = np.zeros((k, k), np.int64)
    np.add.at(counts, (pr.data.y, pr.pred), 1)
    card = (model.card.get("metrics") or {}).get("confusion_matrix")
    same = None if card is None or len(pr.data.y) != (model.card.get("metrics") or {}).get("images") \
        else bool(np.array_equal(np.asarray(card), counts))
    correct = int(np.trace(counts))
    return {"model": model.name, "classes": model.classes, "true_classes": list(pr.data.classes),
            "matrix": counts.tolist(), "images": len(pr.data.y), "correct": correct,
            "accuracy": round(correct / len(pr.data.y), 6), "source": source_json(model, pr.data),
            "equals_card_matrix": same, "precompute_s": round(pr.seconds, 3)}


def heldout_url(model: Model, i: int) -> str:
    return f"/api/models/{model.name}/heldout/{i}.png"


def as_uploads(model: Model, data: HeldOut, index: np.ndarray) -> np.ndarray:
    """Probabilities for these images prepared as the classify page prepares an upload of
    their PNG (an MNIST model's digit is cropped, scaled and centred again), so a page can
    say where its answer differs from the held-out pass."""
    if not len(index):
        return np.zeros((0, len(model.classes)))
    x = np.concatenate([prepare(Image.fromarray(data.image(int(i))), model.input_spec).tensor for i in index])
    return np.concatenate([model.infer(x[s:s + ORT_BATCH]) for s in range(0, len(x), ORT_BATCH)]) \
        if batch_size(model, 2) > 1 else np.concatenate([model.infer(x[k:k + 1]) for k in range(len(x))])


def items_json(model: Model, pr: Predictions, index: np.ndarray) -> list[dict]:
    upload = as_uploads(model, pr.data, index)
    out = []
    for i, again in zip(index, upload, strict=True):
        i = int(i)
        t, p, q = int(pr.data.y[i]), int(pr.pred[i]), int(np.argmax(again))
        out.append({"index": i, "file_index": int(pr.data.file_index[i]), "true": t, "pred": p,
                    "true_label": pr.data.classes[t], "pred_label": model.classes[p],
                    "p_pred": round(float(pr.probs[i, p]), 6), "p_true": round(float(pr.probs[i, t]), 6),
                    "as_upload": {"pred": q, "pred_label": model.classes[q], "p": round(float(again[q]), 6)},
                    "image": data_url(pr.data.image(i)), "url": heldout_url(model, i)})
    return out


def check_class(model: Model, c: int, what: str) -> None:
    if not 0 <= c < len(model.classes):
        raise ApiError(404, f"There is no {what} class {c}: {model.name} has {len(model.classes)} "
                            f"classes (0-{len(model.classes) - 1}).")


def cell_json(model: Model, pr: Predictions, t: int, p: int, offset: int, limit: int) -> dict:
    """The held-out images of true class ``t`` predicted as ``p``, most confident first."""
    check_class(model, t, "true")
    check_class(model, p, "predicted")
    idx = np.flatnonzero((pr.data.y == t) & (pr.pred == p))
    idx = idx[np.lexsort((idx, -pr.probs[idx, p]))]
    page = idx[offset:offset + limit]
    return {"true": t, "pred": p, "true_label": pr.data.classes[t], "pred_label": model.classes[p],
            "count": int(idx.size), "offset": offset, "limit": limit,
            "images": items_json(model, pr, page)}


def mistakes_json(model: Model, pr: Predictions, limit: int) -> dict:
    """The wrong answers the model was most sure of, by the probability it gave its answer."""
    wrong = np.flatnonzero(pr.pred != pr.data.y)
    conf = pr.probs[wrong, pr.pred[wrong]]
    order = wrong[np.lexsort((wrong, -conf))][:limit]
    return {"model": model.name, "wrong": int(wrong.size), "images": len(pr.data.y), "limit": limit,
            "mistakes": items_json(model, pr, order)}


def heldout_png(model: Model, data_dir: Path | None, i: int) -> np.ndarray:
    """Held-out image ``i`` of ``model`` (404 past the end)."""
    data = held_out(model, data_dir)
    if not 0 <= i < len(data.y):
        raise ApiError(404, f"There is no held-out image {i} for {model.name}: it is judged on "
                            f"{len(data.y):,} images (0-{len(data.y) - 1}).")
    return data.image(i)
