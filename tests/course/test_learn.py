"""course.learn: recipes and bounds, whole-network gradients, exact state round trips,
bit-for-bit reproducibility, training that learns, and the views a page draws."""

from __future__ import annotations

import numpy as np
import pytest

import course.learn as learn
from course.learn import Config, LearnData, RunState, new_run, reset, steps
from course.learn.network import Net, init_params
from engine.ops.dense import cross_entropy_backward, cross_entropy_forward
from tests.engine.gradcheck import rel_error

PARAMS = {"keras-mlp": 407_050, "convnetjs": 5_994, "lenet5": 61_706, "cifar-cnn": 89_834}


def fake_data(dataset="mnist", n_train=256, n_val=40, seed=0):
    """Images whose class is visible (a bright band at a class-specific row)."""
    rng = np.random.default_rng(seed)
    shape = learn.DATASETS[dataset].shape
    n = n_train + n_val
    labels = rng.integers(0, 10, n)
    x = rng.integers(0, 60, (n, *shape)).astype(np.uint8)
    rows = 2 + labels * (shape[1] - 4) // 10
    x[np.arange(n), :, rows, :] = 255
    return LearnData(dataset, x[:n_train], labels[:n_train], x[n_train:], labels[n_train:])


@pytest.mark.parametrize(("recipe", "count"), PARAMS.items())
def test_each_recipe_has_its_parameter_count(recipe, count):
    assert learn.param_count(Config.make(recipe=recipe)) == count
    served = {r["name"]: r["params"] for r in learn.catalogue()["recipes"]}
    assert served[recipe] == count


def test_options_count_their_extra_parameters():
    base = learn.param_count(Config.make(recipe="lenet5"))
    # batch norm: gamma and beta per channel of conv1 (6), conv2 (16), fc1 (120), fc2 (84)
    assert learn.param_count(Config.make(recipe="lenet5", batchnorm=True)) == base + 2 * 226
    # residual block: two 3x3 convs of 6 -> 6 channels with biases
    assert learn.param_count(Config.make(recipe="lenet5", residual=True)) == base + 2 * 330
    assert learn.param_count(Config.make(recipe="lenet5", dropout=0.5)) == base


@pytest.mark.parametrize(
    "options",
    [{"recipe": "resnet"}, {"optimizer": "rmsprop"}, {"learning_rate": 0.0},
     {"learning_rate": 2.0}, {"learning_rate": float("nan")}, {"batch_size": 0},
     {"batch_size": 2.5}, {"batch_size": 257}, {"l2": -1e-3}, {"dropout": 0.9},
     {"activation": "softplus"}, {"batchnorm": "yes"}, {"augment": "rotate"},
     {"seed": -1}, {"seed": True}, {"recipe": "keras-mlp", "residual": True},
     {"colour": "red"}, {"dataset": "imagenet"}],
)
def test_bad_options_are_refused_with_a_message(options):
    with pytest.raises(ValueError, match=r"\w"):
        Config.make(**options)


def test_catalogue_serves_bounds_and_every_registry_activation():
    options = learn.catalogue()["options"]
    assert options["learning_rate"]["min"] > 0 and options["batch_size"]["max"] == 128
    assert {"relu", "tanh", "sigmoid", "swish"} <= set(options["activation"]["choices"])
    assert options["optimizer"]["choices"] == ["sgd", "momentum", "adam"]


