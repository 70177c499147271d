"""Tests for core.preprocess: canvas/photo input -> MNIST-style 28x28."""

from __future__ import annotations

import io
import re
import time
import tracemalloc
import warnings

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from core import preprocess
from core.preprocess import load_image, preview_image, reading_copy, to_mnist

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def draw_two(
    size: int = 280, box: tuple[float, float, float, float] = (70, 40, 200, 240), width: int = 18
) -> np.ndarray:
    """A '2'-like digit as uint8 ink (255 = ink) on a size x size canvas."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    angles = np.linspace(np.pi, 2.2 * np.pi, 30)
    top = [(x0 + w * (0.5 + 0.45 * np.cos(a)), y0 + h * (0.25 + 0.25 * np.sin(a))) for a in angles]
    points = top + [(x0, y1), (x1, y1)]
    draw.line(points, fill=255, width=width, joint="curve")
    r = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img)


def white_on_black(ink: np.ndarray) -> np.ndarray:
    return ink.copy()


def black_on_white(ink: np.ndarray) -> np.ndarray:
    return np.repeat((255 - ink)[..., None], 3, axis=2)


def rgba_alpha(ink: np.ndarray, color=(200, 40, 90)) -> np.ndarray:
    out = np.zeros(ink.shape + (4,), dtype=np.uint8)
    out[..., :3] = color
    out[..., 3] = ink
    return out


def grey_photo(ink: np.ndarray, seed: int = 0) -> np.ndarray:
    """Dark pen on grey, unevenly lit, noisy, slightly blurred paper."""
    rng = np.random.default_rng(seed)
    h, w = ink.shape
    yy, xx = np.mgrid[:h, :w]
    paper = 160 + 50 * xx / w - 25 - 20 * ((yy - h / 2) / (h / 2)) ** 2 + rng.normal(0, 6, (h, w))
    photo = paper * (1 - 0.75 * ink / 255.0)
    blurred = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.0))
    return np.asarray(blurred)


SCHEMES = {
    "white_on_black": white_on_black,
    "black_on_white": black_on_white,
    "rgba_alpha": rgba_alpha,
    "grey_photo": grey_photo,
}


def bbox_side(out: np.ndarray, level: float = 0.01) -> int:
    rows = np.flatnonzero((out > level).any(axis=1))
    cols = np.flatnonzero((out > level).any(axis=0))
    return max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)


def bbox_shape(out: np.ndarray, level: float = 0.01) -> tuple[int, int]:
    rows = np.flatnonzero((out > level).any(axis=1))
    cols = np.flatnonzero((out > level).any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def centre_of_mass(out: np.ndarray) -> tuple[float, float]:
    idx = np.arange(out.shape[0])
    total = out.sum()
    return float((out.sum(axis=1) * idx).sum() / total), float((out.sum(axis=0) * idx).sum() / total)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def assert_mnist_like(out: np.ndarray | None) -> None:
    assert out is not None
    assert out.shape == (28, 28)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
    assert 19 <= bbox_side(out) <= 20
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0


# --------------------------------------------------------------------------
# Output contract and colour schemes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
def test_each_colour_scheme_gives_mnist_like_output(scheme):
    assert_mnist_like(to_mnist(SCHEMES[scheme](draw_two())))


def test_colour_schemes_agree():
    ink = draw_two()
    reference = to_mnist(ink)
    for name, make in SCHEMES.items():
        assert corr(to_mnist(make(ink)), reference) > 0.95, name


def test_output_is_white_ink_on_black():
    out = to_mnist(black_on_white(draw_two()))
    assert out[0, 0] == 0.0 and out[-1, -1] == 0.0  # corners are background
    assert (out > 0.5).sum() > 30


@pytest.mark.parametrize(
    "box",
    [(6, 6, 32, 46), (240, 226, 266, 266), (30, 14, 192, 264)],
    ids=["tiny_top_left", "tiny_bottom_right", "whole_canvas"],
)
def test_position_and_size_do_not_matter(box):
    reference = to_mnist(draw_two())  # box (70, 40, 200, 240): same aspect ratio
    out = to_mnist(draw_two(box=box, width=max(4, round(18 * (box[3] - box[1]) / 200))))
    assert_mnist_like(out)
    assert corr(out, reference) > 0.85


def test_aspect_ratio_is_kept():
    bar = np.zeros((200, 200), dtype=np.uint8)
    bar[90:110, 20:180] = 255  # 160 x 20: a minus sign
    height, width = bbox_shape(to_mnist(bar))
    assert width == 20 and 2 <= height <= 4
    stick = bar.T.copy()
    height, width = bbox_shape(to_mnist(stick))
    assert height == 20 and 2 <= width <= 4


def test_input_is_not_modified():
    ink = rgba_alpha(draw_two())
    before = ink.copy()
    to_mnist(ink)
    np.testing.assert_array_equal(ink, before)


# --------------------------------------------------------------------------
# Input types
# --------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["white_on_black", "black_on_white", "rgba_alpha"])
def test_pil_and_ndarray_inputs_agree(scheme):
    array = SCHEMES[scheme](draw_two())
    np.testing.assert_allclose(to_mnist(Image.fromarray(array)), to_mnist(array), atol=1e-6)


def test_float_and_channel_variants_agree():
    ink = draw_two()
    reference = to_mnist(ink)
    variants = {
        "float32": ink.astype(np.float32) / 255,
        "float64": ink.astype(np.float64) / 255,
        "hw1": ink[..., None],
        "la": np.stack([ink, np.full_like(ink, 255)], axis=2),
        "rgba_float": rgba_alpha(ink).astype(np.float32) / 255,
        "bool": ink > 127,
        "uint16": ink.astype(np.uint16) * 257,
    }
    for name, variant in variants.items():
        assert corr(to_mnist(variant), reference) > 0.98, name


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "P", "LA", "PA", "I", "I;16", "F", "1", "CMYK"])
def test_pil_modes(mode):
    ink = draw_two()
    source = Image.fromarray(rgba_alpha(ink) if mode in ("RGBA", "LA", "PA") else black_on_white(ink))
    out = to_mnist(source.convert(mode))
    assert_mnist_like(out)
    assert corr(out, to_mnist(ink)) > 0.95


def test_palette_image_with_transparency():
    ink = draw_two()
    img = Image.fromarray((ink > 127).astype(np.uint8), mode="L").convert("P")
    img.putpalette([255, 255, 255, 0, 0, 255])  # index 0: (transparent) white, 1: blue ink
    img.info["transparency"] = 0
    assert corr(to_mnist(img), to_mnist(ink)) > 0.95
    img.info.pop("transparency")  # without transparency: blue ink on white, same digit
    assert corr(to_mnist(img), to_mnist(ink)) > 0.95


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((10, 10, 5), np.uint8),
        np.zeros((2, 10, 10, 3), np.uint8),
        np.zeros(10, np.uint8),
        np.zeros((10, 10), complex),
    ],
    ids=["5_channels", "4d", "1d", "complex"],
)
def test_unsupported_arrays_raise_value_error(bad):
    with pytest.raises(ValueError):
        to_mnist(bad)


def test_non_image_input_raises_value_error():
    with pytest.raises(ValueError, match="NumPy array or a PIL image"):
        to_mnist("digit.png")


# --------------------------------------------------------------------------
# Nothing drawn
# --------------------------------------------------------------------------


def _dot(size: int = 280, radius: int = 1) -> np.ndarray:
    ink = np.zeros((size, size), dtype=np.uint8)
    ink[140 - radius : 140 + radius, 140 - radius : 140 + radius] = 255
    return ink


@pytest.mark.parametrize(
    "image",
    [
        rgba_alpha(np.zeros((280, 280), np.uint8)),  # empty transparent canvas
        np.zeros((280, 280), np.uint8),  # full-black canvas
        np.full((280, 280, 3), 255, np.uint8),  # blank white canvas
        np.full((280, 280, 4), (30, 30, 30, 255), np.uint8),  # opaque, uniform RGBA
        rgba_alpha(_dot()),  # single 2 px dot
        black_on_white(_dot()),
        _dot(radius=2),
        np.zeros((1, 1), np.uint8),
        np.full((1, 1), 255, np.uint8),
        np.ones((1, 1, 4), np.float32),
        np.zeros((0, 10), np.uint8),
    ],
    ids=[
        "empty_rgba",
        "full_black",
        "full_white",
        "opaque_uniform_rgba",
        "dot_rgba",
        "dot_black_on_white",
        "dot_4px",
        "1x1_black",
        "1x1_white",
        "1x1_rgba_float",
        "zero_size",
    ],
)
def test_nothing_drawn_gives_none(image):
    assert to_mnist(image) is None


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "1"])
def test_1x1_pil_image_gives_none(mode):
    assert to_mnist(Image.new(mode, (1, 1))) is None


def test_blank_noisy_paper_photo_gives_none():
    rng = np.random.default_rng(1)
    paper = np.clip(180 + rng.normal(0, 12, (300, 400)), 0, 255).astype(np.uint8)
    assert to_mnist(paper) is None


def test_min_ink_pixels_is_respected():
    ink = draw_two()
    assert to_mnist(ink) is not None
    assert to_mnist(ink, min_ink_pixels=10**6) is None


# --------------------------------------------------------------------------
# A dot or a tick of the pen is not a digit, whatever the pen
# --------------------------------------------------------------------------

PEN_WIDTHS = [8, 20, 40]  # the Draw page's stroke-width slider: 8..40


def pen_ink(strokes, width: float, size: int = 280) -> np.ndarray:
    """Ink (uint8, 255 = ink) of ``strokes`` (lists of (x, y)) drawn with a round pen, like the canvas."""
    img = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(img)
    r = width / 2
    for stroke in strokes:
        if len(stroke) > 1:
            draw.line(stroke, fill=255, width=round(width))
        for x, y in stroke:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(img)


def pen_stroke(length: float, angle: float, centre=(140.0, 140.0)):
    """One straight stroke of ``length`` px through ``centre`` at ``angle`` degrees."""
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    return [(centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)]


@pytest.mark.parametrize("width", PEN_WIDTHS)
def test_a_dot_of_the_pen_is_nothing_drawn(width):
    dot = rgba_alpha(pen_ink([[(140, 140)]], width))
    assert to_mnist(dot, pen_width=width) is None
    assert to_mnist(dot) is None  # the pen unknown: measured from the ink


@pytest.mark.parametrize("width", PEN_WIDTHS)
@pytest.mark.parametrize("angle", [0, 30, 45, 90, 135])
def test_a_tick_shorter_than_the_pen_is_wide_is_nothing_drawn(width, angle):
    tick = rgba_alpha(pen_ink([pen_stroke(0.8 * width, angle)], width))
    assert to_mnist(tick, pen_width=width) is None
    assert to_mnist(tick) is None


@pytest.mark.parametrize("width", PEN_WIDTHS)
@pytest.mark.parametrize("angle", [90, 80, 60])
def test_a_short_one_is_read(width, angle):
    """A single stroke two pen widths long: about the shortest "1" there is, still read."""
    one = rgba_alpha(pen_ink([pen_stroke(2 * width, angle)], width))
    assert_mnist_like(to_mnist(one, pen_width=width))
    assert_mnist_like(to_mnist(one))


@pytest.mark.parametrize("width", PEN_WIDTHS)
def test_the_pen_width_is_in_the_inputs_pixels(width):
    """A big canvas is shrunk before it is read: the pen given in its pixels is shrunk with it."""
    scale = 10  # 2800 px: shrunk to WORK_SIDE
    one = pen_ink([[(x * scale, y * scale) for x, y in pen_stroke(2 * width, 90)]], width * scale, 280 * scale)
    tick = pen_ink([[(x * scale, y * scale) for x, y in pen_stroke(0.8 * width, 90)]], width * scale, 280 * scale)
    assert to_mnist(one, pen_width=width * scale) is not None
    assert to_mnist(tick, pen_width=width * scale) is None


@pytest.mark.parametrize("diameter", [6, 30, 120, 250])
def test_a_blot_in_a_picture_is_nothing_drawn(diameter):
    """A full stop or an ink blot photographed on paper: no pen known, still no digit."""
    blot = pen_ink([[(150, 140)]], diameter, 300)
    assert to_mnist(grey_photo(blot)) is None
    assert to_mnist(black_on_white(blot)) is None


@pytest.mark.parametrize("width", [8, 40, 60])
def test_a_bold_digit_in_a_picture_is_read(width):
    assert_mnist_like(to_mnist(black_on_white(draw_two(width=width))))
    assert_mnist_like(to_mnist(grey_photo(draw_two(width=width))))


# --------------------------------------------------------------------------
# Large inputs
# --------------------------------------------------------------------------


def test_huge_image_is_fast_and_memory_bounded():
    big = np.zeros((10_000, 10_000), dtype=np.uint8)
    big[2000:2800, 3000:7000] = 255  # a '7': top bar ...
    big[2000:8000, 6200:7000] = 255  # ... and stem
    tracemalloc.start()
    try:
        start = time.perf_counter()
        out = to_mnist(big)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_mnist_like(out)
    assert elapsed < 3.0
    assert peak < 60e6  # NumPy allocations: far below one float copy (400+ MB)


def test_too_many_pixels_raise_value_error():
    huge_view = np.broadcast_to(np.uint8(0), (10_001, 10_000))  # no memory behind it
    with pytest.raises(ValueError, match="too large"):
        to_mnist(huge_view)


def test_too_many_pixels_pil_raises_value_error(monkeypatch):
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 1000)
    with pytest.raises(ValueError, match="too large"):
        to_mnist(Image.new("L", (100, 100)))


# --------------------------------------------------------------------------
# load_image
# --------------------------------------------------------------------------


def _png_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_load_image_from_bytes_path_and_file(tmp_path):
    data = _png_bytes(black_on_white(draw_two()))
    path = tmp_path / "digit.png"
    path.write_bytes(data)
    reference = to_mnist(black_on_white(draw_two()))
    for source in (data, bytearray(data), io.BytesIO(data), str(path), path):
        img = load_image(source)
        assert isinstance(img, Image.Image) and img.size == (280, 280)
        np.testing.assert_allclose(to_mnist(img), reference, atol=1e-6)


def test_load_image_applies_exif_orientation():
    img = Image.fromarray(np.zeros((20, 40, 3), np.uint8))  # 40 wide, 20 high
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees when displayed
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif)
    assert load_image(buf.getvalue()).size == (20, 40)


@pytest.mark.parametrize(
    "data",
    [b"this is not an image", b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 20],
    ids=["text", "empty", "png_signature_only"],
)
def test_load_image_rejects_non_images(data):
    with pytest.raises(ValueError, match="not an image Pillow can read"):
        load_image(data)


def test_load_image_rejects_truncated_png():
    rng = np.random.default_rng(0)
    data = _png_bytes(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="not an image Pillow can read"):
        load_image(data[: len(data) // 2])


def test_load_image_rejects_decompression_bombs(monkeypatch):
    data = _png_bytes(np.zeros((100, 100), np.uint8))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10,000 px > 2 x limit -> bomb
    with pytest.raises(ValueError, match="too large"):
        load_image(data)


# --------------------------------------------------------------------------
# The 8-bit copy of an upload that people see
# --------------------------------------------------------------------------


def _seven_on_paper(low, high, dtype, size=(280, 280)):
    """A dark digit (``low``) on light paper (``high``) as a ``dtype`` PIL image."""
    ink = np.asarray(Image.fromarray(draw_two()).resize(size), dtype=np.float64) / 255
    return Image.fromarray((high - ink * (high - low)).astype(dtype))


DEEP_PICTURES = {
    "I;16": lambda size=(280, 280): _seven_on_paper(9_000, 41_000, np.uint16, size),
    "I": lambda size=(280, 280): _seven_on_paper(-70_000, 90_000, np.int32, size),
    "F": lambda size=(280, 280): _seven_on_paper(-3.0, 12.5, np.float32, size),
}


@pytest.mark.parametrize("mode", DEEP_PICTURES)
def test_preview_of_a_deep_picture_is_8_bit_and_keeps_its_contrast(mode):
    picture = DEEP_PICTURES[mode]()
    assert picture.mode == mode
    preview = preview_image(picture, 280)
    assert preview.mode == "L" and preview.size == (280, 280)
    shown = np.asarray(preview, dtype=np.float64)
    assert shown.min() < 10 and shown.max() > 245  # the paper light, the ink dark: stretched, not clipped
    assert corr(shown, np.asarray(picture, dtype=np.float64)) > 0.999  # a linear map of the values


def test_preview_of_16_bit_values_shows_what_the_network_reads():
    picture = DEEP_PICTURES["I;16"]()
    grey = 255 - np.asarray(preview_image(picture, 280), dtype=np.float64)
    assert corr(to_mnist(Image.fromarray(grey.astype(np.uint8))), to_mnist(picture)) > 0.99


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "LA", "PA", "CMYK", "I;16", "I", "F"])
def test_preview_fits_in_the_box_in_a_mode_browsers_show(mode):
    ink = draw_two()
    source = Image.fromarray(rgba_alpha(ink) if mode in ("RGBA", "LA", "PA") else black_on_white(ink))
    picture = DEEP_PICTURES[mode]((700, 350)) if mode in DEEP_PICTURES else source.convert(mode).resize((700, 350))
    preview = preview_image(picture, 280)
    assert preview.mode in ("L", "LA", "RGB", "RGBA")
    assert preview.size == (280, 140)
    small = preview_image(picture.resize((28, 14)), 280)
    assert small.size == (28, 14)  # never enlarged (the page shows it at the canvas's size)
    preview.save(io.BytesIO(), format="PNG")


# --------------------------------------------------------------------------
# Exact results: a clean canvas is read pixel for pixel
# --------------------------------------------------------------------------
# On a clean canvas (exact black background, no noise) the ink is the grey level
# over the brightest one, so the steps of the recipe can be checked exactly:
# the box drawn around the ink, the 20 px scale, the centre of mass and the
# "nothing drawn" limits.


def _graded_seven() -> np.ndarray:
    """A 20 x 12 px '7' (uint8), its grey levels graded so that every pixel matters."""
    seven = np.zeros((20, 12), np.uint8)
    seven[0:2, :] = np.linspace(80, 255, 12).round()
    for row in range(2, 20):
        col = round(11 - (row - 2) * 10 / 17)
        seven[row, max(col - 1, 0) : col + 1] = 40 + row * 10
    return seven


def _on_canvas(digit: np.ndarray, at: tuple[int, int], shape: tuple[int, int] = (64, 64)) -> np.ndarray:
    canvas = np.zeros(shape, np.uint8)
    canvas[at[0] : at[0] + digit.shape[0], at[1] : at[1] + digit.shape[1]] = digit
    return canvas


def _assert_pasted_and_centred(out: np.ndarray, digit: np.ndarray) -> None:
    """``out`` is ``digit`` (scaled to a maximum of 1) pasted whole into the 28 x 28 field, its
    centre of mass within half a pixel of (14, 14), or the digit against the side it leans to."""
    assert out.shape == (28, 28) and out.dtype == np.float32
    expected = digit.astype(np.float64) / digit.max()
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    top, left = rows[0], cols[0]
    np.testing.assert_allclose(out[top : top + digit.shape[0], left : left + digit.shape[1]], expected, atol=1e-6)
    assert out.sum() == pytest.approx(expected.sum(), abs=1e-4)  # nothing else in the field
    for offset, com, side in zip((top, left), centre_of_mass_2d(expected), digit.shape):
        placed = offset + com
        if abs(placed - 14) > 0.5:  # only allowed when the digit cannot go further
            assert (offset == 0 and placed > 14) or (offset == 28 - side and placed < 14)


def centre_of_mass_2d(image: np.ndarray) -> tuple[float, float]:
    total = image.sum()
    return (
        float((image.sum(axis=1) * np.arange(image.shape[0])).sum() / total),
        float((image.sum(axis=0) * np.arange(image.shape[1])).sum() / total),
    )


def _top_heavy(digit: np.ndarray) -> np.ndarray:
    heavy = digit.copy()
    heavy[2:] //= 8
    return heavy


HEAVY = {
    "seven": _graded_seven(),
    "seven_top_heavy": _top_heavy(_graded_seven()),  # centre of mass near the top: pasted at row 8
    "seven_bottom_heavy": _top_heavy(_graded_seven())[::-1].copy(),  # ... near the bottom: at row 0
    "seven_sideways": _graded_seven().T.copy(),  # 12 x 20: the longer side across
    "seven_left_heavy": _top_heavy(_graded_seven()).T.copy(),
    "seven_right_heavy": _top_heavy(_graded_seven()).T[:, ::-1].copy(),
}


@pytest.mark.parametrize("digit", HEAVY)
@pytest.mark.parametrize(
    "at", [(22, 26), (0, 0), (44, 44)], ids=["middle", "touching_top_left", "touching_bottom_right"]
)
def test_a_digit_20_px_long_is_pasted_unchanged_with_its_centre_of_mass_in_the_middle(digit, at):
    """No rescaling is needed: the ink is copied as is, wherever it is on the canvas, even against its border."""
    digit = HEAVY[digit]
    out = to_mnist(_on_canvas(digit, at))
    _assert_pasted_and_centred(out, digit)
    assert out.max() == 1.0



def _seven_peaking_at(peak: int) -> np.ndarray:
    seven = _graded_seven().astype(np.float64)
    return np.round(seven * peak / 255).astype(np.uint8)


@pytest.mark.parametrize("speck, counts", [(25, False), (26, True)], ids=["at_10_percent", "just_above"])
def test_only_ink_above_a_tenth_of_the_strongest_counts_for_the_box(speck, counts):
    """A faint speck far from the digit (10% of the peak ink, exactly) is left out of the bounding box."""
    seven = _seven_peaking_at(250)
    clean = _on_canvas(seven, (22, 26))
    specked = clean.copy()
    specked[60, 60] = speck
    out = to_mnist(specked)
    if counts:  # the box now reaches the speck: the seven is scaled down with it
        assert bbox_side(out, level=0.3) <= 12  # 20 px of the 39 px box
    else:
        np.testing.assert_array_equal(out, to_mnist(clean))
        _assert_pasted_and_centred(out, seven)


def test_min_ink_pixels_counts_pixels_with_at_least_half_the_peak_ink():
    seven = _seven_peaking_at(250)
    seven[seven == seven[5][seven[5] > 0][0]] = 125  # some pixels at exactly half the peak ...
    seven[seven == seven[9][seven[9] > 0][0]] = 124  # ... and some just below
    canvas = _on_canvas(seven, (22, 26))
    inked = int(np.count_nonzero(seven >= 125))
    assert to_mnist(canvas, min_ink_pixels=inked) is not None
    assert to_mnist(canvas, min_ink_pixels=inked + 1) is None


def test_min_extent_is_a_fraction_of_the_canvas_longer_side():
    """The seven is 20 px tall on a 160 x 80 canvas: 1/8 of its longer side."""
    canvas = _on_canvas(_graded_seven(), (70, 34), shape=(160, 80))
    assert to_mnist(canvas, min_extent=0.125) is not None
    assert to_mnist(canvas, min_extent=0.13) is None
    sideways = _on_canvas(_graded_seven().T, (34, 70), shape=(80, 160))
    assert to_mnist(sideways, min_extent=0.125) is not None
    assert to_mnist(sideways, min_extent=0.13) is None


@pytest.mark.parametrize("scale", [1, 2], ids=["canvas_64", "canvas_2048_read_at_1024"])
def test_ink_less_than_dot_span_pen_widths_across_is_a_dot(scale):
    """The seven is 20 px tall, one of them the anti-aliased rim: 19 px = 2.5 pen widths of 7.6 px.

    The pen is given in the input's pixels: on a big canvas, read at half size, it is twice as wide
    (and the seven, drawn twice as big, is read exactly as the small one).
    """
    seven = np.kron(_graded_seven(), np.ones((scale, scale), np.uint8))
    canvas = _on_canvas(seven, (22 * scale, 26 * scale), shape=(64 * scale, 64 * scale) if scale == 1 else (2048, 2048))
    read = {pen: to_mnist(canvas, pen_width=pen * scale, min_extent=0.01) for pen in (7.59, 7.6, 7.61)}
    assert read[7.59] is not None and read[7.6] is not None
    assert read[7.61] is None
    np.testing.assert_allclose(read[7.6], to_mnist(_on_canvas(_graded_seven(), (22, 26))), atol=1e-3)


def _bar(thickness: int, length: int, canvas: int = 100) -> np.ndarray:
    ink = np.zeros((canvas, canvas), np.uint8)
    ink[40 : 40 + thickness, 10 : 10 + length] = 255
    return ink


def _diamond_with_tail(tail: int) -> np.ndarray:
    """A diamond 9 px across (|dx| + |dy| <= 4) with a 1 px line ``tail`` px long from its centre."""
    yy, xx = np.mgrid[:60, :60]
    ink = np.where(np.abs(yy - 30) + np.abs(xx - 20) <= 4, 255, 0).astype(np.uint8)
    ink[30, 20 : 20 + tail] = 255
    return ink


@pytest.mark.parametrize(
    "ink, is_a_dot",
    [
        (_bar(5, 13), True),  # 5 px pen: 13 - 1 < 2.5 * 5
        (_bar(5, 14), False),
        (_bar(1, 3), True),  # 1 px pen: 3 - 1 < 2.5
        (_bar(1, 4), False),
        # The widest disc in a diamond is narrower than the diamond: about 7 of its 9 px.
        (_diamond_with_tail(14), True),  # 18 px across: 17 < 2.5 * 7
        (_diamond_with_tail(15), False),  # 19 px
        # Measured on a copy of at most 64 px, then scaled back: a 30 px pen.
        (_bar(30, 70, canvas=200), True),
        (_bar(30, 80, canvas=200), False),
    ],
    ids=["bar_5x13", "bar_5x14", "bar_1x3", "bar_1x4", "diamond_18", "diamond_19", "bar_30x70", "bar_30x80"],
)
def test_without_a_pen_width_the_thickest_stroke_is_the_pen(ink, is_a_dot):
    """The pen of a picture is the widest disc that fits in its ink; less than 2.5 of them across is a dot."""
    assert (to_mnist(ink, min_ink_pixels=1, min_extent=0) is None) == is_a_dot


# --------------------------------------------------------------------------
# Exact grey levels of deep, float and odd pictures
# --------------------------------------------------------------------------


def _rounded(values) -> np.ndarray:
    """Round half up to uint8, the way a grey level is quantised."""
    return np.floor(np.asarray(values, np.float64) + 0.5).astype(np.uint8)


def _stretched(values) -> np.ndarray:
    """``values`` stretched from [min, max] to [0, 255], rounded."""
    values = np.asarray(values, np.float64)
    return _rounded((values - values.min()) * 255 / (values.max() - values.min()))


_NAN, _INF = np.nan, np.inf
DEEP_LEVELS = {  # mode, values, expected 8-bit grey levels
    "float_0_to_1_scaled_by_255": ("F", [[0, 0.2, 0.6], [0.25, 0.9, 0.5]], _rounded([[0, 51, 153], [63.75, 229.5, 127.5]])),
    "float_reaching_1_scaled_by_255": ("F", [[0.2, 1, 0.4], [0.6, 0.8, 0.3]], _rounded([[51, 255, 102], [153, 204, 76.5]])),
    "float_just_above_1_kept": ("F", [[0, 0.4, 1.2], [1.5, 2, 0.6]], [[0, 0, 1], [2, 2, 1]]),
    "float_0_to_255_kept": ("F", [[0, 1.5, 3.2], [100.7, 254.4, 255]], _rounded([[0, 1.5, 3.2], [100.7, 254.4, 255]])),
    "int_0_to_255_kept": ("I", [[0, 1, 7], [200, 254, 255]], [[0, 1, 7], [200, 254, 255]]),
    "int_0_and_1_kept": ("I", [[0, 1, 1], [0, 0, 1]], [[0, 1, 1], [0, 0, 1]]),
    "int_3_to_255_kept": ("I", [[3, 4, 100], [200, 254, 255]], [[3, 4, 100], [200, 254, 255]]),
    "int_0_to_256_stretched": ("I", [[0, 200, 256], [10, 100, 50]], _stretched([[0, 200, 256], [10, 100, 50]])),
    "int_stretched": ("I", [[-1000, 0, 1000], [2000, 3000, 3000]], _stretched([[-1000, 0, 1000], [2000, 3000, 3000]])),
    "int_above_255_stretched": ("I", [[256, 300, 1000], [256, 512, 4000]], _stretched([[256, 300, 1000], [256, 512, 4000]])),
    "float_stretched": ("F", [[-0.5, 0, 0.5], [1, 1.5, 0.25]], _stretched([[-0.5, 0, 0.5], [1, 1.5, 0.25]])),
    "uint16_stretched": ("I;16", [[0, 257, 1000], [30000, 65535, 65535]], _stretched([[0, 257, 1000], [30000, 65535, 65535]])),
    "constant_above_255_is_black": ("I", [[1000] * 3, [1000] * 3], np.zeros((2, 3))),
    "nan_is_black": ("F", [[_NAN, 0.2, 0.6], [1, _NAN, 0]], _rounded([[0, 51, 153], [255, 0, 0]])),
    "infinities_at_the_ends": ("F", [[_INF, 0.2, 0.6], [-_INF, 0.4, 0]], _rounded([[255, 51, 153], [0, 102, 0]])),
    "nan_and_infinities_only": ("F", [[_NAN, _INF, -_INF], [_INF, _NAN, -_INF]], [[0, 255, 0], [255, 0, 0]]),
    "all_nan_is_black": ("F", [[_NAN] * 3, [_NAN] * 3], np.zeros((2, 3))),
    "constant_below_0_with_nan_is_black": ("F", [[-5, _NAN, -5], [-5, -5, -5]], np.zeros((2, 3))),
    "nan_in_stretched_values_is_black": ("F", [[256, 300, _NAN], [1000, 512, 4000]], _stretched([[256, 300, 256], [1000, 512, 4000]])),
    "infinities_at_the_ends_of_a_stretch": ("F", [[0, 1000, _INF], [-1000, _NAN, -_INF]], [[128, 255, 255], [0, 0, 0]]),
}


def _deep_picture(mode: str, values) -> Image.Image:
    dtype = {"F": np.float32, "I": np.int32, "I;16": np.uint16}[mode]
    picture = Image.fromarray(np.asarray(values, dtype=dtype))
    assert picture.mode == mode
    return picture


@pytest.mark.parametrize("case", DEEP_LEVELS)
def test_deep_grey_levels_are_read_and_shown_as_documented(case):
    """Floats within [0, 1] times 255; values within [0, 255] kept; others stretched from [min, max]; NaN black."""
    mode, values, expected = DEEP_LEVELS[case]
    picture = _deep_picture(mode, values)
    copy = reading_copy(picture)
    assert copy.mode == "L"
    np.testing.assert_array_equal(np.asarray(copy), np.asarray(expected, np.uint8))
    shown = preview_image(picture, 100)
    assert shown.mode == "L"
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(expected, np.uint8))


@pytest.mark.parametrize("case", ["float_0_to_1_scaled_by_255", "int_0_to_255_kept", "int_stretched", "nan_is_black"])
def test_arrays_are_read_with_the_same_grey_levels_as_pictures(case):
    mode, values, _ = DEEP_LEVELS[case]
    array = np.asarray(values, np.float64 if mode == "F" else np.int64)
    canvas = np.kron(array, np.ones((20, 20)))  # big enough to be read as a digit
    grey = np.asarray(reading_copy(_deep_picture(mode, values)))
    reference = Image.fromarray(np.kron(grey, np.ones((20, 20), np.uint8)))
    np.testing.assert_array_equal(to_mnist(canvas, min_ink_pixels=1), to_mnist(reference, min_ink_pixels=1))


def test_tall_deep_pictures_are_converted_whole():
    """Deep pictures are converted a band of rows at a time: every band gets the same mapping."""
    values = np.arange(1000 * 3, dtype=np.int32).reshape(1000, 3) * 7 - 5000
    expected = _rounded((values - values.min()) * 255 / (values.max() - values.min()))
    np.testing.assert_array_equal(np.asarray(reading_copy(Image.fromarray(values))), expected)


def test_bool_and_uint8_arrays():
    ink = draw_two()
    np.testing.assert_array_equal(to_mnist(ink > 127), to_mnist(np.where(ink > 127, 255, 0).astype(np.uint8)))
    strided = np.repeat(ink, 2, axis=1)[:, ::2]  # a non-contiguous view of the same pixels
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(to_mnist(strided), to_mnist(ink))


def _with_transparency(picture: Image.Image) -> Image.Image:
    picture.info["transparency"] = 0
    return picture


def _transparent_colour(picture: Image.Image) -> Image.Image:
    """A PNG's tRNS chunk: one colour (here white, the whole picture) marked transparent."""
    picture.info["transparency"] = (255, 255, 255) if picture.mode == "RGB" else 255
    return picture


