"""train -> checkpoint -> export -> card -> evaluate, end to end on tiny data (needs PyTorch)."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from tests.datasets.kit import write_cifar_zip  # noqa: E402
from training import recipes  # noqa: E402
from training.cli import main  # noqa: E402
from training.hyperparams import AIRBENCH  # noqa: E402
from training.models import ResidualGroup  # noqa: E402
from training.specs import SPECS  # noqa: E402
from training.train import EpochLog, load_checkpoint, setup_device  # noqa: E402


def test_train_export_card_evaluate(mnist_dir, tmp_path, capsys):
    out = tmp_path / "models"
    rc = main(["train", "mnist-mlp", "--data-dir", str(mnist_dir), "--limit", "10",
               "--epochs", "2", "--seed", "3", "--out", str(out)])
    assert rc == 0
    card = json.loads((out / "mnist-mlp.json").read_text())
    assert card["metrics"]["images"] == 5000 and 0 <= card["metrics"]["accuracy"] <= 1
    assert card["training"]["epochs"] == 2 and card["training"]["seed"] == 3
    assert card["summary"] == SPECS["mnist-mlp"].summary and card["summary"]  # the card's first line
    assert card["training"]["limit"] == 10 and any("DEBUG RUN" in n for n in card["notes"])
    assert card["input"] == {"shape": [1, 1, 28, 28], "layout": "NCHW", "channels": "L",
                             "scale": 1 / 255, "mean": [0.0], "std": [1.0],
                             "background": "black", "formula": card["input"]["formula"]}
    assert card["onnx"]["opset"] == 17 and card["onnx"]["op_types"] == [
        "Flatten", "Gemm", "Relu", "Softmax"]
    assert card["parameters"] == 407_050 and card["multiply_adds"] == 784 * 512 + 512 * 10
    assert card["dataset"]["licence"] == "CC BY-SA 3.0" and "LeCun" in card["dataset"]["credit"]
    assert len(card["training"]["log"]) == 2

    name, state, meta = load_checkpoint(out / "mnist-mlp.pt")
    assert name == "mnist-mlp" and meta["epochs"] == 2 and meta["hardware"]
    assert set(state) == {"1.weight", "1.bias", "4.weight", "4.bias"}

    # the export can be redone from the checkpoint alone, byte for byte
    again = tmp_path / "again"
    assert main(["train", "mnist-mlp", "--export-only", "--checkpoint", str(out / "mnist-mlp.pt"),
                 "--out", str(again), "--data-dir", str(mnist_dir)]) == 0
    card2 = json.loads((again / "mnist-mlp.json").read_text())
    assert card2["onnx"]["sha256"] == card["onnx"]["sha256"]
    assert card2["metrics"]["accuracy"] == card["metrics"]["accuracy"]
    assert main(["train", "lenet5", "--export-only", "--checkpoint",
                 str(out / "mnist-mlp.pt"), "--out", str(again)]) == 2
    assert "not 'lenet5'" in capsys.readouterr().err
    assert main(["train", "lenet5", "--export-only"]) == 2


@pytest.mark.parametrize("name", list(SPECS))
def test_every_recipe_runs_a_step(name):
    shape = SPECS[name].shape
    g = torch.Generator().manual_seed(0)
    x = torch.rand(48, *shape, generator=g)
    y = torch.arange(48) % 10
    log = EpochLog(name, 2)
    model, extra = recipes.fit(name, x, y, x[:8], y[:8], 2, setup_device("cpu", 2), log)
    assert [e["epoch"] for e in log.entries] == [1, 2]
    assert all(e["train_loss"] == e["train_loss"] for e in log.entries)  # not NaN
    assert extra["parameters_trainable"] > 0
    if name == "cifar10-net":
        assert not model[0].weight.requires_grad and model[0].weight.abs().sum() > 0


def test_overrides_reach_the_cifar_recipe_and_are_checked():
    x, y = torch.rand(40, 3, 32, 32), torch.arange(40) % 10
    dev = setup_device("cpu", 2)
    changed = {"cutout": 4, "translate": 1, "whiten_eps": 5e-3, "residual": 0}
    model, extra = recipes.fit("cifar10-net", x, y, x[:8], y[:8], 1, dev,
                               EpochLog("cifar10-net", 1), overrides=changed)
    assert extra["hyperparameters"] == {**AIRBENCH, **changed}
    assert extra["augmentation"] == {"flip": "alternating", "translate_px": 1, "cutout_px": 4}
    assert not any(isinstance(m, ResidualGroup) for m in model.modules())
    model, plain = recipes.fit("cifar10-net", x, y, x[:8], y[:8], 1, dev,
                               EpochLog("cifar10-net", 1))
    assert plain["hyperparameters"] == AIRBENCH
    assert plain["augmentation"] == {"flip": "alternating", "translate_px": AIRBENCH["translate"],
                                     **({"cutout_px": AIRBENCH["cutout"]} if AIRBENCH["cutout"] else {})}
    residual = sum(isinstance(m, ResidualGroup) for m in model.modules())
    assert residual == (3 if AIRBENCH["residual"] else 0)
    _, off = recipes.fit("cifar10-net", x, y, x[:8], y[:8], 1, dev, EpochLog("cifar10-net", 1),
                         overrides={"cutout": 0})
    assert "cutout_px" not in off["augmentation"]
    with pytest.raises(ValueError, match="outside 0..32"):
        recipes.fit("cifar10-net", x, y, x, y, 1, dev, EpochLog("cifar10-net", 1), {"cutout": 40})
    with pytest.raises(ValueError, match="no tunable hyperparameters"):
        recipes.fit("lenet5", x[:, :1, :28, :28], y, x, y, 1, dev, EpochLog("lenet5", 1), {"lr": 1.0})


def test_set_on_the_command_line(tmp_path, cache, capsys):
    (tmp_path / "data").mkdir()
    write_cifar_zip(tmp_path / "data")
    out = tmp_path / "models"
    rc = main(["train", "cifar10-net", "--data-dir", str(tmp_path / "data"), "--limit", "20",
               "--epochs", "1", "--out", str(out), "--set", "cutout=4", "--set", "lr=5"])
    assert rc == 0
    card = json.loads((out / "cifar10-net.json").read_text())
    training = card["training"]
    assert training["command"].endswith("--limit 20 --set cutout=4 --set lr=5.0")
    assert training["hyperparameters"]["cutout"] == 4 and training["hyperparameters"]["lr"] == 5.0
    assert training["augmentation"]["cutout_px"] == 4
    assert any("changed from its recipe (cutout=4, lr=5.0)" in n for n in card["notes"])
    capsys.readouterr()

    assert main(["train", "cifar10-net", "--set", "bogus=1", "--out", str(out)]) == 2
    assert "KEY one of" in capsys.readouterr().err
    assert main(["train", "lenet5", "--set", "lr=1", "--out", str(out)]) == 2
    assert "lenet5's recipe has no tunable hyperparameters" in capsys.readouterr().err
    assert main(["train", "cifar10-net", "--export-only", "--checkpoint",
                 str(out / "cifar10-net.pt"), "--set", "lr=1"]) == 2
    assert "cannot apply to --export-only" in capsys.readouterr().err


def test_time_limit_stops_after_an_epoch():
    x, y = torch.rand(32, 1, 28, 28), torch.arange(32) % 10
    log = EpochLog("lenet5", 5, deadline=0.0)  # already passed: stop after the first epoch
    recipes.fit("lenet5", x, y, x, y, 5, torch.device("cpu"), log)
    assert len(log.entries) == 1 and log.stopped_early
