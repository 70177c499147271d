import streamlit as st

from ui.shell import page_frame

page_frame()

from ui.draw_view import drawing_area, upload_area  # noqa: E402
from ui.session import session  # noqa: E402

data = session()
st.title("Draw a digit")
st.caption("Draw one digit, large, in as many strokes as you like: the network reads it each time you lift "
           "the pen.")
source = st.radio("Digit from", ["Draw", "Upload a picture"], horizontal=True, label_visibility="collapsed",
                  key="draw_source")
if source == "Draw":
    drawing_area(data)
else:
    upload_area(data)