PREVIEW_MODES = {  # picture -> the mode it is shown in
    "1": (lambda: Image.new("1", (6, 4), 1), "L"),
    "L": (lambda: Image.new("L", (6, 4), 9), "L"),
    "LA": (lambda: Image.new("LA", (6, 4), (9, 90)), "LA"),
    "RGB": (lambda: Image.new("RGB", (6, 4), (1, 2, 3)), "RGB"),
    "RGBA": (lambda: Image.new("RGBA", (6, 4), (1, 2, 3, 4)), "RGBA"),
    "P": (lambda: Image.new("P", (6, 4), 0), "RGB"),
    "P_transparent": (lambda: _with_transparency(Image.new("P", (6, 4), 0)), "RGBA"),
    "RGB_transparent_colour": (lambda: _transparent_colour(Image.new("RGB", (6, 4), (255, 255, 255))), "RGBA"),
    "L_transparent_colour": (lambda: _transparent_colour(Image.new("L", (6, 4), 255)), "RGBA"),
    "PA": (lambda: Image.new("PA", (6, 4)), "RGBA"),
    "RGBa": (lambda: Image.new("RGBA", (6, 4), (1, 2, 3, 4)).convert("RGBa"), "RGBA"),
    "CMYK": (lambda: Image.new("CMYK", (6, 4)), "RGB"),
    "YCbCr": (lambda: Image.new("YCbCr", (6, 4)), "RGB"),
    "I;16": (lambda: Image.new("I;16", (6, 4), 300), "L"),
    "I": (lambda: Image.new("I", (6, 4), 300), "L"),
    "F": (lambda: Image.new("F", (6, 4), 0.5), "L"),
}


