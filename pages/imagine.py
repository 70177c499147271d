import numpy as np
import streamlit as st

from ui.shell import page_frame

page_frame()

from core.imagine import digit_image, heatmap_image, imagine_all  # noqa: E402
from ui.session import session  # noqa: E402

METHODS = {"Optimisation (activation maximisation)": "optimize",
           "Back-projection (the original's idea)": "backproject"}
MAX_NEURONS_SHOWN = 48

net = session().net
st.title("What does the network imagine?")
st.caption("Ask the network: “I trained you to recognise a 3. What do you think a 3 looks like?”")

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
    images, probabilities = session().remember(("imagine", method), _imagine)
for row in range(2):
    columns = st.columns(5)
    for digit, column in zip(range(5 * row, 5 * row + 5), columns):
        seen = int(np.argmax(probabilities[digit]))
        column.image(_picture(images[digit]), caption=f"imagined {digit}", width="stretch")
        column.markdown(f"network says **{seen}** ({100 * probabilities[digit, seen]:.0f}%)")

st.subheader("What each neuron looks for")
if len(net.sizes) < 3:
    st.caption("This network has no hidden layer: below are the output neurons' weights, one per digit.")
weights = net.weights[0]
strength = np.linalg.norm(weights, axis=1)
silent = int(np.count_nonzero(strength < 1e-3 * strength.max()))
order = np.argsort(-strength)[:MAX_NEURONS_SHOWN]
st.caption(f"The incoming weights of the {len(order)} neurons of the first layer with the strongest weights "
           f"(of {len(weights)}), as 28×28 images: red pixels excite the neuron, blue ones inhibit it."
           + (f" {silent} neurons have all-but-zero weights: they stopped responding during training."
              if silent else ""))
columns = st.columns(8)
for slot, neuron in enumerate(order):
    columns[slot % 8].image(heatmap_image(weights[neuron].reshape(28, 28), scale=4),
                            caption=f"neuron {neuron + 1}", width="stretch")
