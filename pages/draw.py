import streamlit as st

from ui.shell import page_frame

page_frame()

from streamlit_drawable_canvas import st_canvas  # noqa: E402

from core.imagine import blur, digit_image, heatmap_image  # noqa: E402
from core.preprocess import load_image  # noqa: E402
from ui import charts  # noqa: E402
from ui.drawing import read_digit  # noqa: E402
from ui.session import session  # noqa: E402

CANVAS_SIDE = 280
IMAGE_TYPES = ["png", "jpg", "jpeg", "bmp", "gif", "webp", "tif", "tiff"]

data = session()
st.title("Draw a digit")
st.caption("The network reads your digit each time you lift the mouse: draw it large, in the middle.")

source = st.radio("Digit from", ["Draw with the mouse", "Upload a picture"], horizontal=True,
                  label_visibility="collapsed", key="draw_source")
left, right = st.columns([1, 1], gap="large")

image = None
with left:
    if source == "Draw with the mouse":
        width = st.slider("Stroke width", 8, 40, 20, key="stroke_width")
        with st.container(border=True, width=CANVAS_SIDE + 36):
            result = st_canvas(stroke_width=width, stroke_color="#111111", background_color="",
                               height=CANVAS_SIDE, width=CANVAS_SIDE, drawing_mode="freedraw",
                               initial_drawing=data.drawing, return_image_data=True,
                               key=f"canvas_{data.canvas_version}")
        if result.json_data is not None:
            data.drawing = result.json_data
        if st.button("Clear", icon=":material/ink_eraser:", key="clear_canvas"):
            data.drawing = None
            data.canvas_version += 1
            st.rerun()
        image = result.image_data if data.drawing and data.drawing.get("objects") else None
    else:
        upload = st.file_uploader("A photo or scan of one handwritten digit", type=IMAGE_TYPES,
                                  key="digit_upload")
        if upload is not None:
            try:
                image = load_image(upload.getvalue())
            except ValueError as error:
                st.error(str(error))
            else:
                st.image(image, caption="Your picture", width=CANVAS_SIDE)

with right:
    try:
        reading = read_digit(data.net, image) if image is not None else None
    except ValueError as error:
        st.error(str(error))
        reading = None
    if reading is None:
        if image is not None:
            st.info("Nothing drawn yet: that is too little ink to read. Draw a digit.", icon=":material/draw:")
        else:
            st.info("Draw a digit on the canvas (or upload a picture) and the network will read it.",
                    icon=":material/draw:")
    else:
        a, b = st.columns(2)
        a.metric("Prediction", str(reading.digit))
        b.metric("Confidence", f"{100 * reading.confidence:.1f}%")
        st.altair_chart(charts.probability_chart(reading.probabilities), key="probability_chart")
        seen, why = st.columns(2)
        seen.image(digit_image(reading.seen, scale=6), caption="What the network sees (28×28)", width="stretch")
        why.image(heatmap_image(blur(reading.saliency), scale=6, ink=reading.seen), width="stretch",
                  caption=f"Pixels for (red) and against (blue) a {reading.digit}: more ink on red pixels "
                          "would make the network surer")
