"""Turn a drawing or a photo of a handwritten digit into an MNIST-style input.

MNIST digits were made like this: the ink of a digit was scaled (keeping the
aspect ratio) so that it fits a 20x20 box, anti-aliased to grey levels, then
placed in a 28x28 field so that its centre of mass lies at the centre of the
field, pixel (14, 14).  The result is white ink (1.0) on black (0.0).

:func:`to_mnist` applies the same recipe to what a person draws on a canvas or
uploads:

1. bring the input (NumPy array or PIL image, any mode, any size) to an 8-bit
   grey (``L``) or grey+alpha (``LA``) PIL image no larger than
   :data:`WORK_SIDE` pixels on its longer side (huge inputs are downscaled
   *before* any float conversion);
2. find the ink: the alpha channel if the background is transparent, else the
   distance of each pixel's grey level from the background (the colour that
   dominates the border, fitted as a smooth surface so that unevenly lit
   paper works), in whichever direction the ink lies (white-on-black and
   black-on-white both work), minus a threshold that removes paper texture;
3. return ``None`` when (almost) nothing is drawn: too little ink, a speck, or
   ink that is hardly bigger than one dot of the pen that made it (a tap on
   the canvas, a full stop in a photo; see :func:`_is_a_dot`);
4. crop to the ink bounding box, resize so the longer side is 20 px and paste
   into 28x28 with the centre of mass at (14, 14).

:func:`load_image` opens uploaded files safely (every Pillow failure becomes a
``ValueError`` with a readable message), and :func:`preview_image` makes the
8-bit copy of an upload that is shown to people (16-bit and float pictures
included).
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps

from . import limits

__all__ = [
    "BOX_SIDE",
    "DOT_SPAN",
    "FIELD_SIDE",
    "MAX_PIXELS",
    "MIN_EXTENT",
    "WORK_SIDE",
    "load_image",
    "preview_image",
    "reading_copy",
    "to_mnist",
]

FIELD_SIDE = 28  # side of the MNIST image
BOX_SIDE = 20  # longer side of the digit inside the field
WORK_SIDE = 1024  # larger inputs are downscaled to this before any float maths
MAX_PIXELS = limits.MAX_IMAGE_PIXELS  # inputs with more pixels are rejected

MIN_EXTENT = 0.04  # default min_extent of to_mnist
DOT_SPAN = 2.5  # ink less than this many pen widths across is a dot or a tick, not a digit
_DOT_SIDE = 64  # a picture's pen is measured on a copy of its ink at most this many px
MIN_CONTRAST = 24 / 255  # weaker grey-level differences count as "no ink"
_ROUNDING = 1e-4  # float32 rounding of a difference of grey levels (a 24-level mark may measure 23.999)
BBOX_THRESHOLD = 0.1  # ink level that counts for the bounding box
_ROW_CHUNK = 512  # rows converted at a time when a large array is not uint8
_DEEP_GREY_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N", "F")  # more than 8 bits a pixel

ImageInput = Union[np.ndarray, Image.Image]


# --------------------------------------------------------------------------
# Loading uploads
# --------------------------------------------------------------------------


UPLOAD_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF")  # the Draw page's file types (JPEG opens MPO too)
_UNREADABLE = "The file is not an image Pillow can read: unknown format, or a truncated or corrupt file."


class PictureTooLarge(ValueError):
    """A picture that would take too much memory to decode."""


def load_image(file_or_bytes: Union[str, os.PathLike, bytes, bytearray, BinaryIO]) -> Image.Image:
    """Open an uploaded image (path, bytes or binary file-like) with Pillow.

    The size is read from the file's header first: big JPEGs are decoded at a
    reduced scale (still at least 2 * WORK_SIDE px on the longer side), and a
    picture that would still take more than ``limits.MAX_PICTURE_BYTES`` once
    decoded is refused before a pixel is decoded (a one-colour PNG of 12000 x
    12000 px is 165 KB on disk and 144 MB in memory). The image is then
    decoded and rotated according to its EXIF orientation.
    Raises ``ValueError`` with a clear message for anything Pillow cannot read
    (non-image data, other formats, truncated files, pictures too large).
    """
    source = io.BytesIO(bytes(file_or_bytes)) if isinstance(file_or_bytes, (bytes, bytearray)) else file_or_bytes
    try:
        img = Image.open(source, formats=UPLOAD_FORMATS)  # lazy: only the header is read
    except Image.DecompressionBombError as exc:
        raise ValueError(_too_large_message()) from exc
    except (FileNotFoundError, IsADirectoryError):
        raise  # the caller names the path (the command line does)
    except Exception as exc:  # noqa: BLE001 - Pillow raises many exception types
        raise ValueError(_UNREADABLE) from exc
    try:
        _draft_big_jpeg(img)
        _check_decoded_size(img)
        img.load()
        ImageOps.exif_transpose(img, in_place=True)  # no copy when there is nothing to turn
    except PictureTooLarge:
        img.close()
        raise
    except Exception as exc:  # noqa: BLE001
        img.close()
        raise ValueError(_UNREADABLE) from exc
    return img


def _draft_big_jpeg(img: Image.Image) -> None:
    """Ask a JPEG to decode at 1/2, 1/4 or 1/8 scale when its longer side stays >= 2 * WORK_SIDE.

    Pillow's draft keeps both sides at least as large as the size asked for, so the size
    asked for has the picture's own aspect ratio.
    """
    if img.format not in ("JPEG", "MPO"):
        return
    factor = 2 * WORK_SIDE / max(img.size)
    if factor < 1:
        img.draft(img.mode, (max(1, int(img.width * factor)), max(1, int(img.height * factor))))


def _check_decoded_size(img: Image.Image) -> None:
    """Refuse, from the header alone, a picture larger than ``limits.MAX_PICTURE_BYTES`` once decoded."""
    if img.width * img.height * _bytes_per_pixel(img.mode) > limits.MAX_PICTURE_BYTES:
        raise PictureTooLarge(_too_large_message(img.size))


def _bytes_per_pixel(mode: str) -> int:
    """Bytes Pillow keeps per pixel: 1 for 8-bit single-band modes, 2 for 16-bit grey, else 4."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def _too_large_message(size: tuple[int, int] | None = None) -> str:
    dimensions = f" ({size[0]:,} × {size[1]:,} pixels)" if size else ""
    return (f"The picture is too large{dimensions} to read safely. Upload a smaller one: a photo of one digit "
            "needs far fewer pixels (JPEG photos are read at a reduced size).")


