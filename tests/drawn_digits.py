"""Synthetic digits drawn the way a person draws them with a mouse.

Each digit 0-9 has one or more stroke templates (:data:`STROKES`): the strokes
a person makes, in order, as polylines in a unit box (x and y in 0..1, y
pointing down).  :func:`render_digit` draws a random instance of a template on
a canvas like the dashboard's drawing canvas (transparent background, ink in
the alpha channel) with random brush width, size, position, aspect ratio,
slant, rotation and hand wobble.  :func:`drawn_digit_set` turns a fixed-seed
batch of them into MNIST-style 28x28 images via :func:`core.preprocess.to_mnist`,
to measure how well a model does on human-like drawings.  :func:`stroke_paths`
maps a template to pixel coordinates, for browser tests that draw with the
mouse.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from core.preprocess import to_mnist

__all__ = [
    "MULTI_STROKE_STYLES",
    "STROKES",
    "hand_drawn_strokes",
    "drawn_digit_set",
    "render_digit",
    "stroke_paths",
]

Point = tuple[float, float]
Stroke = list[Point]
Template = list[Stroke]

_SUPERSAMPLE = 2  # draw at 2x and downscale: anti-aliased edges like a canvas


# --------------------------------------------------------------------------
# Path helpers (unit box, y down)
# --------------------------------------------------------------------------


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Elliptical arc from angle ``start`` to ``end`` in degrees.

    Angle 0 is the rightmost point, 90 the bottom, -90 the top (y points down),
    so increasing angles run clockwise on screen.
    """
    n = max(8, int(abs(end - start) / 6))
    angles = np.radians(np.linspace(start, end, n + 1))
    return [(cx + rx * math.cos(a), cy + ry * math.sin(a)) for a in angles]


def _line(*points: Point) -> Stroke:
    """Polyline through ``points``, densified to about 0.03 per segment."""
    out: Stroke = [points[0]]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        n = max(2, int(math.hypot(x1 - x0, y1 - y0) / 0.03))
        out += [(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t) for t in np.linspace(0, 1, n + 1)[1:]]
    return out


def _bezier(p0: Point, p1: Point, p2: Point, p3: Point, n: int = 24) -> Stroke:
    """Cubic Bezier curve from p0 to p3 with control points p1, p2."""
    t = np.linspace(0, 1, n + 1)[:, None]
    pts = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    return [(float(x), float(y)) for x, y in pts]


def _join(*parts: Stroke) -> Stroke:
    """Concatenate pieces of one stroke (drops repeated joint points)."""
    out: Stroke = []
    for part in parts:
        out += part[1:] if out and np.allclose(out[-1], part[0], atol=1e-3) else part
    return out


def _figure_eight() -> Stroke:
    """One-stroke 8: start at the top, go left, cross in the middle, loop below."""
    t = np.linspace(-0.15, 2 * math.pi + 0.1, 140)
    half_width = 0.22 + 0.08 * (1 - np.cos(t)) / 2  # lower loop a bit wider
    x = 0.5 - half_width * np.sin(2 * t)
    y = 0.5 - 0.5 * np.cos(t)
    return [(float(a), float(b)) for a, b in zip(x, y)]


# --------------------------------------------------------------------------
# Templates: digit -> styles -> strokes -> points
# --------------------------------------------------------------------------

