"""What does the network think a digit looks like?

* ``backproject``: the original project's idea, done for any depth: push the
  target output (the digit against the average of the others) back through the
  transposed weights, layer by layer, to a 28x28 map of signed pixel importance.
* ``optimize``: activation maximisation: gradient ascent on an input image to
  maximise log p(digit | image), with L2/L1 penalties, random jitter and a light
  blur (smoothness), pixels kept in [0, 1]. The network classifies the result as
  the digit with high confidence.
"""
import numpy as np
from PIL import Image

SIDE = 28
METHODS = ("backproject", "optimize")


def imagine(net, digit, method="backproject", **options):
    """28x28 float array: signed importance ("backproject") or an image in [0, 1] ("optimize")."""
    return imagine_all(net, [digit], method, **options)[0]


def imagine_all(net, digits, method="backproject", **options):
    """Imagine several digits at once; returns (len(digits), 28, 28)."""
    if net.sizes[0] != SIDE * SIDE:
        raise ValueError(f"imagining needs a network with {SIDE * SIDE} inputs, this one has {net.sizes[0]}")
    digits = np.asarray(digits)
    if digits.ndim != 1 or not np.issubdtype(digits.dtype, np.integer) or \
            digits.min() < 0 or digits.max() >= net.sizes[-1]:
        raise ValueError(f"a digit must be a whole number from 0 to {net.sizes[-1] - 1}")
    if method == "backproject":
        return _backproject(net, digits)
    if method == "optimize":
        return _optimize(net, digits, **options)
    raise ValueError(f"unknown imagine method {method!r}; choose one of: {', '.join(METHODS)}")


def _backproject(net, digits):
    k = net.sizes[-1]
    signal = np.full((len(digits), k), -1.0 / (k - 1))
    signal[np.arange(len(digits)), digits] = 1.0
    for w in reversed(net.weights):
        signal = signal @ w.astype(np.float64)
    peak = np.abs(signal).max(axis=1, keepdims=True)
    return (signal / np.maximum(peak, 1e-12)).reshape(-1, SIDE, SIDE).astype(np.float32)


def _optimize(net, digits, steps=300, step_size=0.05, l2=0.001, l1=0.001, jitter=3, blur_every=2, seed=0,
              confidence=0.9):
    """Normalised gradient ascent on log p(digit | x) - l2·‖x‖² - l1·Σx, pixels kept in [0, 1].

    Two regularisers make the result look drawn rather than like noise: each step sees
    the image shifted by up to ``jitter`` pixels (so only features the network finds
    anywhere nearby survive), and every ``blur_every`` steps the image is blurred a
    little (smoothness). A network with no such features (an untrained one, say) may
    not be convinced by the result: images it gives less than ``confidence`` are then
    refined without jitter until it is.
    """
    rng = np.random.default_rng(seed)
    x = _ascend(net, np.zeros((len(digits), SIDE * SIDE)), digits, steps, step_size, l2, l1, jitter,
                blur_every, rng)
    unsure = net.predict_proba(x)[np.arange(len(digits)), digits] < confidence
    if unsure.any():
        x[unsure] = _ascend(net, x[unsure], digits[unsure], steps, step_size / 2, l2, l1, 0, 0, rng)
    return x.reshape(-1, SIDE, SIDE).astype(np.float32)


def _ascend(net, x, digits, steps, step_size, l2, l1, jitter, blur_every, rng):
    for step in range(steps):
        dy, dx = rng.integers(-jitter, jitter + 1, 2)
        grad = _shift(net.input_gradient(_shift(x, dy, dx), digits).astype(np.float64), -dy, -dx)
        grad -= 2.0 * l2 * x + l1
        scale = np.abs(grad).max(axis=1, keepdims=True)
        x += step_size * grad / np.maximum(scale, 1e-12)
        np.clip(x, 0.0, 1.0, out=x)
        if blur_every and step % blur_every == 0:
            x = blur(x)
    return x


def _shift(x, dy, dx):
    """Flattened images rolled by (dy, dx) pixels."""
    return np.roll(x.reshape(-1, SIDE, SIDE), (dy, dx), axis=(1, 2)).reshape(x.shape)


def blur(x):
    """A light 3x3 blur of flattened or 28x28 images (centre 1/2, each 4-neighbour 1/8), edges clamped."""
    images = x.reshape(-1, SIDE, SIDE)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    neighbours = padded[:, :-2, 1:-1] + padded[:, 2:, 1:-1] + padded[:, 1:-1, :-2] + padded[:, 1:-1, 2:]
    return (0.5 * images + neighbours / 8.0).reshape(x.shape)


# ----- rendering ----------------------------------------------------------------------------
_DIVERGING = np.array([[5, 48, 97], [67, 147, 195], [247, 247, 247], [214, 96, 77], [103, 0, 31]], float)


def heatmap_image(values, scale=8, symmetric=True, ink=None):
    """An RGB PIL image of a 2-D array with a diverging blue-white-red colour map.

    With ``symmetric`` zero is white and the colour limits are ±max|values|; else the
    array's own minimum and maximum span the map. ``ink`` (same shape, in [0, 1]) is
    drawn over the map in dark grey, so a map can be read against the digit it explains.
    """
    values = np.asarray(values, dtype=np.float64)
    if symmetric:
        limit = max(np.abs(values).max(), 1e-12)
        position = (values / limit + 1.0) / 2.0
    else:
        low, high = values.min(), values.max()
        position = (values - low) / max(high - low, 1e-12)
    stops = np.linspace(0.0, 1.0, len(_DIVERGING))
    rgb = np.stack([np.interp(position, stops, _DIVERGING[:, c]) for c in range(3)], axis=-1)
    if ink is not None:
        shade = 0.6 * np.clip(np.asarray(ink, dtype=np.float64), 0.0, 1.0)[..., None]
        rgb = rgb * (1.0 - shade) + 40.0 * shade
    image = Image.fromarray(rgb.round().astype(np.uint8), "RGB")
    return image.resize((values.shape[1] * scale, values.shape[0] * scale), Image.NEAREST)


def digit_image(values, scale=8):
    """A grayscale PIL image of a 28x28 array in [0, 1], ink white on black, enlarged."""
    pixels = (np.clip(np.asarray(values, dtype=np.float64), 0, 1) * 255).round().astype(np.uint8)
    image = Image.fromarray(pixels, "L")
    return image.resize((pixels.shape[1] * scale, pixels.shape[0] * scale), Image.NEAREST)
