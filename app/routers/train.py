"""Training on ConvLab's engine: the playground, backprop with every number, why ReLU / ResNet.

The server keeps no state: the page sends the network's weights with each step
request and gets the updated weights back (float64 JSON round-trips exactly, so
many short calls equal one long run).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from fastapi import APIRouter

from app.deps import HeavyDep
from app.encode import f16_json
from app.errors import ApiError
from app.schemas.train import N_POINTS, BackpropIn, CompareIn, DataSpec, StepIn
from course import backprop_steps, nettrain, nettrain_compare, nettrain_depth, nettrain_views
from course.datasets2d import EXTENT, Split, feature_columns, split_dataset

router = APIRouter(prefix="/api/train", tags=["train"])

SURFACE_RES = 40
NODE_RES = 20
#: f16 tops out at 65504; neuron outputs are clipped to this for the heat maps.
F16_LIMIT = 60_000.0


def _split(spec: DataSpec) -> Split:
    return split_dataset(
        spec.dataset, n=N_POINTS, noise=spec.noise / 100, train_ratio=spec.train_ratio / 100, seed=spec.seed
    )


def _network(req: StepIn) -> nettrain.Network:
    n_in = len(req.data.features)
    sizes = [n_in, *req.network.hidden, 1]
    net = req.network
    if net.weights is None and net.biases is None:
        return nettrain.init_network(n_in, list(net.hidden), net.activation, req.data.seed)
    if net.weights is None or net.biases is None:
        raise ApiError(422, "send both weights and biases, or neither (to start from the seed).")
    if len(net.weights) != len(sizes) - 1 or len(net.biases) != len(sizes) - 1:
        raise ApiError(
            422,
            f"a network with layer sizes {sizes} has {len(sizes) - 1} weight layers; got "
            f"{len(net.weights)} weight and {len(net.biases)} bias layers.",
        )
    weights, biases = [], []
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        shape = (sizes[i + 1], sizes[i])
        if len(w) != shape[0] or any(len(row) != shape[1] for row in w) or len(b) != shape[0]:
            raise ApiError(
                422,
                f"layer {i + 1} connects {sizes[i]} inputs to {sizes[i + 1]} neurons: its weights must be "
                f"{shape[0]} rows of {shape[1]} and its biases {shape[0]} values.",
            )
        weights.append(np.asarray(w, dtype=np.float64))
        biases.append(np.asarray(b, dtype=np.float64))
    return nettrain.Network(weights, biases, net.activation)


def _lists(arrays: list[np.ndarray] | None) -> list | None:
    return None if arrays is None else [a.tolist() for a in arrays]


def _grids(net: nettrain.Network, features: list[str]) -> dict:
    nodes, _ = nettrain_views.node_grids(net, features, NODE_RES)
    _, surface = nettrain_views.node_grids(net, features, SURFACE_RES)
    return {
        "surface": f16_json(surface),
        "nodes": f16_json(np.clip(np.nan_to_num(nodes), -F16_LIMIT, F16_LIMIT)),
    }


@router.post("/data")
def data(spec: DataSpec) -> dict:
    """The data set's points (coordinates in [-6, 6]) and labels (0 or 1), split train/test."""
    s = _split(spec)

    def pts(x: np.ndarray, y: np.ndarray) -> dict:
        return {"x1": np.round(x[:, 0], 4).tolist(), "x2": np.round(x[:, 1], 4).tolist(), "label": y.tolist()}

    return {"extent": EXTENT, "train": pts(s.x_train, s.y_train), "test": pts(s.x_test, s.y_test)}


@router.post("/step")
def step(req: StepIn, _: HeavyDep) -> dict:
    """``steps`` mini-batch gradient-descent updates; losses, gradients and heat maps after them."""
    split = _split(req.data)
    features: list[str] = list(req.data.features)
    net = _network(req)
    h = req.hyper
    if req.state.cursor >= len(split.y_train):
        raise ApiError(422, f"state.cursor must be below the number of training points ({len(split.y_train)}).")
    try:
        res = nettrain.train_steps(
            net, split, features, lr=h.learning_rate, batch_size=h.batch_size, steps=req.steps,
            state=nettrain.TrainState(req.state.epoch, req.state.cursor, req.state.step),
            seed=req.data.seed, reg=h.regularization, reg_rate=h.reg_rate,
        )
    except ValueError as exc:
        raise ApiError(422, str(exc)) from exc
    xtr = feature_columns(split.x_train, features)
    xte = feature_columns(split.x_test, features)
    with np.errstate(all="ignore"):
        train_loss, train_acc = nettrain.evaluate(res.network, xtr, split.y_train)
        test_loss, test_acc = nettrain.evaluate(res.network, xte, split.y_test)
    hist = res.history
    last = None
    if res.grad_weights is not None:
        last = {
            "learning_rate": h.learning_rate,
            "regularization": h.regularization,
            "reg_rate": h.reg_rate,
            "weights_before": _lists(res.weights_before),
            "biases_before": _lists(res.biases_before),
            "grad_weights": _lists(res.grad_weights),
            "grad_biases": _lists(res.grad_biases),
        }
    return {
        "network": {
            "sizes": res.network.sizes,
            "activation": res.network.activation,
            "features": features,
            "weights": _lists(res.network.weights),
            "biases": _lists(res.network.biases),
        },
        "state": res.state._asdict(),
        "history": {
            "step": [r[0] for r in hist],
            "epoch": [r[1] for r in hist],
            "train_loss": [round(r[2], 6) for r in hist],
            "test_loss": [round(r[3], 6) for r in hist],
        },
        "train_loss": round(train_loss, 6),
        "test_loss": round(test_loss, 6),
        "train_accuracy": round(train_acc, 4),
        "test_accuracy": round(test_acc, 4),
        "diverged": res.diverged,
        "last_update": last,
        **_grids(res.network, features),
    }


