"""Input normalisation: the one function both inference and training call before the network.

Photos arrive as float32 sRGB in [0, 1] (H, W, 3). The network sees *relative linear radiance*:
each channel is decoded from sRGB to linear light and divided by that channel's mean over the
whole image, minus 1. Exposure and white balance cancel out, yet contrast survives: a surface
twice as steep under the same light shows about twice the relative contrast, and that is the cue
for how steep it is. (The first version divided by the image's standard deviation, which made
every photo equally contrasty and left the network guessing the slope's size.)
Statistics are taken over the *whole* image (never per tile), so tiled and one-pass inference see
the same input.
"""

from __future__ import annotations

import numpy as np

_MEAN_FLOOR = 1e-4  # linear; an all-black photo stays finite
_CLIP = (-1.0, 4.0)  # highlights far above the mean (specular glints) are clipped
_BAND = 512  # rows per band: the decode allocates a band, never a second full-size array


def srgb_to_linear(photo: np.ndarray, out: np.ndarray) -> np.ndarray:
    """sRGB [0, 1] -> linear light, written into `out` (may be `photo` itself), band by band."""
    rows = photo.shape[-3]
    for top in range(0, rows, _BAND):
        src = photo[..., top:top + _BAND, :, :]
        dst = out[..., top:top + _BAND, :, :]
        low = src <= 0.04045
        high = np.power((np.maximum(src, 0.04045) + 0.055) / 1.055, 2.4, dtype=np.float32)
        np.copyto(dst, np.where(low, src / 12.92, high))
    return out


def normalize_photo(photo: np.ndarray, *, in_place: bool = False) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) float sRGB in [0, 1] -> float32 network input.

    in_place=True reuses a float32 `photo` as the output (the caller gives it up).
    """
    photo = np.asarray(photo, dtype=np.float32)
    out = photo if in_place else np.empty(photo.shape, np.float32)
    srgb_to_linear(photo, out)
    # float64 accumulation keeps the mean exact on 268-megapixel images.
    mean = out.mean(axis=(-3, -2), keepdims=True, dtype=np.float64)
    out *= (1.0 / np.maximum(mean, _MEAN_FLOOR)).astype(np.float32)
    out -= np.float32(1.0)
    np.clip(out, *_CLIP, out=out)
    return out
