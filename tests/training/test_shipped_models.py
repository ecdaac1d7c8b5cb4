"""Every shipped model in models/ is what its card says: same file, same accuracy.

Re-evaluating needs the data: it runs when CONVLAB_DATA_DIR points at it (CI sets it
to ../shared/data when present) and is skipped, with the reason, otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from training.evaluate import evaluate, sha256_file
from training.specs import SPECS

MODELS = Path(__file__).resolve().parents[2] / "models"
CARDS = sorted(MODELS.glob("*.json"))
TOLERANCE_POINTS = 0.2


def _data_dir() -> str | None:
    value = os.environ.get("CONVLAB_DATA_DIR")
    return value if value and Path(value).is_dir() else None


def _params():
    if not CARDS:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no model cards in models/ yet"))]
    return [pytest.param(p, id=p.stem) for p in CARDS]


@pytest.mark.parametrize("card_path", _params())
def test_card_matches_its_onnx_file(card_path):
    card = json.loads(card_path.read_text(encoding="utf-8"))
    onnx_path = card_path.with_name(card["onnx"]["file"])
    assert onnx_path.is_file(), f"{card_path.name} names {onnx_path.name}, which is missing"
    assert sha256_file(onnx_path) == card["onnx"]["sha256"], f"{onnx_path.name} changed"
    assert card["name"] == card_path.stem and card["metrics"] and card["metrics"]["accuracy"]
    assert not card["training"].get("limit"), f"{card_path.name} is a --limit debug model"
    assert card["input"]["layout"] == "NCHW" and len(card["classes"]) == 10
    # the first line a student reads; a retrain writes the same sentence (training/cards.py)
    assert card["summary"] and card["summary"] == SPECS[card["name"]].summary


@pytest.mark.parametrize("card_path", _params())
def test_card_accuracy_reproduces(card_path):
    data_dir = _data_dir()
    if data_dir is None:
        pytest.skip("CONVLAB_DATA_DIR is unset or not a directory: cannot re-evaluate "
                    f"{card_path.stem} (set it to ../shared/data)")
    card = json.loads(card_path.read_text(encoding="utf-8"))
    split = card["metrics"]["split"]
    result = evaluate(card_path.stem, MODELS, data_dir, split)
    assert result["images"] == card["metrics"]["images"]
    diff = 100 * abs(result["accuracy"] - card["metrics"]["accuracy"])
    assert diff <= TOLERANCE_POINTS, (
        f"{card_path.stem}: {100 * result['accuracy']:.2f}% on {split}, card says "
        f"{100 * card['metrics']['accuracy']:.2f}%")


CPU_BUDGET_S = 45 * 60  # issue 3: "the best CIFAR-10 net trainable in <= 45 minutes" here


def test_cifar10_net_was_trained_on_the_cpu_within_its_budget():
    """The shipped CIFAR-10 weights come from a full run on the 2-core CPU, not an estimate."""
    card_path = MODELS / "cifar10-net.json"
    if not card_path.is_file():
        pytest.skip("no cifar10-net card in models/")
    training = json.loads(card_path.read_text(encoding="utf-8"))["training"]
    assert training["device"] == "cpu", training["hardware"]
    assert not training["stopped_early"] and training["epochs"] == training["epochs_planned"]
    total = training["wall_time_seconds"] + (training.get("data_time_seconds") or 0)
    assert total <= CPU_BUDGET_S, f"{total:.0f} s > {CPU_BUDGET_S} s"
    assert len(training["log"]) == training["epochs"]
    assert sum(e["seconds"] for e in training["log"]) <= training["wall_time_seconds"] + 1