def reading_copy(image: Image.Image) -> Image.Image | None:
    """The small 8-bit grey copy (at most WORK_SIDE px) that :func:`to_mnist` reads ``image`` from.

    ``to_mnist`` reads it exactly as it reads ``image`` (without a pen width), so an upload
    can be kept as this copy, a few MB, instead of its full decoded picture. None: empty.
    """
    return _working_image(image)


def preview_image(image: Image.Image, side: int) -> Image.Image:
    """An 8-bit copy of ``image`` (mode L, LA, RGB or RGBA) that fits in ``side`` x ``side`` px.

    Browsers (and Streamlit) show only 8-bit pictures. 16-bit, 32-bit integer
    and floating-point greys are mapped to 0..255 the way :func:`to_mnist`
    maps them (their range stretched, not clipped), so the picture keeps its
    contrast and looks like what the network reads.
    """
    if image.mode in _DEEP_GREY_MODES:
        deep = image.convert("I") if image.mode.startswith("I;16") else image
        deep = deep.resize(_fitting_size(deep.size, side), Image.Resampling.BOX)
        return Image.fromarray(_to_uint8(np.asarray(deep)), mode="L")
    shown = _display_mode(image)
    return shown.resize(_fitting_size(shown.size, side), Image.Resampling.LANCZOS)


def _display_mode(img: Image.Image) -> Image.Image:
    """``img`` in an 8-bit mode every browser shows: L, LA, RGB or RGBA (a transparent colour kept as alpha)."""
    if img.mode in ("LA", "RGBA") or (img.mode in ("L", "RGB") and "transparency" not in img.info):
        return img
    if img.mode == "1":
        return img.convert("L")
    if _has_alpha(img):
        return img.convert("RGBA")
    return img.convert("RGB")


def _fitting_size(size: tuple[int, int], side: int) -> tuple[int, int]:
    """``size`` scaled down (never up) to fit in ``side`` x ``side``, keeping the aspect ratio."""
    factor = min(1.0, side / max(size))
    return max(1, round(size[0] * factor)), max(1, round(size[1] * factor))


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


