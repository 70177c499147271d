"""The Draw page for a newcomer.

"Upload a picture" through the real app (AppTest): pictures of every kind a scanner or a
camera makes (8-bit, 16-bit, 32-bit integer, floating point) are shown and read, and a picture
of a dot gets the "nothing to read" message. The canvas's drawings (AppTest cannot draw on
the canvas; tests/browser/test_draw_layout.py taps it in Chromium): a tap or a tick is not
read at any pen width, every drawn digit still is."""
import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from app_helpers import (DEFAULT_MODEL, app_data, guard_real_models, models_folder, new_app,  # noqa: F401
                         no_exception, run, texts)
from core import Net
from drawn_digits import STROKES, hand_drawn_strokes, render_digit
from core.preprocess import load_image
from ui.drawing import Sketch, read_digit, read_drawing

INK = render_digit(7, 3, mode="white_on_black")[..., 0].astype(np.float64) / 255  # 280x280, ink = 1


def _encoded(image, fmt):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _dark_on_light(low, high):
    """The seven as dark ink (``low``) on light paper (``high``)."""
    return high - INK * (high - low)


# kind -> (file name, picture, file format, the mode Pillow opens the file in)
PICTURES = {
    "16-bit PNG": ("seven.png", Image.fromarray(_dark_on_light(9_000, 41_000).astype(np.uint16)), "PNG", "I;16"),
    "16-bit TIFF": ("seven.tif", Image.fromarray(_dark_on_light(0, 65_535).astype(np.uint16)), "TIFF", "I;16"),
    "32-bit integer TIFF": ("seven.tif", Image.fromarray(_dark_on_light(-70_000, 90_000).astype(np.int32)), "TIFF",
                            "I"),
    "floating-point TIFF": ("seven.tiff", Image.fromarray(_dark_on_light(0.1, 0.8).astype(np.float32)), "TIFF",
                            "F"),
    "RGB JPEG": ("seven.jpg", Image.fromarray((255 * _dark_on_light(0, 1)).astype(np.uint8)).convert("RGB"), "JPEG",
                 "RGB"),
    "RGBA PNG": ("seven.png", Image.fromarray(render_digit(7, 3)), "PNG", "RGBA"),
    "grey PNG": ("seven.png", Image.fromarray((255 * _dark_on_light(0, 1)).astype(np.uint8)), "PNG", "L"),
    "palette GIF": ("seven.gif", Image.fromarray((255 * _dark_on_light(0, 1)).astype(np.uint8)).convert("P"), "GIF",
                    "P"),
    "1-bit BMP": ("seven.bmp", Image.fromarray((255 * _dark_on_light(0, 1)).astype(np.uint8)).convert("1"), "BMP",
                  "1"),
}


def _upload(name, content):
    """A Draw page in "Upload a picture" mode with ``content`` uploaded as ``name``."""
    at = new_app("pages/draw.py")
    at.radio(key="draw_source").set_value("Upload a picture")
    run(at)
    at.file_uploader(key="digit_upload").upload(name, content, "application/octet-stream")
    return run(at)


def _preview(at):
    """The "Your picture" image element."""
    previews = [image for image in at.image if "Your picture" in image.captions]
    assert len(previews) == 1, [image.captions for image in at.image]
    return previews[0]


@pytest.mark.parametrize("kind", PICTURES)
def test_every_kind_of_picture_is_shown_and_read(kind):
    name, image, fmt, mode = PICTURES[kind]
    content = _encoded(image, fmt)
    assert load_image(content).mode == mode  # the file really is of that kind
    at = _upload(name, content)
    no_exception(at)
    assert not at.error, texts(at.error)
    expected = read_digit(app_data(at).net, load_image(content))
    metrics = {m.label: m.value for m in at.main.metric}
    assert metrics["Prediction"] == str(expected.digit) == "7"
    assert _preview(at).proto.imgs[0].url  # the preview was encoded and sent


def test_a_picture_of_a_dot_gets_the_nothing_to_read_message():
    paper = Image.new("L", (400, 300), 235)
    ImageDraw.Draw(paper).ellipse((180, 130, 215, 165), fill=20)  # a full stop, 35 px across
    at = _upload("dot.png", _encoded(paper, "PNG"))
    no_exception(at)
    assert [t for t in texts(at.info) if t.startswith("Nothing to read in this picture")], texts(at.info)
    assert not at.main.metric


# ----- what the canvas's drawings read as (ui.drawing.read_drawing; AppTest cannot draw) ---------

PEN_WIDTHS = [8, 20, 40]  # the stroke-width slider's ends and its default


@pytest.fixture(scope="module")
def default_net():
    return Net.load(DEFAULT_MODEL)


def _sketch(strokes, width, size=280):
    """A Sketch holding ``strokes`` (lists of (x, y)) as the canvas sends them: Fabric.js objects
    with their pen width, and RGBA pixels with the ink in the alpha channel."""
    alpha = Image.new("L", (size * 2, size * 2), 0)  # drawn at 2x and shrunk: anti-aliased like a canvas
    draw = ImageDraw.Draw(alpha)
    for stroke in strokes:
        points = [(2 * float(x), 2 * float(y)) for x, y in stroke]
        if len(points) > 1:
            draw.line(points, fill=255, width=2 * width, joint="curve")
        for x, y in points:
            draw.ellipse((x - width, y - width, x + width, y + width), fill=255)
    pixels = np.zeros((size, size, 4), np.uint8)
    pixels[..., :3] = 0x11
    pixels[..., 3] = np.asarray(alpha.resize((size, size), Image.Resampling.BOX))
    objects = [{"type": "path", "strokeWidth": width} for _ in strokes]
    return Sketch(drawing={"objects": objects}, pixels=pixels)


def _stroke(length, angle=90.0, centre=(140.0, 140.0)):
    dx, dy = np.cos(np.radians(angle)) * length / 2, np.sin(np.radians(angle)) * length / 2
    return [(centre[0] - dx, centre[1] - dy), (centre[0] + dx, centre[1] + dy)]


@pytest.mark.parametrize("width", PEN_WIDTHS)
def test_a_tap_on_the_canvas_is_not_read(default_net, width):
    assert read_drawing(default_net, _sketch([[(140, 140)]], width)) is None
    assert read_drawing(default_net, _sketch([[(139.98, 140), (140.02, 140)]], width)) is None  # what Fabric sends


@pytest.mark.parametrize("width", PEN_WIDTHS)
@pytest.mark.parametrize("length", [5, 12, 20])
def test_a_small_tick_on_the_canvas_is_not_read(default_net, width, length):
    for angle in (0, 45, 90):
        assert read_drawing(default_net, _sketch([_stroke(length, angle)], width)) is None, angle


@pytest.mark.parametrize("width", PEN_WIDTHS)
def test_a_short_one_on_the_canvas_is_read_as_a_one(default_net, width):
    reading = read_drawing(default_net, _sketch([_stroke(70)], width))  # a quarter of the canvas tall
    assert reading is not None and reading.digit == 1


@pytest.mark.parametrize("width", PEN_WIDTHS)
def test_every_drawn_digit_is_still_read_at_every_pen_width(default_net, width):
    """Every template of core.drawn_digits (single and multi-stroke), three random drawings each."""
    unread = []
    for digit, templates in STROKES.items():
        for style in range(len(templates)):
            for seed in range(3):
                strokes, _ = hand_drawn_strokes(digit, seed, style=style)
                if read_drawing(default_net, _sketch(strokes, width)) is None:
                    unread.append((digit, style, seed))
    assert not unread
