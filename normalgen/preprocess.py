"""Input normalisation: the one function both inference and training call before the network.

Photos arrive as float32 sRGB in [0, 1] (H, W, 3). The network sees each channel minus the
image's mean, divided by the image's overall standard deviation: exposure, white balance and
contrast then matter less, and the shading pattern is what is left. Statistics are taken over the
*whole* image (never per tile), so tiled and one-pass inference see the same input.
"""

from __future__ import annotations

import numpy as np

_EPS = 1.0 / 255.0


def normalize_photo(photo: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) float sRGB in [0, 1] -> float32 normalised network input.

    in_place=True reuses a float32 `photo` as the output (the caller gives it up).
    """
    photo = np.asarray(photo, dtype=np.float32)
    # float64 accumulation keeps the statistics exact on 268-megapixel images; one float32 output
    # array is the only full-size allocation (an 8192^2 photo would otherwise need four copies).
    mean = photo.mean(axis=(-3, -2), keepdims=True, dtype=np.float64).astype(np.float32)
    out = np.subtract(photo, mean, out=photo if in_place else None, dtype=np.float32)
    flat = out.reshape(out.shape[:-3] + (-1,))
    var = np.einsum("...i,...i->...", flat, flat, dtype=np.float64) / flat.shape[-1]
    std = np.sqrt(var).astype(np.float32)[..., None, None, None]
    out /= np.maximum(std, np.float32(_EPS))
    return out