def to_mnist(
    image: ImageInput,
    *,
    pen_width: float | None = None,
    min_ink_pixels: int = 10,
    min_extent: float = MIN_EXTENT,
) -> np.ndarray | None:
    """Convert a drawn or photographed digit to a 28x28 MNIST-like image.

    Parameters
    ----------
    image:
        NumPy array of shape (H, W), (H, W, 1), (H, W, 2), (H, W, 3) or
        (H, W, 4) with uint8 values 0..255 or float values 0..1, or a PIL
        image of any mode.
    pen_width:
        Width in ``image``'s pixels of the pen the digit was drawn with, when
        known (the canvas's strokes); otherwise it is measured from the ink.
        Ink less than :data:`DOT_SPAN` pen widths across is a dot, not a
        digit: nothing is drawn.
    min_ink_pixels:
        Fewer clearly inked pixels (ink >= 0.5) than this, counted on the
        working image (at most :data:`WORK_SIDE` px on its longer side), means
        nothing is drawn.
    min_extent:
        If the ink bounding box's longer side is smaller than this fraction of
        the image's longer side (a dot or a speck), nothing is drawn.

    Returns
    -------
    A float32 array of shape (28, 28) with values in [0, 1], ink = 1 and a
    maximum of exactly 1.0, or ``None`` when (almost) nothing is drawn.

    Raises
    ------
    ValueError
        For unsupported array shapes/dtypes or inputs with more than
        :data:`MAX_PIXELS` pixels.
    """
    img = _working_image(image)
    if img is None:
        return None
    ink = _ink_map(img)
    bbox = _ink_bbox(ink)
    if bbox is None or _is_nothing_drawn(ink, bbox, min_ink_pixels, min_extent):
        return None
    if pen_width is not None:
        pen_width *= max(img.size) / _longer_side(image)  # in the working image's pixels
    if _is_a_dot(ink, bbox, pen_width):
        return None
    top, bottom, left, right = bbox
    digit = _scale_to_box(ink[top:bottom, left:right])
    return _centre_in_field(digit)


# --------------------------------------------------------------------------
# Step 1: any input -> small 8-bit "L" or "LA" PIL image
# --------------------------------------------------------------------------


def _working_image(image: ImageInput) -> Image.Image | None:
    """Return an ``L``/``LA`` image at most WORK_SIDE px, or None if empty."""
    if isinstance(image, Image.Image):
        img = image
    elif isinstance(image, np.ndarray):
        img = _array_to_pil(image)
    else:
        raise ValueError(f"Expected a NumPy array or a PIL image, got {type(image).__name__}.")
    if img is None or img.width == 0 or img.height == 0:
        return None
    _check_pixel_count(img.width, img.height)
    img = _limit_size(img)
    return _to_grey_modes(img)


def _longer_side(image: ImageInput) -> int:
    return max(image.size) if isinstance(image, Image.Image) else max(image.shape[:2])


def _check_pixel_count(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"Image is too large: {width}x{height} = {width * height:,} pixels "
            f"(the limit is {MAX_PIXELS:,})."
        )


def _array_to_pil(array: np.ndarray) -> Image.Image | None:
    """Convert a (H, W[, C]) array to a PIL image of mode L, LA, RGB or RGBA."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (2, 3, 4)):
        raise ValueError(
            f"Unsupported image array shape {array.shape}: expected (H, W), "
            "(H, W, 1), (H, W, 2), (H, W, 3) or (H, W, 4)."
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        return None
    _check_pixel_count(array.shape[1], array.shape[0])
    mode = "L" if array.ndim == 2 else {2: "LA", 3: "RGB", 4: "RGBA"}[array.shape[2]]
    return Image.fromarray(_to_uint8(array), mode=mode)


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Map an array to contiguous uint8 0..255, converting in row chunks.

    uint8 is kept as is; bool maps to 0/255; floats within [0, 1] are scaled
    by 255; values already within [0, 255] are kept; anything else is
    stretched from [min, max] of the finite values to [0, 255].  NaNs become 0,
    +inf 255 and -inf 0.
    """
    if array.dtype == np.uint8:
        return np.ascontiguousarray(array)
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * np.uint8(255)
    if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"Unsupported image array dtype {array.dtype}: expected uint8, integer or float.")
    offset, scale = _uint8_mapping(array)
    # integers in float64 before the offset comes off, so levels on a large pedestal (10^8 + k) stay apart;
    # floats in their own float32, whose levels are what the picture holds
    working = np.float64 if np.issubdtype(array.dtype, np.integer) else np.float32
    out = np.empty(array.shape, dtype=np.uint8)
    for start in range(0, array.shape[0], _ROW_CHUNK):
        with np.errstate(invalid="ignore", over="ignore"):  # inf and NaN are placed after the stretch
            mapped = (array[start : start + _ROW_CHUNK].astype(working) - offset) * scale + 0.5
        out[start : start + _ROW_CHUNK] = np.clip(np.nan_to_num(mapped, nan=0.0, posinf=255.0, neginf=0.0), 0, 255)
    return out