@pytest.mark.parametrize(
    "options",
    [{"recipe": "convnetjs"},
     {"recipe": "lenet5", "batchnorm": True, "residual": True, "activation": "tanh"},
     {"recipe": "keras-mlp", "batchnorm": True, "activation": "swish"},
     {"recipe": "cifar-cnn", "residual": True, "batchnorm": True, "activation": "sigmoid"}],
)
def test_whole_network_gradients_match_numeric_ones(options):
    """Backward through every layer kind, in float64, against centred differences."""
    cfg = Config.make(**options)
    net = Net(cfg)
    params, buffers = init_params(cfg)
    params = {k: v.astype(np.float64) for k, v in params.items()}
    buffers = {k: v.astype(np.float64) for k, v in buffers.items()}
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, *learn.DATASETS[cfg.dataset].shape))
    y = np.array([1, 7, 3])

    def loss():
        logits, _ = net.forward(params, {k: v.copy() for k, v in buffers.items()}, x,
                                train=True, rng=np.random.default_rng(3))  # same mask
        return cross_entropy_forward(logits, y)[0]

    logits, caches = net.forward(params, {k: v.copy() for k, v in buffers.items()}, x,
                                 train=True, rng=np.random.default_rng(3))
    grads = net.backward(caches, cross_entropy_backward(cross_entropy_forward(logits, y)[1]))
    assert list(grads) and set(grads) == set(params)
    pick = np.random.default_rng(2)
    for name, p in params.items():  # a random handful of entries per parameter
        flat = p.reshape(-1)
        entries = pick.choice(flat.size, size=min(4, flat.size), replace=False)
        numeric = []
        for i in entries:
            saved = flat[i]
            flat[i] = saved + 1e-6
            plus = loss()
            flat[i] = saved - 1e-6
            minus = loss()
            flat[i] = saved
            numeric.append((plus - minus) / 2e-6)
        analytic = grads[name].reshape(-1)[entries]
        if np.linalg.norm(numeric) < 1e-7:  # e.g. a conv bias just before batch norm
            assert np.linalg.norm(analytic) < 1e-7, name
        else:
            assert rel_error(analytic, numeric) < 1e-5, name


def test_state_round_trips_through_bytes_exactly():
    data = fake_data()
    state = new_run(Config.make(recipe="lenet5", batch_size=16, batchnorm=True, log_every=2,
                                eval_every=3), len(data.train_y))
    steps(state, data, 7, time_budget_s=60)
    blob = state.to_bytes()
    again = RunState.from_bytes(blob)
    assert again.equals(state) and again.to_bytes() == blob
    assert again.step == 7 and list(again.curves["val_step"]) == [3, 6]
    assert all(a.dtype == np.float32 for a in again.params.values())
    with pytest.raises(ValueError):
        RunState.from_bytes(b"not a zip")


def test_reset_gives_the_same_start_bit_for_bit_and_steps_the_same_numbers():
    data = fake_data()
    cfg = Config.make(recipe="convnetjs", batch_size=16, optimizer="adam", dropout=0.3,
                      augment="shift+flip", batchnorm=True, residual=True, seed=5, eval_every=4)
    one = new_run(cfg, len(data.train_y))
    start = one.to_bytes()
    steps(one, data, 8, time_budget_s=60)
    assert reset(one).to_bytes() == start  # rewind: the very same start
    # another "process": from the bytes, in two calls with a round trip in between
    two = RunState.from_bytes(start)
    steps(two, data, 5, time_budget_s=60)
    two = RunState.from_bytes(two.to_bytes())
    steps(two, data, 3, time_budget_s=60)
    assert two.equals(one) and two.to_bytes() == one.to_bytes()
    other = new_run(Config.make(**{**cfg.to_dict(), "seed": 6}), len(data.train_y))
    assert not other.equals(reset(one))


def test_the_time_budget_bounds_a_call():
    data = fake_data()
    state = new_run(Config.make(recipe="lenet5", batch_size=16), len(data.train_y))
    report = steps(state, data, 10_000, time_budget_s=0.0)
    assert report.steps == 1 and state.step == 1 and report.images_per_s > 0


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_training_learns_a_visible_pattern(optimizer):
    data = fake_data(n_train=512, n_val=100)
    lr = {"sgd": 0.05, "momentum": 0.02, "adam": 2e-3}[optimizer]
    cfg = Config.make(recipe="convnetjs", optimizer=optimizer, learning_rate=lr,
                      batch_size=32, l2=1e-4, eval_every=1000, val_size=100)
    state = new_run(cfg, len(data.train_y))
    before = learn.evaluate(state, data)
    first = steps(state, data, 3, time_budget_s=60)
    steps(state, data, 60, time_budget_s=120)
    last = steps(state, data, 16, time_budget_s=60)
    assert last.loss < first.loss * 0.6
    assert learn.evaluate(state, data) >= max(0.8, before + 0.5)