@pytest.mark.parametrize("case", PREVIEW_MODES)
def test_preview_mode_of_each_picture_mode(case):
    make, shown_mode = PREVIEW_MODES[case]
    picture = make()
    preview = preview_image(picture, 100)
    assert preview.mode == shown_mode and preview.size == (6, 4)
    if case == "1":
        assert np.asarray(preview).min() == 255  # a white bilevel picture stays white
    if case in ("L", "LA", "RGB", "RGBA"):
        assert preview.tobytes() == picture.tobytes()  # already shown as is
    if case.endswith("_transparent_colour"):
        assert np.asarray(preview)[..., 3].max() == 0  # shown as the network reads it: see-through


@pytest.mark.parametrize(
    "size, side, fitted",
    [((700, 350), 280, (280, 140)), ((350, 700), 280, (140, 280)), ((1000, 1), 280, (280, 1)),
     ((1, 1000), 280, (1, 280)), ((1000, 3), 100, (100, 1)), ((280, 280), 280, (280, 280)), ((30, 20), 280, (30, 20))],
)
@pytest.mark.parametrize("mode", ["L", "I;16"])
def test_preview_size_fits_the_box_never_enlarged_never_empty(size, side, fitted, mode):
    assert preview_image(Image.new(mode, size), side).size == fitted


