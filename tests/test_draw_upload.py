"""The Draw page's uploader through the real app (AppTest): a picture is decoded once per upload,
only a thumbnail is kept and shown, and a picture too large to read safely gets a plain message."""
import io
import sys

from PIL import Image

from app_helpers import new_app, no_exception, run, texts
from drawn_digits import render_digit
from core.preprocess import load_image


def _png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _upload_page():
    at = new_app("pages/draw.py")
    at.radio(key="draw_source").set_value("Upload a picture")
    return run(at)


def test_a_picture_is_decoded_once_per_upload_and_kept_as_a_thumbnail(monkeypatch):
    calls = []
    seven = Image.fromarray(render_digit(7, 3)).resize((1400, 1400))
    at = _upload_page()
    draw_view = sys.modules["ui.draw_view"]  # imported by the app (the canvas component needs a running app)
    monkeypatch.setattr(draw_view, "load_image", lambda content: calls.append(1) or load_image(content))
    at.file_uploader(key="digit_upload").upload("seven.png", _png(seven), "image/png")
    for _ in range(3):
        run(at)
    no_exception(at)
    assert len(calls) == 1
    picture = at.session_state[draw_view.PICTURE_KEY][1]
    assert max(Image.open(io.BytesIO(picture.thumbnail)).size) <= 280 and max(picture.reading.size) <= 1024
    assert {m.label: m.value for m in at.main.metric}["Prediction"] == "7"
    at.file_uploader(key="digit_upload").upload("again.png", _png(seven.rotate(3)), "image/png")
    run(at)
    assert len(calls) == 2  # a new upload is decoded


def test_a_picture_too_large_to_read_gets_a_plain_message():
    huge = _png(Image.new("L", (12_000, 12_000), 255))  # 144 MB once decoded, a few hundred KB as PNG
    at = _upload_page()
    at.file_uploader(key="digit_upload").upload("huge.png", huge, "image/png")
    run(at)
    no_exception(at)
    errors = texts(at.error)
    assert len(errors) == 1 and "too large" in errors[0] and "12,000 × 12,000" in errors[0], errors
    assert not [image for image in at.image if "Your picture" in image.captions]
    assert not at.main.metric
