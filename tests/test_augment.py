"""Augmentation: each image's own affine map (rotation, shear, scale, as drawn from the generator),
bilinear resampling against a plain per-pixel reference, and the bolder/thinner strokes."""
import numpy as np
import pytest

from core import augment
from core.augment import SIDE, random_affine


class Fixed:
    """A generator whose draws are given: ``uniform`` returns ``value`` and ``random`` returns ``choice``."""

    def __init__(self, value=0.0, choice=None):
        self.value, self.choice = value, choice

    def uniform(self, low, high, size):
        return np.broadcast_to(np.asarray(self.value, dtype=np.float64), size).copy()

    def random(self, n):
        return np.asarray(self.choice, dtype=np.float64)


def digits(n=3, seed=0):
    """Random blobs, with ink on every border row and column too."""
    rng = np.random.default_rng(seed)
    images = rng.random((n, SIDE, SIDE)).astype(np.float32) * (rng.random((n, SIDE, SIDE)) > 0.6)
    images[:, [0, -1], :] = 0.9
    images[:, :, [0, -1]] = 0.7
    return images.reshape(n, -1)


def bilinear(image, x, y):
    """The image (28 x 28) sampled at (x, y), with zeros outside."""
    def pixel(col, row):
        return image[row, col] if 0 <= col < SIDE and 0 <= row < SIDE else 0.0
    x0, y0 = int(np.floor(x)), int(np.floor(y))
    fx, fy = x - x0, y - y0
    return ((1 - fy) * ((1 - fx) * pixel(x0, y0) + fx * pixel(x0 + 1, y0))
            + fy * ((1 - fx) * pixel(x0, y0 + 1) + fx * pixel(x0 + 1, y0 + 1)))


def plain_warp(image, inverse_map, shift):
    """Output pixel p takes the input at inverse_map (p - centre) - shift + centre."""
    centre = (SIDE - 1) / 2
    out = np.zeros((SIDE, SIDE))
    for row in range(SIDE):
        for col in range(SIDE):
            x, y = inverse_map @ np.array([col - centre, row - centre]) - shift + centre
            out[row, col] = bilinear(image, x, y)
    return out


@pytest.mark.parametrize("shift", [(0.0, 0.0), (-0.5, 0.0), (0.0, 0.5), (1.25, -0.75)])
def test_warp_is_bilinear_resampling_at_the_mapped_pixels(shift):
    images = digits(2)
    angle = np.deg2rad(10)
    maps = np.array([np.eye(2), [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]],
                    dtype=np.float32)
    warped = augment._warp(images, maps, Fixed(np.reshape(shift, (2, 1))), max_shift=2.0)
    assert warped.dtype == np.float32 and warped.shape == images.shape
    for image, inverse_map, out in zip(images, maps, warped):
        expected = plain_warp(image.reshape(SIDE, SIDE), inverse_map.astype(np.float64), np.array(shift))
        np.testing.assert_allclose(out.reshape(SIDE, SIDE), expected, atol=2e-5)
    if shift == (0.0, 0.0):
        np.testing.assert_array_equal(warped[0], images[0])  # identity: border ink and all


def test_each_map_is_the_inverse_of_rotation_shear_and_scale_drawn_in_that_order():
    n, seed = 5, 3
    maps = augment._random_maps(n, np.random.default_rng(seed), max_rotation=12.0, max_scale=0.12,
                                max_shear=0.25)
    rng = np.random.default_rng(seed)
    angle = np.deg2rad(rng.uniform(-12.0, 12.0, n))
    scale = 1.0 + rng.uniform(-0.12, 0.12, (n, 2))
    shear = rng.uniform(-0.25, 0.25, n)
    assert maps.dtype == np.float32 and maps.shape == (n, 2, 2)
    for i in range(n):
        rotation = np.array([[np.cos(angle[i]), -np.sin(angle[i])], [np.sin(angle[i]), np.cos(angle[i])]])
        forward = rotation @ np.array([[1.0, shear[i]], [0.0, 1.0]]) @ np.diag(scale[i])
        np.testing.assert_allclose(maps[i], np.linalg.inv(forward), rtol=1e-6, atol=1e-6)


def test_a_rotation_only_map_is_a_rotation_within_the_limit():
    maps = augment._random_maps(200, np.random.default_rng(0), max_rotation=12.0, max_scale=0.0, max_shear=0.0)
    for inverse in maps.astype(np.float64):
        np.testing.assert_allclose(inverse @ inverse.T, np.eye(2), atol=1e-6)
        assert np.linalg.det(inverse) == pytest.approx(1.0, abs=1e-6)
        assert abs(np.degrees(np.arctan2(inverse[1, 0], inverse[0, 0]))) <= 12.0 + 1e-4