STROKES: dict[int, list[Template]] = {
    0: [
        [_arc(0.5, 0.5, 0.3, 0.5, -90, -440)],  # counter-clockwise from the top, small overlap
        [_arc(0.5, 0.5, 0.24, 0.5, -60, -420)],  # narrow, starts top right
        [_arc(0.5, 0.5, 0.28, 0.5, -95, -265), _arc(0.5, 0.5, 0.28, 0.5, -85, 95)],  # two halves, both from the top
    ],
    1: [
        [_line((0.5, 0.0), (0.5, 1.0))],  # plain bar
        [_line((0.3, 0.2), (0.55, 0.0), (0.55, 1.0))],  # with a flag
        [_line((0.3, 0.2), (0.55, 0.0), (0.55, 1.0)), _line((0.28, 1.0), (0.82, 1.0))],  # flag and base
    ],
    2: [
        [_join(_arc(0.5, 0.28, 0.3, 0.28, 200, 375), _line((0.79, 0.36), (0.15, 1.0), (0.88, 1.0)))],
        [  # with a small loop at the bottom left
            _join(
                _arc(0.5, 0.28, 0.3, 0.28, 200, 375),
                _bezier((0.79, 0.36), (0.7, 0.65), (0.3, 0.8), (0.22, 0.93)),
                _arc(0.3, 0.9, 0.1, 0.08, 160, -160),
                _line((0.2, 0.93), (0.88, 0.98)),
            )
        ],
        [  # hook and diagonal, then the base as a second stroke
            _join(_arc(0.5, 0.28, 0.3, 0.28, 200, 375), _line((0.79, 0.36), (0.15, 0.98))),
            _line((0.13, 1.0), (0.9, 0.97)),
        ],
    ],
    3: [
        [_join(_arc(0.48, 0.26, 0.28, 0.26, 200, 450), _arc(0.48, 0.74, 0.32, 0.26, -90, 155))],
        [  # flat top
            _join(
                _line((0.18, 0.0), (0.8, 0.0), (0.42, 0.42)),
                _bezier((0.42, 0.42), (0.85, 0.38), (0.9, 0.75), (0.7, 0.92)),
                _bezier((0.7, 0.92), (0.5, 1.05), (0.25, 1.0), (0.12, 0.86)),
            )
        ],
        [_arc(0.48, 0.26, 0.28, 0.26, 200, 450), _arc(0.46, 0.74, 0.32, 0.26, -95, 155)],  # two arcs
    ],
    4: [
        [_line((0.22, 0.0), (0.15, 0.6), (0.88, 0.6)), _line((0.7, 0.05), (0.7, 1.0))],  # open top
        [_line((0.62, 0.0), (0.1, 0.68), (0.9, 0.68)), _line((0.62, 0.0), (0.62, 1.0))],  # closed
        [  # three strokes: down, across, then the long vertical
            _line((0.2, 0.0), (0.14, 0.6)), _line((0.12, 0.6), (0.9, 0.58)), _line((0.68, 0.02), (0.7, 1.0)),
        ],
    ],
    5: [
        [
            _join(_line((0.25, 0.0), (0.2, 0.46)), _arc(0.47, 0.69, 0.33, 0.3, -130, 150)),
            _line((0.25, 0.0), (0.82, 0.0)),
        ],
        [  # bar first, then body (one stroke)
            _join(_line((0.82, 0.0), (0.27, 0.0), (0.22, 0.45)), _arc(0.48, 0.69, 0.32, 0.3, -125, 150)),
        ],
    ],
    6: [
        [_join(_bezier((0.72, 0.0), (0.4, 0.08), (0.16, 0.4), (0.2, 0.72)), _arc(0.5, 0.73, 0.3, 0.27, 180, -170))],
        [  # the stem, then the loop as a second stroke
            _bezier((0.72, 0.0), (0.4, 0.08), (0.16, 0.4), (0.2, 0.75)),
            _arc(0.5, 0.73, 0.3, 0.27, 175, -185),
        ],
    ],
    7: [
        [_line((0.12, 0.0), (0.88, 0.0), (0.38, 1.0))],
        [_line((0.12, 0.0), (0.88, 0.0), (0.38, 1.0)), _line((0.38, 0.52), (0.82, 0.52))],  # crossbar
        [_join(_line((0.12, 0.04), (0.88, 0.0)), _bezier((0.88, 0.0), (0.66, 0.32), (0.5, 0.62), (0.46, 1.0)))],
        [_line((0.12, 0.0), (0.88, 0.0)), _line((0.86, 0.02), (0.4, 1.0))],  # bar, then the stem
    ],
    8: [
        [_figure_eight()],
        [_arc(0.5, 0.25, 0.23, 0.25, -60, -420), _arc(0.5, 0.74, 0.29, 0.26, -90, -450)],  # two loops
    ],
    9: [
        [_join(_arc(0.45, 0.27, 0.28, 0.27, 0, -360), _line((0.73, 0.27), (0.7, 1.0)))],  # straight tail
        [  # curved tail
            _join(
                _arc(0.45, 0.27, 0.28, 0.27, 0, -360),
                _bezier((0.73, 0.27), (0.74, 0.7), (0.55, 1.0), (0.25, 0.94)),
            )
        ],
        [_arc(0.45, 0.27, 0.28, 0.27, -20, -380), _line((0.73, 0.1), (0.7, 1.0))],  # loop, then the stem
    ],
}