@pytest.mark.parametrize(
    "size, working",
    [((2048, 1000), (1024, 500)), ((1000, 2048), (500, 1024)), ((3000, 1), (1024, 1)), ((1024, 700), (1024, 700))],
)
def test_the_reading_copy_is_at_most_the_working_side(size, working):
    assert reading_copy(Image.new("L", size, 200)).size == working


@pytest.mark.parametrize("mode", ["1", "P", "L", "I;16"])
def test_a_big_picture_is_averaged_down_not_sampled(mode):
    """A fine checkerboard 2048 px wide is read at 1024 px as even grey, whatever its mode."""
    board = (np.indices((2048, 2048)).sum(axis=0) % 2 * 255).astype(np.uint8)
    picture = Image.fromarray(board).convert(mode) if mode != "I;16" else Image.fromarray(board.astype(np.uint16) * 257)
    copy = np.asarray(reading_copy(picture), np.float64)
    assert copy.shape == (1024, 1024)
    assert np.abs(copy - copy.mean()).max() <= 1 and 120 <= copy.mean() <= 135


@pytest.mark.parametrize("mode", ["La", "RGBa"])
def test_premultiplied_alpha_pictures_are_read_by_their_alpha(mode):
    ink = draw_two()
    picture = Image.fromarray(rgba_alpha(ink)).convert("RGBa")
    picture = picture if mode == "RGBa" else Image.fromarray(rgba_alpha(ink)).convert("LA").convert("La")
    assert picture.mode == mode
    np.testing.assert_allclose(to_mnist(picture), to_mnist(ink), atol=1e-6)


def test_empty_pictures_have_no_reading_copy():
    assert reading_copy(Image.new("L", (0, 5))) is None
    assert reading_copy(Image.new("RGB", (5, 0))) is None
    assert to_mnist(np.zeros((5, 0, 3), np.uint8)) is None
    assert reading_copy(Image.new("L", (1, 5))).size == (1, 5)  # one pixel wide or high is not empty
    assert reading_copy(Image.new("L", (5, 1))).size == (5, 1)


@pytest.mark.parametrize(
    "make", [lambda n: np.zeros((n, 100), np.uint8), lambda n: Image.new("L", (100, n))], ids=["array", "pil"]
)
def test_max_pixels_is_the_largest_picture_read(monkeypatch, make):
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 100 * 100)
    assert to_mnist(make(100)) is None  # read (and blank)
    with pytest.raises(ValueError, match=r"^Image is too large: 100x101 = 10,100 pixels \(the limit is 10,000\)\.$"):
        to_mnist(make(101))


