"""Input normalisation: the one function both inference and training call before the network.

Photos arrive as float32 sRGB in [0, 1] (H, W, 3). Each model file says which normalisation it was
trained with (`ModelConfig.input_norm`, read back by `normalgen.model.config_of`):

- "relative" (models made from scratch since 0.2): each channel is decoded from sRGB to linear
  light and divided by its whole-image mean, minus 1, clipped to [-1, 4]. Exposure and white
  balance cancel, but contrast survives: the same surface twice as steep under the same light
  shows about twice the relative contrast, and that is the cue for how steep it is.
- "std" (the first shipped model): each channel minus its mean, divided by the image's overall
  standard deviation. Every photo reaches the network equally contrasty, so the network cannot
  see how steep a slope is from its contrast.

Statistics are taken over the *whole* image (never per tile), so tiled and one-pass inference see
the same input. Both work band by band or in place: an 8192² photo needs no second full-size array.
"""

from __future__ import annotations

import numpy as np

METHODS = ("relative", "std")
_EPS = 1.0 / 255.0  # "std": the smallest standard deviation divided by
_MEAN_FLOOR = 1e-4  # "relative", linear: an all-black photo stays finite
_CLIP = (-1.0, 4.0)  # "relative": highlights far above the mean (specular glints) are clipped
_BAND = 512  # rows per band of the sRGB decode


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


def normalize_photo(photo: np.ndarray, *, method: str = "relative", in_place: bool = False) -> np.ndarray:
    """(H, W, 3) or (N, H, W, 3) float sRGB in [0, 1] -> float32 network input.

    `method` is the model's `input_norm`. in_place=True reuses a float32 `photo` as the output
    (the caller gives it up).
    """
    if method not in METHODS:
        raise ValueError(f"unknown input normalisation {method!r}: use one of {', '.join(METHODS)}")
    photo = np.asarray(photo, dtype=np.float32)
    out = photo if in_place else np.empty(photo.shape, np.float32)
    if method == "std":
        # float64 accumulation keeps the statistics exact on 268-megapixel images.
        mean = photo.mean(axis=(-3, -2), keepdims=True, dtype=np.float64).astype(np.float32)
        np.subtract(photo, mean, out=out)
        flat = out.reshape(out.shape[:-3] + (-1,))
        var = np.einsum("...i,...i->...", flat, flat, dtype=np.float64) / flat.shape[-1]
        std = np.sqrt(var).astype(np.float32)[..., None, None, None]
        out /= np.maximum(std, np.float32(_EPS))
        return out
    srgb_to_linear(photo, out)
    mean = out.mean(axis=(-3, -2), keepdims=True, dtype=np.float64)
    out *= (1.0 / np.maximum(mean, _MEAN_FLOOR)).astype(np.float32)
    out -= np.float32(1.0)
    np.clip(out, *_CLIP, out=out)
    return out
