import numpy as np
import streamlit as st

from ui.shell import page_frame

page_frame()

from core.imagine import digit_image  # noqa: E402
from core.network import confusion_counts  # noqa: E402
from ui import charts, resources  # noqa: E402
from ui.session import session  # noqa: E402

GALLERY_SIZE = 40

net = session().net
_, _, test = resources.mnist()
st.title("How good is the network?")

probabilities = session().remember("test predictions", lambda: net.predict_proba(test.X))
predicted = probabilities.argmax(axis=1)
matrix = confusion_counts(test.y, predicted)
correct = int(np.trace(matrix))
per_class = np.diag(matrix) / matrix.sum(axis=1)

a, b, c = st.columns(3)
a.metric("Test accuracy", f"{100 * correct / len(test.y):.2f}%")
b.metric("Correct", f"{correct:,} of {len(test.y):,}")
c.metric("Weakest digit", f"{int(np.argmin(per_class))} ({100 * per_class.min():.1f}%)")

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
st.caption(f"{len(wrong)} misclassified test images match; showing the {min(len(wrong), GALLERY_SIZE)} "
           "the network was most sure about.")
wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:GALLERY_SIZE]
columns = st.columns(10)
for slot, index in enumerate(wrong):
    columns[slot % 10].image(digit_image(test.X[index].reshape(28, 28), scale=3),
                             caption=f"true {test.y[index]} → {predicted[index]}", width="stretch")
