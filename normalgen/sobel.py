"""The classic method: the photo's brightness taken as height, differentiated.

No network: bright is high, dark is low. Luminance is computed from *linear* light (sRGB decoded
first), so that a mid-grey step is not exaggerated by the sRGB curve. `detail` picks how much of
the height is taken at fine versus coarse scale, like the blur/detail sliders of classic
"normal map from height" filters: the height is a weighted mix of Gaussian blurs at octave
sigmas, the weights a bell centred on a fine octave for detail 1 and a coarse one for detail 0.
Gradients are Scharr's (a 3x3 derivative with the best rotational symmetry). Borders wrap when
`seamless`, are mirrored otherwise. Strength is applied afterwards, on the slope, like for the
network (`normalgen.vectors.apply_strength`): scaling slope is scaling height.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from normalgen.vectors import normalize

BLUR_SIGMAS = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0)  # octaves of the detail mix; 0 = the pixels as is
HEIGHT_SCALE = 4.0  # luminance 0 -> 1 is this many pixels of height (strength 1)
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)  # Rec. 709 / sRGB primaries, linear light


def linear_luminance(photo: np.ndarray) -> np.ndarray:
    """(H, W, 3) sRGB in [0, 1] -> (H, W) float32 linear-light luminance in [0, 1]."""
    c = np.clip(np.asarray(photo, dtype=np.float32), 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return (linear @ _LUMA).astype(np.float32)


def detail_weights(detail: float) -> np.ndarray:
    """Weights of BLUR_SIGMAS for `detail` in [0, 1] (1: finest octave leads), summing to 1."""
    if not 0.0 <= detail <= 1.0:
        raise ValueError(f"detail must be between 0 and 1, not {detail}")
    centre = (1.0 - detail) * (len(BLUR_SIGMAS) - 1)
    w = np.exp(-0.5 * (np.arange(len(BLUR_SIGMAS)) - centre) ** 2)
    return w / w.sum()


def sobel_normals(photo: np.ndarray, *, detail: float = 0.5, seamless: bool = False) -> np.ndarray:
    """(H, W, 3) sRGB photo in [0, 1] -> (H, W, 3) float32 unit normals, OpenGL convention."""
    mode = "wrap" if seamless else "reflect"
    luma = linear_luminance(photo)
    height = np.zeros_like(luma)
    for sigma, weight in zip(BLUR_SIGMAS, detail_weights(detail)):
        blurred = ndimage.gaussian_filter(luma, sigma, mode=mode) if sigma else luma
        height += weight * HEIGHT_SCALE * blurred
    # Scharr: central difference along the axis, [3, 10, 3] / 16 smoothing across it.
    diff, smooth = [-0.5, 0.0, 0.5], [3 / 16, 10 / 16, 3 / 16]
    dx = ndimage.correlate1d(ndimage.correlate1d(height, diff, 1, mode=mode), smooth, 0, mode=mode)
    drow = ndimage.correlate1d(ndimage.correlate1d(height, diff, 0, mode=mode), smooth, 1, mode=mode)
    # OpenGL: X right, Y up; image rows go down, so dh/dy = -dh/drow and n = (-dh/dx, -dh/dy, 1).
    return normalize(np.stack([-dx, drow, np.ones_like(height)], axis=-1))