def _uint8_mapping(array: np.ndarray) -> tuple[float, float]:
    """Return (offset, scale) so that (value - offset) * scale lies in 0..255."""
    if np.issubdtype(array.dtype, np.floating):
        finite = np.isfinite(array)
        if not finite.all():
            array = array[finite]
    if array.size == 0:
        return 0.0, 1.0
    lo, hi = float(array.min()), float(array.max())
    if np.issubdtype(array.dtype, np.floating) and lo >= 0.0 and hi <= 1.0:
        return 0.0, 255.0
    if lo >= 0.0 and hi <= 255.0:
        return 0.0, 1.0
    return lo, (255.0 / (hi - lo)) if hi > lo else 1.0


def _limit_size(img: Image.Image) -> Image.Image:
    """Downscale (area average) so that the longer side is at most WORK_SIDE."""
    longer = max(img.size)
    if longer <= WORK_SIDE:
        return img
    factor = WORK_SIDE / longer
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    if img.mode not in ("L", "LA", "RGB", "RGBA", "I", "F") or "transparency" in img.info:
        img = _to_grey_modes(img)  # a transparent colour must be read before averaging blurs it
    return img.resize(size, Image.Resampling.BOX)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info


def _to_grey_modes(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit ``L`` or, if it has alpha, ``LA``."""
    if img.mode == "LA" or (img.mode == "L" and "transparency" not in img.info):
        return img
    if img.mode in _DEEP_GREY_MODES:
        # High bit-depth greys: let the array path decide the value range.
        return Image.fromarray(_to_uint8(np.asarray(img)), mode="L")
    try:
        if img.mode in ("La", "RGBa"):  # premultiplied alpha
            img = img.convert({"La": "LA", "RGBa": "RGBA"}[img.mode])
        if _has_alpha(img):
            return img.convert("RGBA").convert("LA")
        return img.convert("L")
    except ValueError as exc:
        raise ValueError(f"Unsupported PIL image mode {img.mode!r}.") from exc


# --------------------------------------------------------------------------
# Step 2: ink map
# --------------------------------------------------------------------------


def _ink_map(img: Image.Image) -> np.ndarray:
    """Return ink intensity (float32, 0..1) for an ``L`` or ``LA`` image."""
    if img.mode == "LA":
        alpha = np.asarray(img.getchannel("A"))
        if alpha.min() < 255:
            # a see-through pen is ink as much as an opaque one, relative to its strongest stroke (as for
            # grey levels); a mark fainter than MIN_CONTRAST is nothing drawn
            ink = alpha.astype(np.float32) / 255.0
            peak = float(ink.max())
            return ink / peak if peak >= MIN_CONTRAST - _ROUNDING else np.zeros_like(ink)
        img = img.getchannel("L")
    return _ink_from_grey(np.asarray(img).astype(np.float32) / 255.0)


def _ink_from_grey(grey: np.ndarray) -> np.ndarray:
    """Ink = distance from the (possibly unevenly lit) background, texture removed."""
    background = _background_surface(grey)
    residual = grey - background
    sign = _ink_polarity(residual)
    distance = np.clip(sign * residual, 0.0, None)
    contrast = float(distance.max())
    sigma = _noise_sigma(residual)
    if contrast < max(MIN_CONTRAST, 8.0 * sigma) - _ROUNDING:  # nothing stands out from the noise
        return np.zeros_like(grey)
    threshold = contrast * _texture_threshold(distance / contrast, sigma / contrast)
    distance = np.clip(distance - threshold, 0.0, None)
    if sign < 0:
        # Dark ink on paper: light is multiplicative, so compare with the local
        # paper brightness (ink in a shadow is as dark, relatively, as in light).
        distance /= np.maximum(background, 0.25)
    peak = float(distance.max())
    return distance / peak if peak > 0 else distance


def _noise_sigma(residual: np.ndarray) -> float:
    """Robust standard deviation of the background noise (ink is a minority)."""
    sample = residual[:: max(1, residual.shape[0] // 256), :: max(1, residual.shape[1] // 256)]
    return 1.4826 * float(np.median(np.abs(sample - np.median(sample))))


def _texture_threshold(distance: np.ndarray, sigma: float) -> float:
    """Level below which ``distance`` (0..1) is paper texture/noise, not ink.

    Six noise sigmas, capped at 3/4 of Otsu's threshold so that real ink is
    never removed.  A clean canvas (no noise) gives 0: nothing is removed.
    """
    return min(0.75 * _otsu_threshold(distance), 6.0 * sigma)


def _ink_polarity(residual: np.ndarray) -> float:
    """+1 if the ink is brighter than the background, -1 if darker.

    The ink side is the side with more (and stronger) large deviations from
    the background; mild noise below ``MIN_CONTRAST / 2`` is ignored.
    """
    margin = MIN_CONTRAST / 2
    brighter = float(np.clip(residual - margin, 0.0, None).sum())
    darker = float(np.clip(-residual - margin, 0.0, None).sum())
    return 1.0 if brighter >= darker else -1.0


def _background_surface(grey: np.ndarray) -> np.ndarray | float:
    """Smooth background brightness: a robust quadratic fit that ignores the ink.

    The background is what dominates the image border, so the first fit uses
    the border pixels only; later fits use every pixel that is close to the
    current fit (ink on either side is dropped).  A quadratic surface follows
    the gradients and vignetting of photographed paper.  Fitting is done on a
    <= 64 px copy; tiny images just use the median of the border.
    """
    small = _shrink(grey, 64)
    if min(small.shape) < 8:
        return float(np.median(_border_pixels(grey)))
    design = _quadratic_design(small.shape)
    values = small.ravel().astype(np.float64)
    keep = _border_mask(small.shape).ravel()
    for _ in range(6):
        coef, *_ = np.linalg.lstsq(design[keep], values[keep], rcond=None)
        residual = np.abs(values - design @ coef)
        spread = 1.4826 * float(np.median(residual[keep])) + 1.0 / 255
        new_keep = residual < 3.0 * spread
        if np.array_equal(new_keep, keep) or new_keep.sum() < 12:
            break
        keep = new_keep
    return _evaluate_quadratic(coef, grey.shape)


def _border_mask(shape: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[[0, -1], :] = True
    mask[:, [0, -1]] = True
    return mask


def _shrink(array: np.ndarray, side: int) -> np.ndarray:
    """Area-average a float image so that its longer side is at most ``side``."""
    height, width = array.shape
    factor = min(1.0, side / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    image = Image.fromarray(np.ascontiguousarray(array, dtype=np.float32), mode="F")
    return np.asarray(image.resize(size, Image.Resampling.BOX))


def _quadratic_design(shape: tuple[int, int]) -> np.ndarray:
    """Columns 1, x, y, x^2, xy, y^2 on a grid of ``shape`` spanning [-1, 1]^2."""
    y, x = np.meshgrid(np.linspace(-1, 1, shape[0]), np.linspace(-1, 1, shape[1]), indexing="ij")
    x, y = x.ravel(), y.ravel()
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def _evaluate_quadratic(coef: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The fitted surface on the full grid, without building a big design matrix."""
    y = np.linspace(-1, 1, shape[0], dtype=np.float32)[:, None]
    x = np.linspace(-1, 1, shape[1], dtype=np.float32)[None, :]
    c0, cx, cy, cxx, cxy, cyy = (float(c) for c in coef)
    return c0 + cx * x + cy * y + cxx * x * x + cxy * x * y + cyy * y * y


def _border_pixels(grey: np.ndarray) -> np.ndarray:
    """The outermost rows and columns of a 2-D array."""
    return np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])


