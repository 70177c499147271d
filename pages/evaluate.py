import numpy as np
import streamlit as st

from ui.shell import page_frame

page_frame()

from core.imagine import digit_image  # noqa: E402
from core.network import confusion_counts  # noqa: E402
from ui import charts, resources  # noqa: E402
from ui.session import session  # noqa: E402
from ui.training_notice import show_training_notice  # noqa: E402

GALLERY_SIZE = 40
THUMBNAIL_SIDE = 84  # px: 28x28 at 3x; a list of images wraps into a grid at any screen width


def _gallery_caption(count):
    """What the gallery shows, for ``count`` matching mistakes."""
    if count == 0:
        return "No misclassified test images match these filters."
    if count == 1:
        return "1 misclassified test image matches."
    if count <= GALLERY_SIZE:
        return f"{count:,} misclassified test images match, the network's surest mistakes first."
    return f"{count:,} misclassified test images match; showing the {GALLERY_SIZE} the network was most sure about."


data = session()
net = data.reading_net
_, _, test = resources.mnist()
st.title("How good is the network?")
show_training_notice(data, "These figures")

probabilities = data.remember("test predictions", lambda: net.predict_proba(test.X))
predicted = probabilities.argmax(axis=1)
matrix = confusion_counts(test.y, predicted)
correct = int(np.trace(matrix))
per_class = np.diag(matrix) / matrix.sum(axis=1)

with st.container(horizontal=True, gap="medium"):  # each figure whole; they wrap on a narrow screen
    st.metric("Test accuracy", f"{100 * correct / len(test.y):.2f}%", width="content")
    st.metric("Correct", f"{correct:,} of {len(test.y):,}", width="content")
    st.metric("Weakest digit", f"{int(np.argmin(per_class))} ({100 * per_class.min():.1f}%)", width="content")

left, right = st.columns(2, gap="large")
with left:
    st.subheader("Confusion matrix")
    st.caption("Rows: the true digit; columns: what the network said. The diagonal is right.")
    st.altair_chart(charts.confusion_chart(matrix), key="confusion_chart")
with right:
    st.subheader("Accuracy per digit")
    st.altair_chart(charts.per_class_chart(per_class), key="per_class_chart")


st.subheader("Digits it got wrong")
wrong = np.flatnonzero(predicted != test.y)
options = ["any"] + [str(d) for d in range(10)]
f1, f2, _ = st.columns([1, 1, 2])
true_filter = f1.selectbox("True digit", options, key="filter_true")
predicted_filter = f2.selectbox("Predicted digit", options, key="filter_predicted")
if true_filter != "any":
    wrong = wrong[test.y[wrong] == int(true_filter)]
if predicted_filter != "any":
    wrong = wrong[predicted[wrong] == int(predicted_filter)]
st.caption(_gallery_caption(len(wrong)))
wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:GALLERY_SIZE]
if len(wrong):
    st.image([digit_image(test.X[index].reshape(28, 28), scale=3) for index in wrong],
             caption=[f"true {test.y[index]} → {predicted[index]}" for index in wrong], width=THUMBNAIL_SIDE)
