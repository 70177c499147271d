"""Light data augmentation: random small affine distortions of 28x28 digits.

People draw digits shifted, tilted, slanted, fatter and thinner than MNIST's;
training on such variations makes the network much better on drawings.
"""
import numpy as np

SIDE = 28
_CENTRE = (SIDE - 1) / 2.0
_ys, _xs = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
_GRID = np.stack([_xs.ravel() - _CENTRE, _ys.ravel() - _CENTRE])  # (2, 784), centred


def random_affine(X, rng, max_shift=2.0, max_rotation=12.0, max_scale=0.12, max_shear=0.25,
                  thickness=0.3, chunk=4096):
    """Distort each flattened 28x28 image in X (n, 784) by its own random affine map.

    Rotation in degrees, scale as a fraction, shear as a slope, shift in pixels;
    ``thickness`` is the chance of a 3x3 max (bolder) or min (thinner) filter.
    Returns a new float array of X's dtype; X is untouched.
    """
    out = np.empty_like(X)
    for start in range(0, len(X), chunk):
        part = X[start:start + chunk]
        out[start:start + chunk] = _warp(part, _random_maps(len(part), rng, max_rotation, max_scale, max_shear), rng, max_shift)
        if thickness:
            _change_thickness(out[start:start + chunk], rng, thickness)
    return out


def _random_maps(n, rng, max_rotation, max_scale, max_shear):
    """(n, 2, 2) matrices mapping output pixel offsets to input offsets."""
    angle = np.deg2rad(rng.uniform(-max_rotation, max_rotation, n))
    scale = 1.0 + rng.uniform(-max_scale, max_scale, (n, 2))
    shear = rng.uniform(-max_shear, max_shear, n)
    cos, sin = np.cos(angle), np.sin(angle)
    rotation = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
    shearing = np.zeros((n, 2, 2))
    shearing[:, 0, 0] = shearing[:, 1, 1] = 1.0
    shearing[:, 0, 1] = shear
    forward = rotation @ shearing * scale[:, None, :]
    return np.linalg.inv(forward).astype(np.float32)


def _warp(images, inverse_maps, rng, max_shift):
    """Bilinear resampling of each image at its inverse-mapped grid."""
    n = len(images)
    shift = rng.uniform(-max_shift, max_shift, (n, 2, 1)).astype(np.float32)
    src = inverse_maps @ _GRID - shift + _CENTRE  # (n, 2, 784)
    x, y = src[:, 0], src[:, 1]
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    x0, y0 = x0.astype(np.int64), y0.astype(np.int64)
    flat = images.reshape(n, -1)
    rows = np.arange(n)[:, None] * (SIDE * SIDE)
    padded = np.concatenate([flat.ravel(), np.zeros(1, flat.dtype)])
    blank = padded.size - 1

    def sample(xi, yi):
        inside = (xi >= 0) & (xi < SIDE) & (yi >= 0) & (yi < SIDE)
        index = np.where(inside, rows + yi * SIDE + xi, blank)
        return padded[index]

    top = sample(x0, y0) * (1 - fx) + sample(x0 + 1, y0) * fx
    bottom = sample(x0, y0 + 1) * (1 - fx) + sample(x0 + 1, y0 + 1) * fx
    return (top * (1 - fy) + bottom * fy).astype(images.dtype)


def _change_thickness(flat, rng, probability):
    """Make a random share of the images bolder (3x3 max) or thinner (3x3 min), in place."""
    choice = rng.random(len(flat))
    for picked, reduce in ((choice < probability / 2, np.maximum),
                           ((choice >= probability / 2) & (choice < probability), np.minimum)):
        if not picked.any():
            continue
        images = flat[picked].reshape(-1, SIDE, SIDE)
        fill = 0.0 if reduce is np.maximum else 1.0
        padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), constant_values=fill)
        result = images.copy()
        for dy in range(3):
            for dx in range(3):
                reduce(result, padded[:, dy:dy + SIDE, dx:dx + SIDE], out=result)
        if reduce is np.minimum:
            result = np.maximum(result, images * 0.6)  # keep thin strokes from vanishing
            result /= np.maximum(result.max(axis=(1, 2), keepdims=True), 1e-6)
        flat[picked] = result.reshape(len(images), -1)
