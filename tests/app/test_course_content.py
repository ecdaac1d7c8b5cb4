"""Issue 19's content where a student meets it: the data sets' facts (quoted, with their
sources) and the split ConvLab's models used, checked against the model cards; the
course's Keras example as Keras 3 code beside the model it produced."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def _cards() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in (ROOT / "models").glob("*.json")}


def test_learn_states_the_datasets_with_sources(client):
    page = _text(client.get("/learn").text)
    for fact in ("Modified NIST", "Hello World", "60,000 for training, 10,000 for testing",
                 "28×28 pixels", "784 numbers", "50,000 for training, 10,000 for testing",
                 "32×32×3", "airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck",
                 "LeCun, L. Bottou, Y. Bengio and P. Haffner", "1998",
                 "Krizhevsky", "2009"):
        assert fact in page, fact


def test_the_split_sentence_matches_the_model_cards(client):
    page = _text(client.get("/learn").text)
    split = page[page.index("The split ConvLab's models used"):]
    cards = _cards()
    for name, card in cards.items():
        d = card["dataset"]
        assert "last 5,000" in d["split"], name
        assert d["val_size"] == 5000, name
        assert f"other {d['train_size']:,}" in split, name
        assert card["metrics"]["split"] == "val" and card["metrics"]["test"] is None, name
    assert "official test images are never read" in split


def test_keras_example_is_keras_3_with_every_line_explained(client):
    html = client.get("/learn").text
    listing = html[html.index('id="keras-lines"'):html.index('id="keras-model"')]
    code = _text("".join(re.findall(r"<code>(.*?)</code>", listing, flags=re.S)))
    for line in ('os.environ["KERAS_BACKEND"] = "jax"', "import keras",
                 "keras.datasets.mnist.load_data()", "keras.Input(shape=(28, 28))",
                 "keras.layers.Flatten()", 'keras.layers.Dense(512, activation="relu")',
                 "keras.layers.Dropout(0.2)", 'keras.layers.Dense(10, activation="softmax")',
                 'optimizer="adam"', "model.fit(x_train, y_train, epochs=5)"):
        assert line in code, line
    assert "tensorflow as tf" not in code  # Keras 3, not tf.keras
    items = re.findall(r"<li>(.*?)</li>", listing, flags=re.S)
    assert len(items) >= 12 and all("<p>" in item for item in items)  # every line explained
    # The numbers are the model card's, filled in by the page: none is typed in the listing.
    assert "407,050" not in listing and "401,920" not in listing


def test_the_listing_matches_the_model_it_produced(client):
    """The shipped mnist-mlp is exactly the listing's network and recipe."""
    card = client.get("/api/models/mnist-mlp").json()
    ops = [a["op"] for a in card["architecture"]]
    assert ops == ["Flatten", "Gemm", "Relu", "Gemm", "Softmax"]
    assert [a["output_shape"][-1] for a in card["architecture"] if a["op"] == "Gemm"] == [512, 10]
    assert card["training"]["epochs"] == 5 and card["training"]["batch_size"] == 32
    assert card["training"]["recipe"].startswith("Adam")
    recipe = next(r for r in client.get("/api/learn/recipes").json()["recipes"] if r["name"] == "keras-mlp")
    assert recipe["params"] == card["parameters"] == 407_050