def test_curves_hold_the_mean_of_each_log_window():
    data = fake_data()
    state = new_run(Config.make(recipe="keras-mlp", batch_size=32, log_every=4, eval_every=6,
                                val_size=20), len(data.train_y))
    losses = []
    for _ in range(8):
        losses.append(steps(state, data, 1, time_budget_s=60).loss)
    assert list(state.curves["log_step"]) == [4, 8]
    np.testing.assert_allclose(state.curves["log_loss"], [np.mean(losses[:4]),
                                                          np.mean(losses[4:])])
    assert list(state.curves["val_step"]) == [6]
    assert 0 <= state.curves["val_acc"][0] <= 1
    assert state.pending["steps"] == 0


def test_views_for_the_page():
    data = fake_data(dataset="cifar10", n_train=64, n_val=30)
    state = new_run(Config.make(recipe="cifar-cnn", batch_size=16), len(data.train_y))
    steps(state, data, 2, time_budget_s=60)
    p = learn.predictions(state, data, count=12)
    assert p["predicted"].shape == (12,) and np.all((p["confidence"] > 0) & (p["confidence"] <= 1))
    np.testing.assert_array_equal(p["wrong"], p["predicted"] != data.val_y[:12])
    c = learn.confusion(state, data)
    assert c["matrix"].shape == (10, 10) and c["matrix"].sum() == 30
    t, q = int(c["labels"][0]), int(c["predicted"][0])
    assert c["matrix"][t, q] == np.sum((c["labels"] == t) & (c["predicted"] == q))
    assert learn.filters(state).shape == (16, 3, 3, 3)
    maps = learn.feature_maps(state, data.val_x[0])
    assert maps[0][0] == "conv1" and maps[0][1].shape == (16, 32, 32)
    assert maps[-1][1].shape == (10,)
    mlp = new_run(Config.make(recipe="keras-mlp", batch_size=16), 64)
    assert learn.filters(mlp).shape == (512, 1, 28, 28)


def test_steps_refuse_data_the_run_was_not_made_for():
    data = fake_data()
    state = new_run(Config.make(recipe="lenet5", batch_size=16), 100)
    with pytest.raises(ValueError, match="100"):
        steps(state, data, 1)
    with pytest.raises(ValueError):
        new_run(Config.make(recipe="lenet5", batch_size=64), 10)


@pytest.mark.parametrize(("strides", "pads", "group"), [((1, 1), (2, 2, 2, 2), 1),
                                                        ((2, 1), (1, 0, 2, 1), 2)])
def test_first_layer_param_grads_equal_the_full_backward(strides, pads, group):
    """The network's first conv skips dx with conv2d_param_grads: same dw and db."""
    from engine.ops.conv import conv2d_backward, conv2d_forward, conv2d_param_grads

    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((6, 4 // group, 3, 3)).astype(np.float32)
    out, cache = conv2d_forward(x, w, np.zeros(6, np.float32), strides=strides, pads=pads,
                                group=group)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    _, dw, db = conv2d_backward(dout, cache)
    dw2, db2 = conv2d_param_grads(dout, cache)
    np.testing.assert_array_equal(dw, dw2)
    np.testing.assert_array_equal(db, db2)


def test_held_out_points_carry_accuracy_and_cross_entropy():
    from course.learn.train import predict, score

    data = fake_data()
    state = new_run(Config.make(recipe="lenet5", eval_every=3, val_size=30), len(data.train_y))
    steps(state, data, 6, time_budget_s=60)
    assert state.curves["val_step"].tolist() == [3, 6]
    assert len(state.curves["val_loss"]) == 2
    probs = predict(state, data.val_x[:30]).astype(np.float64)
    labels = data.val_y[:30]
    accuracy, loss = score(state, data, 30)
    assert loss == pytest.approx(-np.log(probs[np.arange(30), labels]).mean(), rel=1e-6)
    assert accuracy == (probs.argmax(axis=1) == labels).mean()
    assert state.curves["val_loss"][-1] == loss
    with pytest.raises(ValueError, match="curves"):  # a run stored without the loss curve
        state.curves.pop("val_loss")
        RunState.from_bytes(state.to_bytes())
