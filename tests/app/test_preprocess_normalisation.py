"""The card's normalisation, x = (pixel * scale - mean) / std, read in one place."""

import numpy as np
import pytest

from app.services.preprocess import normalisation, normalise

CIFAR = {"scale": 1 / 255, "mean": [0.4914, 0.4822, 0.4465], "std": [0.247, 0.2435, 0.2616]}


def test_normalise_is_the_card_formula_per_channel_for_one_image_and_a_batch():
    pixels = np.random.default_rng(0).integers(0, 256, (2, 3, 4, 5)).astype(np.uint8)
    mean, std = np.array(CIFAR["mean"]), np.array(CIFAR["std"])
    want = (pixels / 255 - mean[:, None, None]) / std[:, None, None]
    np.testing.assert_allclose(normalise(pixels, CIFAR), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(normalise(pixels[1], CIFAR), normalise(pixels, CIFAR)[1])
    # No mean or std on the card: 0 and 1 for each of the C channels, however large the batch.
    assert normalise(pixels, {"scale": 1.0}).tolist() == pixels.astype(np.float32).tolist()


def test_pixels_inverts_model_units_and_limits_are_the_values_of_black_and_white():
    norm = normalisation(CIFAR, 3)
    pixels = np.random.default_rng(1).integers(0, 256, (3, 6, 6)).astype(np.uint8)
    np.testing.assert_array_equal(norm.pixels(norm.model_units(pixels)), pixels)
    lo, hi = norm.limits()
    np.testing.assert_array_equal(lo, norm.model_units(np.zeros((3, 1, 1)))[:, 0, 0])
    np.testing.assert_array_equal(hi, norm.model_units(np.full((3, 1, 1), 255))[:, 0, 0])
    np.testing.assert_allclose(lo, -np.array(CIFAR["mean"]) / CIFAR["std"], rtol=1e-6)
    # One value on the card serves every channel.
    assert normalisation({"mean": [0.5], "std": [0.25]}, 3).mean.tolist() == [0.5] * 3


def test_a_card_with_the_wrong_number_of_channel_values_is_refused():
    with pytest.raises(ValueError, match="mean has 2 values for 3 channels"):
        normalisation({"mean": [0.1, 0.2]}, 3)
