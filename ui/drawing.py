"""The Draw page's logic: the canvas's drawing across reruns, and reading it."""
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


@dataclass
class Sketch:
    """One session's drawing: what the canvas last sent, kept across reruns and page switches.

    The canvas component reloads its ``initial_drawing`` whenever that value changes and
    then sends the reloaded drawing back, which reruns the page. Feeding its own output
    back on every run therefore loops forever and drops strokes drawn meanwhile. So a
    mounted canvas is given one fixed starting drawing (:meth:`start`): the last drawing
    when the canvas first appears (after a page switch), unchanged until it goes away.

    Nothing else the canvas is given may change while it is mounted either: Streamlit sets
    a component up again whenever its arguments change, and two such changes in quick
    succession (a stroke-width slider moved with the keyboard) can make it rebuild itself
    empty. So a new stroke width is a new canvas (:meth:`key`), started from the drawing.
    """

    drawing: dict = None        # the canvas's last Fabric.js JSON
    pixels: np.ndarray = None   # the canvas's RGBA pixels of that drawing
    initial: dict = None        # what the mounted canvas started from
    version: int = 0            # part of the canvas's key; Clear bumps it for a new, empty canvas

    def key(self, stroke_width):
        """The canvas's widget key: one per Clear and stroke width."""
        return f"canvas_{self.version}_{stroke_width}"

    def start(self, mounted):
        """The ``initial_drawing`` for this run; ``mounted``: the canvas was on the page last run."""
        if not mounted:
            self.initial = self.drawing
        return self.initial

    def update(self, drawing, pixels):
        """Keep what the canvas sent. ``pixels`` is None while it has sent nothing since it appeared:
        it then still shows ``initial``, which is the drawing (and pixels) kept already."""
        if pixels is not None:
            self.drawing, self.pixels = drawing, pixels

    @property
    def strokes(self):
        return len((self.drawing or {}).get("objects") or [])

    def image(self):
        """The canvas's pixels to read, or None when the canvas is empty."""
        return self.pixels if self.strokes else None

    def clear(self):
        self.drawing = self.pixels = self.initial = None
        self.version += 1
