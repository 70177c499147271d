"""The Draw page's two ways in (the canvas, an uploaded picture) and the reading beside them."""
import base64
import io

import streamlit as st

from core.imagine import blur, digit_image, heatmap_image
from core.preprocess import load_image

from . import charts
from .canvas import CANVAS_SIDE, drawing_canvas
from .drawing import read_digit

DEFAULT_STROKE_WIDTH = 20
IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]
NOTHING_YET = "Draw a digit on the canvas (or upload a picture) and the network will read it."


@st.fragment
def drawing_area(data):
    """The canvas and its reading. A fragment: each stroke reruns only this, not the whole app."""
    left, right = st.columns([1, 1], gap="medium")
    with left:
        drawing_canvas(data.sketch, st.session_state.get("stroke_width", DEFAULT_STROKE_WIDTH))
        with st.container(horizontal=True, vertical_alignment="bottom", width=CANVAS_SIDE + 4):
            st.slider("Stroke width", 8, 40, DEFAULT_STROKE_WIDTH, key="stroke_width")
            st.button("Clear", icon=":material/ink_eraser:", key="clear_canvas", on_click=data.sketch.clear)
    with right:
        show_reading(data, data.sketch.image())


def upload_area(data):
    left, right = st.columns([1, 1], gap="medium")
    image = None
    with left:
        upload = st.file_uploader("A photo or scan of one handwritten digit", type=IMAGE_TYPES, key="digit_upload")
        if upload is not None:
            try:
                image = load_image(upload.getvalue())
            except ValueError as error:
                st.error(str(error))
            else:
                st.image(image, caption="Your picture", width=CANVAS_SIDE)
    with right:
        show_reading(data, image)


def show_reading(data, image):
    """The prediction, the ten probabilities, the 28x28 input and its saliency map (or why there are none)."""
    try:
        reading = read_digit(data.reading_net, image) if image is not None else None
    except ValueError as error:
        st.error(str(error))
        return
    if reading is None:
        if image is not None:
            st.info("Nothing drawn yet: that is too little ink to read. Draw a digit.", icon=":material/draw:")
        else:
            st.info(NOTHING_YET, icon=":material/draw:")
        return
    with st.container(horizontal=True):
        st.metric("Prediction", str(reading.digit))
        st.metric("Confidence", f"{100 * reading.confidence:.1f}%")
    st.vega_lite_chart(*charts.probability_chart(reading.probabilities), key="probability_chart")
    seen, why = st.columns(2)
    seen.image(_inline(digit_image(reading.seen, scale=6)), caption="What the network sees (28×28)",
               width="stretch")
    why.image(_inline(heatmap_image(blur(reading.saliency), scale=6, ink=reading.seen)), width="stretch",
              caption=f"Pixels for (red) and against (blue) a {reading.digit}: more ink on red pixels "
                      "would make the network surer")


def _inline(image):
    """A small PIL image as a data: URL, sent with the page instead of fetched after it (a stroke's
    reading shows one round trip sooner, and the server keeps no media file per stroke)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
