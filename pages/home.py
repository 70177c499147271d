import streamlit as st

from ui.shell import page_frame

page_frame()

from ui.session import session  # noqa: E402
from ui.sidebar import accuracy_text, describe  # noqa: E402

net = session().net
arrows, settings = describe(net)

st.title("See a neural network learn")
st.markdown(
    "A neural network written from scratch in NumPy learns to read handwritten digits from the "
    "MNIST data set: 60,000 digits written by people, 28×28 pixels each. Build a network layer by "
    "layer, watch it learn epoch by epoch, draw a digit for it to read, and ask it what it "
    "*imagines* a 3 looks like.")

st.subheader("The current network")
with st.container(horizontal=True, gap="medium"):  # each figure whole; they wrap on a narrow screen
    st.metric("Architecture", arrows, width="content")
    st.metric("Parameters", f"{net.n_parameters:,}", width="content")
    st.metric("Epochs trained", len(net.history), width="content")
    st.metric("Test accuracy", accuracy_text(net), width="content")
st.caption(f"{session().model_name}: {settings}.")

st.subheader("Where to go next")
left, middle, right = st.columns(3)
with left:
    st.page_link("pages/train.py", label="Build & Train", icon=":material/model_training:")
    st.caption("Choose layers, activations and learning rate; watch accuracy climb live.")
    st.page_link("pages/draw.py", label="Draw", icon=":material/draw:")
    st.caption("Draw a digit with the mouse and see what the network reads, and why.")
with middle:
    st.page_link("pages/imagine.py", label="Imagine", icon=":material/psychology:")
    st.caption("What does the network think each digit looks like?")
    st.page_link("pages/evaluate.py", label="Evaluate", icon=":material/analytics:")
    st.caption("Accuracy per digit, the confusion matrix and the digits it gets wrong.")
with right:
    st.markdown(
        "**How it works.** Each layer multiplies its inputs by a matrix of weights, adds biases "
        "and squashes the result. Training shows the network a mini-batch of digits, measures how "
        "wrong it is (the cost) and nudges every weight against the gradient of that cost, "
        "computed by backpropagation.")
