"""The Draw page's two ways in (the canvas, an uploaded picture) and the reading beside them."""
import base64
import io
from dataclasses import dataclass

import streamlit as st
from PIL import Image

from core import limits
from core.imagine import blur, digit_image, heatmap_image
from core.preprocess import load_image, preview_image, reading_copy

from . import charts
from .canvas import CANVAS_SIDE, drawing_canvas
from .drawing import read_digit, read_drawing

DEFAULT_STROKE_WIDTH = 20
IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
INPUT_WIDTH = CANVAS_SIDE + 4  # the canvas with its border; the upload side is as wide
NOTHING_YET = "Draw a digit on the canvas (or upload a picture) and the network will read it."
NO_DIGIT_DRAWN = "Nothing to read: that is a dot or a tiny mark, not a digit. Draw one digit, large."
PICTURE_KEY = "digit_upload_picture"  # session state: (file id, Picture) of the last upload
NO_DIGIT_IN_PICTURE = ("Nothing to read in this picture: no ink stands out, or just a dot or a tiny mark. "
                       "Upload a picture of one handwritten digit.")


def side_by_side():
    """(input side, reading side): the input keeps its fixed width, the reading takes the rest and
    goes under the input when the screen is too narrow for both (a phone)."""
    with st.container(horizontal=True, gap="medium"):
        return st.container(width=INPUT_WIDTH), st.container(width="stretch")


@st.fragment
def drawing_area(data):
    """The canvas and its reading. A fragment: each stroke reruns only this, not the whole app."""
    canvas_side, reading_side = side_by_side()
    with canvas_side:
        # the pen's controls above the canvas: on a phone the reading then comes right under it
        with st.container(horizontal=True, vertical_alignment="bottom"):
            stroke_width = st.slider("Stroke width", 8, 40, DEFAULT_STROKE_WIDTH, key="stroke_width")
            st.button("Clear", icon=":material/ink_eraser:", key="clear_canvas", on_click=data.sketch.clear)
        drawing_canvas(data.sketch, stroke_width)
    with reading_side:
        show_reading(lambda: read_drawing(data.reading_net, data.sketch), data.sketch.image() is not None,
                     NO_DIGIT_DRAWN)


def upload_area(data):
    """The picture uploader, the picture and its reading. The file is decoded once per upload."""
    upload_side, reading_side = side_by_side()
    picture = None
    with upload_side:
        upload = st.file_uploader("A photo or scan of one handwritten digit", type=IMAGE_TYPES, key="digit_upload",
                                  max_upload_size=limits.MAX_PICTURE_UPLOAD_MB)
        picture = prepared_picture(upload)
        if picture is not None and picture.error:
            st.error(picture.error)
        elif picture is not None:
            show_picture(picture)
    readable = picture is not None and not picture.error
    with reading_side:
        show_reading(lambda: None if picture.reading is None else read_digit(data.reading_net, picture.reading),
                     readable, NO_DIGIT_IN_PICTURE)


@dataclass(frozen=True)
class Picture:
    """What is kept of an uploaded picture: the small copy the network reads, the thumbnail shown
    (PNG bytes) and its width on the page, or why the file cannot be read."""
    reading: Image.Image | None = None
    thumbnail: bytes = b""
    width: int = 0
    error: str = ""


def prepared_picture(upload):
    """The Picture of the uploaded file (None: no file), made once per upload and kept in the session:
    reruns neither decode the file again nor hold its full-size picture."""
    if upload is None:
        st.session_state.pop(PICTURE_KEY, None)
        return None
    file_id, picture = st.session_state.get(PICTURE_KEY, (None, None))
    if file_id != upload.file_id:
        picture = prepare_picture(upload.getvalue())
        st.session_state[PICTURE_KEY] = (upload.file_id, picture)
    return picture


def prepare_picture(content):
    """Decode a picture file (refused from its header when too large), then keep only small copies."""
    try:
        image = load_image(content)
        preview = preview_image(image, CANVAS_SIDE)
        return Picture(reading=reading_copy(image), thumbnail=_png(preview),
                       width=round(preview.width * CANVAS_SIDE / max(preview.size)))
    except ValueError as error:
        return Picture(error=str(error))


def show_picture(picture):
    """The uploaded picture as people see it (8-bit, whatever the file's depth), as big as the canvas."""
    st.image(picture.thumbnail, caption="Your picture", width=picture.width)


def show_reading(read, has_input, no_digit):
    """The prediction, the ten probabilities, the 28x28 input and its saliency map (or why there are none).

    ``read()`` gives the Reading, or None when the input holds no digit (then ``no_digit`` is said).
    """
    try:
        reading = read() if has_input else None
    except ValueError as error:
        st.error(str(error))
        return
    if reading is None:
        st.info(no_digit if has_input else NOTHING_YET, icon=":material/draw:")
        return
    with st.container(horizontal=True):
        st.metric("Prediction", str(reading.digit))
        st.metric("Confidence", f"{100 * reading.confidence:.1f}%")
    st.vega_lite_chart(*charts.probability_chart(reading.probabilities), key="probability_chart")
    # a list of images stays side by side on a phone, where columns would stack full-width
    st.image([_inline(digit_image(reading.seen, scale=6)),
              _inline(heatmap_image(blur(reading.saliency), scale=6, ink=reading.seen))], width=28 * 6,
             caption=["What the network sees (28×28)",
                      f"Pixels for (red) and against (blue) a {reading.digit}: more ink on red pixels would make "
                      "the network surer"])


def _inline(image):
    """A small PIL image as a data: URL, sent with the page instead of fetched after it (a stroke's
    reading shows one round trip sooner, and the server keeps no media file per stroke)."""
    return "data:image/png;base64," + base64.b64encode(_png(image)).decode("ascii")


def _png(image):
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
