"""From a drawing or an uploaded picture to a prediction (the Draw page's logic)."""
from dataclasses import dataclass

import numpy as np

from core.preprocess import to_mnist


@dataclass
class Reading:
    """What the network makes of one drawing."""

    digit: int
    confidence: float
    probabilities: np.ndarray   # (10,)
    seen: np.ndarray            # the 28x28 image the network sees
    saliency: np.ndarray        # 28x28, signed: which pixels pushed towards the digit


def read_digit(net, image):
    """A Reading for an image (canvas RGBA array, PIL image...), or None when nothing is drawn."""
    seen = to_mnist(image)
    if seen is None:
        return None
    probabilities = net.predict_proba(seen.reshape(1, -1))[0]
    digit = int(np.argmax(probabilities))
    # d log p(digit) / d pixel: red pixels argue for the digit, blue ones against it
    saliency = net.input_gradient(seen.reshape(1, -1), digit)[0].reshape(28, 28)
    return Reading(digit, float(probabilities[digit]), probabilities, seen, saliency)
