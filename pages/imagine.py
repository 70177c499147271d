import numpy as np
import streamlit as st

from ui.shell import page_frame

page_frame()

from core.imagine import digit_image, heatmap_image, imagine_all  # noqa: E402
from ui.session import session  # noqa: E402
from ui.training_notice import show_training_notice  # noqa: E402

METHODS = {"Optimisation (activation maximisation)": "optimize",
           "Back-projection (the original's idea)": "backproject"}
MAX_NEURONS_SHOWN = 48
DIGIT_SIDE = 112   # px; lists of images wrap into a grid at any screen width (columns would stack on a phone)
NEURON_SIDE = 84

data = session()
net = data.reading_net
st.title("What does the network imagine?")
st.caption("Ask the network: “I trained you to recognise a 3. What do you think a 3 looks like?”")
show_training_notice(data, "These pictures")

label = st.radio("Method", list(METHODS), horizontal=True, key="imagine_method")
method = METHODS[label]
st.caption("Optimisation starts from a black image and changes its pixels until the network is sure it "
           "sees the digit (bright pixels are ink). Back-projection pushes each digit's output back through "
           "the transposed weights: red pixels speak for the digit, blue against it.")


def _picture(image):
    """Signed maps as a red/blue heatmap; optimised images as white ink on black, contrast stretched."""
    if method == "backproject":
        return heatmap_image(image, scale=6)
    return digit_image((image - image.min()) / max(float(image.max() - image.min()), 1e-9), scale=6)


def _imagine():
    images = imagine_all(net, np.arange(10), method)
    return images, net.predict_proba(images.reshape(10, -1))


with st.spinner("Imagining…"):
    images, probabilities = data.remember(("imagine", method), _imagine)
seen = probabilities.argmax(axis=1)
for row in (range(5), range(5, 10)):
    st.image([_picture(images[digit]) for digit in row], width=DIGIT_SIDE,
             caption=[f"imagined {digit}: network says {seen[digit]} ({100 * probabilities[digit, seen[digit]]:.0f}%)"
                      for digit in row])

weights = net.weights[0]
strength = np.linalg.norm(weights, axis=1)
if len(net.sizes) == 2:  # the first layer is the output layer: one neuron per digit, shown in digit order
    st.subheader("What each digit's output neuron looks for")
    st.caption("This network has no hidden layer: each digit's output neuron weighs the 784 pixels directly. "
               "Its weights as a 28×28 image: red pixels speak for the digit, blue ones against it.")
    order, names = np.arange(len(weights)), [f"digit {d}" for d in range(len(weights))]
else:
    st.subheader("What each neuron looks for")
    silent = int(np.count_nonzero(strength < 1e-3 * strength.max()))
    order = np.argsort(-strength)[:MAX_NEURONS_SHOWN]
    names = [f"neuron {neuron + 1}" for neuron in order]
    st.caption(f"The incoming weights of the {len(order)} neurons of the first hidden layer with the strongest "
               f"weights (of {len(weights):,}), as 28×28 images: red pixels excite the neuron, blue ones inhibit "
               "it." + (f" {silent:,} neurons have all-but-zero weights: they stopped responding during training."
                        if silent else ""))
st.image([heatmap_image(weights[neuron].reshape(28, 28), scale=4) for neuron in order], caption=names,
         width=NEURON_SIDE)
