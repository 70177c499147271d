"""The Draw page's logic: the canvas's drawing across reruns, and reading it."""
from dataclasses import dataclass

import numpy as np

from core.preprocess import MIN_EXTENT, to_mnist

DRAWN_MIN_EXTENT = 0.12  # a digit drawn on the canvas spans at least this much of it ("draw it large")


@dataclass
class Reading:
    """What the network makes of one drawing."""

    digit: int
    confidence: float
    probabilities: np.ndarray   # (10,)
    seen: np.ndarray            # the 28x28 image the network sees
    saliency: np.ndarray        # 28x28, signed: which pixels pushed towards the digit


def read_drawing(net, sketch):
    """A Reading of the canvas's drawing, or None when it is empty or no digit (a tap, a tick)."""
    image = sketch.image()
    if image is None:
        return None
    return read_digit(net, image, pen_width=sketch.pen_width, min_extent=DRAWN_MIN_EXTENT)


def read_digit(net, image, *, pen_width=None, min_extent=MIN_EXTENT):
    """A Reading for an image (canvas RGBA array, PIL image...), or None when nothing is drawn.

    ``pen_width`` and ``min_extent``: see :func:`core.preprocess.to_mnist`.
    """
    seen = to_mnist(image, pen_width=pen_width, min_extent=min_extent)
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
        return len(self._objects())

    @property
    def pen_width(self):
        """The widest pen among the drawing's strokes (canvas pixels), or None when not known."""
        widths = [item["strokeWidth"] for item in self._objects() if item.get("strokeWidth")]
        return max(widths, default=None)

    def _objects(self):
        return (self.drawing or {}).get("objects") or []

    def image(self):
        """The canvas's pixels to read, or None when the canvas is empty."""
        return self.pixels if self.strokes else None

    def clear(self):
        self.drawing = self.pixels = self.initial = None
        self.version += 1
