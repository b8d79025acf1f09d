"""A photo's transparent pixels: filled before the photo is read, flat in the map.

What lies under a fully transparent pixel is whatever the exporting program left there (black,
white, or the colours before a cut-out), not part of the surface. Read as it is, a leaf on black
gets a wall around its outline. So before the photo is read, each pixel is blended toward a
colour pulled in from the opaque pixels around it, in proportion to its transparency (a push-pull
fill: a pyramid of alpha-weighted colour averages, spread back down), and the map's slopes are
scaled by alpha afterwards (`inference._finish`), so it is flat where the photo is transparent. An opaque photo is not touched, and neither is one whose
alpha is 0 everywhere: 32-bit TGA and BMP writers often leave the fourth byte 0 without meaning
transparency, and image viewers show such files opaque too.
"""

from __future__ import annotations

import cv2
import numpy as np

_ROWS_PER_BAND = 256


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(H, W, 4) -> its RGB and its alpha channel, both views (uint8, uint16 or float, as given).
    The alpha is None for an image without one, and for one that says nothing: opaque
    everywhere, or 0 everywhere (see above)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 4:
        return image, None
    rgb, alpha = image[..., :3], image[..., 3]
    if alpha.size == 0 or alpha.min() >= _opaque(alpha.dtype) or alpha.max() <= 0:
        return rgb, None
    return rgb, alpha


def unit_alpha(alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """An alpha channel (uint8, uint16 or float) as float32 in [0, 1] (into `out` if given)."""
    out = np.multiply(alpha, np.float32(1.0 / _opaque(alpha.dtype)), out=out, dtype=np.float32,
                      casting="unsafe")
    if alpha.dtype.kind == "f":
        np.clip(np.nan_to_num(out, copy=False), 0.0, 1.0, out=out)
    return out


def fill_transparent(rgb: np.ndarray, alpha: np.ndarray, *, as_float: bool = False) -> np.ndarray:
    """`rgb` with every pixel blended toward the colour of the opaque pixels around it, by its
    transparency: alpha * rgb + (1 - alpha) * fill. Fully transparent pixels lose what was under
    them; opaque ones keep their values. Returns the dtype it was given (uint8, uint16 or float),
    or with `as_float` float32 in [0, 1] (the photo as the network reads it: no second copy).

    The full-size level is done a band of rows at a time in buffers made once: at 8192² each
    full-size float copy would be 0.8 GB; the pyramid from half size down is a third of that."""
    h, w = alpha.shape
    band = _Band(min(h, _ROWS_PER_BAND), w)
    half_colour = np.empty(((h + 1) // 2, (w + 1) // 2, 3), np.float32)
    half_alpha = np.empty(half_colour.shape[:2], np.float32)
    for top in range(0, h, _ROWS_PER_BAND):  # an even number of rows: bands pair up rows
        a, colour = band.weighted(rgb, alpha, top)
        rows = slice(top // 2, top // 2 + (a.shape[0] + 1) // 2)
        _half(colour, out=half_colour[rows])
        _half(a, out=half_alpha[rows])
    _push_pull(half_colour, half_alpha)  # half_colour becomes the fill
    out = np.empty(rgb.shape, np.float32 if as_float else rgb.dtype)
    for top in range(0, h, _ROWS_PER_BAND):
        a, colour = band.weighted(rgb, alpha, top)
        colour += _spread(half_colour, top, a, band.spread)  # alpha * rgb + (1 - alpha) * fill
        if as_float:
            colour *= np.float32(1.0 / _opaque(rgb.dtype))
        elif rgb.dtype.kind == "u":
            np.rint(colour, out=colour)
            np.clip(colour, 0, _opaque(rgb.dtype), out=colour)
        out[top : top + a.shape[0]] = colour
    return out


def _opaque(dtype) -> float:
    return np.iinfo(dtype).max if np.dtype(dtype).kind == "u" else 1.0


class _Band:
    """Buffers for one band of rows, made once and reused: on some machines (virtual ones) fresh
    memory is slow to touch, and a band a time would otherwise touch the photo's size many times."""

    def __init__(self, rows: int, width: int):
        self.alpha = np.empty((rows, width), np.float32)
        self.colour = np.empty((rows, width, 3), np.float32)
        self.spread = np.empty((rows, width, 3), np.float32)

    def weighted(self, rgb, alpha, top):
        """Alpha in [0, 1] and alpha * rgb (in rgb's units) for the rows from `top`."""
        rows = min(self.alpha.shape[0], alpha.shape[0] - top)
        a = unit_alpha(alpha[top : top + rows], out=self.alpha[:rows])
        colour = np.multiply(rgb[top : top + rows], a[..., None], out=self.colour[:rows], casting="unsafe")
        if rgb.dtype.kind == "f":  # 0 * NaN is NaN: what lies under alpha 0 must not reach the pyramid
            np.nan_to_num(colour, copy=False)
        return a, colour


def _push_pull(premultiplied: np.ndarray, alpha: np.ndarray) -> None:
    """Turn alpha-weighted colours into plain colours everywhere, in place: a pixel's own where it
    is opaque, the coarser levels' where not (the "pull" averages them down a pyramid, the "push"
    spreads them back up)."""
    h, w = alpha.shape
    if h == 1 and w == 1:
        weight = float(alpha[0, 0])  # 0 only for a photo transparent everywhere: then it is all flat
        premultiplied[...] = premultiplied / weight if weight > 0 else 0.0
        return
    coarse = _half(premultiplied)
    _push_pull(coarse, _half(alpha))
    buffer = np.empty((min(h, _ROWS_PER_BAND), w, 3), np.float32)
    for top in range(0, h, _ROWS_PER_BAND):
        rows = slice(top, top + _ROWS_PER_BAND)
        premultiplied[rows] += _spread(coarse, top, alpha[rows], buffer)


def _spread(coarse: np.ndarray, top: int, a: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """(1 - a) * `coarse` scaled up twice, for the rows from `top` (a band of `a`'s size), in
    `buffer`."""
    out = _double(coarse, top, buffer[: a.shape[0]])
    out *= (1.0 - a)[..., None]
    return out


def _half(a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """The mean of each 2x2 block (an odd last row or column is repeated)."""
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        a = cv2.copyMakeBorder(a, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    size = (a.shape[1] // 2, a.shape[0] // 2)  # OpenCV sizes are (width, height)
    half = cv2.resize(a, size, interpolation=cv2.INTER_AREA)  # exactly the 2x2 mean at scale 1/2
    if out is None:
        return half
    out[...] = half.reshape(out.shape)
    return out


def _double(coarse: np.ndarray, top: int, out: np.ndarray) -> np.ndarray:
    """Rows from `top` (even) of `coarse` scaled up twice (bilinear, edges repeated), as many rows
    and as wide as `out`, into `out`. A band is scaled with a coarse row of margin on each side, so
    that it matches the whole picture scaled at once."""
    rows, width = out.shape[:2]
    first = max(top // 2 - 1, 0)
    last = min((top + rows + 1) // 2 + 1, coarse.shape[0])
    part = coarse[first:last]
    up = cv2.resize(part, (2 * part.shape[1], 2 * part.shape[0]), interpolation=cv2.INTER_LINEAR)
    skip = top - 2 * first
    out[...] = up[skip : skip + rows, :width].reshape(out.shape)
    return out
