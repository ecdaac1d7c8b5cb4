"""GET /api/registry serves engine/registry.py's tables, functions left out."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from engine import registry


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


def test_registry_lists_every_activation_and_layer(client):
    body = client.get("/api/registry").json()
    assert [a["name"] for a in body["activations"]] == list(registry.ACTIVATIONS)
    swish = next(a for a in body["activations"] if a["name"] == "swish")
    assert swish == {"name": "swish", "title": "Swish", "formula": "x · σ(x)",
                     "derivative": "σ(x) + x · σ(x) · (1 − σ(x))", "onnx_op": "Swish",
                     "note": registry.ACTIVATIONS["swish"].note, "range": [None, None],
                     "lesson": True}
    assert {la["name"] for la in body["layers"]} >= {"conv", "maxpool", "dense", "softmax"}


@pytest.mark.parametrize("name", list(registry.ACTIVATIONS))
def test_each_range_holds_for_its_function(name):
    a = registry.ACTIVATIONS[name]
    y, _ = a.forward(np.linspace(-30, 30, 601))
    lo, hi = a.range
    assert lo is None or y.min() >= lo
    assert hi is None or y.max() <= hi


def test_unknown_activation_names_the_known_ones():
    with pytest.raises(ValueError, match="known: relu, sigmoid"):
        registry.activation("softplus")
    assert registry.by_onnx_op("Swish") is registry.ACTIVATIONS["swish"]
    assert registry.by_onnx_op("Conv") is None
    assert "gelu" not in registry.names(lesson_only=True)