def test_no_distortion_at_all_gives_the_images_back():
    images = digits(4)
    out = random_affine(images, np.random.default_rng(0), max_shift=0.0, max_rotation=0.0, max_scale=0.0,
                        max_shear=0.0, thickness=0.0)
    np.testing.assert_allclose(out, images, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_random_affine_returns_a_new_array_of_the_same_dtype_and_keeps_x(dtype):
    images = digits(5).astype(dtype)
    before = images.copy()
    out = random_affine(images, np.random.default_rng(1))
    assert out.dtype == dtype and out.shape == images.shape and out is not images
    np.testing.assert_array_equal(images, before)
    assert np.all((out >= 0) & (out <= 1 + 1e-6))
    assert not np.allclose(out, images)


def test_the_defaults_are_2_px_12_degrees_12_percent_a_quarter_shear_and_30_percent_strokes():
    images = np.repeat(digits(3), 1367, axis=0)[:4100]  # more than one chunk of 4,096
    default = random_affine(images, np.random.default_rng(5))
    spelled_out = random_affine(images, np.random.default_rng(5), max_shift=2.0, max_rotation=12.0,
                                max_scale=0.12, max_shear=0.25, thickness=0.3, chunk=4096)
    np.testing.assert_array_equal(default, spelled_out)


def test_every_chunk_is_distorted_and_restroked(monkeypatch):
    """Small chunks: every image goes through the warp and the stroke change, exactly once."""
    calls = []
    change = augment._change_thickness
    monkeypatch.setattr(augment, "_change_thickness",
                        lambda flat, rng, p: calls.append(len(flat)) or change(flat, rng, p))
    images = digits(10)
    out = random_affine(images, np.random.default_rng(0), max_shift=0.0, max_rotation=0.0, max_scale=0.0,
                        max_shear=0.0, thickness=1.0, chunk=4)
    assert calls == [4, 4, 2]
    assert all(not np.allclose(a, b) for a, b in zip(out, images))


# ----- bolder and thinner strokes ------------------------------------------------------------------------


def one(image):
    return image.reshape(1, -1).astype(np.float32)


def test_bolder_is_a_3x3_maximum_centred_on_each_pixel():
    image = np.zeros((SIDE, SIDE), np.float32)
    image[5, 9], image[0, 0], image[20, 27] = 0.8, 1.0, 0.5
    flat = one(image)
    augment._change_thickness(flat, Fixed(choice=[0.0]), probability=0.5)
    expected = np.zeros((SIDE, SIDE), np.float32)
    expected[4:7, 8:11], expected[0:2, 0:2], expected[19:22, 26:28] = 0.8, 1.0, 0.5
    np.testing.assert_array_equal(flat.reshape(SIDE, SIDE), expected)


def test_thinner_is_a_3x3_minimum_that_keeps_faint_strokes_and_rescales_to_full_ink():
    image = np.zeros((SIDE, SIDE), np.float32)
    image[10:13, 10:13] = 0.5  # a faint 3 x 3 dot: only its centre survives the minimum
    flat = one(image)
    augment._change_thickness(flat, Fixed(choice=[0.3]), probability=0.5)
    expected = np.zeros((SIDE, SIDE), np.float32)
    expected[10:13, 10:13] = 0.6  # 60% of the stroke is kept, relative to the new peak
    expected[11, 11] = 1.0
    np.testing.assert_allclose(flat.reshape(SIDE, SIDE), expected, rtol=1e-6)


def test_thinner_does_not_eat_ink_at_the_edge_of_the_picture():
    flat = one(np.ones((SIDE, SIDE)))
    augment._change_thickness(flat, Fixed(choice=[0.3]), probability=0.5)
    np.testing.assert_array_equal(flat, 1.0)


def test_each_image_is_rescaled_by_its_own_peak():
    faint, strong = np.zeros((SIDE, SIDE)), np.zeros((SIDE, SIDE))
    faint[5:8, 5:8], strong[5:8, 5:8] = 0.25, 1.0
    flat = np.stack([faint.ravel(), strong.ravel()]).astype(np.float32)
    augment._change_thickness(flat, Fixed(choice=[0.3, 0.3]), probability=0.5)
    np.testing.assert_allclose(flat[0], flat[1], rtol=1e-6)
    assert flat[0].max() == pytest.approx(1.0)


@pytest.mark.parametrize("choice, kind", [
    (0.0, "bolder"), (0.15, "bolder"), (0.2, "thinner"), (0.25, "thinner"), (0.399, "thinner"),
    (0.4, "unchanged"), (0.9, "unchanged"),
])
def test_a_share_of_probability_over_2_gets_bolder_and_as_many_thinner(choice, kind):
    image = np.zeros((SIDE, SIDE), np.float32)
    image[10:13, 10:13] = 1.0
    image[20, 20] = 1.0
    flat = np.repeat(one(image), 2, axis=0)
    # a second image drawn the other way, so that no kind is ever skipped for lack of images
    other = 0.9 if choice < 0.4 else 0.0
    augment._change_thickness(flat, Fixed(choice=[choice, other]), probability=0.4)
    result = flat[0].reshape(SIDE, SIDE)
    if kind == "bolder":
        assert result[9, 9] == 1.0 and result[21, 21] == 1.0
    elif kind == "thinner":
        assert result[11, 11] == 1.0 and result[10, 10] == pytest.approx(0.6) and result[9, 9] == 0.0
    else:
        np.testing.assert_array_equal(result, image)