def _otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold for values in [0, 1] (maximises between-class variance)."""
    hist, edges = np.histogram(values, bins=bins, range=(0.0, 1.0))
    hist = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * centres)
    mean0 = sum0 / np.maximum(weight0, 1e-12)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1e-12)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between)) + 1])


# --------------------------------------------------------------------------
# Step 3: bounding box and the "nothing drawn" decision
# --------------------------------------------------------------------------


def _ink_bbox(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of pixels above BBOX_THRESHOLD, end-exclusive."""
    mask = ink > BBOX_THRESHOLD
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _is_nothing_drawn(
    ink: np.ndarray, bbox: tuple[int, int, int, int], min_ink_pixels: int, min_extent: float
) -> bool:
    top, bottom, left, right = bbox
    extent = max(bottom - top, right - left)
    if extent < min_extent * max(ink.shape):
        return True
    return int(np.count_nonzero(ink[top:bottom, left:right] >= 0.5)) < min_ink_pixels


def _is_a_dot(ink: np.ndarray, bbox: tuple[int, int, int, int], pen_width: float | None) -> bool:
    """Whether the ink is less than :data:`DOT_SPAN` pen widths across: a tap, a tick or a blob.

    A digit reaches well beyond one dot of the pen that drew it, whatever the
    pen: even a short "1" is a dot dragged one and a half pen widths further.
    Without a known pen (an uploaded picture) the pen is the thickest stroke
    of the ink itself.
    """
    top, bottom, left, right = bbox
    extent = max(bottom - top, right - left) - 1  # less the anti-aliased rim a drawn dot has
    if pen_width is None:
        pen_width = _thickest_stroke(ink[top:bottom, left:right] >= 0.5)
    return extent < DOT_SPAN * pen_width