MULTI_STROKE_STYLES: list[tuple[int, int]] = [
    (digit, style) for digit, styles in STROKES.items() for style, template in enumerate(styles) if len(template) > 1
]
"""(digit, style) of every template drawn in more than one stroke."""


# --------------------------------------------------------------------------
# Mapping templates to pixels
# --------------------------------------------------------------------------


def stroke_paths(
    digit: int, style: int = 0, box: Sequence[float] = (0.0, 0.0, 1.0, 1.0)
) -> list[list[tuple[float, float]]]:
    """Map template ``style`` of ``digit`` into the pixel box ``(x0, y0, x1, y1)``.

    Returns the strokes in drawing order, each a list of (x, y) points; the
    unit box's (0, 0) maps to (x0, y0) and (1, 1) to (x1, y1).
    """
    x0, y0, x1, y1 = box
    template = STROKES[digit][style]
    return [[(x0 + x * (x1 - x0), y0 + y * (y1 - y0)) for x, y in stroke] for stroke in template]


def _wobble(points: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Add smooth (low-frequency) random displacement, like an unsteady hand."""
    noise = rng.normal(0.0, amount, size=(len(points) + 16, 2))
    kernel = np.hanning(11)
    kernel /= kernel.sum() / 2.5  # smoothing shrinks the noise; keep roughly ``amount``
    smooth = np.stack([np.convolve(noise[:, i], kernel, mode="same") for i in range(2)], axis=1)
    return points + smooth[8 : 8 + len(points)]


def _hand_drawn(template: Template, rng: np.random.Generator) -> list[np.ndarray]:
    """Template strokes with hand wobble; later strokes land slightly off target."""
    wobble = rng.uniform(0.004, 0.015)
    strokes = []
    for i, stroke in enumerate(template):
        points = _wobble(np.asarray(stroke, dtype=np.float64), rng, wobble)
        if i > 0:
            points += rng.normal(0.0, 0.025, size=2)
        strokes.append(points)
    return strokes


def _random_transform(rng: np.random.Generator) -> np.ndarray:
    """2x2 matrix: aspect change, slant (shear) and a small rotation."""
    aspect = rng.uniform(0.8, 1.25)
    shear = rng.uniform(-0.3, 0.3)
    angle = math.radians(rng.uniform(-12, 12))
    scale = np.diag([aspect, 1.0])
    slant = np.array([[1.0, -shear], [0.0, 1.0]])  # positive shear leans the top to the right
    rotate = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return rotate @ slant @ scale


def _place(
    strokes: list[np.ndarray], rng: np.random.Generator, size: int, width: float, height_frac: float
) -> list[np.ndarray]:
    """Scale to ``height_frac`` of the canvas, then move to a random spot where it fits."""
    allpts = np.concatenate(strokes)
    extent = allpts.max(axis=0) - allpts.min(axis=0)
    margin = width / 2 + 2
    scale = min(height_frac * size / max(extent[1], 1e-6), (size - 2 * margin) / max(extent.max(), 1e-6))
    scaled = [s * scale for s in strokes]
    lo = np.concatenate(scaled).min(axis=0)
    hi = np.concatenate(scaled).max(axis=0)
    room = np.maximum(size - 2 * margin - (hi - lo), 0.0)
    offset = margin + rng.uniform(0.0, 1.0, size=2) * room - lo
    return [s + offset for s in scaled]


def _draw_strokes(strokes: list[np.ndarray], size: int, width: float) -> np.ndarray:
    """Rasterise strokes with a round brush; returns anti-aliased ink (uint8)."""
    k = _SUPERSAMPLE
    canvas = Image.new("L", (size * k, size * k), 0)
    draw = ImageDraw.Draw(canvas)
    radius = width * k / 2
    for stroke in strokes:
        pts = [(float(x) * k, float(y) * k) for x, y in stroke]
        draw.line(pts, fill=255, width=max(1, round(width * k)), joint="curve")
        for x, y in pts:  # round brush: a disc at every point, including the ends
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return np.asarray(canvas.resize((size, size), Image.Resampling.BOX))


def _to_canvas_image(ink: np.ndarray, mode: str, color: tuple[int, int, int]) -> np.ndarray:
    if mode == "rgba":
        rgba = np.empty(ink.shape + (4,), dtype=np.uint8)
        rgba[..., :3] = color
        rgba[..., 3] = ink
        return rgba
    if mode == "black_on_white":
        return np.repeat((255 - ink)[..., None], 3, axis=2)
    if mode == "white_on_black":
        return np.repeat(ink[..., None], 3, axis=2)
    raise ValueError(f"Unknown mode {mode!r}: expected 'rgba', 'black_on_white' or 'white_on_black'.")


# --------------------------------------------------------------------------
# Public generators
# --------------------------------------------------------------------------


def render_digit(
    digit: int,
    rng: np.random.Generator | int | None,
    size: int = 280,
    *,
    style: int | None = None,
    mode: str = "rgba",
    color: tuple[int, int, int] = (255, 255, 255),
) -> np.ndarray:
    """Draw one random hand-drawn-looking instance of ``digit``.

    Returns a ``size`` x ``size`` uint8 image.  ``mode="rgba"`` (default) is
    what the drawing canvas gives with a transparent background: RGBA with the
    stroke ``color`` and the ink in the alpha channel.  ``"black_on_white"``
    and ``"white_on_black"`` give RGB images instead.  ``style`` picks a
    template from ``STROKES[digit]`` (random when ``None``).

    Random variation: brush width 10-30 px at size 280 (kept within 8-20% of
    the digit height, so the result stays a plausible pen stroke after scaling
    to MNIST), height 35-85% of the canvas, position anywhere it fits, aspect
    ratio, slant, rotation and hand wobble.
    """
    strokes, width = hand_drawn_strokes(digit, rng, size, style=style)
    return _to_canvas_image(_draw_strokes(strokes, size, width), mode, color)


def hand_drawn_strokes(
    digit: int, rng: np.random.Generator | int | None, size: int = 280, *, style: int | None = None
) -> tuple[list[np.ndarray], float]:
    """The strokes of one random drawing of ``digit`` as :func:`render_digit` draws it.

    Returns ``(strokes, width)``: each stroke an (n, 2) array of canvas pixel
    coordinates (x, y) in drawing order, and the brush width in pixels. Browser
    tests draw these with the mouse; :func:`render_digit` rasterises them.
    """
    rng = np.random.default_rng(rng)  # a Generator is used as is; an int seeds a new one
    templates = STROKES[int(digit)]
    if style is None:
        style = int(rng.integers(len(templates)))
    unit = size / 280
    transform = _random_transform(rng)
    strokes = _hand_drawn(templates[style], rng)
    strokes = [(s - 0.5) @ transform.T for s in strokes]
    height_frac = rng.uniform(0.35, 0.85)
    width = float(np.clip(rng.uniform(10, 30) * unit, 0.08 * height_frac * size, 0.2 * height_frac * size))
    return _place(strokes, rng, size, width, height_frac), width


def drawn_digit_set(n_per_digit: int = 100, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed test set of drawn digits, preprocessed like canvas input.

    Returns ``(images, labels)``: float32 (N, 28, 28) in [0, 1] from
    :func:`core.preprocess.to_mnist` and int64 (N,), N = 10 * n_per_digit,
    labels cycling 0, 1, ..., 9 (every prefix of 10k items is balanced).  The
    same seed always gives identical arrays.
    """
    rng = np.random.default_rng(seed)
    images = np.empty((10 * n_per_digit, 28, 28), dtype=np.float32)
    labels = np.tile(np.arange(10, dtype=np.int64), n_per_digit)
    for i, digit in enumerate(labels):
        images[i] = _preprocessed_drawing(int(digit), rng)
    return images, labels


def _preprocessed_drawing(digit: int, rng: np.random.Generator, attempts: int = 5) -> np.ndarray:
    """Render and preprocess one digit; redraw if preprocessing finds no ink."""
    for _ in range(attempts):
        image = to_mnist(render_digit(digit, rng))
        if image is not None:
            return image
    raise RuntimeError(f"to_mnist found no ink in {attempts} drawings of digit {digit}.")