@router.post("/backprop")
def backprop(req: BackpropIn) -> dict:
    """A 2-2-1 sigmoid network, squared error, one example: forward, chain rule, one update."""
    r = backprop_steps.backprop_example((req.x1, req.x2), req.target, req.params.model_dump(), req.learning_rate)
    return {
        "inputs": {"x1": r.inputs[0], "x2": r.inputs[1]},
        "target": r.target,
        "learning_rate": r.lr,
        "params": r.params,
        "nodes": r.nodes,
        "loss": r.loss,
        "lines": [
            {
                "param": line.param,
                "factors": [{"label": lab, "value": v} for lab, v in line.factors],
                "product": line.product,
                "gradient": line.gradient,
                "before": r.params[line.param],
                "after": r.updated[line.param],
            }
            for line in r.lines
        ],
        "updated": r.updated,
        "new_nodes": r.new_nodes,
        "new_loss": r.new_loss,
    }


COMPARE_BATCH = 10
COMPARE_FEATURES = ["x1", "x2"]


def _run_json(r: nettrain_compare.RunCurve) -> dict:
    return {
        "label": r.label,
        "loss_steps": r.loss_steps.tolist(),
        "losses": [None if not np.isfinite(v) else round(float(v), 5) for v in r.losses],
        "grad_means": [float(f"{g:.4g}") for g in r.grad_means],
        "train_accuracy": round(r.train_accuracy, 4),
        "test_accuracy": round(r.test_accuracy, 4),
        "surface": f16_json(np.nan_to_num(r.surface, nan=0.5)),
    }


XAVIER = "normal, std 1/sqrt(fan_in), biases 0 (same draw for every run of the same shape)"
HE_BN = ("He: normal, std sqrt(2/fan_in) (same draw for the plain and the residual network of the "
         "same depth); BatchNorm after every hidden layer's weights (gamma 1, beta 0 at the start), "
         "the mini-batch's statistics in training, the running estimates for the curves")


@lru_cache(maxsize=64)
def _compare(kind: str, dataset: str, noise: int, seed: int, steps: int, lr: float) -> dict:
    split = split_dataset(dataset, n=N_POINTS, noise=noise / 100, train_ratio=0.5, seed=seed)
    common: dict[str, Any] = {"steps": steps, "lr": lr, "batch_size": COMPARE_BATCH, "seed": seed, "resolution": NODE_RES}
    extra: dict[str, Any] = {}
    if kind == "activation":
        hidden = [8] * 6
        runs = nettrain_compare.compare_activations(split, COMPARE_FEATURES, hidden=hidden, **common)
        network = {"hidden": hidden, "layers": len(hidden) + 1, "skip": None, "init": XAVIER}
    else:
        # Degradation as the ResNet paper meant it: He initialisation and BatchNorm, so the
        # gradients do not vanish, and still the deeper plain network trains worse.
        runs = nettrain_depth.compare_depth_bn(split, COMPARE_FEATURES, width=8, shallow=4, deep=20, **common)
        network = {"width": 8, "layers": [4, 20, 20], "skip": "identity every 2 layers: relu(BN(F(x)) + x)",
                   "init": HE_BN, "batchnorm": True}
        # The same 20 plain layers without BatchNorm, std 1/sqrt(fan_in): a different failure
        # (vanishing gradients), served so the page can set the two apart with numbers.
        plain = nettrain_compare.compare_depth(split, COMPARE_FEATURES, width=8, shallow_blocks=1,
                                               deep_blocks=9, **common)[1]
        extra["without_batchnorm"] = {
            "label": "plain, 20 layers, no BatchNorm, std 1/sqrt(fan_in)",
            "init": XAVIER,
            "final_loss": round(float(plain.losses[-1]), 5) if np.isfinite(plain.losses[-1]) else None,
            "train_accuracy": round(plain.train_accuracy, 4),
            "grad_means": [float(f"{g:.4g}") for g in plain.grad_means],
        }
        shallow, deep, residual = runs
        extra["findings"] = nettrain_depth.depth_findings(
            float(shallow.losses[-1]), float(deep.losses[-1]), float(residual.losses[-1]),
            float(shallow.grad_means[0]), float(deep.grad_means[0]), float(plain.grad_means[0]),
            float(plain.train_accuracy))
    return {
        "kind": kind,
        "settings": {
            "dataset": dataset, "noise": noise, "seed": seed, "steps": steps, "learning_rate": lr,
            "batch_size": COMPARE_BATCH, "features": COMPARE_FEATURES, "train_points": len(split.y_train),
            "loss": "binary cross-entropy on the whole training set",
            **network,
        },
        "runs": [_run_json(r) for r in runs],
        **extra,
    }


@router.post("/compare")
def compare(req: CompareIn, _: HeavyDep) -> dict:
    """Same data, seed and budget: sigmoid vs tanh vs ReLU (6 x 8), or plain 4 vs plain 20 vs
    residual 20 layers with He initialisation and BatchNorm (degradation), plus the plain 20
    without BatchNorm (``without_batchnorm``: vanishing gradients)."""
    return _compare(req.kind, req.dataset, req.noise, req.seed, req.steps, req.learning_rate)