def _thickest_stroke(mask: np.ndarray) -> float:
    """Diameter in pixels of the widest disc that fits in the ink ``mask`` (roughly).

    Measured on a copy at most :data:`_DOT_SIDE` px by eroding it until nothing
    is left, alternately with the 4 and the 8 neighbours (an octagon: close to
    a disc in every direction).
    """
    factor = min(1.0, _DOT_SIDE / max(mask.shape))
    if factor < 1.0:
        small = Image.fromarray(mask.astype(np.float32), mode="F").resize(
            (max(1, round(mask.shape[1] * factor)), max(1, round(mask.shape[0] * factor))), Image.Resampling.BOX
        )
        mask = np.asarray(small) >= 0.5
    steps = 0
    while mask.any():
        mask = _eroded(mask, diagonals=steps % 2 == 1)
        steps += 1
    return max(2 * steps - 1, 0) / factor  # a disc n px across goes in (n + 1) / 2 steps


def _eroded(mask: np.ndarray, diagonals: bool) -> np.ndarray:
    """``mask`` without its edge pixels: those with a 4- (or also 8-) neighbour outside it."""
    padded = np.pad(mask, 1)
    height, width = mask.shape
    shifts = [(0, 1), (2, 1), (1, 0), (1, 2)] + ([(0, 0), (0, 2), (2, 0), (2, 2)] if diagonals else [])
    kept = mask.copy()
    for dy, dx in shifts:
        kept &= padded[dy : dy + height, dx : dx + width]
    return kept


# --------------------------------------------------------------------------
# Step 4: 20 px box, centre of mass at (14, 14)
# --------------------------------------------------------------------------


def _scale_to_box(crop: np.ndarray) -> np.ndarray:
    """Resize so that the longer side is BOX_SIDE px, keeping the aspect ratio."""
    height, width = crop.shape
    factor = BOX_SIDE / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = Image.fromarray(np.ascontiguousarray(crop, dtype=np.float32), mode="F").resize(
        size, Image.Resampling.LANCZOS
    )
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, None)


def _centre_in_field(digit: np.ndarray) -> np.ndarray:
    """Paste into a 28x28 field with the centre of mass at (14, 14), max = 1."""
    height, width = digit.shape
    total = float(digit.sum())
    if total > 0:
        com_y = float((digit.sum(axis=1) * np.arange(height)).sum()) / total
        com_x = float((digit.sum(axis=0) * np.arange(width)).sum()) / total
    else:
        com_y, com_x = (height - 1) / 2, (width - 1) / 2
    centre = FIELD_SIDE / 2
    top = int(np.clip(round(centre - com_y), 0, FIELD_SIDE - height))
    left = int(np.clip(round(centre - com_x), 0, FIELD_SIDE - width))
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    peak = float(field.max())
    if peak > 0:
        field /= peak
    return np.clip(field, 0.0, 1.0).astype(np.float32)