def _saved(picture: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    picture.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize(
    "mode, fmt, bytes_per_pixel",
    [("1", "PNG", 1), ("L", "PNG", 1), ("P", "PNG", 1), ("I;16", "PNG", 2), ("LA", "PNG", 4), ("RGB", "PNG", 4),
     ("I", "TIFF", 4), ("F", "TIFF", 4)],
)
def test_decoded_size_limit_counts_the_bytes_pillow_keeps_per_pixel(monkeypatch, mode, fmt, bytes_per_pixel):
    from core import limits

    data = _saved(Image.new(mode, (40, 30)), fmt)
    monkeypatch.setattr(limits, "MAX_PICTURE_BYTES", 40 * 30 * bytes_per_pixel)
    assert load_image(data).size == (40, 30)
    monkeypatch.setattr(limits, "MAX_PICTURE_BYTES", 40 * 30 * bytes_per_pixel - 1)
    with pytest.raises(preprocess.PictureTooLarge, match=r"^The picture is too large \(40 × 30 pixels\) to read safely\."):
        load_image(data)


def test_a_missing_file_or_a_folder_is_not_reported_as_a_bad_picture(tmp_path):
    """The caller says "no file there" or "that is a folder", not "not a picture"."""
    with pytest.raises(FileNotFoundError):
        load_image(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError):
        load_image(tmp_path)


def test_a_decompression_bomb_is_refused_without_dimensions(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ValueError) as refused:
        load_image(_saved(Image.new("L", (100, 100)), "PNG"))
    assert str(refused.value) == (
        "The picture is too large to read safely. Upload a smaller one: a photo of one digit "
        "needs far fewer pixels (JPEG photos are read at a reduced size)."
    )


@pytest.mark.parametrize(
    "fmt, size, reduced",
    [("JPEG", (4400, 300), (2200, 150)), ("MPO", (4400, 300), (2200, 150)), ("JPEG", (300, 4400), (150, 2200)),
     ("JPEG", (2, 4096), (1, 2048)), ("JPEG", (4096, 2), (2048, 1))],
    ids=["jpeg", "mpo", "jpeg_tall", "jpeg_two_px_wide", "jpeg_two_px_high"],
)
def test_a_big_jpeg_or_mpo_photo_is_decoded_at_a_reduced_scale(fmt, size, reduced):
    """Phone cameras save MPO (JPEG with a second picture): it is read reduced like any JPEG, down
    to half size here (still at least 2 x 1024 px on its longer side)."""
    buf = io.BytesIO()
    photo = Image.new("RGB", size, "white")
    photo.save(buf, format=fmt, **({"save_all": True, "append_images": [photo]} if fmt == "MPO" else {}))
    image = load_image(buf.getvalue())
    assert image.format == fmt
    assert image.size == reduced


# --------------------------------------------------------------------------
# Exact-ish results on lit paper: the background is fitted and divided out
# --------------------------------------------------------------------------

_Y, _X = np.mgrid[-1 : 1 : 280j, -1 : 1 : 280j]
PAPERS = {  # brightness of the paper, 0..1, over the picture
    "even": 0.8 + 0 * _X,
    "sloping": 0.6 + 0.2 * _X - 0.1 * _Y,
    "vignetted": 0.7 + 0.15 * _X + 0.1 * _Y - 0.2 * _X * _X + 0.1 * _X * _Y - 0.15 * _Y * _Y,
    "in_shadow": 0.3 + 0.1 * _X - 0.12 * _Y * _Y,  # partly darker than a quarter of white
    "deep_shadow": 0.2 + 0.1 * _X + 0.05 * _Y,
}


def _ink_reference(ink: np.ndarray) -> np.ndarray:
    """What a clean white-on-black canvas with this ink (0..1) reads as."""
    return to_mnist(np.round(255 * ink / ink.max()).astype(np.uint8))


@pytest.mark.parametrize("paper", PAPERS)
def test_dark_ink_on_unevenly_lit_paper_is_read_relative_to_the_paper(paper):
    """A pen absorbing 80% of the light under smooth lighting: the ink is the darkening relative to the
    paper there (the same everywhere), except that paper darker than a quarter of white counts as 1/4."""
    ink = draw_two() / 255.0
    light = PAPERS[paper]
    photo = np.round(255 * light * (1 - 0.8 * ink)).astype(np.uint8)
    relative = ink * light / np.maximum(light, 0.25)
    np.testing.assert_allclose(to_mnist(photo), _ink_reference(relative), atol=0.02)


@pytest.mark.parametrize("paper", PAPERS)
def test_light_ink_on_unevenly_lit_dark_paper_is_read_as_added_light(paper):
    """Chalk on a blackboard: the ink is the light added to the (smooth) background."""
    ink = draw_two() / 255.0
    photo = np.round(255 * (0.1 + 0.2 * PAPERS[paper] + 0.6 * ink)).astype(np.uint8)
    np.testing.assert_allclose(to_mnist(photo), _ink_reference(ink), atol=0.02)


def _paper_with_a_mark(side: int, depth: float, checker: float = 0.0) -> np.ndarray:
    """Paper of brightness 0.8 (optionally a checkerboard of +-``checker`` on it: texture of a known spread)
    with a square mark ``depth`` darker in the middle, a 16th of the page, on even pixel boundaries."""
    yy, xx = np.indices((side, side))
    paper = (0.8 + np.where((yy + xx) % 2 == 0, checker, -checker)).astype(np.float32)
    low, high = side * 3 // 8, side * 5 // 8
    paper[low:high, low:high] = 0.8 - depth
    return paper


@pytest.mark.parametrize("side", [64, 128], ids=["fitted_as_is", "fitted_on_a_64px_copy"])
def test_paper_fit_drops_marks_three_grey_levels_from_clean_paper(side):
    """On clean paper the fit's spread is its floor of one grey level, so a mark is ink (left out of the
    fit: the paper comes out flat) from three grey levels on, and paper (fitted through) below that."""
    ink = preprocess._background_surface(_paper_with_a_mark(side, 3 / 255 + 2e-5))
    np.testing.assert_allclose(ink, 0.8, atol=1e-6)
    paper = preprocess._background_surface(_paper_with_a_mark(side, 3 / 255 - 2e-5))
    assert paper.min() < 0.799


def test_paper_fit_drops_marks_three_spreads_from_textured_paper():
    """Texture widens the spread to 1.4826 x the median deviation (the standard deviation of normal noise)
    plus a grey level: here 3 x (1.4826 x 0.02 + 1/255) = 0.1007. A mark 0.11 deep is ink, 0.09 is paper."""
    ink = preprocess._background_surface(_paper_with_a_mark(64, 0.11, checker=0.02))
    np.testing.assert_allclose(ink, 0.8, atol=1e-4)
    paper = preprocess._background_surface(_paper_with_a_mark(64, 0.09, checker=0.02))
    assert paper.min() < 0.79


def test_paper_fit_stops_after_six_rounds_on_speckle_that_never_settles(monkeypatch):
    """Bounded work on any picture: random speckle keeps changing which pixels look like paper, and the fit
    still stops after six least-squares rounds; clean paper with a mark settles in two."""
    fits = []
    lstsq = np.linalg.lstsq
    monkeypatch.setattr(np.linalg, "lstsq", lambda *args, **kwargs: fits.append(1) or lstsq(*args, **kwargs))
    speckle = (np.random.default_rng(8).random((12, 12)) ** 4).astype(np.float32)
    preprocess._background_surface(speckle)
    assert len(fits) == 6
    fits.clear()
    preprocess._background_surface(_paper_with_a_mark(64, 0.2))
    assert len(fits) == 2


@pytest.mark.parametrize("background", [0, 100, 255])
def test_ink_needs_a_contrast_of_24_grey_levels(background):
    """Fainter marks (a smudge, a shadow) are not ink: 23 grey levels from the paper is nothing drawn."""
    seven = (_graded_seven() > 0).astype(np.int64)
    sign = -1 if background > 127 else 1
    faint, clear = (_on_canvas((seven * level).astype(np.uint8), (22, 26)) for level in (23, 24))
    assert to_mnist((background + sign * faint.astype(np.int64)).astype(np.uint8)) is None
    out = to_mnist((background + sign * clear.astype(np.int64)).astype(np.uint8))
    _assert_pasted_and_centred(out, _graded_seven() > 0)


@pytest.mark.parametrize("sign", [-1, 1], ids=["dark_ink", "light_ink"])
def test_a_mark_24_grey_levels_from_the_paper_is_ink_on_paper_of_every_level(sign):
    """Whatever the paper's grey level, 24 levels darker (or lighter) is a mark and 23 is nothing: rounding
    in the paper fit must not make 24 levels count as 23.999."""
    seven = (_graded_seven() > 0).astype(np.int64)
    unread = []
    for paper in range(24, 256) if sign < 0 else range(0, 232):
        for level, read in ((24, True), (23, False)):
            canvas = paper + sign * _on_canvas(seven.astype(np.uint8), (22, 26)).astype(np.int64) * level
            if (to_mnist(canvas.astype(np.uint8)) is not None) != read:
                unread.append((paper, level))
    assert unread == []


@pytest.mark.parametrize("scale", [1, 2], ids=["canvas_64", "canvas_2048_read_at_1024"])
def test_the_pen_width_of_a_pil_picture_is_in_its_pixels(scale):
    seven = np.kron(_graded_seven(), np.ones((scale, scale), np.uint8))
    shape = (64, 64) if scale == 1 else (2048, 2048)
    canvas = Image.fromarray(_on_canvas(seven, (22 * scale, 26 * scale), shape=shape))
    assert to_mnist(canvas, pen_width=7.6 * scale, min_extent=0.01) is not None
    assert to_mnist(canvas, pen_width=7.61 * scale, min_extent=0.01) is None


def test_the_pen_width_is_scaled_by_the_sides_of_an_array_not_its_channels():
    """A 3 x 3 RGBA canvas with one 3 px line: 2 px across less the rim, 2.5 pens of 0.8 px."""
    canvas = np.zeros((3, 3, 4), np.uint8)
    canvas[1, :, 3] = 255
    assert to_mnist(canvas, pen_width=0.8, min_ink_pixels=1, min_extent=0) is not None
    assert to_mnist(canvas, pen_width=0.81, min_ink_pixels=1, min_extent=0) is None


def _brute_force_otsu(values: np.ndarray, bins: int = 256) -> float:
    """The first bin edge t that maximises w0 * w1 * (mean0 - mean1)^2 over the split values < t | >= t."""
    best, best_t = -1.0, None
    for t in np.linspace(0, 1, bins + 1)[1:]:
        low, high = values[values < t], values[values >= t]
        score = low.size * high.size * ((low.mean() if low.size else 0) - (high.mean() if high.size else 0)) ** 2
        if score > best * (1 + 1e-9) + 1e-300:
            best, best_t = score, t
    return float(best_t)


@pytest.mark.parametrize("seed", range(4))
def test_otsu_threshold_maximises_the_between_class_variance(seed):
    """Otsu's threshold (the texture cap of a noisy photo) on values at bin centres, against a brute-force search."""
    rng = np.random.default_rng(seed)
    levels = (rng.choice(256, size=rng.integers(3, 7), replace=False) + 0.5) / 256
    values = np.repeat(levels, rng.integers(1, 50, size=levels.size))
    assert preprocess._otsu_threshold(values) == _brute_force_otsu(values)


@pytest.mark.parametrize("upper", [0.8, 1.0], ids=["paper_and_ink", "paper_and_peak_ink"])
def test_otsu_threshold_of_two_clusters_is_the_first_edge_between_them(upper):
    values = np.array([0.2] * 30 + [upper] * 10)
    assert preprocess._otsu_threshold(values) == 52 / 256  # 0.2 lies in bin 51: [51/256, 52/256)


def test_otsu_threshold_counts_the_peak_ink_in_the_last_bin():
    """Ink normalised to its peak always has values of exactly 1.0: they belong to the brightest class."""
    values = np.array([0.1] * 50 + [0.5] * 20 + [1.0] * 15)
    assert preprocess._otsu_threshold(values) == _brute_force_otsu(values)


@pytest.mark.parametrize("mode", ["F", "I", "I;16"])
def test_a_deep_picture_is_shown_smaller_by_averaging_blocks_of_pixels(mode):
    values = np.array([[0, 4000, 8000, 8000], [4000, 8000, 0, 0], [12000, 0, 2000, 6000], [0, 0, 6000, 2000]])
    picture = _deep_picture(mode, values)
    blocks = values.reshape(2, 2, 2, 2).mean(axis=(1, 3))  # 2 x 2 blocks: [[4000, 4000], [3000, 4000]]
    expected = _rounded((blocks - blocks.min()) * 255 / (blocks.max() - blocks.min()))
    np.testing.assert_array_equal(np.asarray(preview_image(picture, 2)), expected)


@pytest.mark.parametrize("length", [30, 60])
@pytest.mark.parametrize("across", [False, True], ids=["vertical", "horizontal"])
def test_a_one_pixel_line_stays_one_pixel_thin(length, across):
    """Scaled to 20 px long, a hairline is 20 x 1 px: its thickness is rounded, never made up."""
    line = np.zeros((length, 1), np.uint8) + 255
    line = line.T if across else line
    out = to_mnist(_on_canvas(line, (2, 2), shape=(64, 64)))
    expected = (1, 20) if across else (20, 1)
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert (rows.size, cols.size) == expected
    assert out.max() == 1.0


# --------------------------------------------------------------------------
# Grainy paper: ink must stand out from the grain, and the grain is removed
# --------------------------------------------------------------------------


def _grainy(levels: np.ndarray, stroke: np.ndarray, grain: float, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """A clean stroke (``levels`` above the paper) on grey paper (60) with rounded Gaussian grain.

    Returns the picture and the stroke-or-grain difference from the paper, in grey levels."""
    noise = np.round(np.random.default_rng(seed).normal(0, grain, stroke.shape))
    difference = np.where(stroke, levels, noise)
    return (60 + difference).astype(np.uint8), difference


def _robust_sigma(values: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def test_ink_must_stand_out_eight_noise_sigmas_from_grainy_paper():
    """The grain's robust standard deviation (1.4826 x its median absolute deviation) sets how faint ink may be."""
    stroke = draw_two() > 0
    _, difference = _grainy(np.full(stroke.shape, 100), stroke, grain=4)
    sigma = _robust_sigma(difference)  # in grey levels (the stroke, far above, is an outlier): 8 sigma > 24
    assert 8 * sigma > 24 + 4
    below, above = np.floor(8 * sigma) - 1, np.ceil(8 * sigma) + 1
    assert above < 9 * sigma - 1
    assert to_mnist(_grainy(np.full(stroke.shape, below), stroke, grain=4)[0]) is None
    assert to_mnist(_grainy(np.full(stroke.shape, above), stroke, grain=4)[0]) is not None


@pytest.mark.parametrize("stroke_width, faintest, strongest, grain, threshold", [
    (None, 20, 190, 3, "otsu"),  # coarse grain: six sigmas would be above ¾ of Otsu's threshold, which caps it
    (40, 8, 200, 2, "six sigmas"),  # a bold stroke on fine grain: Otsu's threshold lies within the stroke
], ids=["capped_at_three_quarters_of_otsu", "six_sigmas_below_the_cap"])
def test_the_grain_is_removed_by_six_sigmas_or_three_quarters_of_otsu_whichever_is_lower(
        stroke_width, faintest, strongest, grain, threshold):
    """A stroke graded from faint to strong on grainy paper reads as the stroke less the texture threshold."""
    stroke = (draw_two() if stroke_width is None else draw_two(width=stroke_width)) > 0
    levels = np.round(faintest + (strongest - faintest) * np.linspace(0, 1, 280))[None, :] * stroke
    picture, difference = _grainy(levels, stroke, grain=grain)
    distance = np.clip(difference, 0, None) / 255
    contrast = distance.max()
    cap, six_sigmas = 0.75 * _brute_force_otsu(distance / contrast) * contrast, 6 * _robust_sigma(difference) / 255
    assert (cap < six_sigmas) == (threshold == "otsu")
    expected = _ink_reference(np.clip(distance - min(cap, six_sigmas), 0, None))
    np.testing.assert_allclose(to_mnist(picture), expected, atol=0.002)


# --------------------------------------------------------------------------
# Odd inputs: error messages, one-pixel pictures, memory
# --------------------------------------------------------------------------


def test_an_unsupported_array_shape_is_named_with_the_shapes_that_are_read():
    expected = "expected (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4)."
    with pytest.raises(ValueError, match=r"^Unsupported image array shape \(10, 10, 5\): " + re.escape(expected) + "$"):
        to_mnist(np.zeros((10, 10, 5), np.uint8))


def test_an_unsupported_array_dtype_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"^Unsupported image array dtype complex128: expected uint8, integer or float\.$"):
        to_mnist(np.zeros((10, 10), complex))


@pytest.mark.parametrize("across", [True, False], ids=["one_row", "one_column"])
def test_a_picture_one_pixel_high_or_wide_is_read(across):
    """A 1 x 64 px strip with a 24 px dash is a (thin) line, not nothing: 20 px long once scaled."""
    strip = np.zeros((1, 64), np.uint8)
    strip[0, 20:44] = 255
    strip = strip if across else strip.T.copy()
    out = to_mnist(strip)
    assert out is not None
    rows, cols = np.flatnonzero(out.any(axis=1)), np.flatnonzero(out.any(axis=0))
    assert (rows.size, cols.size) == ((1, 20) if across else (20, 1))


def test_a_too_large_array_is_refused_before_it_is_converted(monkeypatch):
    """The pixel limit protects memory: a float array over it is refused before an 8-bit copy is made."""
    monkeypatch.setattr(preprocess, "MAX_PIXELS", 1000 * 1000)
    tall = np.zeros((2000, 1000), np.float32)  # 2 million pixels; its 8-bit copy would take 2 MB
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="too large"):
            to_mnist(tall)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 500_000


# --------------------------------------------------------------------------
# Previews of 8-bit and big-endian pictures
# --------------------------------------------------------------------------


def test_a_big_endian_16_bit_picture_is_shown_like_a_little_endian_one():
    """Some scanners save big-endian 16-bit TIFFs (mode I;16B): their preview averages the same values."""
    values = np.array([[0, 4000, 8000, 8000], [4000, 8000, 0, 0], [12000, 0, 2000, 6000], [0, 0, 6000, 2000]])
    big_endian = Image.frombytes("I;16B", (4, 4), values.astype(">u2").tobytes())
    blocks = values.reshape(2, 2, 2, 2).mean(axis=(1, 3))
    expected = _rounded((blocks - blocks.min()) * 255 / (blocks.max() - blocks.min()))
    np.testing.assert_array_equal(np.asarray(preview_image(big_endian, 2)), expected)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_an_8_bit_picture_is_shown_smaller_with_the_lanczos_filter(mode):
    """8-bit previews are scaled with Lanczos, the sharp filter the digit itself is scaled with."""
    rng = np.random.default_rng(3)
    picture = Image.fromarray(rng.integers(0, 256, (60, 90), dtype=np.uint8)).convert(mode)
    expected = picture.resize((30, 20), Image.Resampling.LANCZOS)
    assert preview_image(picture, 30).tobytes() == expected.tobytes()


# --------------------------------------------------------------------------
# The background fit and the noise estimate
# --------------------------------------------------------------------------


def test_the_border_mask_is_the_outermost_rows_and_columns():
    expected = np.ones((4, 5), bool)
    expected[1:-1, 1:-1] = False
    np.testing.assert_array_equal(preprocess._border_mask((4, 5)), expected)


def test_shrink_averages_blocks_of_pixels_and_never_enlarges():
    values = np.arange(24, dtype=np.float32).reshape(4, 6)
    np.testing.assert_array_equal(preprocess._shrink(values, 6), values)  # fits already
    np.testing.assert_array_equal(preprocess._shrink(values, 64), values)  # never enlarged
    np.testing.assert_allclose(preprocess._shrink(values, 3), values.reshape(2, 2, 3, 2).mean(axis=(1, 3)))


@pytest.mark.parametrize("shape, shrunk", [((128, 2), (64, 1)), ((2, 128), (1, 64))])
def test_shrink_keeps_a_one_pixel_side(shape, shrunk):
    """A thin strip shrunk by half keeps one pixel across: each is the mean of a 2 x 2 block."""
    values = np.arange(256, dtype=np.float32).reshape(shape)
    small = preprocess._shrink(values, 64)
    assert small.shape == shrunk
    np.testing.assert_allclose(small.ravel(), values.reshape(-1, 2, 2).mean(axis=(1, 2)) if shape[1] == 2 else
                               values.reshape(2, 64, 2).mean(axis=(0, 2)).ravel())


@pytest.mark.parametrize(
    "shape, step", [((300, 200), (1, 1)), ((200, 600), (1, 2)), ((512, 300), (2, 1)), ((300, 513), (1, 2))]
)
def test_the_noise_is_measured_on_a_grid_of_about_256_by_256_pixels(shape, step):
    """Every pixel of a picture up to 511 px counts; larger ones are sampled every side // 256 pixels."""
    residual = np.random.default_rng(1).normal(0, 1, shape) ** 3  # heavy tails: every sample differs
    assert preprocess._noise_sigma(residual) == pytest.approx(_robust_sigma(residual[:: step[0], :: step[1]]), rel=1e-12)


def test_mild_deviations_below_half_the_contrast_threshold_do_not_decide_the_ink_side():
    """1000 pixels just below 12/255 brighter than the paper are noise; one dark mark is the ink."""
    residual = np.full(1001, 11.5 / 255)
    residual[0] = -0.3
    assert preprocess._ink_polarity(residual) == -1.0


def test_bright_ink_wins_a_tie():
    """Equally strong bright and dark marks: read as light ink (the canvas's white on black)."""
    assert preprocess._ink_polarity(np.array([0.0, 0.5, -0.5, 0.0])) == 1.0


@pytest.mark.parametrize("seed", [1, 3, 5, 7])
def test_otsu_threshold_with_peak_ink_maximises_the_between_class_variance(seed):
    """As above, with the peak ink (exactly 1.0, in the last bin) among the values."""
    rng = np.random.default_rng(seed)
    levels = np.append((rng.choice(256, size=rng.integers(2, 6), replace=False) + 0.5) / 256, 1.0)
    values = np.repeat(levels, rng.integers(1, 6, size=levels.size))
    assert preprocess._otsu_threshold(values) == _brute_force_otsu(values)


def test_the_thickest_stroke_of_a_big_blot_is_measured_on_a_64_px_copy():
    """A 640 px square shrinks to 64 px, which 32 erosions empty: (2 x 32 - 1) copy pixels = 630 px."""
    assert preprocess._thickest_stroke(np.ones((640, 640), bool)) == 630


def test_a_strip_8_px_high_on_lit_paper_is_read_relative_to_the_fitted_paper():
    """8 px is enough to fit the lighting: a dark dash on paper brightening from left to right is read
    as its darkening relative to the paper there (smaller strips use the border's median)."""
    paper = np.tile(100 + 2 * np.arange(64), (8, 1)).astype(np.float64)
    dash = np.zeros((8, 64), bool)
    dash[3:5, 20:50] = True
    photo = np.where(dash, 20, paper).astype(np.uint8)
    relative = np.where(dash, (paper - 20) / paper, 0)
    np.testing.assert_allclose(to_mnist(photo), _ink_reference(relative), atol=0.02)


def test_the_paper_counts_as_zero_ink_in_otsus_threshold():
    """Coarse grain and a stroke graded from nothing: Otsu's threshold falls within the stroke's levels and
    depends on how much of the picture is paper (zero ink, including paper darker than the fit)."""
    stroke = draw_two(width=40) > 0
    levels = np.round(1 + 199 * np.linspace(0, 1, 280))[None, :] * stroke
    picture, difference = _grainy(levels, stroke, grain=8)
    distance = np.clip(difference, 0, None) / 255
    contrast = distance.max()
    cap, six_sigmas = 0.75 * _brute_force_otsu(distance / contrast) * contrast, 6 * _robust_sigma(difference) / 255
    assert cap < six_sigmas
    expected = _ink_reference(np.clip(distance - cap, 0, None))
    np.testing.assert_allclose(to_mnist(picture), expected, atol=0.002)



@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_big_picture_is_read_at_the_mean_of_each_block_of_pixels(mode):
    """2048 px wide is read at 1024: each working pixel is the mean of a 2 x 2 block, nothing from its neighbours."""
    means = np.random.default_rng(4).integers(20, 236, (2, 1024))
    swing = np.random.default_rng(5).integers(0, 20, (2, 1024))
    blocks = np.kron(means, np.ones((2, 2), np.int64)) + np.kron(swing, np.array([[1, -1], [-1, 1]]))
    picture = Image.fromarray(blocks.astype(np.uint8)).convert(mode)
    np.testing.assert_array_equal(np.asarray(reading_copy(picture)), means)



@pytest.mark.parametrize("thickness, pen", [(25, 30), (5, 10)])
def test_the_64_px_copy_of_the_ink_is_made_by_averaging_blocks(thickness, pen):
    """A 640 px wide bar covers rows of 10 x 10 px blocks from row 300: 25 px thick is 3 copy rows with at
    least half ink (full, full, half), which 2 erosions empty: (2 x 2 - 1) copy pixels = 30 px; 5 px thick
    is one copy row exactly half ink, which counts: 1 erosion, (2 x 1 - 1) copy pixel = 10 px."""
    mask = np.zeros((640, 640), bool)
    mask[300 : 300 + thickness] = True
    assert preprocess._thickest_stroke(mask) == pen


# --------------------------------------------------------------------------
# Scaling to 20 px, centring by the centre of mass, and the measured pen
# --------------------------------------------------------------------------

def test_a_digit_is_scaled_to_20_px_with_the_lanczos_filter():
    """A seven drawn 40 px tall is halved with Lanczos, the sharp filter previews are shown with
    (its negative ringing cut off): the network reads the same grey levels the user is shown."""
    seven = np.kron(_graded_seven(), np.ones((2, 2), np.uint8))  # 40 x 24 px
    out = to_mnist(_on_canvas(seven, (10, 20), shape=(64, 64)))
    halved = Image.fromarray(seven.astype(np.float32) / 255, mode="F").resize((12, 20), Image.Resampling.LANCZOS)
    _assert_pasted_and_centred(out, np.clip(np.asarray(halved), 0, None))


@pytest.mark.parametrize("bottom", [221, 228, 256], ids=["two_181_px", "two_188_px", "two_216_px"])
def test_the_centre_of_mass_is_that_of_the_ink_shown(bottom):
    """Scaling leaves a little negative ringing around the strokes, which is cut off: the digit is
    centred by the ink that is shown, its centre of mass within half a pixel of (14, 14)."""
    out = to_mnist(draw_two(box=(70, 40, 200, bottom), width=4 if bottom < 250 else 6))
    assert_mnist_like(out)
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_a_hairline_digit_on_a_big_picture_is_centred_by_its_centre_of_mass():
    """A '7' drawn with a 1 px pen across a 1000 px picture: scaled to 20 px its ink adds up to less
    than one full pixel, and it is still centred by its centre of mass, not by its box."""
    picture = Image.new("L", (1000, 1000), 0)
    ImageDraw.Draw(picture).line([(100, 50), (900, 50), (400, 950)], fill=255, width=1)
    out = to_mnist(np.asarray(picture))
    assert out is not None and out.max() == 1.0
    cy, cx = centre_of_mass(out)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


@pytest.mark.parametrize("edge, is_a_dot", [(125, True), (124, False)], ids=["half_the_peak", "just_below"])
def test_pixels_at_half_the_peak_ink_count_for_the_measured_pen(edge, is_a_dot):
    """A 10 px long bar, 3 px at full ink between two rows of edge ink: at exactly half the peak
    (the level that counts a pixel as inked) the pen is 5 px and the bar, 9 < 2.5 x 5 px across, is a
    dot; just below half the pen is 3 px and the bar (9 >= 2.5 x 3) is read."""
    canvas = np.zeros((64, 64), np.uint8)
    canvas[30:35, 20:30] = np.array([edge, 250, 250, 250, edge], np.uint8)[:, None]
    assert (to_mnist(canvas) is None) == is_a_dot


def test_a_short_thick_stroke_is_read_whichever_way_it_leans():
    """An 8 px pen stroke 18 px long at 45 degrees, and the same stroke mirrored or turned: the pen is
    measured alike in every direction (7 px: erosions treat all eight neighbours alike), so each of them,
    21 px across, is read as a digit."""
    stroke = pen_ink([pen_stroke(18, 135)], 8)
    for name, ink in {"/": stroke, "\\": stroke[:, ::-1], "upside down": stroke[::-1], "turned": stroke.T}.items():
        assert to_mnist(np.ascontiguousarray(ink)) is not None, name


@pytest.mark.parametrize("shape", [(10, 10), (640, 640)], ids=["small", "measured_on_a_64_px_copy"])
def test_no_ink_is_no_stroke(shape):
    """No pixel inked (faint transparent ink read with min_ink_pixels=0): no disc fits, the thickest
    stroke is 0 px, whatever the size of the mask."""
    assert preprocess._thickest_stroke(np.zeros(shape, bool)) == 0


# --------------------------------------------------------------------------
# Big pictures: averaged down first, then turned grey and mapped
# --------------------------------------------------------------------------


def _checkered_blocks(means: np.ndarray, swing: np.ndarray) -> np.ndarray:
    """Each value of ``means`` as a 2 x 2 block whose pixels differ by +-``swing`` but average to it."""
    checker = np.array([[1, -1], [-1, 1]])
    if means.ndim == 3:  # one block pattern per colour channel
        return np.stack([_checkered_blocks(means[..., c], swing[..., c]) for c in range(means.shape[2])], axis=2)
    return np.kron(means, np.ones((2, 2), np.int64)) + np.kron(swing, checker)


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_a_big_colour_picture_is_read_at_the_grey_of_each_blocks_mean_colour(mode):
    """2048 px wide is read at 1024: each working pixel is the grey level of its 2 x 2 block's mean colour
    (the colours are averaged first, then turned grey, so no single pixel's rounding shifts it)."""
    rng = np.random.default_rng(6)
    means = rng.integers(20, 236, (2, 1024, 3))
    swing = rng.integers(0, 20, (2, 1024, 3))
    picture = Image.fromarray(_checkered_blocks(means, swing).astype(np.uint8)).convert(mode)  # opaque
    expected = np.asarray(Image.fromarray(means.astype(np.uint8)).convert("L"))
    copy = np.asarray(reading_copy(picture))
    grey = copy if mode == "RGB" else copy[..., 0]
    np.testing.assert_array_equal(grey, expected)


@pytest.mark.parametrize("mode", ["I", "F"])
def test_a_big_deep_picture_is_averaged_before_its_grey_levels_are_mapped(mode):
    """A 32-bit integer or float picture 2048 px wide with one hot pixel (above 255, or above 1.0 for floats):
    averaged with its block it is an ordinary level, so the picture is read at its block means, not
    stretched (or, for floats, left unscaled) because of that one pixel."""
    rng = np.random.default_rng(4)
    means = rng.integers(20, 236, (2, 1024))
    swing = rng.integers(0, 20, (2, 1024))
    values = _checkered_blocks(means, swing)
    values[0, 0] += 100  # the hot pixel: 276 or more; its block's mean is 25 higher, still below 255
    means[0, 0] += 25
    picture = Image.fromarray(values.astype(np.int32) if mode == "I" else (values / 255).astype(np.float32))
    assert picture.mode == mode
    np.testing.assert_array_equal(np.asarray(reading_copy(picture)), means)


@pytest.mark.parametrize("size, working", [((1, 3000), (1, 1024)), ((1, 2049), (1, 1024))])
def test_a_tall_picture_one_pixel_wide_stays_one_pixel_wide(size, working):
    """Shrunk to the working side, a one-pixel column keeps its single pixel across (nothing is made up)."""
    assert reading_copy(Image.new("L", size, 200)).size == working


# --------------------------------------------------------------------------
# Transparent canvases: the ink is the alpha channel
# --------------------------------------------------------------------------


@pytest.mark.parametrize("speck, counts", [(25, False), (26, True)], ids=["below_10_percent", "above"])
def test_only_alpha_above_a_tenth_counts_for_the_box(speck, counts):
    """On a transparent canvas a faint speck (alpha 25 of 255, under 10%) far from the digit is left out of
    the bounding box; from alpha 26 on it is ink, and the digit is scaled down to make room for it."""
    clean = _on_canvas(_graded_seven(), (22, 26))
    specked = clean.copy()
    specked[60, 60] = speck
    out, reference = to_mnist(rgba_alpha(specked)), to_mnist(rgba_alpha(clean))
    if counts:
        assert not np.array_equal(out, reference)
    else:
        np.testing.assert_array_equal(out, reference)


def test_strokes_on_a_transparent_canvas_read_exactly_as_on_a_black_one():
    """The canvas's strokes give the network the very same input (bit for bit) whether the canvas is
    transparent (the ink in the alpha channel) or black (the ink in the grey level)."""
    ink = draw_two()
    np.testing.assert_array_equal(to_mnist(rgba_alpha(ink)), to_mnist(ink))


# --------------------------------------------------------------------------
# The least ink that is a digit, with the defaults
# --------------------------------------------------------------------------


def test_a_ten_pixel_dash_is_the_least_ink_read_with_the_defaults():
    """``min_ink_pixels`` is 10 by default: a 1 px dash of 10 pixels is read, one of 9 is nothing drawn."""
    canvas = np.zeros((64, 64), np.uint8)
    canvas[30, 20:30] = 255
    assert to_mnist(canvas) is not None
    canvas[30, 29] = 0
    assert to_mnist(canvas) is None


# --------------------------------------------------------------------------
# Odd values: extremes, infinities, large offsets
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values, finite_expected",
    [
        ([[-3e38, 0.0], [3e38, -3e38]], [[0, 128], [255, 0]]),  # near float32's limits
        ([[-5.0, -5.0], [np.inf, -5.0]], None),  # one level below 0 and an infinity
    ],
    ids=["float32_extremes", "constant_and_infinity"],
)
def test_extreme_and_infinite_values_are_read_without_numerical_warnings(values, finite_expected):
    """Overflow and infinities are placed after the stretch: no RuntimeWarning reaches the person running
    the app, and the picture is still read (the extremes of a huge range black and white)."""
    picture = Image.fromarray(np.asarray(values, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = np.asarray(reading_copy(picture))
    finite = np.isfinite(np.asarray(values))
    if finite_expected is None:
        assert (copy[finite] == 0).all()  # a single level below 0: black
    else:
        np.testing.assert_array_equal(copy, finite_expected)


def test_a_deep_picture_with_a_large_offset_is_stretched_from_black_to_white():
    """A 32-bit integer picture on a large pedestal (levels 100,000,001 to 100,000,101, e.g. a sensor's dark
    level plus a faint image): its darkest pixel is shown black and its brightest white, never wrapped round."""
    values = np.array([[100_000_001, 100_000_050], [100_000_101, 100_000_030]], np.int32)
    copy = np.asarray(reading_copy(Image.fromarray(values)))
    assert copy[0, 0] == 0 and copy[1, 0] == 255
    assert copy[0, 1] > copy[1, 1] > 0  # in between, in order


# --------------------------------------------------------------------------
# Error messages name what was given
# --------------------------------------------------------------------------


@pytest.mark.parametrize("given, name", [("digit.png", "str"), ([[0, 255]], "list")])
def test_a_non_image_input_is_named_in_the_error(given, name):
    with pytest.raises(ValueError, match=rf"^Expected a NumPy array or a PIL image, got {name}\.$"):
        to_mnist(given)


def test_a_picture_mode_that_cannot_be_turned_grey_is_named_in_the_error():
    """Pillow opens CIELab TIFFs (mode LAB) but cannot turn them grey: the message says which mode."""
    with pytest.raises(ValueError, match=r"^Unsupported PIL image mode 'LAB'\.$"):
        to_mnist(Image.new("LAB", (10, 10)))


def test_infinities_in_a_picture_of_one_level_are_white_and_black():
    """+inf is shown white and -inf black even when every finite pixel has the same level outside 0..255."""
    values = np.array([[-5.0, -5.0], [np.inf, -np.inf]], np.float32)
    np.testing.assert_array_equal(np.asarray(reading_copy(Image.fromarray(values))), [[0, 0], [255, 0]])


def test_every_level_of_a_deep_picture_on_a_large_pedestal_stays_apart():
    """256 levels on a pedestal of 10^8 (a sensor's dark level): each its own grey, in order."""
    values = np.arange(100_000_000, 100_000_256, dtype=np.int32).reshape(16, 16)
    np.testing.assert_array_equal(np.asarray(reading_copy(Image.fromarray(values))), np.arange(256).reshape(16, 16))


@pytest.mark.parametrize("side", [280, 2048], ids=["small", "read_at_1024"])
def test_a_grey_picture_with_a_transparent_colour_is_read_by_its_transparency(side):
    """A grey PNG whose white is marked transparent (tRNS), with light-grey ink: the ink is what is not
    transparent, as for the same picture in colour, and as the preview shows it."""
    ink = np.asarray(Image.fromarray(draw_two()).resize((side, side), Image.Resampling.NEAREST)) > 127
    grey = Image.fromarray(np.where(ink, 240, 255).astype(np.uint8))
    grey.info["transparency"] = 255
    colour = grey.convert("RGB")
    colour.info["transparency"] = (255, 255, 255)
    see_through = Image.fromarray(np.stack([np.asarray(grey), np.where(ink, 255, 0).astype(np.uint8)], axis=2))
    read = to_mnist(grey)
    assert read is not None and corr(read, to_mnist(draw_two())) > 0.95
    np.testing.assert_array_equal(read, to_mnist(colour))
    np.testing.assert_array_equal(read, to_mnist(see_through))  # as if its transparency were an alpha channel


@pytest.mark.parametrize("opacity", [100, 30])
def test_a_see_through_pen_on_a_transparent_canvas_reads_like_an_opaque_one(opacity):
    """Ink drawn at 40% (or 12%) opacity is as much a digit as opaque ink: read relative to its strongest
    stroke, as grey ink is. Fainter than 24 levels of 255 it is nothing drawn, as on paper."""
    stroke = draw_two() > 0
    opaque = to_mnist(rgba_alpha(np.where(stroke, 255, 0).astype(np.uint8)))
    faint = to_mnist(rgba_alpha(np.where(stroke, opacity, 0).astype(np.uint8)))
    np.testing.assert_allclose(faint, opaque, atol=1e-6)
    assert to_mnist(rgba_alpha(np.where(stroke, 24, 0).astype(np.uint8))) is not None
    assert to_mnist(rgba_alpha(np.where(stroke, 23, 0).astype(np.uint8))) is None
