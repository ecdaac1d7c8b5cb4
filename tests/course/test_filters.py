"""Filter presets: their defining properties at every size, and the course's example."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import engine
from course import filters
from course.filters import MAX_SIZE, PRESETS, available, binomial, filter_bank, kernel

SIZES = range(1, MAX_SIZE + 1)

# The course's 6x6 binary image and what its two 3x3 detectors give (the lecture's numbers).
COURSE_IMAGE = np.array(
    [
        [1, 0, 0, 0, 0, 1],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 1, 0, 0],
        [1, 0, 0, 0, 1, 0],
        [0, 1, 0, 0, 1, 0],
        [0, 0, 1, 0, 1, 0],
    ],
    dtype=np.float32,
)
COURSE_STRIDE_1 = [
    [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]],
    [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]],
]


def conv(x: np.ndarray, w: np.ndarray, stride: int = 1, pad: int = 0) -> np.ndarray:
    out, _ = engine.conv2d_forward(
        x[None], w, None, strides=(stride, stride), pads=(pad,) * 4, dilations=(1, 1)
    )
    return out[0]


def test_binomial_rows():
    assert binomial(1).tolist() == [1]
    assert binomial(3).tolist() == [1, 2, 1]
    assert binomial(5).tolist() == [1, 4, 6, 4, 1]
    with pytest.raises(ValueError):
        binomial(0)


@pytest.mark.parametrize("size", SIZES)
def test_every_available_preset_has_the_right_shape_and_dtype(size):
    names = [p.name for p in available(size)]
    assert "box_blur" in names and "gaussian_blur" in names
    for name in names:
        k = kernel(name, size)
        assert k.shape == (size, size) and k.dtype == np.float32
        assert np.isfinite(k).all()


def defined(names: list[str], sizes) -> list[tuple[str, int]]:
    return [(n, f) for n in names for f in sizes if PRESETS[n].sizes(f)]


@pytest.mark.parametrize(
    "name,size", defined(["box_blur", "gaussian_blur", "identity", "sharpen"], SIZES)
)
def test_brightness_preserving_presets_sum_to_one(name, size):
    assert kernel(name, size).sum() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    "name,size",
    defined(["sobel_x", "sobel_y", "prewitt_x", "prewitt_y", "laplacian", "outline"], SIZES),
)
def test_edge_presets_sum_to_zero_so_flat_areas_give_zero(name, size):
    flat = np.full((1, 9, 9), 0.7, dtype=np.float32)
    out = conv(flat, filter_bank(name, size)[None])
    assert np.abs(out).max() < 1e-5


def test_classic_3x3_kernels():
    assert kernel("sobel_x").tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    assert kernel("sobel_y").tolist() == [[-1, -2, -1], [0, 0, 0], [1, 2, 1]]
    assert kernel("prewitt_x").tolist() == [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]]
    assert kernel("laplacian").tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert kernel("sharpen").tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    assert kernel("emboss").tolist() == [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]
    assert kernel("outline").tolist() == [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    np.testing.assert_allclose(
        kernel("gaussian_blur"), np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    )
    # The 5x5 Sobel: smoothing [1 4 6 4 1] times derivative [-1 -2 0 2 1].
    assert kernel("sobel_x", 5)[2].tolist() == [-6, -12, 0, 12, 6]


def test_sobel_x_is_positive_where_it_gets_brighter_to_the_right():
    ramp = np.tile(np.linspace(0, 1, 8, dtype=np.float32), (8, 1))[None]
    assert (conv(ramp, kernel("sobel_x")[None, None]) > 0).all()
    assert np.abs(conv(ramp, kernel("sobel_y")[None, None])).max() < 1e-6


def test_identity_copies_the_input():
    x = np.random.default_rng(0).random((1, 7, 9), dtype=np.float32)
    for f in (1, 3, 5, 7):
        np.testing.assert_allclose(conv(x, kernel("identity", f)[None, None], pad=f // 2), x)


def test_rgb_bank_acts_on_mean_brightness():
    rng = np.random.default_rng(1)
    x = rng.random((3, 8, 8), dtype=np.float32)
    w3 = filter_bank("sobel_x", 3, channels=3)
    assert w3.shape == (3, 3, 3)
    np.testing.assert_allclose(w3.sum(axis=0), kernel("sobel_x"), atol=1e-6)
    rgb = conv(x, w3[None])
    grey = conv(x.mean(axis=0, keepdims=True), kernel("sobel_x")[None, None])
    np.testing.assert_allclose(rgb, grey, atol=1e-5)


def test_course_example_feature_maps():
    w = np.stack([filter_bank("diagonal"), filter_bank("vertical")])
    out = conv(COURSE_IMAGE[None], w)
    assert out.shape == (2, 4, 4)
    assert out.tolist() == COURSE_STRIDE_1
    # Stride 2 keeps every other position: a 2 x 2 x 2 volume.
    assert conv(COURSE_IMAGE[None], w, stride=2).tolist() == [[[3, -3], [-3, 0]], [[-1, -1], [-1, -2]]]


@pytest.mark.parametrize(
    "name,size,match",
    [
        ("nope", 3, "unknown filter"),
        ("laplacian", 5, "defined for sizes \\[3\\]"),
        ("sobel_x", 4, "not 4x4"),
        ("identity", 2, "not 2x2"),
        ("box_blur", 8, "not 8x8"),
    ],
)
def test_bad_preset_requests_raise_value_error(name, size, match):
    with pytest.raises(ValueError, match=match):
        kernel(name, size)


def test_filter_bank_needs_a_channel():
    with pytest.raises(ValueError, match="at least one channel"):
        filter_bank("identity", 3, 0)


def test_module_is_pure_numpy():
    src = Path(filters.__file__).read_text()
    for banned in ("fastapi", "pydantic", "jinja2", "from app"):
        assert banned not in src
