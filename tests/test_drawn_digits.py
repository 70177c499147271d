"""Tests for drawn_digits (tests/drawn_digits.py): synthetic mouse-drawn digits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from drawn_digits import MULTI_STROKE_STYLES, STROKES, drawn_digit_set, hand_drawn_strokes, render_digit, stroke_paths
from core.preprocess import to_mnist


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


# --------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------


def test_every_digit_has_templates_inside_the_unit_box():
    assert sorted(STROKES) == list(range(10))
    for digit, styles in STROKES.items():
        assert styles, digit
        for template in styles:
            assert template and all(len(stroke) >= 2 for stroke in template)
            points = np.concatenate([np.asarray(stroke) for stroke in template])
            assert points.min() >= -0.05 and points.max() <= 1.05, digit
            extent = points.max(axis=0) - points.min(axis=0)
            assert extent[1] > 0.9, digit  # every digit spans the full height


@pytest.mark.parametrize("digit", [1, 2, 4, 7, 9])
def test_digits_drawn_in_different_ways_have_several_styles(digit):
    assert len(STROKES[digit]) >= 2


def test_multi_stroke_styles_cover_the_ways_people_write_in_several_strokes():
    assert MULTI_STROKE_STYLES == [(d, s) for d in STROKES for s, t in enumerate(STROKES[d]) if len(t) > 1]
    # a 0 in two halves, a 1 with flag and base, a 3 in two arcs, a 4 in two, a 5 with its bar apart,
    # a 7 with a crossbar, an 8 as two loops, a 9 as a loop then a stem...
    assert {digit for digit, _ in MULTI_STROKE_STYLES} >= {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
    assert len(MULTI_STROKE_STYLES) >= 12
    assert max(len(STROKES[d][s]) for d, s in MULTI_STROKE_STYLES) >= 3


def test_hand_drawn_strokes_are_what_render_digit_draws():
    for digit, style in MULTI_STROKE_STYLES:
        strokes, width = hand_drawn_strokes(digit, 5, style=style)
        assert len(strokes) == len(STROKES[digit][style]) and 8 <= width <= 30
        alpha = render_digit(digit, 5, style=style)[..., 3]
        for stroke in strokes:
            assert stroke.shape[1] == 2 and stroke.min() >= 0 and stroke.max() <= 280
            cols, rows = np.round(stroke).astype(int).clip(0, 279).T
            assert (alpha[rows, cols] > 127).all(), (digit, style)  # the ink lies along every stroke
        ink_width = (alpha > 127).sum() / sum(np.hypot(*np.diff(s, axis=0).T).sum() for s in strokes)
        assert 0.5 * width < ink_width < 1.5 * width + 4  # and is as wide as the brush


def test_curves_are_sampled_densely():
    for styles in STROKES.values():
        for template in styles:
            for stroke in template:
                steps = np.hypot(*np.diff(np.asarray(stroke), axis=0).T)
                assert steps.max() < 0.08


def test_stroke_paths_map_into_the_box():
    box = (100, 50, 200, 250)
    for digit, styles in STROKES.items():
        for style in range(len(styles)):
            paths = stroke_paths(digit, style, box)
            assert len(paths) == len(styles[style])
            points = np.concatenate([np.asarray(p) for p in paths])
            assert points[:, 0].min() >= 95 and points[:, 0].max() <= 205
            assert points[:, 1].min() >= 40 and points[:, 1].max() <= 260
    assert stroke_paths(1, 0, box)[0][0] == pytest.approx((150.0, 50.0))


def test_stroke_paths_drawn_with_a_plain_brush_preprocess_to_a_digit():
    for digit in range(10):
        img = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
        draw = ImageDraw.Draw(img)
        for path in stroke_paths(digit, 0, (70, 40, 210, 240)):
            draw.line(path, fill=(0, 0, 0, 255), width=16, joint="curve")
        assert to_mnist(img) is not None, digit


# --------------------------------------------------------------------------
# render_digit
# --------------------------------------------------------------------------


def test_render_digit_is_a_transparent_canvas_with_ink_in_alpha():
    img = render_digit(3, np.random.default_rng(0), color=(10, 200, 30))
    assert img.shape == (280, 280, 4) and img.dtype == np.uint8
    assert (img[..., :3] == (10, 200, 30)).all()
    alpha = img[..., 3]
    assert alpha.min() == 0 and alpha.max() == 255
    assert 0.02 < (alpha > 127).mean() < 0.4
    assert 0 < ((alpha > 0) & (alpha < 255)).sum()  # anti-aliased edges


def test_render_digit_is_deterministic_per_seed_and_varies_between_seeds():
    a = render_digit(5, np.random.default_rng(1))
    b = render_digit(5, np.random.default_rng(1))
    c = render_digit(5, np.random.default_rng(2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(render_digit(5, 1), a)  # an int seed works too


def test_render_digit_modes_and_size():
    rng_state = 7
    rgba = render_digit(8, np.random.default_rng(rng_state), size=140)
    dark = render_digit(8, np.random.default_rng(rng_state), size=140, mode="black_on_white")
    light = render_digit(8, np.random.default_rng(rng_state), size=140, mode="white_on_black")
    assert rgba.shape == (140, 140, 4)
    assert dark.shape == light.shape == (140, 140, 3)
    np.testing.assert_array_equal(dark[..., 0], 255 - rgba[..., 3])
    np.testing.assert_array_equal(light[..., 0], rgba[..., 3])
    assert corr(to_mnist(dark), to_mnist(rgba)) > 0.95
    with pytest.raises(ValueError):
        render_digit(8, 0, mode="sepia")


def test_render_digit_varies_size_position_and_width():
    rng = np.random.default_rng(3)
    heights, centres, ink_fractions = [], [], []
    for i in range(30):
        alpha = render_digit(i % 10, rng)[..., 3] > 127
        rows = np.flatnonzero(alpha.any(axis=1))
        cols = np.flatnonzero(alpha.any(axis=0))
        heights.append((rows[-1] - rows[0]) / 280)
        centres.append(((rows[0] + rows[-1]) / 2, (cols[0] + cols[-1]) / 2))
        ink_fractions.append(alpha.mean())
    assert 0.25 < min(heights) and max(heights) < 0.95
    assert max(heights) - min(heights) > 0.25
    assert np.ptp(np.asarray(centres), axis=0).min() > 60  # not always centred
    assert max(ink_fractions) / min(ink_fractions) > 2


@pytest.mark.parametrize("digit", range(10))
def test_every_style_renders_to_a_non_empty_mnist_digit(digit):
    for style in range(len(STROKES[digit])):
        for seed in range(3):
            out = to_mnist(render_digit(digit, np.random.default_rng(seed), style=style))
            assert out is not None and out.max() == 1.0
            assert (out > 0.5).sum() >= 15


# --------------------------------------------------------------------------
# drawn_digit_set
# --------------------------------------------------------------------------


def test_drawn_digit_set_shapes_balance_and_determinism():
    images, labels = drawn_digit_set(n_per_digit=4, seed=1)
    assert images.shape == (40, 28, 28) and images.dtype == np.float32
    assert labels.shape == (40,) and labels.dtype == np.int64
    assert (np.bincount(labels, minlength=10) == 4).all()
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert np.allclose(images.max(axis=(1, 2)), 1.0)  # no empty image
    again_images, again_labels = drawn_digit_set(n_per_digit=4, seed=1)
    np.testing.assert_array_equal(images, again_images)
    np.testing.assert_array_equal(labels, again_labels)
    other, _ = drawn_digit_set(n_per_digit=4, seed=2)
    assert not np.array_equal(images, other)


def test_drawn_digit_set_looks_like_mnist_statistics():
    images, _ = drawn_digit_set(n_per_digit=3, seed=0)
    # MNIST: mean pixel ~0.13, ~100 pixels above 0.5 per digit, bbox side 20.
    assert 0.07 < images.mean() < 0.2
    assert 50 < (images > 0.5).sum(axis=(1, 2)).mean() < 160
    for img in images:
        rows = np.flatnonzero((img > 0.01).any(axis=1))
        cols = np.flatnonzero((img > 0.01).any(axis=0))
        assert 19 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 20
