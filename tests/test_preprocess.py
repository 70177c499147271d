"""Tests for core.preprocess: canvas/photo input -> MNIST-style 28x28."""

from __future__ import annotations

import io
import time
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from core import preprocess
from core.preprocess import load_image, preview_image, to_mnist

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
