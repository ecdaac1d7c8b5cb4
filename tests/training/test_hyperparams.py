"""``convlab train --set KEY=VALUE``: parsing and range checks (no PyTorch needed)."""

from __future__ import annotations

import pytest

from training.hyperparams import RANGES, TUNABLE, parse_overrides


def test_every_tunable_default_has_a_range_that_holds_it():
    for table in TUNABLE.values():
        assert set(table) == set(RANGES)
        for key, value in table.items():
            lo, hi = RANGES[key]
            assert lo <= value <= hi, key
            assert type(lo) is type(value) and type(hi) is type(value), key


def test_values_take_the_type_of_the_default():
    got = parse_overrides("cifar10-net", ["lr=10", "cutout=8", " whiten_eps=5e-3", "momentum=0.9"])
    assert got == {"lr": 10.0, "cutout": 8, "whiten_eps": 0.005, "momentum": 0.9}
    assert type(got["lr"]) is float and type(got["cutout"]) is int
    assert parse_overrides("cifar10-net", None) == {} == parse_overrides("lenet5", [])
    assert parse_overrides("cifar10-net", ["lr=1", "lr=2"]) == {"lr": 2.0}  # the last one wins


@pytest.mark.parametrize("pair, message", [
    ("bogus=1", "KEY one of bias_scaler, cutout,"),
    ("lr", "expected KEY=VALUE"),
    ("=3", "expected KEY=VALUE"),
    ("cutout=8.5", "'8.5' is not an integer"),
    ("lr=fast", "'fast' is not a number"),
    ("lr=nan", "outside 0.0..100.0"),
    ("lr=inf", "outside 0.0..100.0"),
    ("lr=-1", "outside 0.0..100.0"),
    ("momentum=1", "outside 0.0..0.99"),  # 1 / (1 - momentum) would divide by zero
    ("ema_every=0", "outside 1..1000"),    # steps are counted modulo ema_every
    ("cutout=33", "outside 0..32"),
    ("whiten_eps=0", "outside 1e-08..10.0"),
])
def test_bad_pairs_are_refused_with_the_reason(pair, message):
    with pytest.raises(ValueError, match="--set") as err:
        parse_overrides("cifar10-net", [pair])
    assert message in str(err.value)


def test_models_without_a_table_refuse_any_override():
    with pytest.raises(ValueError, match="lenet5's recipe has no tunable hyperparameters"):
        parse_overrides("lenet5", ["lr=1"])
